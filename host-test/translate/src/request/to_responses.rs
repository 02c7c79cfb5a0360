//! A Chat Completions request as a Responses request (§3 of the design note).
//!
//! Leading `system`/`developer` messages become `instructions` (as LiteLLM and ccproxy do);
//! later ones stay in place as `system`/`developer` message items. User and assistant text
//! become `input_text`/`output_text` parts, an `image_url` part an `input_image` with a string
//! URL, a `file` part an `input_file`. Each assistant tool call becomes a `function_call` item
//! with its `call_…` id as `call_id` and no item `id` (§6: an item id must begin with `fc`), an
//! assistant message with no text gives no message item, and a `tool` message becomes a
//! `function_call_output`. Function tools and `tool_choice` lose their `function` nesting,
//! `response_format` becomes `text.format`.

use super::{Dialect, flatten, tool_choice, tools};
use crate::answer::Call;
use crate::json::{array, kind, malformed, note, object, opt_str, refuse, string, text_of};
use crate::{Error, Note, Translated};
use serde_json::{Map, Value, json};

/// A Chat Completions request body as a Responses request body for `dialect`'s server.
pub fn chat_to_responses(body: &Value, dialect: Dialect) -> Result<Translated, Error> {
    let fields = object(body, "body")?;
    let codex = dialect == Dialect::Codex;
    let mut out = Map::new();
    let mut text = Map::new();
    let mut notes = Vec::new();
    let present = |key: &str| fields.get(key).is_some_and(|v| !v.is_null());
    for (key, value) in fields.iter().filter(|(_, v)| !v.is_null()) {
        let mut copy = || out.insert(key.clone(), value.clone());
        match key.as_str() {
            "model" | "parallel_tool_calls" | "prompt_cache_key" => _ = copy(),
            "temperature"
            | "top_p"
            | "user"
            | "metadata"
            | "service_tier"
            | "safety_identifier"
            | "max_tokens"
            | "max_completion_tokens"
                if codex =>
            {
                notes.push(note(key, "the Codex backend takes no such parameter"))
            }
            "temperature" | "top_p" | "user" | "metadata" | "service_tier" | "safety_identifier" | "store"
            | "stream" => _ = copy(),
            "max_completion_tokens" => _ = out.insert("max_output_tokens".to_owned(), value.clone()),
            "max_tokens" if present("max_completion_tokens") => {
                notes.push(note(key, "max_completion_tokens is sent as max_output_tokens instead"))
            }
            "max_tokens" => _ = out.insert("max_output_tokens".to_owned(), value.clone()),
            "stream_options" => {} // its include_usage is honoured by the stream translator
            "messages" => messages(value, &mut out, &mut notes)?,
            "tools" => _ = out.insert(key.clone(), tools(value, flatten)?),
            "tool_choice" => _ = out.insert(key.clone(), tool_choice(value, flatten)?),
            "response_format" => _ = text.insert("format".to_owned(), response_format(value)?),
            "verbosity" => _ = text.insert("verbosity".to_owned(), value.clone()),
            "reasoning_effort" => _ = out.insert("reasoning".to_owned(), json!({"effort": value})),
            "n" if value.as_u64() == Some(1) => {}
            "logprobs" if value == &Value::Bool(false) => {}
            "modalities" if value == &json!(["text"]) => {}
            "seed" | "frequency_penalty" | "presence_penalty" => {
                notes.push(note(key, "a sampling hint the Responses API does not take"))
            }
            "prediction" => notes.push(note(key, "a latency hint the Responses API does not take")),
            _ => return Err(refused(key)),
        }
    }
    if codex {
        codex_fixed(fields, &mut out, &mut notes);
    }
    if !text.is_empty() {
        out.insert("text".to_owned(), Value::Object(text));
    }
    Ok(Translated { body: Value::Object(out), notes })
}

/// Why a Chat parameter with no Responses equivalent is refused.
fn refused(key: &str) -> Error {
    let why = match key {
        "stop" => "Responses has no stop sequences; dropping them would change where the answer ends",
        "logit_bias" => "Responses has no token bias; dropping it would change the answer",
        "logprobs" | "top_logprobs" => "log probabilities are not translated",
        "audio" | "modalities" => "audio output is not translated",
        "web_search_options" => "web search is a built-in tool in Responses, with its own answer shape",
        "functions" | "function_call" => "deprecated function calling; use tools and tool_choice",
        "n" => "a Responses request makes one generation",
        _ => "not a Chat Completions parameter this translation knows",
    };
    refuse(key, why)
}

/// What the Codex backend requires whatever the client asked (§1): `store: false`,
/// `stream: true` (the caller assembles a whole answer), and `instructions`.
fn codex_fixed(fields: &Map<String, Value>, out: &mut Map<String, Value>, notes: &mut Vec<Note>) {
    if fields.get("store").is_some_and(|v| v != &Value::Bool(false) && !v.is_null()) {
        notes.push(note("store", "the Codex backend requires store: false"));
    }
    if fields.get("stream") != Some(&Value::Bool(true)) {
        notes.push(note("stream", "the Codex backend only streams; the whole answer is assembled from the stream"));
    }
    out.insert("store".to_owned(), false.into());
    out.insert("stream".to_owned(), true.into());
    out.entry("instructions").or_insert_with(|| "".into());
}

/// `messages` as `instructions` and `input` items.
fn messages(value: &Value, out: &mut Map<String, Value>, notes: &mut Vec<Note>) -> Result<(), Error> {
    let mut instructions = Vec::new();
    let mut input = Vec::new();
    let mut leading = true;
    for (i, message) in array(value, "messages")?.iter().enumerate() {
        let at = format!("messages[{i}]");
        let role = string(message, "role", &at)?;
        let content = message.get("content").unwrap_or(&Value::Null);
        if message.get("name").is_some_and(|n| !n.is_null()) {
            notes.push(note(format!("{at}.name"), "Responses messages carry no author name"));
        }
        let system = matches!(role, "system" | "developer");
        leading &= system;
        match role {
            _ if leading => instructions.push(text_of(content, &format!("{at}.content"), &["text"])?),
            "system" | "developer" | "user" => input.push(json!({
                "type": "message",
                "role": role,
                "content": input_parts(content, &format!("{at}.content"))?,
            })),
            "assistant" => assistant(message, &at, &mut input)?,
            "tool" => input.push(json!({
                "type": "function_call_output",
                "call_id": string(message, "tool_call_id", &at)?,
                "output": text_of(content, &format!("{at}.content"), &["text"])?,
            })),
            "function" => return Err(refuse(format!("{at}.role"), "deprecated function messages; use tool messages")),
            _ => return Err(malformed(format!("{at}.role"), "not a Chat Completions role")),
        }
    }
    if !instructions.is_empty() {
        out.insert("instructions".to_owned(), instructions.join("\n\n").into());
    }
    out.insert("input".to_owned(), input.into());
    Ok(())
}

/// A user (or later system) message's content as Responses input parts.
fn input_parts(content: &Value, at: &str) -> Result<Vec<Value>, Error> {
    let parts = match content {
        Value::String(text) => return Ok(vec![json!({"type": "input_text", "text": text})]),
        parts => array(parts, at)?,
    };
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let here = format!("{at}[{i}]");
        out.push(match kind(part) {
            "text" => json!({"type": "input_text", "text": string(part, "text", &here)?}),
            "image_url" => {
                let image = part.get("image_url").unwrap_or(&Value::Null);
                let url = match image {
                    Value::String(url) => url.as_str(),
                    image => string(image, "url", &format!("{here}.image_url"))?,
                };
                let mut input = json!({"type": "input_image", "image_url": url});
                if let Some(detail) = opt_str(image, "detail") {
                    input["detail"] = detail.into();
                }
                input
            }
            "file" => flatten(part, "file", &here, "input_file")?,
            _ => return Err(refuse(format!("{here}.type"), "only text, images and files have a Responses input form")),
        });
    }
    Ok(out)
}

/// An assistant message: a message item for its text or refusal (none when it has neither),
/// then one `function_call` item per tool call, `call_id` kept, no item `id`.
fn assistant(message: &Value, at: &str, input: &mut Vec<Value>) -> Result<(), Error> {
    for legacy in ["function_call", "audio"] {
        if message.get(legacy).is_some_and(|v| !v.is_null()) {
            return Err(refuse(format!("{at}.{legacy}"), "Responses has no such input"));
        }
    }
    let text = text_of(message.get("content").unwrap_or(&Value::Null), &format!("{at}.content"), &["text"])?;
    let mut parts = Vec::new();
    if !text.is_empty() {
        parts.push(json!({"type": "output_text", "text": text}));
    }
    if let Some(refusal) = opt_str(message, "refusal") {
        parts.push(json!({"type": "refusal", "refusal": refusal}));
    }
    if !parts.is_empty() {
        input.push(json!({"type": "message", "role": "assistant", "content": parts}));
    }
    if let Some(calls) = message.get("tool_calls").filter(|c| !c.is_null()) {
        for (j, call) in array(calls, &format!("{at}.tool_calls"))?.iter().enumerate() {
            let call = Call::read(call, &format!("{at}.tool_calls[{j}]"))?;
            input.push(json!({
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            }));
        }
    }
    Ok(())
}

/// `response_format` as `text.format`: a JSON schema's fields come up one level.
fn response_format(value: &Value) -> Result<Value, Error> {
    match kind(value) {
        "text" | "json_object" => Ok(json!({"type": kind(value)})),
        "json_schema" => flatten(value, "json_schema", "response_format", "json_schema"),
        _ => Err(refuse("response_format.type", "not a format both APIs know")),
    }
}
