//! The content of one answer, apart from either API's shape: its text, refusal, tool calls,
//! finish and usage. A whole answer is read into an [`Answer`] and written out in the other API;
//! the stream translators and assemblers build the same `Answer` event by event and write their
//! final answer with the same writers, so a streamed translation and a whole one agree.
//!
//! Shapes: the Chat Completions reference (`chat.completion`: `choices[0].message`,
//! `finish_reason`, `usage`) and the Responses reference (`response`: `status`,
//! `incomplete_details`, `output` items, `usage`); the mappings of finish reasons and usage are
//! those of §4 and §5 of the design note.

use crate::json::{array, malformed, note, opt_str, opt_u64, refuse, string};
use crate::{Error, Note, UpstreamError};
use serde_json::{Map, Value, json};

/// One answer's content.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Answer {
    /// The upstream's id (`chatcmpl-…` or `resp_…`), kept as is.
    pub id: String,
    /// Unix seconds (`created` ⇄ `created_at`).
    pub created: u64,
    /// The model that answered.
    pub model: String,
    /// The assistant's text, all parts joined; empty when there is none.
    pub text: String,
    /// A refusal, where the model refused.
    pub refusal: Option<String>,
    /// How many tool calls come before the message item in a Responses output.
    pub message_at: usize,
    /// The tool calls, in order.
    pub calls: Vec<Call>,
    /// How it ended.
    pub finish: Finish,
    /// The tokens it used, where reported.
    pub usage: Option<Usage>,
}

/// One function call.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Call {
    /// `call_…`: Chat's `tool_calls[].id`, Responses' `call_id`.
    pub call_id: String,
    /// The function's name.
    pub name: String,
    /// Its arguments, a JSON text.
    pub arguments: String,
}

/// How an answer ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Finish {
    /// Chat `stop` or `tool_calls`; Responses `completed`.
    #[default]
    Completed,
    /// Chat `length`; Responses `incomplete` for `max_output_tokens`.
    Length,
    /// Chat `content_filter`; Responses `incomplete` for `content_filter`.
    ContentFilter,
}

/// Token counts (§4: `input_tokens` ⇄ `prompt_tokens`, `output_tokens` ⇄ `completion_tokens`,
/// cached and reasoning tokens in their details).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub input: u64,
    pub output: u64,
    pub total: u64,
    pub cached: Option<u64>,
    pub reasoning: Option<u64>,
}

impl Finish {
    /// A Chat `finish_reason`.
    pub fn from_chat(reason: &str, at: &str) -> Result<Finish, Error> {
        match reason {
            "stop" | "tool_calls" | "function_call" => Ok(Finish::Completed),
            "length" => Ok(Finish::Length),
            "content_filter" => Ok(Finish::ContentFilter),
            _ => Err(malformed(at, "not a Chat Completions finish reason")),
        }
    }

    /// A Responses `incomplete_details.reason`; any other reason reads as `length` (§4, as
    /// LiteLLM does).
    pub fn from_incomplete(reason: Option<&str>) -> Finish {
        match reason {
            Some("content_filter") => Finish::ContentFilter,
            _ => Finish::Length,
        }
    }

    /// The Chat `finish_reason`: `tool_calls` when the answer calls a tool, else `stop`.
    pub fn chat(self, calls: bool) -> &'static str {
        match self {
            Finish::Completed if calls => "tool_calls",
            Finish::Completed => "stop",
            Finish::Length => "length",
            Finish::ContentFilter => "content_filter",
        }
    }

    /// The Responses `status` and `incomplete_details`.
    pub fn responses(self) -> (&'static str, Value) {
        match self {
            Finish::Completed => ("completed", Value::Null),
            Finish::Length => ("incomplete", json!({"reason": "max_output_tokens"})),
            Finish::ContentFilter => ("incomplete", json!({"reason": "content_filter"})),
        }
    }
}

impl Usage {
    /// A Chat `usage` object.
    pub fn from_chat(usage: &Value) -> Usage {
        Self::read(usage, ["prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"])
    }

    /// A Responses `usage` object.
    pub fn from_responses(usage: &Value) -> Usage {
        Self::read(usage, ["input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"])
    }

    fn read(usage: &Value, [input, output, input_details, output_details]: [&str; 4]) -> Usage {
        let input = opt_u64(usage, input).unwrap_or(0);
        let output = opt_u64(usage, output).unwrap_or(0);
        Usage {
            input,
            output,
            total: opt_u64(usage, "total_tokens").unwrap_or(input + output),
            cached: usage.get(input_details).and_then(|d| opt_u64(d, "cached_tokens")),
            reasoning: usage.get(output_details).and_then(|d| opt_u64(d, "reasoning_tokens")),
        }
    }

    /// The Chat `usage` object.
    pub fn chat(&self) -> Value {
        self.write(["prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"])
    }

    /// The Responses `usage` object.
    pub fn responses(&self) -> Value {
        self.write(["input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"])
    }

    fn write(&self, [input, output, input_details, output_details]: [&str; 4]) -> Value {
        let mut usage = Map::new();
        usage.insert(input.to_owned(), self.input.into());
        if let Some(cached) = self.cached {
            usage.insert(input_details.to_owned(), json!({"cached_tokens": cached}));
        }
        usage.insert(output.to_owned(), self.output.into());
        if let Some(reasoning) = self.reasoning {
            usage.insert(output_details.to_owned(), json!({"reasoning_tokens": reasoning}));
        }
        usage.insert("total_tokens".to_owned(), self.total.into());
        Value::Object(usage)
    }
}

/// The id of the message item of a Responses output built from another API's answer.
pub(crate) fn message_item_id(response_id: &str) -> String {
    format!("msg_{response_id}")
}

/// The id of a function-call item; it must begin with `fc` (§6), so it is never the `call_id`.
pub(crate) fn call_item_id(call_id: &str) -> String {
    format!("fc_{call_id}")
}

impl Call {
    /// The Chat `tool_calls[]` entry (whole answer).
    pub fn chat(&self) -> Value {
        json!({"id": self.call_id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}})
    }

    /// The Responses `function_call` output item, with `status`.
    pub fn responses_item(&self, status: &str) -> Value {
        json!({
            "id": call_item_id(&self.call_id),
            "type": "function_call",
            "status": status,
            "call_id": self.call_id,
            "name": self.name,
            "arguments": self.arguments,
        })
    }

    /// A Chat `tool_calls[]` entry (`id`, `type`, `function`) or Responses `function_call` item
    /// (`call_id`, `name`, `arguments`), read at `at`.
    pub fn read(value: &Value, at: &str) -> Result<Call, Error> {
        if let Some(function) = value.get("function") {
            if opt_str(value, "type").is_some_and(|t| t != "function") {
                return Err(refuse(format!("{at}.type"), "only function tool calls have a form in both APIs"));
            }
            let here = format!("{at}.function");
            return Ok(Call {
                call_id: string(value, "id", at)?.to_owned(),
                name: string(function, "name", &here)?.to_owned(),
                arguments: arguments(function, &here)?,
            });
        }
        Ok(Call {
            call_id: string(value, "call_id", at)?.to_owned(),
            name: string(value, "name", at)?.to_owned(),
            arguments: arguments(value, at)?,
        })
    }
}

/// A call's `arguments`: a JSON text, or an object some servers send instead (§5, Ollama).
pub(crate) fn arguments(value: &Value, at: &str) -> Result<String, Error> {
    match value.get("arguments") {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Ok(String::new()),
        Some(object @ Value::Object(_)) => Ok(object.to_string()),
        Some(_) => Err(malformed(format!("{at}.arguments"), "expected a JSON text")),
    }
}

impl Answer {
    /// Reads a whole Chat completion (`object: "chat.completion"`); an error body is the
    /// upstream's error.
    pub fn from_chat(body: &Value) -> Result<Answer, Error> {
        if let Some(error) = UpstreamError::from_value(body) {
            return Err(Error::Upstream(error));
        }
        let choices = array(body.get("choices").unwrap_or(&Value::Null), "choices")?;
        let choice = match choices.as_slice() {
            [one] => one,
            [] => return Err(malformed("choices", "no choice")),
            _ => return Err(refuse("choices", "Responses answers with one generation (n = 1)")),
        };
        let message = choice.get("message").ok_or_else(|| malformed("choices[0].message", "missing"))?;
        for legacy in ["function_call", "audio"] {
            if message.get(legacy).is_some_and(|v| !v.is_null()) {
                return Err(refuse(format!("choices[0].message.{legacy}"), "Responses has no such output"));
            }
        }
        let calls = match message.get("tool_calls") {
            Some(Value::Array(calls)) => calls
                .iter()
                .enumerate()
                .map(|(i, call)| Call::read(call, &format!("choices[0].message.tool_calls[{i}]")))
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        let reason = string(choice, "finish_reason", "choices[0]")?;
        Ok(Answer {
            id: string(body, "id", "")?.to_owned(),
            created: opt_u64(body, "created").unwrap_or(0),
            model: opt_str(body, "model").unwrap_or_default().to_owned(),
            text: opt_str(message, "content").unwrap_or_default().to_owned(),
            refusal: opt_str(message, "refusal").map(str::to_owned),
            message_at: 0,
            calls,
            finish: Finish::from_chat(reason, "choices[0].finish_reason")?,
            usage: body.get("usage").filter(|u| u.is_object()).map(Usage::from_chat),
        })
    }

    /// Reads a whole Responses response (`object: "response"`); a failed response or an error
    /// body is the upstream's error. `reasoning` items are dropped with a note.
    pub fn from_responses(body: &Value, notes: &mut Vec<Note>) -> Result<Answer, Error> {
        let finish = match opt_str(body, "status") {
            status @ (Some("failed") | None) => {
                return Err(match (UpstreamError::from_value(body), status) {
                    (Some(error), _) => Error::Upstream(error),
                    (None, None) => malformed("status", "missing"),
                    (None, Some(_)) => Error::Upstream(UpstreamError::new("the response failed".to_owned(), None)),
                });
            }
            Some("completed") => Finish::Completed,
            Some("incomplete") => {
                Finish::from_incomplete(body.get("incomplete_details").and_then(|d| opt_str(d, "reason")))
            }
            Some(_) => return Err(refuse("status", "only a finished response has a Chat Completions form")),
        };
        let mut answer = Answer {
            id: string(body, "id", "")?.to_owned(),
            created: opt_u64(body, "created_at").unwrap_or(0),
            model: opt_str(body, "model").unwrap_or_default().to_owned(),
            finish,
            usage: body.get("usage").filter(|u| u.is_object()).map(Usage::from_responses),
            ..Answer::default()
        };
        let output = array(body.get("output").unwrap_or(&Value::Null), "output")?;
        for (i, item) in output.iter().enumerate() {
            answer.add_item(item, &format!("output[{i}]"), notes)?;
        }
        Ok(answer)
    }

    /// Adds one Responses output item: a message's text and refusal, a function call, a
    /// dropped reasoning item; any other item is refused.
    pub fn add_item(&mut self, item: &Value, at: &str, notes: &mut Vec<Note>) -> Result<(), Error> {
        match opt_str(item, "type").unwrap_or_default() {
            "message" => {
                let parts = array(item.get("content").unwrap_or(&Value::Null), &format!("{at}.content"))?;
                for (j, part) in parts.iter().enumerate() {
                    let here = format!("{at}.content[{j}]");
                    match opt_str(part, "type").unwrap_or_default() {
                        "output_text" => self.push_text(string(part, "text", &here)?),
                        "refusal" => self.push_refusal(string(part, "refusal", &here)?),
                        _ => return Err(refuse(format!("{here}.type"), "Chat answers carry only text and refusals")),
                    }
                }
            }
            "function_call" => self.calls.push(Call::read(item, at)?),
            "reasoning" => notes.push(note(at, "reasoning items have no Chat Completions form")),
            _ => return Err(refuse(format!("{at}.type"), "only messages and function calls have a Chat form")),
        }
        Ok(())
    }

    /// Appends message text; the message item stands after the calls made so far.
    pub fn push_text(&mut self, text: &str) {
        if !text.is_empty() {
            self.place_message();
            self.text.push_str(text);
        }
    }

    /// Appends refusal text, as [`Answer::push_text`] does text.
    pub fn push_refusal(&mut self, refusal: &str) {
        if !refusal.is_empty() {
            self.place_message();
            self.refusal.get_or_insert_default().push_str(refusal);
        }
    }

    fn place_message(&mut self) {
        if !self.has_message() {
            self.message_at = self.calls.len();
        }
    }

    /// The whole Chat completion.
    pub fn chat(&self) -> Value {
        let content = if !self.text.is_empty() {
            Value::from(self.text.as_str())
        } else if self.calls.is_empty() && self.refusal.is_none() {
            Value::from("")
        } else {
            Value::Null
        };
        let mut message = json!({"role": "assistant", "content": content, "refusal": self.refusal});
        if !self.calls.is_empty() {
            message["tool_calls"] = self.calls.iter().map(Call::chat).collect();
        }
        let mut body = json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": self.finish.chat(!self.calls.is_empty()),
            }],
        });
        if let Some(usage) = &self.usage {
            body["usage"] = usage.chat();
        }
        body
    }

    /// Whether the Responses output has a message item.
    pub fn has_message(&self) -> bool {
        !self.text.is_empty() || self.refusal.is_some()
    }

    /// The Responses message item, with `status`.
    pub fn message_item(&self, status: &str) -> Value {
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(json!({"type": "output_text", "text": self.text, "annotations": []}));
        }
        if let Some(refusal) = &self.refusal {
            content.push(json!({"type": "refusal", "refusal": refusal}));
        }
        json!({
            "id": message_item_id(&self.id),
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        })
    }

    /// The Responses output items with `status`, the message among the calls where it stood.
    pub fn output(&self, status: &str) -> Vec<Value> {
        let mut output: Vec<Value> = self.calls.iter().map(|c| c.responses_item(status)).collect();
        if self.has_message() {
            output.insert(self.message_at.min(output.len()), self.message_item(status));
        }
        output
    }

    /// The whole Responses response.
    pub fn responses(&self) -> Value {
        let (status, incomplete_details) = self.finish.responses();
        self.response_object(status, incomplete_details, Value::Null, self.output("completed"))
    }

    /// A Responses `response` object with these parts.
    pub fn response_object(&self, status: &str, incomplete: Value, error: Value, output: Vec<Value>) -> Value {
        let mut body = json!({
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": error,
            "incomplete_details": incomplete,
            "model": self.model,
            "output": output,
        });
        if let Some(usage) = &self.usage {
            body["usage"] = usage.responses();
        }
        body
    }
}
