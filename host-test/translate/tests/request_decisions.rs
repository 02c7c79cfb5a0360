//! Every parameter without an equivalent is named: refused with `Untranslatable`, or dropped
//! with a note (the decisions of the crate documentation, after §3 and §5 of the design note).

use route_policy_translate::request::{Dialect, chat_to_responses, responses_to_chat};
use route_policy_translate::{Error, Translated};
use serde_json::{Value, json};

fn chat(extra: Value) -> Result<Translated, Error> {
    chat_with(extra, Dialect::Platform)
}

fn chat_with(extra: Value, dialect: Dialect) -> Result<Translated, Error> {
    let mut body = json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    chat_to_responses(&body, dialect)
}

fn responses(extra: Value) -> Result<Translated, Error> {
    let mut body = json!({"model": "gpt-5.5", "input": "hi"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    responses_to_chat(&body)
}

fn refused_field(result: Result<Translated, Error>) -> String {
    match result {
        Err(Error::Untranslatable { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn noted(result: Result<Translated, Error>) -> Vec<String> {
    result.unwrap().notes.into_iter().map(|n| n.field).collect()
}

#[test]
fn chat_parameters_that_change_the_answer_are_refused_by_name() {
    for (field, value) in [
        ("stop", json!(["\n"])),
        ("n", json!(2)),
        ("logit_bias", json!({"50256": -100})),
        ("logprobs", json!(true)),
        ("top_logprobs", json!(3)),
        ("audio", json!({"voice": "alloy", "format": "mp3"})),
        ("modalities", json!(["text", "audio"])),
        ("web_search_options", json!({})),
        ("functions", json!([])),
        ("function_call", json!("auto")),
        ("frobnicate", json!(1)),
    ] {
        assert_eq!(refused_field(chat(json!({field: value}))), field);
    }
}

#[test]
fn chat_shapes_without_an_equivalent_are_refused_at_their_place() {
    let tool = json!({"tools": [{"type": "custom", "custom": {"name": "x"}}]});
    assert_eq!(refused_field(chat(tool)), "tools[0].type");
    let audio = json!({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}]});
    assert_eq!(refused_field(chat(audio)), "messages[0].content[0].type");
}

#[test]
fn chat_sampling_hints_are_dropped_with_a_note() {
    let extra = json!({"seed": 7, "frequency_penalty": 0.5, "presence_penalty": 0.1, "prediction": {"type": "content", "content": "x"}});
    let mut fields = noted(chat(extra));
    fields.sort();
    assert_eq!(fields, ["frequency_penalty", "prediction", "presence_penalty", "seed"]);
    let named = json!({"messages": [{"role": "user", "name": "ann", "content": "hi"}]});
    assert_eq!(noted(chat(named)), ["messages[0].name"]);
    let both = json!({"max_tokens": 10, "max_completion_tokens": 20});
    let out = chat(both).unwrap();
    assert_eq!(out.body["max_output_tokens"], 20);
    assert_eq!(out.notes[0].field, "max_tokens");
}

#[test]
fn harmless_defaults_pass_without_notes() {
    let out = chat(
        json!({"n": 1, "logprobs": false, "modalities": ["text"], "stop": null, "stream_options": {"include_usage": true}}),
    );
    assert_eq!(out.unwrap().notes, []);
}

#[test]
fn codex_gets_what_its_backend_requires_and_loses_what_it_refuses() {
    // §1: the Codex backend answers 400 without instructions, with store other than false,
    // without stream: true, and with max_output_tokens.
    let extra = json!({"max_tokens": 100, "temperature": 0.3, "top_p": 1, "user": "u", "store": true});
    let out = chat_with(extra, Dialect::Codex).unwrap();
    assert_eq!(out.body["store"], false);
    assert_eq!(out.body["stream"], true);
    assert_eq!(out.body["instructions"], "");
    for gone in ["max_output_tokens", "max_tokens", "temperature", "top_p", "user"] {
        assert!(out.body.get(gone).is_none(), "{gone}");
    }
    let mut fields: Vec<String> = out.notes.into_iter().map(|n| n.field).collect();
    fields.sort();
    assert_eq!(fields, ["max_tokens", "store", "stream", "temperature", "top_p", "user"]);
}

#[test]
fn responses_parameters_that_need_state_are_refused_by_name() {
    for (field, value) in [
        ("previous_response_id", json!("resp_1")),
        ("conversation", json!("conv_1")),
        ("prompt", json!({"id": "pmpt_1"})),
        ("background", json!(true)),
        ("max_tool_calls", json!(3)),
        ("top_logprobs", json!(2)),
        ("frobnicate", json!(1)),
    ] {
        assert_eq!(refused_field(responses(json!({field: value}))), field);
    }
    let built_in = json!({"tools": [{"type": "web_search"}]});
    assert_eq!(refused_field(responses(built_in)), "tools[0].type");
    let reference = json!({"input": [{"type": "item_reference", "id": "msg_1"}]});
    assert_eq!(refused_field(responses(reference)), "input[0].type");
    let choice = json!({"tool_choice": {"type": "image_generation"}});
    assert_eq!(refused_field(responses(choice)), "tool_choice.type");
}

#[test]
fn responses_extras_are_dropped_with_a_note() {
    let extra = json!({
        "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low", "summary": "auto"},
        "truncation": "auto",
        "stream_options": {"include_obfuscation": false},
        "input": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "role": "user", "content": "hi"}
        ]
    });
    let mut fields = noted(responses(extra));
    fields.sort();
    assert_eq!(fields, ["include", "input[0]", "reasoning.summary", "stream_options", "truncation"]);
}
