//! What the stream tests share: a whole Chat completion cut into the chunks an upstream would
//! stream for it, in the shape of the Chat Completions reference ("The chat completion chunk
//! object": a role chunk, content deltas, a call's id and name on its first delta only, a
//! `finish_reason` chunk, a usage chunk with `choices: []`, then `[DONE]`).
#![allow(dead_code)]

use serde_json::{Value, json};

/// The `data` of each event of a Chat stream for `whole`, text cut every `cut` characters.
pub fn chat_stream(whole: &Value, cut: usize) -> Vec<String> {
    let head = |choices: Value| json!({"id": whole["id"], "object": "chat.completion.chunk", "created": whole["created"], "model": whole["model"], "choices": choices});
    let delta = |delta: Value| head(json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]));
    let choice = &whole["choices"][0];
    let message = &choice["message"];
    let mut out = vec![delta(json!({"role": "assistant", "content": ""}))];
    for piece in pieces(message["content"].as_str().unwrap_or_default(), cut) {
        out.push(delta(json!({"content": piece})));
    }
    for (index, call) in message["tool_calls"].as_array().into_iter().flatten().enumerate() {
        let first = json!({"index": index, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}});
        out.push(delta(json!({"tool_calls": [first]})));
        for piece in pieces(call["function"]["arguments"].as_str().unwrap_or_default(), cut) {
            out.push(delta(json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})));
        }
    }
    out.push(head(json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": choice["finish_reason"]}])));
    if let Some(usage) = whole.get("usage") {
        let mut last = head(json!([]));
        last["usage"] = usage.clone();
        out.push(last);
    }
    let mut data: Vec<String> = out.iter().map(Value::to_string).collect();
    data.push("[DONE]".to_owned());
    data
}

/// `text` in pieces of `cut` characters (at least one).
fn pieces(text: &str, cut: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(cut.max(1)).map(|c| c.iter().collect()).collect()
}

/// The data of each event, as a client would read it back from SSE text.
pub fn data_of(events: &[route_policy_translate::stream::Event]) -> Vec<String> {
    events.iter().map(|e| e.data().map_or_else(|| "[DONE]".to_owned(), Value::to_string)).collect()
}

/// A whole Chat completion (Chat Completions reference, "The chat completion object").
pub fn chat_answer(content: Value, calls: &[(&str, &str, &str)], finish: &str) -> Value {
    let mut message = json!({"role": "assistant", "content": content, "refusal": null});
    if !calls.is_empty() {
        message["tool_calls"] = calls
            .iter()
            .map(
                |(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}),
            )
            .collect();
    }
    json!({
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 1117,
            "prompt_tokens_details": {"cached_tokens": 1024},
            "completion_tokens": 46,
            "completion_tokens_details": {"reasoning_tokens": 12},
            "total_tokens": 1163
        }
    })
}
