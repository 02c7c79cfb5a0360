//! Request bodies: a Chat Completions request into a Responses request ([`chat_to_responses`]),
//! and a Responses request into a Chat Completions request ([`responses_to_chat`]).
//!
//! Each walks every top-level parameter once and decides for it: translated, dropped with a
//! [`Note`](crate::Note), or refused with [`Error::Untranslatable`](crate::Error) naming it; a
//! `null` parameter is absent. The decisions, parameter by parameter, are tabled in the crate
//! documentation; the messages and items are translated as §3 and §5 of the design note say,
//! keeping each tool call's `call_…` id across the round trip.

mod to_chat;
mod to_responses;

pub use to_chat::responses_to_chat;
pub use to_responses::chat_to_responses;

/// Which Responses server a Chat request is translated for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    /// The platform API (`api.openai.com/v1/responses`, Azure, compatible servers).
    #[default]
    Platform,
    /// The ChatGPT Codex backend (`chatgpt.com/backend-api/codex/responses`, §1): `store:false`,
    /// `stream:true` and `instructions` always; no token cap or sampling parameters.
    Codex,
}

/// Whether a Chat request asks for usage in its stream (`stream_options.include_usage`), for
/// the stream translator that answers it ([`ResponsesToChat::new`](crate::stream::ResponsesToChat::new)).
pub fn chat_include_usage(body: &serde_json::Value) -> bool {
    body.get("stream_options").and_then(|o| o.get("include_usage")).and_then(serde_json::Value::as_bool) == Some(true)
}

use crate::Error;
use crate::json::{malformed, object};
use serde_json::{Map, Value};

/// `{type, KEY: {…}}` (Chat's nested shape) as `{type: kind, …}` (Responses' flat shape).
fn flatten(value: &Value, key: &str, at: &str, kind: &str) -> Result<Value, Error> {
    let inner = value.get(key).ok_or_else(|| malformed(format!("{at}.{key}"), "missing"))?;
    let mut flat = Map::new();
    flat.insert("type".to_owned(), kind.into());
    flat.extend(object(inner, &format!("{at}.{key}"))?.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(Value::Object(flat))
}

/// `{type, …}` (Responses' flat shape) as `{type: kind, KEY: {…}}` (Chat's nested shape).
fn nest(value: &Value, key: &str, at: &str, kind: &str) -> Result<Value, Error> {
    let inner: Map<String, Value> =
        object(value, at)?.iter().filter(|(k, _)| *k != "type").map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut nested = Map::new();
    nested.insert("type".to_owned(), kind.into());
    nested.insert(key.to_owned(), Value::Object(inner));
    Ok(Value::Object(nested))
}

/// One of [`flatten`] and [`nest`]: the shape change between the two APIs' tools.
type Reshape = fn(&Value, &str, &str, &str) -> Result<Value, Error>;

/// Function tools, reshaped; built-in and custom tools have no form in both APIs (§5).
fn tools(value: &Value, reshape: Reshape) -> Result<Value, Error> {
    let tools = crate::json::array(value, "tools")?;
    let mut out = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        let at = format!("tools[{i}]");
        if crate::json::kind(tool) != "function" {
            return Err(crate::json::refuse(format!("{at}.type"), "only function tools have a form in both APIs"));
        }
        out.push(reshape(tool, "function", &at, "function")?);
    }
    Ok(out.into())
}

/// `none`/`auto`/`required` as they are; a named function reshaped.
fn tool_choice(value: &Value, reshape: Reshape) -> Result<Value, Error> {
    match value {
        Value::String(_) => Ok(value.clone()),
        choice if crate::json::kind(choice) == "function" => reshape(choice, "function", "tool_choice", "function"),
        _ => Err(crate::json::refuse(
            "tool_choice.type",
            "only none, auto, required or a function have a form in both APIs",
        )),
    }
}
