//! Streams folded back into whole answers of their own API, for a caller that asked for a whole
//! answer from an upstream that only streams (the Codex backend, §1: "non-stream callers must
//! aggregate the SSE"), and for checking a streamed translation against the whole one.
//!
//! [`ChatAssembler`] reads Chat chunks into the content model the whole-answer translation
//! writes, so its answer has the same shape as
//! [`response::responses_to_chat`](crate::response::responses_to_chat)'s. [`ResponsesAssembler`] keeps the upstream's own
//! terminal `response`, and fills its `output` from the `response.output_item.done` events when
//! the terminal event left it empty (codex reads its items from those events). Either answers
//! [`Error::Incomplete`] for a stream without its terminal event and [`Error::Upstream`] for a
//! failed one: never a whole answer that did not complete.

use crate::json::{opt_str, opt_u64};
use crate::stream::Data;
use crate::stream::fold::ChatFold;
use crate::{Error, UpstreamError};
use serde_json::Value;

/// Builds a whole Chat completion from its stream's chunks.
#[derive(Debug, Default)]
pub struct ChatAssembler {
    fold: ChatFold,
    failed: Option<UpstreamError>,
}

impl ChatAssembler {
    /// An assembler for one stream.
    pub fn new() -> ChatAssembler {
        ChatAssembler::default()
    }

    /// One event's `data` (a chunk, `[DONE]`, or something to skip).
    pub fn push(&mut self, data: &str) {
        if let Data::Json(chunk) = Data::read(data) {
            self.push_json(&chunk);
        }
    }

    /// One chunk, already parsed.
    pub fn push_json(&mut self, chunk: &Value) {
        if self.failed.is_some() {
            return;
        }
        let mut changes = Vec::new();
        self.fold.fold(chunk, &mut changes);
        self.failed = changes.into_iter().find_map(|change| match change {
            crate::stream::fold::Change::Failed(error) => Some(error),
            _ => None,
        });
    }

    /// The whole completion, once its `finish_reason` came.
    pub fn finish(self) -> Result<Value, Error> {
        match self.failed {
            Some(error) => Err(Error::Upstream(error)),
            None if self.fold.finished => Ok(self.fold.answer.chat()),
            None => Err(Error::Incomplete),
        }
    }
}

/// Builds a whole Responses response from its stream's events.
#[derive(Debug, Default)]
pub struct ResponsesAssembler {
    items: Vec<(u64, Value)>,
    terminal: Option<Value>,
    failed: Option<UpstreamError>,
}

impl ResponsesAssembler {
    /// An assembler for one stream.
    pub fn new() -> ResponsesAssembler {
        ResponsesAssembler::default()
    }

    /// One event's `data`.
    pub fn push(&mut self, data: &str) {
        if let Data::Json(event) = Data::read(data) {
            self.push_json(&event);
        }
    }

    /// One event, already parsed.
    pub fn push_json(&mut self, event: &Value) {
        if self.failed.is_some() || self.terminal.is_some() {
            return;
        }
        match opt_str(event, "type").unwrap_or_default() {
            "response.output_item.done" => {
                if let Some(item) = event.get("item") {
                    let index = opt_u64(event, "output_index").unwrap_or(self.items.len() as u64);
                    self.items.push((index, item.clone()));
                }
            }
            "response.completed" | "response.incomplete" => self.terminal = event.get("response").cloned(),
            "response.failed" | "error" => self.failed = Some(UpstreamError::from_event(event)),
            _ => {}
        }
    }

    /// The whole response, once its terminal event came.
    pub fn finish(mut self) -> Result<Value, Error> {
        if let Some(error) = self.failed {
            return Err(Error::Upstream(error));
        }
        let mut response = self.terminal.ok_or(Error::Incomplete)?;
        let empty = response.get("output").and_then(Value::as_array).is_none_or(Vec::is_empty);
        if empty && !self.items.is_empty() {
            self.items.sort_by_key(|(index, _)| *index);
            response["output"] = self.items.into_iter().map(|(_, item)| item).collect();
        }
        Ok(response)
    }
}
