//! The JSON Lines envelope of CONTRACT.md (`route-policy eval`): one request per line,
//! `{"op": …, "input": {…}}`, and one answer per line, `{"ok": …}` or `{"err": {…}}`.
//!
//! Every host (the wasmtime CLI, the Node host, the native tests) parses requests and writes
//! answers here, so they agree to the byte. A line that cannot be a request is answered with an
//! `invalid-input` error that names the problem.

use crate::types::{
    Endpoint, EndpointRequest, FallbackPlan, FallbackRequest, PolicyError, PolicyErrorCode, PolicyIdentity,
    ProviderFailure, Verdict,
};
use serde_json::{Map, Value, json};

/// The operations, by their WIT names.
pub const OPS: [&str; 4] = ["resolve-endpoint", "filter-fallbacks", "classify-error", "policy-info"];

/// One request.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    ResolveEndpoint(EndpointRequest),
    FilterFallbacks(FallbackRequest),
    ClassifyError(ProviderFailure),
    PolicyInfo,
}

/// One answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Endpoint(Result<Endpoint, PolicyError>),
    Plan(Result<FallbackPlan, PolicyError>),
    Verdict(Verdict),
    Info(PolicyIdentity),
}

/// A parsed line: the call and the caller's `id`, echoed in the answer when given.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub call: Call,
    pub id: Option<Value>,
}

impl Call {
    /// The WIT name of the operation.
    pub fn op(&self) -> &'static str {
        match self {
            Call::ResolveEndpoint(_) => OPS[0],
            Call::FilterFallbacks(_) => OPS[1],
            Call::ClassifyError(_) => OPS[2],
            Call::PolicyInfo => OPS[3],
        }
    }

    /// Builds a call from an op name and its input.
    pub fn new(op: &str, input: Option<Value>) -> Result<Call, PolicyError> {
        fn decode<T: serde::de::DeserializeOwned>(op: &str, input: Option<Value>) -> Result<T, PolicyError> {
            match input {
                Some(value @ Value::Object(_)) => serde_json::from_value(value)
                    .map_err(|e| PolicyError::new(PolicyErrorCode::InvalidInput, format!("input of {op}: {e}"))),
                Some(other) => Err(invalid(format!("input of {op} must be an object, not {}", kind(&other)))),
                None => Err(invalid(format!("{op} needs an `input` object"))),
            }
        }
        match op {
            "resolve-endpoint" => decode(op, input).map(Call::ResolveEndpoint),
            "filter-fallbacks" => decode(op, input).map(Call::FilterFallbacks),
            "classify-error" => decode(op, input).map(Call::ClassifyError),
            "policy-info" => match input {
                None | Some(Value::Null) => Ok(Call::PolicyInfo),
                Some(Value::Object(map)) if map.is_empty() => Ok(Call::PolicyInfo),
                Some(_) => Err(invalid("policy-info takes no input".to_owned())),
            },
            other => Err(invalid(format!(
                "unknown op `{}`; expected one of {}",
                crate::redact::short(other),
                OPS.join(", ")
            ))),
        }
    }

    /// The call's input as JSON (`null` for `policy-info`).
    pub fn input(&self) -> Value {
        match self {
            Call::ResolveEndpoint(r) => to_json(r),
            Call::FilterFallbacks(r) => to_json(r),
            Call::ClassifyError(f) => to_json(f),
            Call::PolicyInfo => Value::Null,
        }
    }

    /// Runs the call with the policy compiled into this crate.
    pub fn run_native(&self) -> Answer {
        match self {
            Call::ResolveEndpoint(r) => Answer::Endpoint(crate::resolve_endpoint(r)),
            Call::FilterFallbacks(r) => Answer::Plan(crate::filter_fallbacks(r)),
            Call::ClassifyError(f) => Answer::Verdict(crate::classify_error(f)),
            Call::PolicyInfo => Answer::Info(crate::policy_info()),
        }
    }
}

impl Line {
    /// Parses one line of JSON Lines input.
    pub fn parse(bytes: &[u8]) -> Result<Line, PolicyError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| invalid(format!("the line is not UTF-8 (invalid byte at offset {})", e.valid_up_to())))?;
        if text.trim().is_empty() {
            return Err(invalid("the line is empty; each line holds one JSON request".to_owned()));
        }
        let value: Value = serde_json::from_str(text).map_err(|e| invalid(format!("the line is not JSON: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(invalid(format!("the line must be a JSON object, not {}", kind(&value))));
        };
        let op = match map.remove("op") {
            Some(Value::String(op)) => op,
            Some(other) => return Err(invalid(format!("`op` must be a string, not {}", kind(&other)))),
            None => return Err(invalid(format!("the line has no `op`; expected one of {}", OPS.join(", ")))),
        };
        let input = map.remove("input");
        let id = map.remove("id");
        if let Some(extra) = map.keys().next() {
            return Err(invalid(format!(
                "unknown field `{}` in the line; a line holds `op`, `input` and an optional `id`",
                crate::redact::short(extra)
            )));
        }
        Ok(Line { call: Call::new(&op, input)?, id })
    }
}

impl Answer {
    /// The answer as CONTRACT.md's JSON: `{"ok": …}` or `{"err": {"code", "message"}}`.
    pub fn to_json(&self) -> Value {
        let ok = |value: Value| json!({ "ok": value });
        let result = |r: Result<Value, &PolicyError>| match r {
            Ok(value) => ok(value),
            Err(error) => err(error.code.as_str(), &error.message),
        };
        match self {
            Answer::Endpoint(r) => result(r.as_ref().map(to_json)),
            Answer::Plan(r) => result(r.as_ref().map(to_json)),
            Answer::Verdict(v) => ok(to_json(v)),
            Answer::Info(i) => ok(to_json(i)),
        }
    }
}

/// `{"err": {"code": code, "message": message}}`; hosts use it for their own error codes too.
pub fn err(code: &str, message: &str) -> Value {
    json!({ "err": { "code": code, "message": message } })
}

/// Adds the caller's `id` to an answer, first.
pub fn with_id(answer: Value, id: Option<&Value>) -> Value {
    match (answer, id) {
        (Value::Object(fields), Some(id)) => {
            let mut out = Map::with_capacity(fields.len() + 1);
            out.insert("id".to_owned(), id.clone());
            out.extend(fields);
            Value::Object(out)
        }
        (answer, _) => answer,
    }
}

fn invalid(message: String) -> PolicyError {
    PolicyError::new(PolicyErrorCode::InvalidInput, message)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A vocabulary value as JSON. It cannot fail: the types hold no maps and no floats.
fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("vocabulary types serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(line: &[u8]) -> String {
        let e = Line::parse(line).unwrap_err();
        assert_eq!(e.code, PolicyErrorCode::InvalidInput);
        e.message
    }

    #[test]
    fn malformed_lines_name_their_problem() {
        assert!(error_of(b"").contains("empty"));
        assert!(error_of(b"{\"op\":").contains("not JSON"));
        assert!(error_of(b"\xff\xfe").contains("not UTF-8"));
        assert!(error_of(b"[1]").contains("object"));
        assert!(error_of(br#"{"input":{}}"#).contains("no `op`"));
        assert!(error_of(br#"{"op":"resolve"}"#).contains("unknown op `resolve`"));
        assert!(error_of(br#"{"op":"policy-info","extra":1}"#).contains("unknown field `extra`"));
        assert!(
            error_of(br#"{"op":"resolve-endpoint","input":{"model":"gpt-5.5"}}"#)
                .contains("missing field `capability`")
        );
        assert!(
            error_of(br#"{"op":"resolve-endpoint","input":{"model":"x","capability":"chatt"}}"#)
                .contains("unknown variant `chatt`")
        );
        assert!(
            error_of(br#"{"op":"resolve-endpoint","input":{"model":"x","capability":"chat","base_url":1}}"#)
                .contains("unknown field `base_url`")
        );
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(error_of(deep.as_bytes()).contains("recursion limit"));
    }

    #[test]
    fn answers_are_the_contract_json() {
        let line = Line::parse(br#"{"id":7,"op":"policy-info"}"#).unwrap();
        let answer = with_id(line.call.run_native().to_json(), line.id.as_ref());
        assert_eq!(answer["id"], 7);
        assert_eq!(answer["ok"]["contract"], crate::rules::CONTRACT);
    }
}
