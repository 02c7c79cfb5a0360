//! Translation between OpenAI's two model-call APIs, Chat Completions (`/chat/completions`)
//! and Responses (`/responses`), in both directions: requests, whole answers and streams.
//!
//! A gateway serves a client in the client's API while the route it picked may speak the other
//! one; this crate turns one into the other and nothing more. Every function is a pure
//! transform over `serde_json` values: no I/O, no clock, no randomness, so the same input
//! always gives the same output (ids in an answer are derived from the upstream's ids).
//!
//! Modules, one job each:
//! - [`request`]: a request body into the other API's request body, with the [`Note`]s of what
//!   was dropped, or an [`Error::Untranslatable`] naming the parameter that has no equivalent;
//! - [`response`]: a whole answer into the other API's whole answer (text, tool calls, finish
//!   reason, usage), or the upstream's error as an [`UpstreamError`];
//! - [`stream`]: two state machines fed one upstream server-sent event at a time, giving the
//!   client-API events to emit, and never a completion for a stream that did not complete;
//! - [`assemble`]: a stream folded into the whole answer of its own API, for a caller that asked
//!   for a whole answer from an upstream that only streams (the Codex backend).
//!
//! The facts behind each mapping, with their public sources, are collected in the project's
//! design note `API-TRANSLATION.md` (its section numbers are cited in the code as §N); the
//! shapes follow the OpenAI API references for Chat Completions and for Responses and its
//! streaming events (developers.openai.com/api/reference/resources/chat, `…/responses`,
//! `…/responses/streaming-events`).
//!
//! # Request parameters, Chat Completions → Responses
//!
//! | Chat parameter | decision |
//! |---|---|
//! | `model`, `stream`, `parallel_tool_calls`, `store`, `temperature`, `top_p`, `user`, `metadata`, `service_tier`, `safety_identifier`, `prompt_cache_key` | translated (same name) |
//! | `messages` | translated: leading `system`/`developer` messages → `instructions`; later ones → `system`/`developer` message items; text, `image_url` (→ `input_image` with a string URL), `file` (→ `input_file`); assistant `tool_calls` → `function_call` items (`call_id` kept, no item `id`); `tool` → `function_call_output` |
//! | `tools`, `tool_choice` | translated (function tools flattened); other tool types refused |
//! | `response_format`, `verbosity` | translated to `text.format`, `text.verbosity` |
//! | `reasoning_effort` | translated to `reasoning.effort` |
//! | `max_completion_tokens`, `max_tokens` | translated to `max_output_tokens` (the former wins; the latter then dropped with a note) |
//! | `stream_options` | not sent: its `include_usage` is honoured by the stream translator ([`stream::ResponsesToChat::new`]) |
//! | `n` | `1` translated away; more refused (one generation only) |
//! | `stop`, `logit_bias`, `logprobs: true`, `top_logprobs`, `audio`, `modalities` other than text, `web_search_options`, `functions`, `function_call` | refused: each changes the answer's shape or meaning |
//! | `seed`, `frequency_penalty`, `presence_penalty`, `prediction`, a message's `name` | dropped with a note: sampling or latency hints |
//! | anything else | refused, named |
//!
//! For the Codex backend ([`request::Dialect::Codex`], §1): `store` is `false` and `stream` is
//! `true` whatever was asked (a note says so when the client asked otherwise), `instructions`
//! is always sent (empty when there is no system message), and `max_output_tokens`,
//! `temperature`, `top_p`, `user`, `metadata`, `service_tier` and `safety_identifier` are
//! dropped with a note.
//!
//! # Request parameters, Responses → Chat Completions
//!
//! | Responses parameter | decision |
//! |---|---|
//! | `model`, `parallel_tool_calls`, `store`, `temperature`, `top_p`, `user`, `metadata`, `service_tier`, `safety_identifier`, `prompt_cache_key` | translated (same name) |
//! | `instructions` | translated to a first `system` message |
//! | `input` | translated: a string → one user message; message items by role; consecutive `function_call` items → one assistant message's `tool_calls`; `function_call_output` → a `tool` message; `reasoning` items dropped with a note; other items refused |
//! | `tools`, `tool_choice` | translated (function tools nested); built-in and custom tools refused |
//! | `text` | `format` → `response_format`, `verbosity` → `verbosity` |
//! | `reasoning` | `effort` → `reasoning_effort`; `summary` dropped with a note (Chat carries no summary) |
//! | `max_output_tokens` | translated to `max_tokens` (what Chat-only servers know, §5) |
//! | `stream` | translated; a stream also asks for `stream_options.include_usage` |
//! | `include`, `stream_options`, `truncation: "auto"` | dropped with a note |
//! | `previous_response_id`, `conversation`, `prompt`, `background: true`, `max_tool_calls`, `top_logprobs`, `item_reference` items | refused: they need state or features Chat lacks |
//! | anything else | refused, named |
//!
//! Input items' own `id` and `status` fields are references to stored items and are not sent
//! (§6: `store: false` upstreams refuse them).
//!
//! # Answers
//!
//! Text (all `output_text` parts joined, §4), refusals, tool calls (dense indices, `call_id`s
//! kept), finish reasons (`stop`/`tool_calls` ⇄ `completed`, `length` ⇄ `incomplete` for
//! `max_output_tokens`, `content_filter` ⇄ `incomplete` for `content_filter`) and usage (input,
//! output and total tokens, cached and reasoning tokens) are translated. `reasoning` output
//! items are dropped with a note; other output items (built-in tool calls) are refused. Answer
//! metadata with no equivalent (`system_fingerprint`, logprobs) is not carried.
#![deny(missing_docs)]

mod answer;
pub mod assemble;
mod json;
pub mod request;
pub mod response;
pub mod stream;
mod upstream_error;

pub use upstream_error::UpstreamError;

/// Why a body could not be translated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A parameter or item with no equivalent in the other API, whose loss would change the
    /// answer: refused rather than dropped.
    #[error("`{field}` has no equivalent in the other API: {why}")]
    Untranslatable {
        /// Where it stands, as a path (`messages[2].content[0].type`).
        field: String,
        /// Why it cannot be carried.
        why: String,
    },
    /// A body that is not the shape its API documents.
    #[error("`{field}` is malformed: {why}")]
    Malformed {
        /// Where it stands, as a path.
        field: String,
        /// What was expected.
        why: String,
    },
    /// The upstream answered with an error (an error body, a failed response, an error event).
    #[error("the upstream failed: {0}")]
    Upstream(UpstreamError),
    /// A stream that ended before its terminal event.
    #[error("the stream ended before it completed")]
    Incomplete,
}

/// A field left out of a translation because it has no equivalent and dropping it is harmless;
/// a caller may report notes to its client (in a header, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The dropped field, as a path.
    pub field: String,
    /// Why it was dropped.
    pub why: &'static str,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.why)
    }
}

/// A translated body and the notes of what it left out.
#[derive(Clone, Debug, PartialEq)]
pub struct Translated {
    /// The body in the other API.
    pub body: serde_json::Value,
    /// Each field dropped on the way, in the order met.
    pub notes: Vec<Note>,
}
