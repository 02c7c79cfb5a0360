//! Chat chunks from the upstream, Responses events to the client (§5 of the design note, as
//! LiteLLM's streaming iterator does it).
//!
//! The first chunk opens the response (`response.created`, `response.in_progress`); the first
//! text opens the message item (`response.output_item.added`, `response.content_part.added`)
//! and each text delta is a `response.output_text.delta`; each tool call is its own
//! `function_call` item, opened on its first delta, its arguments streamed as
//! `response.function_call_arguments.delta`. Only the upstream's end (`[DONE]`, or the caller's
//! [`Translate::finish`]) after a `finish_reason` closes the items (`…done` events) and
//! sends `response.completed` (or `response.incomplete` for `length` and `content_filter`) with
//! the usage the last chunk brought. Event shapes: the Responses streaming reference.

use super::fold::{Change, ChatFold};
use super::{Event, StreamState, Translate, machine::Machine};
use crate::UpstreamError;
use crate::answer::{call_item_id, message_item_id};
use serde_json::{Value, json};

/// Translates a Chat Completions stream into a Responses stream.
#[derive(Debug)]
pub struct ChatToResponses {
    fold: ChatFold,
    state: StreamState,
    sequence: u64,
    /// The output index of the message item, once open, and of its text and refusal parts.
    message: Option<usize>,
    text_part: Option<usize>,
    refusal_part: Option<usize>,
    /// The output index of each call, by position.
    calls: Vec<usize>,
    skipped: u64,
}

impl Default for ChatToResponses {
    fn default() -> Self {
        Self::new()
    }
}

impl Translate for ChatToResponses {
    fn state(&self) -> StreamState {
        self.state
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl Machine for ChatToResponses {
    fn fold(&mut self, chunk: &Value) -> Vec<Change> {
        let mut changes = Vec::new();
        self.fold.fold(chunk, &mut changes);
        changes
    }

    fn emit(&mut self, change: Change, events: &mut Vec<Event>) {
        self.on_change(change, events);
    }

    /// `[DONE]` ends a Chat stream.
    fn done(&mut self) -> Vec<Event> {
        self.finish()
    }

    /// Complete only after a `finish_reason`.
    fn end(&mut self, events: &mut Vec<Event>) {
        if self.fold.finished {
            self.complete(events);
        } else {
            self.fail(UpstreamError::incomplete(), StreamState::Incomplete, events);
        }
    }

    fn skipped_mut(&mut self) -> &mut u64 {
        &mut self.skipped
    }
}

impl ChatToResponses {
    /// A translator for one stream.
    pub fn new() -> ChatToResponses {
        ChatToResponses {
            fold: ChatFold::default(),
            state: StreamState::Open,
            sequence: 0,
            message: None,
            text_part: None,
            refusal_part: None,
            calls: Vec::new(),
            skipped: 0,
        }
    }

    /// A Responses event: its `type` and `sequence_number` added to `data`.
    fn event(&mut self, name: &'static str, mut data: Value) -> Event {
        data["type"] = name.into();
        data["sequence_number"] = self.sequence.into();
        self.sequence += 1;
        Event::Json { name: Some(name), data }
    }

    fn on_change(&mut self, change: Change, events: &mut Vec<Event>) {
        match change {
            Change::Started => {
                let response = self.fold.answer.response_object("in_progress", Value::Null, Value::Null, Vec::new());
                events.push(self.event("response.created", json!({"response": response})));
                events.push(self.event("response.in_progress", json!({"response": response})));
            }
            Change::Text(delta) => {
                let (output_index, content_index) = self.part(true, events);
                let item_id = message_item_id(&self.fold.answer.id);
                let data = json!({"item_id": item_id, "output_index": output_index, "content_index": content_index, "delta": delta, "logprobs": []});
                events.push(self.event("response.output_text.delta", data));
            }
            Change::Refusal(delta) => {
                let (output_index, content_index) = self.part(false, events);
                let item_id = message_item_id(&self.fold.answer.id);
                let data = json!({"item_id": item_id, "output_index": output_index, "content_index": content_index, "delta": delta});
                events.push(self.event("response.refusal.delta", data));
            }
            Change::CallStarted(position) => {
                let output_index = self.next_output_index();
                self.calls.push(output_index);
                let mut item = self.fold.answer.calls[position].responses_item("in_progress");
                item["arguments"] = "".into();
                events.push(
                    self.event("response.output_item.added", json!({"output_index": output_index, "item": item})),
                );
            }
            Change::CallArgs(position, delta) => {
                let item_id = call_item_id(&self.fold.answer.calls[position].call_id);
                let data = json!({"item_id": item_id, "output_index": self.calls[position], "delta": delta});
                events.push(self.event("response.function_call_arguments.delta", data));
            }
            Change::Finished => {}
            Change::Failed(error) => self.fail(error, StreamState::Failed, events),
        }
    }

    fn next_output_index(&self) -> usize {
        self.calls.len() + usize::from(self.message.is_some())
    }

    /// The output and content index of the message's text (or refusal) part, opening the
    /// message item and the part on first use.
    fn part(&mut self, text: bool, events: &mut Vec<Event>) -> (usize, usize) {
        let output_index = match self.message {
            Some(index) => index,
            None => {
                let index = self.next_output_index();
                self.message = Some(index);
                let mut item = self.fold.answer.message_item("in_progress");
                item["content"] = json!([]);
                events.push(self.event("response.output_item.added", json!({"output_index": index, "item": item})));
                index
            }
        };
        let parts = usize::from(self.text_part.is_some()) + usize::from(self.refusal_part.is_some());
        let (slot, part) = if text {
            (&mut self.text_part, json!({"type": "output_text", "text": "", "annotations": []}))
        } else {
            (&mut self.refusal_part, json!({"type": "refusal", "refusal": ""}))
        };
        if let Some(content_index) = *slot {
            return (output_index, content_index);
        }
        *slot = Some(parts);
        let item_id = message_item_id(&self.fold.answer.id);
        let data = json!({"item_id": item_id, "output_index": output_index, "content_index": parts, "part": part});
        events.push(self.event("response.content_part.added", data));
        (output_index, parts)
    }

    /// Closes every item in output order, then sends the terminal event with the whole
    /// response: the same object the whole-answer translation gives.
    fn complete(&mut self, events: &mut Vec<Event>) {
        let mut order: Vec<(usize, Option<usize>)> =
            self.calls.iter().enumerate().map(|(p, &i)| (i, Some(p))).collect();
        if let Some(index) = self.message {
            order.push((index, None));
        }
        order.sort_unstable();
        for (output_index, call) in order {
            match call {
                Some(position) => self.close_call(output_index, position, events),
                None => self.close_message(output_index, events),
            }
        }
        let response = self.fold.answer.responses();
        let name = if response["status"] == "completed" { "response.completed" } else { "response.incomplete" };
        events.push(self.event(name, json!({"response": response})));
        self.state = StreamState::Completed;
    }

    fn close_message(&mut self, output_index: usize, events: &mut Vec<Event>) {
        let answer = &self.fold.answer;
        let item_id = message_item_id(&answer.id);
        let item = answer.message_item("completed");
        let parts = [
            (
                self.text_part,
                "response.output_text.done",
                "text",
                json!({"type": "output_text", "text": answer.text, "annotations": []}),
            ),
            (
                self.refusal_part,
                "response.refusal.done",
                "refusal",
                json!({"type": "refusal", "refusal": answer.refusal}),
            ),
        ];
        for (slot, name, key, part) in parts {
            let Some(content_index) = slot else { continue };
            let at = json!({"item_id": item_id, "output_index": output_index, "content_index": content_index});
            let mut done = at.clone();
            done[key] = part[key].clone();
            if key == "text" {
                done["logprobs"] = json!([]);
            }
            events.push(self.event(name, done));
            let mut part_done = at;
            part_done["part"] = part;
            events.push(self.event("response.content_part.done", part_done));
        }
        events.push(self.event("response.output_item.done", json!({"output_index": output_index, "item": item})));
    }

    fn close_call(&mut self, output_index: usize, position: usize, events: &mut Vec<Event>) {
        let call = &self.fold.answer.calls[position];
        let item = call.responses_item("completed");
        let done = json!({
            "item_id": call_item_id(&call.call_id),
            "output_index": output_index,
            "name": call.name,
            "arguments": call.arguments,
        });
        events.push(self.event("response.function_call_arguments.done", done));
        events.push(self.event("response.output_item.done", json!({"output_index": output_index, "item": item})));
    }

    /// The upstream failed or the stream ended early: an `error` event, then `response.failed`
    /// with what had come; never `response.completed`.
    fn fail(&mut self, error: UpstreamError, state: StreamState, events: &mut Vec<Event>) {
        let answer = &self.fold.answer;
        let response =
            answer.response_object("failed", Value::Null, error.to_response_error(), answer.output("incomplete"));
        let event = error.to_event(self.sequence);
        self.sequence += 1;
        events.push(Event::Json { name: Some("error"), data: event });
        events.push(self.event("response.failed", json!({"response": response})));
        self.state = state;
    }
}
