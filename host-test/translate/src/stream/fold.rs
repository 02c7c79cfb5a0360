//! Reading a stream into an answer: each upstream event is folded into the content model of a
//! whole answer, and what it added is reported as [`Change`]s for a translator to emit in the
//! client's API (or for an assembler to ignore).
//!
//! Chat chunks (Chat Completions reference, "The chat completion chunk object"): a call's `id`
//! and `name` come only on its first delta, keyed by `index` (§5); a delta at a known index with
//! a new `id` is a new call (Ollama numbers every call 0, §5); arguments sent as an object are
//! taken as their JSON text. Responses events (Responses streaming reference): text, refusal
//! and argument deltas, each item's `done`, and the terminal `response.completed`,
//! `response.incomplete` or `response.failed`; what came only whole (in an item's `done` or
//! the terminal response, §4: CPA's "whole call only if no delta came") is taken from there.

use crate::answer::{Answer, Call, Finish, Usage, arguments};
use crate::json::{opt_str, opt_u64};
use crate::{Error, Note, UpstreamError};
use serde_json::Value;

/// What one event added to the answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// The stream began: the answer has its id, creation time and model.
    Started,
    /// Message text.
    Text(String),
    /// Refusal text.
    Refusal(String),
    /// The call at this position began (its id and name are known).
    CallStarted(usize),
    /// More arguments of the call at this position.
    CallArgs(usize, String),
    /// The terminal event: the answer's finish (and usage) are known.
    Finished,
    /// The upstream failed.
    Failed(UpstreamError),
}

/// Chat chunks folded into an answer.
#[derive(Debug, Default)]
pub(crate) struct ChatFold {
    /// The answer so far.
    pub answer: Answer,
    started: bool,
    /// Whether a `finish_reason` came.
    pub finished: bool,
    /// The chunk `index` of each call, by position.
    indices: Vec<u64>,
}

impl ChatFold {
    /// Folds one chunk.
    pub fn fold(&mut self, chunk: &Value, changes: &mut Vec<Change>) {
        if let Some(error) = UpstreamError::from_value(chunk) {
            changes.push(Change::Failed(error));
            return;
        }
        if !self.started {
            self.started = true;
            self.answer.id = opt_str(chunk, "id").unwrap_or_default().to_owned();
            self.answer.created = opt_u64(chunk, "created").unwrap_or(0);
            self.answer.model = opt_str(chunk, "model").unwrap_or_default().to_owned();
            changes.push(Change::Started);
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.answer.usage = Some(Usage::from_chat(usage));
        }
        let choices = chunk.get("choices").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for choice in choices.iter().filter(|c| opt_u64(c, "index").unwrap_or(0) == 0) {
            if let Some(delta) = choice.get("delta") {
                self.delta(delta, changes);
            }
            if let Some(reason) = opt_str(choice, "finish_reason") {
                self.answer.finish = Finish::from_chat(reason, "finish_reason").unwrap_or_default();
                self.finished = true;
            }
        }
    }

    /// One choice's delta: text, refusal, tool-call fragments.
    fn delta(&mut self, delta: &Value, changes: &mut Vec<Change>) {
        if let Some(text) = opt_str(delta, "content").filter(|t| !t.is_empty()) {
            self.answer.push_text(text);
            changes.push(Change::Text(text.to_owned()));
        }
        if let Some(refusal) = opt_str(delta, "refusal").filter(|t| !t.is_empty()) {
            self.answer.push_refusal(refusal);
            changes.push(Change::Refusal(refusal.to_owned()));
        }
        let calls = delta.get("tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for (i, call) in calls.iter().enumerate() {
            let index = opt_u64(call, "index").unwrap_or(i as u64);
            let id = opt_str(call, "id");
            let known = self.indices.iter().rposition(|&k| k == index);
            let position = match known {
                Some(p) if id.is_none_or(|id| id == self.answer.calls[p].call_id) => p,
                _ => {
                    let function = call.get("function").unwrap_or(&Value::Null);
                    let call_id = id.map_or_else(|| format!("call_{}_{index}", self.answer.id), str::to_owned);
                    let name = opt_str(function, "name").unwrap_or_default().to_owned();
                    self.answer.calls.push(Call { call_id, name, arguments: String::new() });
                    self.indices.push(index);
                    changes.push(Change::CallStarted(self.answer.calls.len() - 1));
                    self.answer.calls.len() - 1
                }
            };
            let arguments = call.get("function").map(|f| arguments(f, "")).and_then(Result::ok).unwrap_or_default();
            if !arguments.is_empty() {
                self.answer.calls[position].arguments.push_str(&arguments);
                changes.push(Change::CallArgs(position, arguments));
            }
        }
    }
}

/// Responses events folded into an answer.
#[derive(Debug, Default)]
pub(crate) struct ResponsesFold {
    /// The answer so far.
    pub answer: Answer,
    started: bool,
    /// The item id of each call, by position.
    call_items: Vec<String>,
    /// Message items whose text came as deltas.
    streamed_messages: Vec<String>,
    /// Items whose `output_item.done` came.
    done_items: Vec<String>,
    /// Items dropped on the way.
    pub notes: Vec<Note>,
}

impl ResponsesFold {
    /// Folds one event.
    pub fn fold(&mut self, event: &Value, changes: &mut Vec<Change>) {
        let item_id = || opt_str(event, "item_id").unwrap_or_default();
        match opt_str(event, "type").unwrap_or_default() {
            "response.created" | "response.in_progress" => self.start(event.get("response"), changes),
            "response.output_item.added" => {
                if let Some(item) = event.get("item").filter(|i| opt_str(i, "type") == Some("function_call")) {
                    self.start(None, changes);
                    self.add_call(item, changes);
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                self.start(None, changes);
                let delta = opt_str(event, "delta").unwrap_or_default();
                if delta.is_empty() {
                    return;
                }
                if !self.streamed_messages.iter().any(|id| id == item_id()) {
                    self.streamed_messages.push(item_id().to_owned());
                }
                if opt_str(event, "type") == Some("response.output_text.delta") {
                    self.answer.push_text(delta);
                    changes.push(Change::Text(delta.to_owned()));
                } else {
                    self.answer.push_refusal(delta);
                    changes.push(Change::Refusal(delta.to_owned()));
                }
            }
            "response.function_call_arguments.delta" => {
                let delta = opt_str(event, "delta").unwrap_or_default();
                if let Some(p) = self.call_items.iter().position(|id| id == item_id())
                    && !delta.is_empty()
                {
                    self.answer.calls[p].arguments.push_str(delta);
                    changes.push(Change::CallArgs(p, delta.to_owned()));
                }
            }
            "response.output_item.done" => {
                if let Some(item) = event.get("item") {
                    self.start(None, changes);
                    self.catch_up(item, changes);
                    self.done_items.push(opt_str(item, "id").unwrap_or_default().to_owned());
                }
            }
            "response.completed" | "response.incomplete" => self.terminal(event.get("response"), changes),
            "response.failed" | "error" => changes.push(Change::Failed(UpstreamError::from_event(event))),
            _ => {} // keepalive, codex.rate_limits, reasoning and part events: nothing to carry (§4, §6)
        }
    }

    /// The answer's id, creation time and model, from the first event that has them.
    fn start(&mut self, response: Option<&Value>, changes: &mut Vec<Change>) {
        if self.started {
            return;
        }
        self.started = true;
        if let Some(response) = response {
            self.answer.id = opt_str(response, "id").unwrap_or_default().to_owned();
            self.answer.created = opt_u64(response, "created_at").unwrap_or(0);
            self.answer.model = opt_str(response, "model").unwrap_or_default().to_owned();
        }
        changes.push(Change::Started);
    }

    /// A function-call item seen for the first time.
    fn add_call(&mut self, item: &Value, changes: &mut Vec<Change>) {
        let call = Call {
            call_id: opt_str(item, "call_id").unwrap_or_default().to_owned(),
            name: opt_str(item, "name").unwrap_or_default().to_owned(),
            arguments: arguments(item, "").unwrap_or_default(),
        };
        let arguments = call.arguments.clone();
        self.answer.calls.push(call);
        self.call_items.push(opt_str(item, "id").unwrap_or_default().to_owned());
        let position = self.answer.calls.len() - 1;
        changes.push(Change::CallStarted(position));
        if !arguments.is_empty() {
            changes.push(Change::CallArgs(position, arguments));
        }
    }

    /// A finished item: whatever of it did not come as deltas.
    fn catch_up(&mut self, item: &Value, changes: &mut Vec<Change>) {
        let id = opt_str(item, "id").unwrap_or_default();
        if !id.is_empty() && self.done_items.iter().any(|done| done == id) {
            return;
        }
        match opt_str(item, "type").unwrap_or_default() {
            "function_call" => {
                let call_id = opt_str(item, "call_id").unwrap_or_default();
                match self.answer.calls.iter().position(|c| c.call_id == call_id) {
                    None => self.add_call(item, changes),
                    Some(p) if self.answer.calls[p].arguments.is_empty() => {
                        let whole = arguments(item, "").unwrap_or_default();
                        if !whole.is_empty() {
                            self.answer.calls[p].arguments.clone_from(&whole);
                            changes.push(Change::CallArgs(p, whole));
                        }
                    }
                    Some(_) => {}
                }
            }
            "message" if self.streamed_messages.iter().any(|m| m == id) => {}
            _ => {
                let (text, refusal) = (self.answer.text.len(), self.answer.refusal.as_ref().map_or(0, String::len));
                let at = format!("output item {id}");
                if let Err(error) = self.answer.add_item(item, &at, &mut self.notes) {
                    changes.push(Change::Failed(untranslatable(&error)));
                    return;
                }
                if self.answer.text.len() > text {
                    changes.push(Change::Text(self.answer.text[text..].to_owned()));
                }
                if let Some(r) = self.answer.refusal.as_ref().filter(|r| r.len() > refusal) {
                    changes.push(Change::Refusal(r[refusal..].to_owned()));
                }
            }
        }
    }

    /// `response.completed` or `response.incomplete`: the finish, the usage, and any item
    /// that came only in the terminal response.
    fn terminal(&mut self, response: Option<&Value>, changes: &mut Vec<Change>) {
        let response = response.unwrap_or(&Value::Null);
        self.start(Some(response), changes);
        self.answer.finish = match opt_str(response, "status") {
            Some("incomplete") => {
                Finish::from_incomplete(response.get("incomplete_details").and_then(|d| opt_str(d, "reason")))
            }
            _ => Finish::Completed,
        };
        if let Some(usage) = response.get("usage").filter(|u| u.is_object()) {
            self.answer.usage = Some(Usage::from_responses(usage));
        }
        for item in response.get("output").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            self.catch_up(item, changes);
        }
        changes.push(Change::Finished);
    }
}

/// A translation error met mid-stream, as the error the client is told.
fn untranslatable(error: &Error) -> UpstreamError {
    UpstreamError::new(error.to_string(), Some("untranslatable"))
}
