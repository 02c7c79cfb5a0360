//! Reading a streamed answer: Server-Sent Events as Chat Completions and Responses send them,
//! and the faults of `wit/LIVE-LOOP.md`: an error inside the stream, a stream that ends before its
//! terminating event. An event that is not JSON is skipped, as clients skip it: it is counted,
//! and neither passed on nor kept, and the rest of the stream goes on unchanged.
//!
//! A stream is complete when it says so: `[DONE]`, or a chunk with a `finish_reason` (Chat
//! Completions), or `response.completed` / `response.incomplete` (Responses). The reader never
//! waits for a `[DONE]` that a finished stream does not send: after the finishing chunk it only
//! waits briefly for the usage chunk that may follow.

use route_policy_contract::types::Usage;
use serde_json::Value;

use crate::transport::Api;

/// What one event meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A chunk with no content (a role, an empty delta, a keep-alive).
    Empty,
    /// Content the user would see (text or a tool call).
    Content,
    /// The answer finished (a finish reason); a usage chunk or `[DONE]` may still follow.
    Finished,
    /// The stream is over: `[DONE]`, or a completed response.
    Done,
    /// An event that is not JSON: its data, cut short.
    Malformed(String),
    /// The provider's error inside the stream: its data.
    Error(String),
}

/// Splits a byte stream into events and reads each, keeping the usage it reports.
pub struct Reader {
    api: Api,
    buffer: Vec<u8>,
    /// The bytes of the events completed since [`Reader::take_complete`] last took them.
    complete: Vec<u8>,
    /// The same, since [`Reader::take_kept`] last took them (the held answer's body).
    kept: Vec<u8>,
    /// Events that were not JSON, skipped.
    pub skipped: u32,
    /// The JSON of each well-formed event since [`Reader::take_json`], kept only for a caller
    /// that translates them ([`Reader::keep_json`]), so that no event is parsed twice.
    json: Option<Vec<Value>>,
    /// Events read so far.
    pub events: u32,
    /// Whether content arrived.
    pub content: bool,
    /// Whether the answer finished.
    pub finished: bool,
    /// The usage, when the provider reported it.
    pub usage: Option<Usage>,
}

/// The longest stretch of an error event's data kept for the policy.
const DETAIL_BYTES: usize = 4096;

impl Reader {
    /// A reader for `api`'s stream.
    pub fn new(api: Api) -> Reader {
        Reader {
            api,
            buffer: Vec::new(),
            complete: Vec::new(),
            kept: Vec::new(),
            skipped: 0,
            json: None,
            events: 0,
            content: false,
            finished: false,
            usage: None,
        }
    }

    /// Takes a chunk of the stream; returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some((end, gap)) = event_end(&self.buffer) {
            let whole: Vec<u8> = self.buffer.drain(..end + gap).collect();
            let event = self.read(&whole[..end]);
            if matches!(event, Some(Event::Malformed(_))) {
                self.skipped += 1;
            } else {
                self.complete.extend_from_slice(&whole);
                self.kept.extend_from_slice(&whole);
            }
            events.extend(event);
        }
        events
    }

    /// The bytes of every event completed since the last call, as they arrived: what may be
    /// passed on to a caller once the events read well.
    pub fn take_complete(&mut self) -> bytes::Bytes {
        bytes::Bytes::from(std::mem::take(&mut self.complete))
    }

    /// Keeps the JSON of every well-formed event from now on, for [`Reader::take_json`].
    pub fn keep_json(&mut self) {
        self.json.get_or_insert_with(Vec::new);
    }

    /// The JSON of the well-formed events completed since the last call (none unless
    /// [`Reader::keep_json`] was called). A Chat stream's `[DONE]` is not among them.
    pub fn take_json(&mut self) -> Vec<Value> {
        self.json.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The bytes of every well-formed event completed since the last call: the held answer.
    pub fn take_kept(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.kept)
    }

    /// Whether bytes of an unfinished event are waiting (a stream cut inside an event).
    pub fn pending(&self) -> bool {
        self.buffer.iter().any(|b| !b.is_ascii_whitespace())
    }

    /// Reads one event block (its lines, without the blank line that ended it).
    fn read(&mut self, block: &[u8]) -> Option<Event> {
        let text = String::from_utf8_lossy(block);
        let mut data = Vec::new();
        for line in text.lines() {
            if let Some(value) = line.strip_prefix("data:") {
                data.push(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        if data.is_empty() {
            return None; // a comment or an `event:` line alone
        }
        let data = data.join("\n");
        self.events += 1;
        if data.trim() == "[DONE]" {
            return Some(Event::Done);
        }
        let Ok(json) = serde_json::from_str::<Value>(&data) else {
            return Some(Event::Malformed(cut(&data)));
        };
        let event = self.meaning(&json, &data);
        if let Some(kept) = self.json.as_mut() {
            kept.push(json);
        }
        Some(event)
    }

    /// What a JSON event means for this API.
    fn meaning(&mut self, json: &Value, data: &str) -> Event {
        let kind = json.get("type").and_then(Value::as_str).unwrap_or("");
        if json.get("error").is_some_and(|e| !e.is_null()) || kind == "error" || kind == "response.failed" {
            return Event::Error(cut(data));
        }
        match self.api {
            Api::Responses => match kind {
                "response.completed" | "response.incomplete" => {
                    self.usage = json.pointer("/response/usage").and_then(usage).or(self.usage);
                    self.finished = true;
                    Event::Done
                }
                k if k.ends_with(".delta") => {
                    self.content = true;
                    Event::Content
                }
                _ => Event::Empty,
            },
            Api::ChatCompletions | Api::Other => {
                if let Some(found) = json.get("usage").and_then(usage) {
                    self.usage = Some(found);
                }
                let choices = json.get("choices").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                let content = choices.iter().any(|c| {
                    let delta = c.get("delta");
                    delta.and_then(|d| d.get("content")).and_then(Value::as_str).is_some_and(|s| !s.is_empty())
                        || delta.and_then(|d| d.get("tool_calls")).is_some_and(|t| !t.is_null())
                });
                let finished = choices.iter().any(|c| c.get("finish_reason").is_some_and(Value::is_string));
                self.content |= content;
                if finished {
                    self.finished = true;
                    Event::Finished
                } else if content {
                    Event::Content
                } else {
                    Event::Empty
                }
            }
        }
    }
}

/// Where the first event of `buffer` ends: its length, and the length of the blank line after
/// it (`\n\n` or `\r\n\r\n`).
fn event_end(buffer: &[u8]) -> Option<(usize, usize)> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|at| (at, 2));
    let crlf = buffer.windows(4).position(|w| w == b"\r\n\r\n").map(|at| (at, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Token counts from a `usage` object of either API.
pub fn usage(value: &Value) -> Option<Usage> {
    let count = |names: [&str; 2]| names.iter().find_map(|n| value.get(*n).and_then(Value::as_u64));
    let input = count(["prompt_tokens", "input_tokens"])?;
    let output = count(["completion_tokens", "output_tokens"]).unwrap_or(0);
    Some(Usage { input_tokens: input, output_tokens: output })
}

fn cut(data: &str) -> String {
    if data.len() <= DETAIL_BYTES {
        return data.to_owned();
    }
    let mut end = DETAIL_BYTES;
    while !data.is_char_boundary(end) {
        end -= 1;
    }
    data[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(content: &str, finish: Option<&str>) -> String {
        let finish = finish.map_or("null".to_owned(), |f| format!("\"{f}\""));
        format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{content}\"}},\"finish_reason\":{finish}}}]}}\n\n")
    }

    #[test]
    fn a_chat_stream_finishes_with_or_without_done() {
        let mut reader = Reader::new(Api::ChatCompletions);
        let stream = format!(
            "{}{}data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":2}}}}\n\n",
            chat("Hel", None),
            chat("lo", Some("stop"))
        );
        // Split anywhere: the events come out whole.
        let mut events = Vec::new();
        for piece in stream.as_bytes().chunks(7) {
            events.extend(reader.push(piece));
        }
        assert_eq!(events, [Event::Content, Event::Finished, Event::Empty]);
        assert!(reader.finished && reader.content);
        assert_eq!(reader.usage, Some(Usage { input_tokens: 3, output_tokens: 2 }));
        assert_eq!(reader.push(b"data: [DONE]\n\n"), [Event::Done]);
    }

    #[test]
    fn faults_are_named() {
        let mut reader = Reader::new(Api::ChatCompletions);
        assert!(matches!(reader.push(b"data: {not json\n\n")[0], Event::Malformed(_)));
        let error = reader.push(b"data: {\"error\":{\"message\":\"overloaded\"}}\r\n\r\n");
        assert!(matches!(&error[0], Event::Error(e) if e.contains("overloaded")));
        reader.push(b"data: {\"choices\":[{\"delta\":{\"content\":\"par");
        assert!(reader.pending(), "a stream cut inside an event");
    }

    #[test]
    fn a_responses_stream_ends_with_its_completed_event() {
        let mut reader = Reader::new(Api::Responses);
        let events = reader.push(
            b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n\
              event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
        );
        assert_eq!(events, [Event::Content, Event::Done]);
        assert_eq!(reader.usage, Some(Usage { input_tokens: 5, output_tokens: 1 }));
    }
}
