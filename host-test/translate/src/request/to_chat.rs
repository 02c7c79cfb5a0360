//! A Responses request as a Chat Completions request, for a Chat-only upstream (§5 of the
//! design note: Ollama, vLLM, OpenRouter; codex's former chat path).
//!
//! `instructions` becomes the first `system` message and a string `input` one user message.
//! Message items keep their role; a single text part becomes a string content, other parts
//! become `text`, `image_url` (`{url, detail}`) and `file` parts. Consecutive `function_call`
//! items join the assistant message before them as its `tool_calls` (§5 recommends grouping
//! them; codex sent one message per call), with `call_id` as the call's `id`; a
//! `function_call_output` becomes a `tool` message. `reasoning` items are dropped with a note;
//! items that point at stored state or built-in tools are refused.

use super::{nest, tool_choice, tools};
use crate::answer::Call;
use crate::json::{array, kind, malformed, note, object, opt_str, refuse, string, text_of};
use crate::{Error, Note, Translated};
use serde_json::{Map, Value, json};

/// A Responses request body as a Chat Completions request body.
pub fn responses_to_chat(body: &Value) -> Result<Translated, Error> {
    let fields = object(body, "body")?;
    let mut out = Map::new();
    let mut messages = Vec::new();
    let mut notes = Vec::new();
    for (key, value) in fields.iter().filter(|(_, v)| !v.is_null()) {
        match key.as_str() {
            "model"
            | "parallel_tool_calls"
            | "store"
            | "temperature"
            | "top_p"
            | "user"
            | "metadata"
            | "service_tier"
            | "safety_identifier"
            | "prompt_cache_key"
            | "stream" => _ = out.insert(key.clone(), value.clone()),
            "instructions" => {
                let text = value.as_str().ok_or_else(|| refuse(key, "only text instructions have a Chat form"))?;
                messages.insert(0, json!({"role": "system", "content": text}));
            }
            "input" => input(value, &mut messages, &mut notes)?,
            "tools" => _ = out.insert(key.clone(), tools(value, nest)?),
            "tool_choice" => _ = out.insert(key.clone(), tool_choice(value, nest)?),
            "text" => text(value, &mut out)?,
            "reasoning" => reasoning(value, &mut out, &mut notes)?,
            "max_output_tokens" => _ = out.insert("max_tokens".to_owned(), value.clone()),
            "include" if value.as_array().is_some_and(Vec::is_empty) => {}
            "include" => notes.push(note(key, "asks for extra output fields a Chat answer does not carry")),
            "stream_options" => notes.push(note(key, "Responses stream options have no Chat equivalent")),
            "truncation" if value == "disabled" => {}
            "truncation" => notes.push(note(key, "a Chat server truncates by its own rules")),
            "background" if value == &Value::Bool(false) => {}
            _ => return Err(refused(key)),
        }
    }
    if out.get("stream") == Some(&Value::Bool(true)) {
        out.insert("stream_options".to_owned(), json!({"include_usage": true}));
    }
    out.insert("messages".to_owned(), messages.into());
    Ok(Translated { body: Value::Object(out), notes })
}

/// Why a Responses parameter with no Chat equivalent is refused.
fn refused(key: &str) -> Error {
    let why = match key {
        "previous_response_id" | "conversation" => {
            "needs the upstream's stored history, which a Chat server does not keep"
        }
        "prompt" => "a reusable prompt lives on the platform; a Chat server cannot expand it",
        "background" => "a Chat request cannot run in the background",
        "max_tool_calls" => "a Chat request has no cap on built-in tool calls",
        "top_logprobs" => "log probabilities are not translated",
        _ => "not a Responses parameter this translation knows",
    };
    refuse(key, why)
}

/// `input` as messages after any system message from `instructions`.
fn input(value: &Value, messages: &mut Vec<Value>, notes: &mut Vec<Note>) -> Result<(), Error> {
    let items = match value {
        Value::String(text) => {
            messages.push(json!({"role": "user", "content": text}));
            return Ok(());
        }
        items => array(items, "input")?,
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("input[{i}]");
        let kind = match kind(item) {
            "" if item.get("role").is_some() => "message",
            kind => kind,
        };
        match kind {
            "message" => messages.push(message(item, &at)?),
            "function_call" => function_call(Call::read(item, &at)?, messages),
            "function_call_output" => messages.push(json!({
                "role": "tool",
                "tool_call_id": string(item, "call_id", &at)?,
                "content": text_of(item.get("output").unwrap_or(&Value::Null), &format!("{at}.output"), &["input_text", "output_text"])?,
            })),
            "reasoning" => notes.push(note(at, "reasoning items have no Chat Completions form")),
            "item_reference" => return Err(refuse(format!("{at}.type"), "a reference to a stored item; a Chat server keeps none")),
            _ => return Err(refuse(format!("{at}.type"), "only messages, function calls and their outputs have a Chat form")),
        }
    }
    Ok(())
}

/// A function call joins the assistant message before it (text or earlier calls), or opens one.
fn function_call(call: Call, messages: &mut Vec<Value>) {
    if let Some(last) = messages.last_mut().filter(|m| m["role"] == "assistant") {
        let calls = last.as_object_mut().map(|m| m.entry("tool_calls").or_insert_with(|| json!([])));
        if let Some(Value::Array(calls)) = calls {
            calls.push(call.chat());
            return;
        }
    }
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call.chat()]}));
}

/// A message item as a Chat message of the same role.
fn message(item: &Value, at: &str) -> Result<Value, Error> {
    let role = string(item, "role", at)?;
    let content = item.get("content").unwrap_or(&Value::Null);
    let here = format!("{at}.content");
    match role {
        "assistant" => assistant(content, &here),
        "user" | "system" | "developer" => Ok(json!({"role": role, "content": chat_parts(content, &here)?})),
        _ => Err(malformed(format!("{at}.role"), "not a Responses message role")),
    }
}

/// An assistant message's text parts joined as its content, its refusal as `refusal`.
fn assistant(content: &Value, at: &str) -> Result<Value, Error> {
    let mut refusal: Option<String> = None;
    let text = match content {
        Value::Array(parts) => {
            let mut text = String::new();
            for (i, part) in parts.iter().enumerate() {
                let here = format!("{at}[{i}]");
                match kind(part) {
                    "output_text" | "input_text" => text.push_str(string(part, "text", &here)?),
                    "refusal" => refusal.get_or_insert_default().push_str(string(part, "refusal", &here)?),
                    _ => return Err(refuse(format!("{here}.type"), "an assistant message carries only text in Chat")),
                }
            }
            text
        }
        content => text_of(content, at, &[])?,
    };
    let mut message = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { text.into() }});
    if let Some(refusal) = refusal {
        message["refusal"] = refusal.into();
    }
    Ok(message)
}

/// Input parts as a Chat content: one text part as a string, else a list of Chat parts.
fn chat_parts(content: &Value, at: &str) -> Result<Value, Error> {
    let parts = match content {
        Value::String(_) => return Ok(content.clone()),
        parts => array(parts, at)?,
    };
    if let [only] = parts.as_slice()
        && kind(only) == "input_text"
    {
        return Ok(string(only, "text", &format!("{at}[0]"))?.into());
    }
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let here = format!("{at}[{i}]");
        out.push(match kind(part) {
            "input_text" => json!({"type": "text", "text": string(part, "text", &here)?}),
            "input_image" => {
                let url = opt_str(part, "image_url").ok_or_else(|| {
                    refuse(format!("{here}.file_id"), "an uploaded image has no Chat form; send its URL")
                })?;
                let mut image = json!({"url": url});
                if let Some(detail) = opt_str(part, "detail") {
                    image["detail"] = detail.into();
                }
                json!({"type": "image_url", "image_url": image})
            }
            "input_file" => nest(part, "file", &here, "file")?,
            _ => return Err(refuse(format!("{here}.type"), "only text, images and files have a Chat form")),
        });
    }
    Ok(out.into())
}

/// `text.format` as `response_format`, `text.verbosity` as `verbosity`.
fn text(value: &Value, out: &mut Map<String, Value>) -> Result<(), Error> {
    for (key, value) in object(value, "text")?.iter().filter(|(_, v)| !v.is_null()) {
        match key.as_str() {
            "format" => {
                let format = match kind(value) {
                    "text" | "json_object" => json!({"type": kind(value)}),
                    "json_schema" => nest(value, "json_schema", "text.format", "json_schema")?,
                    _ => return Err(refuse("text.format.type", "not a format both APIs know")),
                };
                out.insert("response_format".to_owned(), format);
            }
            "verbosity" => _ = out.insert("verbosity".to_owned(), value.clone()),
            _ => return Err(refuse(format!("text.{key}"), "not a text option this translation knows")),
        }
    }
    Ok(())
}

/// `reasoning.effort` as `reasoning_effort`; a summary request is dropped with a note.
fn reasoning(value: &Value, out: &mut Map<String, Value>, notes: &mut Vec<Note>) -> Result<(), Error> {
    for (key, value) in object(value, "reasoning")?.iter().filter(|(_, v)| !v.is_null()) {
        match key.as_str() {
            "effort" => _ = out.insert("reasoning_effort".to_owned(), value.clone()),
            "summary" | "generate_summary" => {
                notes.push(note(format!("reasoning.{key}"), "a Chat answer carries no reasoning summary"))
            }
            _ => return Err(refuse(format!("reasoning.{key}"), "not a reasoning option this translation knows")),
        }
    }
    Ok(())
}
