//! Responses events from the upstream, Chat chunks to the client (§4 of the design note).
//!
//! The response's start gives the role chunk (`delta: {role: "assistant", content: ""}`);
//! text and refusal deltas give `delta.content` and `delta.refusal`; each function call gets a
//! dense `index` in the order calls appear (§4 recommends a counter, not the `output_index`,
//! which other items also use), its `id` (the `call_id`), `type` and `name` on its first
//! delta and only `arguments` after. `response.completed` or `response.incomplete` gives the
//! `finish_reason` chunk, the usage chunk (`choices: []`) when the client asked for
//! `stream_options.include_usage`, and `[DONE]`. A failure (`response.failed`, `error`) gives
//! one `{"error":{…}}` chunk and no `finish_reason` (§4's recommendation); so does a stream
//! that ends without a terminal event. Chunk shape: the Chat Completions reference, "The chat
//! completion chunk object".

use super::fold::{Change, ResponsesFold};
use super::{Event, StreamState, Translate, machine::Machine};
use crate::{Note, UpstreamError};
use serde_json::{Value, json};

/// Translates a Responses stream into a Chat Completions stream.
#[derive(Debug)]
pub struct ResponsesToChat {
    fold: ResponsesFold,
    include_usage: bool,
    state: StreamState,
    skipped: u64,
}

impl Translate for ResponsesToChat {
    fn state(&self) -> StreamState {
        self.state
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl Machine for ResponsesToChat {
    fn fold(&mut self, event: &Value) -> Vec<Change> {
        let mut changes = Vec::new();
        self.fold.fold(event, &mut changes);
        changes
    }

    fn emit(&mut self, change: Change, events: &mut Vec<Event>) {
        self.on_change(change, events);
    }

    /// A Responses stream has no `[DONE]`; one is ignored.
    fn done(&mut self) -> Vec<Event> {
        Vec::new()
    }

    /// Without a terminal event: an error chunk, never a `finish_reason`.
    fn end(&mut self, events: &mut Vec<Event>) {
        self.fail(&UpstreamError::incomplete(), StreamState::Incomplete, events);
    }

    fn skipped_mut(&mut self) -> &mut u64 {
        &mut self.skipped
    }
}

impl ResponsesToChat {
    /// A translator for one stream; `include_usage` is the client's
    /// `stream_options.include_usage` ([`chat_include_usage`](crate::request::chat_include_usage)).
    pub fn new(include_usage: bool) -> ResponsesToChat {
        ResponsesToChat { fold: ResponsesFold::default(), include_usage, state: StreamState::Open, skipped: 0 }
    }

    /// The items dropped so far (reasoning), named.
    pub fn notes(&self) -> &[Note] {
        &self.fold.notes
    }

    /// A chunk with one choice.
    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> Event {
        let answer = &self.fold.answer;
        let data = json!({
            "id": answer.id,
            "object": "chat.completion.chunk",
            "created": answer.created,
            "model": answer.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        });
        Event::Json { name: None, data }
    }

    fn on_change(&mut self, change: Change, events: &mut Vec<Event>) {
        let calls = &self.fold.answer.calls;
        match change {
            Change::Started => events.push(self.chunk(json!({"role": "assistant", "content": ""}), None)),
            Change::Text(delta) => events.push(self.chunk(json!({"content": delta}), None)),
            Change::Refusal(delta) => events.push(self.chunk(json!({"refusal": delta}), None)),
            Change::CallStarted(index) => {
                let call = &calls[index];
                let delta = json!({"index": index, "id": call.call_id, "type": "function", "function": {"name": call.name, "arguments": ""}});
                events.push(self.chunk(json!({"tool_calls": [delta]}), None));
            }
            Change::CallArgs(index, arguments) => {
                let delta = json!({"index": index, "function": {"arguments": arguments}});
                events.push(self.chunk(json!({"tool_calls": [delta]}), None));
            }
            Change::Finished => self.complete(events),
            Change::Failed(error) => self.fail(&error, StreamState::Failed, events),
        }
    }

    /// The `finish_reason` chunk, the usage chunk when asked for, `[DONE]`.
    fn complete(&mut self, events: &mut Vec<Event>) {
        let answer = &self.fold.answer;
        events.push(self.chunk(json!({}), Some(answer.finish.chat(!answer.calls.is_empty()))));
        if let Some(usage) = answer.usage.filter(|_| self.include_usage) {
            let data = json!({
                "id": answer.id,
                "object": "chat.completion.chunk",
                "created": answer.created,
                "model": answer.model,
                "choices": [],
                "usage": usage.chat(),
            });
            events.push(Event::Json { name: None, data });
        }
        events.push(Event::Done);
        self.state = StreamState::Completed;
    }

    fn fail(&mut self, error: &UpstreamError, state: StreamState, events: &mut Vec<Event>) {
        events.push(Event::Json { name: None, data: error.to_body() });
        self.state = state;
    }
}
