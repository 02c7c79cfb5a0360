//! Events written as server-sent-event text: a Responses event under its `event:` name, a Chat
//! chunk as bare `data:`, and the Chat stream's `data: [DONE]`.

use route_policy_translate::stream::{ChatToResponses, Event, Translate};

#[test]
fn events_are_written_as_sse_text() {
    let mut translator = ChatToResponses::new();
    let events = translator.push(r#"{"id":"chatcmpl-1","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#);
    let text = events[0].to_sse();
    assert!(text.starts_with("event: response.created\ndata: {"), "{text}");
    assert!(text.ends_with("}\n\n"));
    let chunk = Event::Json { name: None, data: serde_json::json!({"choices": []}) };
    assert_eq!(chunk.to_sse(), "data: {\"choices\":[]}\n\n");
    assert_eq!(Event::Done.to_sse(), "data: [DONE]\n\n");
}
