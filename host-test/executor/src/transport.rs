//! How an attempt is sent: the [`Transport`] trait the executor drives, and what an attempt
//! reports back. The real one is [`crate::HttpTransport`]; tests may plug in their own.

use bytes::Bytes;
use route_policy_contract::types::{Outcome, Usage};
use std::future::Future;
use std::time::Duration;

/// Which API a request speaks, by its path: it decides how a stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `…/chat/completions`: chunks with `choices[].delta`, a `finish_reason`, then `[DONE]`.
    ChatCompletions,
    /// `…/responses`: typed events, ending with `response.completed`.
    Responses,
    /// Anything else: a whole JSON body.
    Other,
}

impl Api {
    /// Its name in sentences.
    pub fn name(self) -> &'static str {
        match self {
            Api::ChatCompletions => "Chat Completions",
            Api::Responses => "Responses",
            Api::Other => "another API",
        }
    }

    /// The API a request URL speaks.
    pub fn of(url: &str) -> Api {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        if path.ends_with("/chat/completions") {
            Api::ChatCompletions
        } else if path.ends_with("/responses") {
            Api::Responses
        } else {
            Api::Other
        }
    }
}

/// An attempt's timeouts, in real time (the clock's scale applied).
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    /// Until the connection is open.
    pub connect: Duration,
    /// Until the response's headers.
    pub first_byte: Duration,
    /// Until the first content of a streamed answer.
    pub first_token: Duration,
    /// The longest gap between two stream events (and after a stream's last event, how long
    /// to wait for its trailing usage).
    pub idle: Duration,
    /// The whole attempt.
    pub total: Duration,
}

/// One request, ready to send: the credential is already attached (after the guard).
pub struct Outgoing {
    /// Where.
    pub url: String,
    /// Headers, the credential's among them (never logged).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Bytes,
    /// Whether the answer streams (Server-Sent Events).
    pub streaming: bool,
    /// The API, by the URL's path.
    pub api: Api,
    /// Its timeouts.
    pub deadlines: Deadlines,
    /// Where a streamed answer's bytes go as they arrive (the caller's own stream), if they
    /// are not held until the answer is complete. Bytes are forwarded only event by event,
    /// after each event was read: a broken event is never passed on.
    pub sink: Option<tokio::sync::mpsc::Sender<Bytes>>,
    /// The answer's translation into the caller's API, when the route speaks the other one.
    pub translation: Option<Translation>,
}

/// How an answer is carried back to a caller whose API the route does not speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Translation {
    /// The caller speaks Chat Completions, the route Responses; `include_usage` is the
    /// caller's `stream_options.include_usage`.
    ResponsesToChat {
        /// Whether a streamed answer ends with a usage chunk.
        include_usage: bool,
    },
    /// The caller speaks Responses, the route Chat Completions.
    ChatToResponses,
}

/// A complete answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The provider's status (a success).
    pub status: u16,
    /// Its content type.
    pub content_type: String,
    /// The whole body: the JSON, or every event of the stream as it arrived (but those that
    /// were not JSON).
    pub body: Bytes,
    /// The usage the provider reported, if it did.
    pub usage: Option<Usage>,
    /// How many events a stream held (0 for a whole body).
    pub events: u32,
    /// What a translation into the caller's API left out of the answer, each `field: why`.
    pub notes: Vec<String>,
}

/// What an attempt came to: the outcome the policy reads, and the answer when it succeeded.
#[derive(Clone, Debug)]
pub struct Sent {
    /// What happened, as facts.
    pub outcome: Outcome,
    /// The answer, for a success.
    pub answer: Option<Answer>,
    /// Whether any of its bytes reached the caller through the sink (then nothing else may
    /// take its place).
    pub forwarded: bool,
    /// Whether the caller went away (its sink closed): the attempt was abandoned.
    pub abandoned: bool,
    /// Events of its stream that were not JSON, skipped (neither passed on nor kept), as
    /// clients skip them.
    pub skipped: u32,
}

impl Sent {
    /// An attempt that failed this way before any byte was forwarded.
    pub fn failed(outcome: Outcome) -> Sent {
        Sent { outcome, answer: None, forwarded: false, abandoned: false, skipped: 0 }
    }
}

/// Sends attempts.
pub trait Transport: Send + Sync {
    /// Sends one attempt and reports what happened. It never fails: every failure is an
    /// [`Outcome`].
    fn send(&self, request: Outgoing) -> impl Future<Output = Sent> + Send;
}
