//! Whole answers: text, tool calls with their ids, finish reasons and usage mapped both ways
//! (§4 and §5 of the design note), and an upstream's error returned as one.

mod common;

use common::chat_answer;
use route_policy_translate::response::{chat_to_responses, responses_to_chat};
use route_policy_translate::{Error, UpstreamError};
use serde_json::json;

#[test]
fn a_chat_answer_becomes_a_response_and_comes_back_equal() {
    let calls = [("call_a", "get_weather", "{\"city\":\"Paris\"}"), ("call_b", "get_time", "{}")];
    let chat = chat_answer(json!("Checking."), &calls, "tool_calls");
    let response = chat_to_responses(&chat).unwrap().body;
    assert_eq!(response["status"], "completed");
    assert_eq!(response["output"][0]["content"][0]["text"], "Checking.");
    assert_eq!(response["output"][1]["type"], "function_call");
    assert_eq!(response["output"][1]["call_id"], "call_a");
    assert!(response["output"][1]["id"].as_str().unwrap().starts_with("fc"), "§6: item ids begin with fc");
    // §4: usage with its cached and reasoning tokens.
    assert_eq!(
        response["usage"],
        json!({"input_tokens": 1117, "input_tokens_details": {"cached_tokens": 1024}, "output_tokens": 46,
               "output_tokens_details": {"reasoning_tokens": 12}, "total_tokens": 1163})
    );
    assert_eq!(responses_to_chat(&response).unwrap().body, chat);
}

#[test]
fn finish_reasons_map_both_ways() {
    for (reason, status, incomplete) in [
        ("stop", "completed", json!(null)),
        ("length", "incomplete", json!({"reason": "max_output_tokens"})),
        ("content_filter", "incomplete", json!({"reason": "content_filter"})),
    ] {
        let chat = chat_answer(json!("text"), &[], reason);
        let response = chat_to_responses(&chat).unwrap().body;
        assert_eq!((response["status"].as_str().unwrap(), &response["incomplete_details"]), (status, &incomplete));
        assert_eq!(responses_to_chat(&response).unwrap().body["choices"][0]["finish_reason"], reason);
    }
}

#[test]
fn a_response_with_calls_finishes_with_tool_calls_and_dense_order() {
    // Responses reference, "The response object": a reasoning item, a message, two calls.
    let response = json!({
        "id": "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
        "object": "response",
        "created_at": 1741476777,
        "status": "completed",
        "error": null,
        "incomplete_details": null,
        "model": "gpt-5.5",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call", "id": "fc_1", "call_id": "call_x", "name": "f", "arguments": "{}", "status": "completed"},
            {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "Hello ", "annotations": []}, {"type": "output_text", "text": "world", "annotations": []}]},
            {"type": "function_call", "id": "fc_2", "call_id": "call_y", "name": "g", "arguments": "{\"a\":1}", "status": "completed"}
        ],
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    });
    let out = responses_to_chat(&response).unwrap();
    assert_eq!(out.notes.len(), 1, "the reasoning item is dropped with a note");
    let choice = &out.body["choices"][0];
    // §4: all output_text parts joined, not only the first.
    assert_eq!(choice["message"]["content"], "Hello world");
    assert_eq!(choice["finish_reason"], "tool_calls");
    let ids: Vec<&str> =
        choice["message"]["tool_calls"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["call_x", "call_y"]);
    assert_eq!(out.body["usage"], json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}));
    // Back again: a Chat message holds no order between its text and its calls; text first.
    let again = chat_to_responses(&out.body).unwrap().body;
    let kinds: Vec<&str> = again["output"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["message", "function_call", "function_call"]);
}

#[test]
fn a_built_in_tool_item_is_refused_by_its_place() {
    let response =
        json!({"id": "resp_1", "status": "completed", "output": [{"type": "image_generation_call", "id": "ig_1"}]});
    match responses_to_chat(&response) {
        Err(Error::Untranslatable { field, .. }) => assert_eq!(field, "output[0].type"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn upstream_errors_come_back_as_errors() {
    // §4: a failed response carries response.error {code, message}.
    let failed = json!({"id": "resp_1", "status": "failed", "error": {"code": "rate_limit_exceeded", "message": "Try again in 20s."}, "output": []});
    let Err(Error::Upstream(error)) = responses_to_chat(&failed) else { panic!("a failed response is an error") };
    assert_eq!(error.code.as_deref(), Some("rate_limit_exceeded"));
    assert_eq!(error.to_body()["error"]["message"], "Try again in 20s.");
    // Chat Completions reference, error body.
    let body = json!({"error": {"message": "Bad", "type": "invalid_request_error", "param": "model", "code": null}});
    let Err(Error::Upstream(error)) = chat_to_responses(&body) else { panic!("an error body is an error") };
    assert_eq!(error.to_body(), body);
    assert_eq!(
        error.to_event(3),
        json!({"type": "error", "code": "invalid_request_error", "message": "Bad", "param": "model", "sequence_number": 3})
    );
    // §1: the Codex backend's FastAPI-style detail.
    let detail = UpstreamError::from_value(&json!({"detail": "Instructions are required"})).unwrap();
    assert_eq!(detail.message, "Instructions are required");
}
