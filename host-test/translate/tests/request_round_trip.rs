//! Requests survive a round trip through the other API: messages, images, tool calls and their
//! `call_…` ids, tools, tool_choice, formats and sampling parameters. Shapes from the Chat
//! Completions and Responses references, as quoted in the design note's §3 and §5.

use route_policy_translate::request::{Dialect, chat_to_responses, responses_to_chat};
use serde_json::{Value, json};

/// A Chat request with every kind of message this crate carries.
fn chat_request() -> Value {
    json!({
        "model": "gpt-5.5",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is the weather in Paris and Oslo?"},
            {"role": "assistant", "content": "Checking both.", "tool_calls": [
                {"id": "call_paris", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_oslo", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_paris", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_oslo", "content": "9C"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_map", "type": "function", "function": {"name": "map", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_map", "content": "ok"},
            {"role": "user", "content": [
                {"type": "text", "text": "And this picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
            ]},
            {"role": "developer", "content": "Answer in French."}
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather of a city", "strict": true,
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": true,
        "response_format": {"type": "json_schema", "json_schema": {"name": "weather", "strict": true, "schema": {"type": "object"}}},
        "reasoning_effort": "low",
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 300,
        "user": "u-1",
        "metadata": {"k": "v"},
        "store": false,
        "stream": false
    })
}

#[test]
fn chat_to_responses_has_the_documented_shapes() {
    let out = chat_to_responses(&chat_request(), Dialect::Platform).unwrap();
    assert!(out.notes.is_empty(), "{:?}", out.notes);
    let body = out.body;
    assert_eq!(body["instructions"], "You are terse.");
    assert_eq!(body["max_output_tokens"], 300);
    assert_eq!(body["reasoning"], json!({"effort": "low"}));
    assert_eq!(
        body["text"]["format"],
        json!({"type": "json_schema", "name": "weather", "strict": true, "schema": {"type": "object"}})
    );
    assert_eq!(body["tool_choice"], json!({"type": "function", "name": "get_weather"}));
    assert_eq!(body["tools"][0]["name"], "get_weather");
    assert!(body["tools"][0].get("function").is_none(), "Responses function tools are flat");
    let input = body["input"].as_array().unwrap();
    assert_eq!(
        input[0],
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What is the weather in Paris and Oslo?"}]})
    );
    assert_eq!(input[1]["content"][0], json!({"type": "output_text", "text": "Checking both."}));
    // §6: a function_call carries its call_… id as call_id and no item id.
    assert_eq!(
        input[2],
        json!({"type": "function_call", "call_id": "call_paris", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"})
    );
    assert_eq!(input[4], json!({"type": "function_call_output", "call_id": "call_paris", "output": "18C"}));
    // No empty assistant message before a call-only turn (§3, CPA).
    assert_eq!(input[6]["type"], "function_call");
    assert_eq!(
        input[8]["content"][1],
        json!({"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"})
    );
    assert_eq!(
        input[9],
        json!({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Answer in French."}]})
    );
}

#[test]
fn chat_round_trip_keeps_messages_and_call_ids() {
    let original = chat_request();
    let there = chat_to_responses(&original, Dialect::Platform).unwrap().body;
    let back = responses_to_chat(&there).unwrap();
    assert!(back.notes.is_empty(), "{:?}", back.notes);
    assert_eq!(back.body["messages"], original["messages"]);
    for key in [
        "tools",
        "tool_choice",
        "response_format",
        "reasoning_effort",
        "temperature",
        "top_p",
        "max_tokens",
        "user",
        "metadata",
        "store",
        "stream",
        "parallel_tool_calls",
        "model",
    ] {
        assert_eq!(back.body[key], original[key], "{key}");
    }
}

#[test]
fn responses_round_trip_keeps_items_and_call_ids() {
    let original = json!({
        "model": "gpt-5.5",
        "instructions": "Be brief.",
        "input": [
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Read this"},
                {"type": "input_file", "file_id": "file-abc"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"}
            ]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Looking."}]},
            {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{\"q\":1}"},
            {"type": "function_call", "call_id": "call_2", "name": "lookup", "arguments": "{\"q\":2}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "one"},
            {"type": "function_call_output", "call_id": "call_2", "output": "two"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks"}]}
        ],
        "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}, "strict": false}],
        "tool_choice": "required",
        "text": {"format": {"type": "json_object"}, "verbosity": "low"},
        "reasoning": {"effort": "high"},
        "max_output_tokens": 1000,
        "temperature": 1.0,
        "stream": true
    });
    let chat = responses_to_chat(&original).unwrap();
    assert!(chat.notes.is_empty(), "{:?}", chat.notes);
    let messages = chat.body["messages"].as_array().unwrap();
    assert_eq!(messages[0], json!({"role": "system", "content": "Be brief."}));
    // §5's recommendation: consecutive calls join the assistant message before them.
    assert_eq!(messages[2]["content"], "Looking.");
    assert_eq!(messages[2]["tool_calls"][1]["id"], "call_2");
    assert_eq!(chat.body["max_tokens"], 1000);
    assert_eq!(chat.body["stream_options"], json!({"include_usage": true}));
    let mut back = chat_to_responses(&chat.body, Dialect::Platform).unwrap().body;
    back.as_object_mut().unwrap().remove("stream_options");
    assert_eq!(back, original);
}

#[test]
fn a_string_input_is_one_user_message() {
    let chat = responses_to_chat(&json!({"model": "m", "input": "hi"})).unwrap().body;
    assert_eq!(chat, json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}));
}
