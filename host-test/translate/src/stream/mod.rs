//! Streams: two state machines, each fed one upstream server-sent event at a time (its `data`,
//! JSON or `[DONE]`), each giving back the events to send the client in the client's API.
//!
//! - [`ChatToResponses`]: Chat chunks from the upstream, Responses events to the client;
//! - [`ResponsesToChat`]: Responses events from the upstream, Chat chunks to the client.
//!
//! Both fold what they read into the same content model the whole-answer translation uses, so
//! a stream assembled back into a whole answer equals the whole-answer translation. Neither
//! emits a completion it did not see: when the upstream stream ends ([`Translate::finish`])
//! without its terminal event, the client gets the other API's
//! error and the state says [`StreamState::Incomplete`]. An event's data that is not JSON is
//! skipped and counted, as clients skip it; `keepalive`, `codex.rate_limits` and unknown events
//! are skipped (§6). Nothing is re-serialised but the events a translation emits.

pub(crate) mod fold;
mod to_chat;
mod to_responses;

pub use to_chat::ResponsesToChat;
pub use to_responses::ChatToResponses;

use fold::Change;
use serde_json::Value;

/// What both stream translators do with the upstream's events; bring it into scope to call
/// them (`use route_policy_translate::stream::Translate`).
pub trait Translate: machine::Machine {
    /// One upstream event's `data` (JSON, or a Chat stream's `[DONE]`); the events to send.
    /// Data that is empty or not JSON is skipped and counted.
    fn push(&mut self, data: &str) -> Vec<Event> {
        match Data::read(data) {
            Data::Json(event) => self.push_json(&event),
            Data::Done => self.done(),
            Data::Skip => {
                *self.skipped_mut() += 1;
                Vec::new()
            }
        }
    }

    /// One upstream event, already parsed; the events to send. Nothing after a terminal event.
    fn push_json(&mut self, event: &Value) -> Vec<Event> {
        let mut events = Vec::new();
        if self.state() != StreamState::Open {
            return events;
        }
        for change in self.fold(event) {
            if self.state() == StreamState::Open {
                self.emit(change, &mut events);
            }
        }
        events
    }

    /// The upstream stream ended: the completion only if its terminal event came; otherwise
    /// the client API's error and [`StreamState::Incomplete`]. Nothing after a terminal event.
    fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        if self.state() == StreamState::Open {
            self.end(&mut events);
        }
        events
    }

    /// Where the stream stands.
    fn state(&self) -> StreamState;

    /// How many events were skipped because their data was empty or not JSON.
    fn skipped(&self) -> u64;
}

/// The steps each translator implements; sealed, so the provided methods of [`Translate`]
/// are the only way in.
mod machine {
    use super::{Change, Event};
    use serde_json::Value;

    pub trait Machine {
        /// Folds one event into the answer; what it added.
        fn fold(&mut self, event: &Value) -> Vec<Change>;
        /// The client events for one change.
        fn emit(&mut self, change: Change, events: &mut Vec<Event>);
        /// The upstream's `[DONE]`.
        fn done(&mut self) -> Vec<Event>;
        /// The end of an open stream.
        fn end(&mut self, events: &mut Vec<Event>);
        /// The skipped-event counter.
        fn skipped_mut(&mut self) -> &mut u64;
    }
}

/// One event to send the client.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A JSON event: `name` is the SSE `event:` field (Responses events carry their `type`
    /// there; Chat chunks have none).
    Json {
        /// The SSE event name, if any.
        name: Option<&'static str>,
        /// The event's data.
        data: Value,
    },
    /// The Chat stream's last event, `data: [DONE]`.
    Done,
}

impl Event {
    /// The event as server-sent-event text, ending with its blank line.
    pub fn to_sse(&self) -> String {
        match self {
            Event::Json { name: Some(name), data } => format!("event: {name}\ndata: {data}\n\n"),
            Event::Json { name: None, data } => format!("data: {data}\n\n"),
            Event::Done => "data: [DONE]\n\n".to_owned(),
        }
    }

    /// The event's JSON data, unless it is `[DONE]`.
    pub fn data(&self) -> Option<&Value> {
        match self {
            Event::Json { data, .. } => Some(data),
            Event::Done => None,
        }
    }
}

/// Where a translated stream stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    /// Events may still come.
    Open,
    /// The upstream's terminal event came and the client got its completion.
    Completed,
    /// The upstream reported an error and the client got it as an error.
    Failed,
    /// The stream ended without a terminal event; the client got an error, never a completion.
    Incomplete,
}

/// One upstream event's data: JSON, the Chat stream's `[DONE]`, or something to skip.
pub(crate) enum Data {
    Json(Value),
    Done,
    Skip,
}

impl Data {
    /// Reads an SSE `data` field; empty data and data that is not JSON are skipped (§6).
    pub fn read(data: &str) -> Data {
        match data.trim() {
            "" => Data::Skip,
            "[DONE]" => Data::Done,
            text => serde_json::from_str(text).map_or(Data::Skip, Data::Json),
        }
    }
}
