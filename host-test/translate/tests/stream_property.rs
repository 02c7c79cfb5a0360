//! A streamed translation, assembled back into a whole answer, equals the whole-answer
//! translation of the same content, for random text, tool calls, finish reasons and cuts:
//! Chat chunks → Responses events (assembled: the whole Responses translation), and those
//! events → Chat chunks (assembled: the original Chat answer).

mod common;

use common::{chat_answer, chat_stream, data_of};
use proptest::prelude::*;
use route_policy_translate::assemble::{ChatAssembler, ResponsesAssembler};
use route_policy_translate::response;
use route_policy_translate::stream::{ChatToResponses, Event, ResponsesToChat, StreamState, Translate};
use serde_json::{Value, json};

/// A random whole Chat answer: text, up to three calls, a finish reason.
fn answers() -> impl Strategy<Value = Value> {
    let call = ("[a-z_]{1,12}", prop::collection::btree_map("[a-z]{1,5}", any::<i32>(), 0..3));
    ("\\PC{0,40}", prop::collection::vec(call, 0..4), prop::sample::select(vec!["stop", "length", "content_filter"]))
        .prop_map(|(text, calls, reason)| {
            let calls: Vec<(String, String, String)> = calls
                .into_iter()
                .enumerate()
                .map(|(i, (name, args))| (format!("call_{i}_{name}"), name, json!(args).to_string()))
                .collect();
            let content = match (text.is_empty(), calls.is_empty()) {
                (false, _) => json!(text),
                (true, false) => Value::Null,
                (true, true) => json!(""),
            };
            let reason = if reason == "stop" && !calls.is_empty() { "tool_calls" } else { reason };
            let calls: Vec<(&str, &str, &str)> =
                calls.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())).collect();
            chat_answer(content, &calls, reason)
        })
}

fn translate(translator: &mut impl Translate, data: &[String]) -> Vec<Event> {
    let mut events: Vec<Event> = data.iter().flat_map(|d| translator.push(d)).collect();
    events.extend(translator.finish());
    events
}

proptest! {
    #[test]
    fn streamed_translations_assemble_into_the_whole_translations(whole in answers(), cut in 1usize..8) {
        let chunks = chat_stream(&whole, cut);

        let mut chat = ChatAssembler::new();
        chunks.iter().for_each(|d| chat.push(d));
        prop_assert_eq!(chat.finish().unwrap(), whole.clone());

        let mut to_responses = ChatToResponses::new();
        let events = translate(&mut to_responses, &chunks);
        prop_assert_eq!(to_responses.state(), StreamState::Completed);
        let mut assembled = ResponsesAssembler::new();
        events.iter().filter_map(Event::data).for_each(|d| assembled.push_json(d));
        let whole_responses = response::chat_to_responses(&whole).unwrap().body;
        prop_assert_eq!(assembled.finish().unwrap(), whole_responses.clone());

        let mut to_chat = ResponsesToChat::new(true);
        let chat_events = translate(&mut to_chat, &data_of(&events));
        prop_assert_eq!(to_chat.state(), StreamState::Completed);
        prop_assert_eq!(chat_events.last(), Some(&Event::Done));
        let mut back = ChatAssembler::new();
        data_of(&chat_events).iter().for_each(|d| back.push(d));
        let back = back.finish().unwrap();
        prop_assert_eq!(&back, &response::responses_to_chat(&whole_responses).unwrap().body);
        prop_assert_eq!(back, whole);
    }
}

#[test]
fn tool_call_deltas_have_dense_indices_and_ids_on_first_delta_only() {
    let whole = chat_answer(json!("Hi"), &[("call_a", "f", "{\"x\":1}"), ("call_b", "g", "{}")], "tool_calls");
    let responses_events = translate(&mut ChatToResponses::new(), &chat_stream(&whole, 2));
    let chunks = translate(&mut ResponsesToChat::new(false), &data_of(&responses_events));
    let deltas: Vec<&Value> =
        chunks.iter().filter_map(Event::data).filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0)).collect();
    let firsts: Vec<(u64, &str)> = deltas
        .iter()
        .filter(|d| d.get("id").is_some())
        .map(|d| (d["index"].as_u64().unwrap(), d["id"].as_str().unwrap()))
        .collect();
    assert_eq!(firsts, [(0, "call_a"), (1, "call_b")]);
    assert!(deltas.iter().all(|d| d["index"].as_u64().unwrap() < 2));
    // The output index of the second call is 2 (the message holds 0): Chat's index stays dense.
    let added: Vec<u64> = responses_events
        .iter()
        .filter_map(Event::data)
        .filter(|e| e["type"] == "response.output_item.added")
        .map(|e| e["output_index"].as_u64().unwrap())
        .collect();
    assert_eq!(added, [0, 1, 2]);
}

#[test]
fn a_whole_answer_sent_only_in_done_events_is_still_carried() {
    // §4: "whole call only if no delta came" and openai/codex#30179 (the answer in one piece).
    let events = [
        json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "created_at": 5, "model": "gpt-5.5", "status": "in_progress", "output": []}}),
        json!({"type": "response.output_item.done", "sequence_number": 1, "output_index": 0, "item": {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "All at once", "annotations": []}]}}),
        json!({"type": "response.output_item.done", "sequence_number": 2, "output_index": 1, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "f", "arguments": "{\"a\":2}", "status": "completed"}}),
        json!({"type": "response.completed", "sequence_number": 3, "response": {"id": "resp_1", "created_at": 5, "model": "gpt-5.5", "status": "completed", "output": [], "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}}}),
    ];
    let data: Vec<String> = events.iter().map(Value::to_string).collect();
    let chunks = translate(&mut ResponsesToChat::new(true), &data);
    let mut chat = ChatAssembler::new();
    data_of(&chunks).iter().for_each(|d| chat.push(d));
    let chat = chat.finish().unwrap();
    assert_eq!(chat["choices"][0]["message"]["content"], "All at once");
    assert_eq!(chat["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{\"a\":2}");
    assert_eq!(chat["usage"]["total_tokens"], 7);
    // The Responses assembler fills the empty terminal output from the done items, as codex reads them.
    let mut responses = ResponsesAssembler::new();
    data.iter().for_each(|d| responses.push(d));
    let responses = responses.finish().unwrap();
    assert_eq!(responses["output"][1]["call_id"], "call_9");
}
