//! Whole answers: a Chat completion into a Responses response, and back.
//!
//! Both read the answer into one content model (text, refusal, tool calls, finish, usage) and
//! write it in the other API's shape, so tool calls keep their `call_…` ids and order (a Chat
//! answer's calls are numbered densely), finish reasons map as §4 and §5 of the design note say
//! (`stop`/`tool_calls` ⇄ `completed`, `length` ⇄ `incomplete`/`max_output_tokens`,
//! `content_filter` ⇄ `incomplete`/`content_filter`), and usage keeps its cached and reasoning
//! tokens. An upstream's error (an error body, a failed response) comes back as
//! [`Error::Upstream`], for the caller to answer in its client's words
//! ([`UpstreamError::to_body`](crate::UpstreamError::to_body)).

use crate::answer::Answer;
use crate::{Error, Translated};
use serde_json::Value;

/// A whole Chat completion as a whole Responses response.
pub fn chat_to_responses(body: &Value) -> Result<Translated, Error> {
    Ok(Translated { body: Answer::from_chat(body)?.responses(), notes: Vec::new() })
}

/// A whole Responses response as a whole Chat completion; `reasoning` items are dropped with a
/// note, other items without a Chat form are refused.
pub fn responses_to_chat(body: &Value) -> Result<Translated, Error> {
    let mut notes = Vec::new();
    let answer = Answer::from_responses(body, &mut notes)?;
    Ok(Translated { body: answer.chat(), notes })
}
