//! A stream that did not complete is never reported complete, in either direction; an error in
//! the stream becomes the other API's error (§4 of the design note).

mod common;

use common::{chat_answer, chat_stream};
use route_policy_translate::Error;
use route_policy_translate::assemble::{ChatAssembler, ResponsesAssembler};
use route_policy_translate::stream::{ChatToResponses, Event, ResponsesToChat, StreamState, Translate};
use serde_json::json;

fn names(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .map(|e| match e {
            Event::Json { name: Some(name), .. } => name,
            Event::Json { name: None, data } if data.get("error").is_some() => "error-chunk",
            Event::Json { .. } => "chunk",
            Event::Done => "[DONE]",
        })
        .collect()
}

#[test]
fn a_chat_stream_cut_before_its_finish_reason_fails_the_response() {
    let data = chat_stream(&chat_answer(json!("Hello there"), &[("call_1", "f", "{}")], "tool_calls"), 3);
    let mut translator = ChatToResponses::new();
    let mut events = Vec::new();
    for d in &data[..4] {
        events.extend(translator.push(d));
    }
    events.extend(translator.finish());
    assert_eq!(translator.state(), StreamState::Incomplete);
    let names = names(&events);
    assert!(!names.contains(&"response.completed"), "{names:?}");
    assert_eq!(names[names.len() - 2..], ["error", "response.failed"]);
    let mut assembler = ResponsesAssembler::new();
    events.iter().filter_map(Event::data).for_each(|d| assembler.push_json(d));
    assert!(matches!(assembler.finish(), Err(Error::Upstream(e)) if e.code.as_deref() == Some("stream_incomplete")));
}

#[test]
fn done_without_a_finish_reason_is_not_a_completion() {
    let mut translator = ChatToResponses::new();
    translator.push(
        r#"{"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#,
    );
    let events = translator.push("[DONE]");
    assert_eq!(translator.state(), StreamState::Incomplete);
    assert!(!names(&events).contains(&"response.completed"));
}

#[test]
fn a_responses_stream_cut_before_completed_gives_an_error_chunk_and_no_finish() {
    let mut translator = ResponsesToChat::new(true);
    let mut events = Vec::new();
    for event in [
        json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "created_at": 1, "model": "gpt-5.5", "status": "in_progress", "output": []}}),
        json!({"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Hel"}),
    ] {
        events.extend(translator.push(&event.to_string()));
    }
    events.extend(translator.finish());
    assert_eq!(translator.state(), StreamState::Incomplete);
    assert_eq!(names(&events), ["chunk", "chunk", "error-chunk"]);
    assert!(events.iter().all(|e| e.data().is_none_or(|d| d["choices"][0]["finish_reason"].is_null())));
    let mut assembler = ChatAssembler::new();
    events.iter().filter_map(Event::data).for_each(|d| assembler.push_json(d));
    assert!(matches!(assembler.finish(), Err(Error::Upstream(_))));
    let mut cut = ChatAssembler::new();
    cut.push(
        r#"{"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#,
    );
    assert_eq!(cut.finish(), Err(Error::Incomplete));
}

#[test]
fn errors_in_a_stream_become_the_other_apis_errors() {
    // Responses streaming reference, "response.failed" and "error".
    let mut to_chat = ResponsesToChat::new(false);
    let failed = json!({"type": "response.failed", "sequence_number": 4, "response": {"id": "resp_1", "status": "failed",
        "error": {"code": "context_length_exceeded", "message": "Your input exceeds the context window of this model."}}});
    let events = to_chat.push(&failed.to_string());
    assert_eq!(to_chat.state(), StreamState::Failed);
    assert_eq!(events[events.len() - 1].data().unwrap()["error"]["code"], "context_length_exceeded");
    assert!(to_chat.finish().is_empty(), "nothing after a terminal event");
    // A Chat error chunk (§4: `data: {"error":{…}}`).
    let mut to_responses = ChatToResponses::new();
    let events = to_responses.push(
        r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
    );
    assert_eq!(names(&events), ["error", "response.failed"]);
    assert_eq!(events[0].data().unwrap()["code"], "rate_limit_exceeded");
    assert_eq!(events[1].data().unwrap()["response"]["error"]["code"], "rate_limit_exceeded");
    assert_eq!(to_responses.state(), StreamState::Failed);
}

#[test]
fn keepalives_and_bad_data_are_skipped() {
    let mut translator = ResponsesToChat::new(false);
    assert!(translator.push(r#"{"type":"keepalive"}"#).is_empty());
    assert!(translator.push(r#"{"type":"codex.rate_limits","primary":{}}"#).is_empty());
    assert!(translator.push("not json").is_empty());
    assert!(translator.push("").is_empty());
    assert_eq!(translator.skipped(), 2);
    assert_eq!(translator.state(), StreamState::Open);
}
