//! An upstream's error, read from any of the shapes the two APIs and the Codex backend use, and
//! written back in the shape the client's API expects.
//!
//! Read (§1, §4): an HTTP error body or a Chat error chunk `{"error":{message,type,param,code}}`
//! (both APIs on the platform), a Responses `error` event `{type:"error",code,message,param}`, a
//! failed response's `error` `{code,message}`, and the Codex backend's FastAPI-style
//! `{"detail":"…"}` or `{"detail":{"code":…}}`.

use serde_json::{Value, json};

/// An error an upstream reported, in either API's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamError {
    /// What went wrong, as the upstream said it.
    pub message: String,
    /// The Chat-style `type` (`invalid_request_error`), where one was given.
    pub kind: Option<String>,
    /// The machine-readable code (`context_length_exceeded`), where one was given.
    pub code: Option<String>,
    /// The parameter at fault, where one was named.
    pub param: Option<String>,
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl UpstreamError {
    /// The error a body, chunk or event carries, if it carries one.
    pub fn from_value(value: &Value) -> Option<UpstreamError> {
        if let Some(error) = value.get("error").filter(|e| !e.is_null()) {
            return Some(Self::from_fields(error));
        }
        if value.get("type").and_then(Value::as_str) == Some("error") {
            return Some(Self::from_fields(value));
        }
        match value.get("detail")? {
            Value::String(message) => Some(Self::new(message.clone(), None)),
            detail => Some(Self::from_fields(detail)),
        }
    }

    /// The error of a Responses `response.failed` or `error` event.
    pub(crate) fn from_event(event: &Value) -> UpstreamError {
        let source = event.get("response").unwrap_or(event);
        Self::from_value(source).unwrap_or_else(|| Self::new("the response failed".to_owned(), None))
    }

    /// An error with a message and a code, nothing else.
    pub(crate) fn new(message: String, code: Option<&str>) -> UpstreamError {
        UpstreamError { message, kind: None, code: code.map(str::to_owned), param: None }
    }

    /// The fields of an error object (or a plain string standing for one).
    fn from_fields(error: &Value) -> UpstreamError {
        if let Some(message) = error.as_str() {
            return Self::new(message.to_owned(), None);
        }
        let field = |key: &str| match error.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let code = field("code");
        let message = field("message").or_else(|| code.clone()).unwrap_or_else(|| "the upstream failed".to_owned());
        UpstreamError { message, kind: field("type"), code, param: field("param") }
    }

    /// The HTTP error body both APIs use, and the error chunk of a Chat stream:
    /// `{"error":{"message","type","param","code"}}` (Chat Completions reference, "Error codes").
    pub fn to_body(&self) -> Value {
        let kind = self.kind.as_deref().or(self.code.as_deref()).unwrap_or("api_error");
        json!({"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}})
    }

    /// A Responses stream's `error` event (Responses streaming reference, "error").
    pub fn to_event(&self, sequence_number: u64) -> Value {
        json!({
            "type": "error",
            "code": self.code.as_deref().or(self.kind.as_deref()),
            "message": self.message,
            "param": self.param,
            "sequence_number": sequence_number,
        })
    }

    /// The `error` of a failed Responses response: `{code, message}`.
    pub fn to_response_error(&self) -> Value {
        let code = self.code.as_deref().or(self.kind.as_deref()).unwrap_or("server_error");
        json!({"code": code, "message": self.message})
    }

    /// The error of a stream that ended before its terminal event (§4: codex treats a stream
    /// ending without `response.completed` as an error).
    pub(crate) fn incomplete() -> UpstreamError {
        Self::new("the upstream stream ended before it completed".to_owned(), Some("stream_incomplete"))
    }
}
