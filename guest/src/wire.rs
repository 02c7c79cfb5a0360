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
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

/// The operations, by their WIT names.
pub const OPS: [&str; 4] = ["resolve-endpoint", "filter-fallbacks", "classify-error", "policy-info"];

/// The longest decoding detail an error quotes; the offending value may be megabytes.
const MAX_DETAIL_BYTES: usize = 512;

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

    /// Builds a call from an op name and its input as a JSON value (vectors, tests).
    pub fn new(op: &str, input: Option<Value>) -> Result<Call, PolicyError> {
        build(op, input)
    }

    /// Builds a call from an op name and the raw JSON text of its input. Unlike [`Call::new`],
    /// this sees a key given twice (`{"status": 200, "status": 429}`) and refuses it, where a
    /// parsed value would silently keep one.
    pub fn from_raw(op: &str, input: Option<&RawValue>) -> Result<Call, PolicyError> {
        build(op, input)
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

/// A line as written, before its input is decoded: the input stays raw JSON text, so that it
/// is parsed once, straight into its type.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine<'a> {
    #[serde(default)]
    op: Option<String>,
    #[serde(borrow, default, deserialize_with = "present")]
    input: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
}

/// A field that is present, even as `null`, is `Some`: `"id": null` is echoed.
fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl Line {
    /// Parses one line of JSON Lines input.
    pub fn parse(bytes: &[u8]) -> Result<Line, PolicyError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| invalid(format!("the line is not UTF-8 (invalid byte at offset {})", e.valid_up_to())))?;
        if text.trim().is_empty() {
            return Err(invalid("the line is empty; each line holds one JSON request".to_owned()));
        }
        let not_json = |e: serde_json::Error| invalid(format!("the line is not JSON: {e}"));
        // serde would also read a struct from an array (`["policy-info"]`); a line is an object.
        let first = text.trim_start().as_bytes()[0];
        if first != b'{' {
            serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(not_json)?;
            return Err(invalid(format!("the line must be a JSON object, not {}", kind_of_first(first))));
        }
        let line: RawLine = serde_json::from_str(text).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => invalid(format!(
                "{}; a line holds `op`, `input` and an optional `id`",
                crate::redact::excerpt(&e.to_string(), MAX_DETAIL_BYTES)
            )),
            _ => not_json(e),
        })?;
        let Some(op) = line.op else {
            return Err(invalid(format!("the line has no `op`; expected one of {}", OPS.join(", "))));
        };
        Ok(Line { call: Call::from_raw(&op, line.input)?, id: line.id })
    }
}

/// A call's input before decoding: a parsed value, or the raw text of one.
trait Input<'de>: Sized {
    /// What kind of JSON value it is, for messages ("an object", "null", …).
    fn kind(&self) -> &'static str;
    /// Decodes it, tracking the path to a failure.
    fn decode<T: serde::Deserialize<'de>>(self) -> Result<T, serde_path_to_error::Error<serde_json::Error>>;
}

impl<'de> Input<'de> for Value {
    fn kind(&self) -> &'static str {
        kind(self)
    }

    fn decode<T: serde::Deserialize<'de>>(self) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
        serde_path_to_error::deserialize(self)
    }
}

impl<'de> Input<'de> for &'de RawValue {
    fn kind(&self) -> &'static str {
        // A RawValue is valid JSON with no leading whitespace, so its first byte says its kind.
        kind_of_first(self.get().as_bytes()[0])
    }

    fn decode<T: serde::Deserialize<'de>>(self) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(self.get()))
    }
}

/// Decodes the input of `op` into the call.
fn build<'de>(op: &str, input: Option<impl Input<'de>>) -> Result<Call, PolicyError> {
    fn decode<'de, T: serde::Deserialize<'de>>(op: &str, input: Option<impl Input<'de>>) -> Result<T, PolicyError> {
        let input = input.ok_or_else(|| invalid(format!("{op} needs an `input` object")))?;
        if input.kind() != "an object" {
            return Err(invalid(format!("input of {op} must be an object, not {}", input.kind())));
        }
        input.decode().map_err(|e| {
            let at = match e.path().to_string() {
                top if top == "." => String::new(),
                path => format!(" at `{}`", crate::redact::short(&path)),
            };
            // serde names the offending value (an unknown variant, a wrong-typed string):
            // redacted, and bounded however long the value was.
            let why = e.inner().to_string();
            // The position is within the input, not the line; the path says where instead.
            let position = format!(" at line {} column {}", e.inner().line(), e.inner().column());
            let why = match why.strip_suffix(&position).unwrap_or(&why) {
                // serde_json's word for an enum given as neither a string nor an object.
                "expected value" => "invalid type: expected a string naming one of its values".to_owned(),
                why => crate::redact::excerpt(why, MAX_DETAIL_BYTES),
            };
            invalid(format!("input of {op}{at}: {why}"))
        })
    }
    /// `policy-info` takes nothing: no input, `null`, or `{}`.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoInput {}

    match op {
        "resolve-endpoint" => decode(op, input).map(Call::ResolveEndpoint),
        "filter-fallbacks" => decode(op, input).map(Call::FilterFallbacks),
        "classify-error" => decode(op, input).map(Call::ClassifyError),
        "policy-info" => match input {
            Some(input) if input.kind() != "null" => match input.decode::<NoInput>() {
                Ok(NoInput {}) => Ok(Call::PolicyInfo),
                Err(_) => Err(invalid("policy-info takes no input".to_owned())),
            },
            _ => Ok(Call::PolicyInfo),
        },
        other => {
            Err(invalid(format!("unknown op `{}`; expected one of {}", crate::redact::short(other), OPS.join(", "))))
        }
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

/// The longest line [`stream`] reads; a longer one is answered with an error, unbuffered.
pub const MAX_LINE_BYTES: usize = 32 << 20;

/// Answers every line of `input` on `output`, each parsed call through `answer`: exactly one
/// answer line per input line, in order, whatever the line holds. A final line without its
/// `\n` counts; a `\r` before the `\n` is dropped. Returns the number of lines answered.
///
/// Output is flushed whenever the input has nothing more buffered (checked without reading),
/// so an interactive host sees each answer at once while a batch is written in large chunks.
#[cfg(not(target_arch = "wasm32"))]
pub fn stream(
    answer: &dyn Fn(&Call) -> Value,
    input: impl std::io::Read,
    output: impl std::io::Write,
    max_line_bytes: usize,
) -> std::io::Result<u64> {
    use std::io::{BufReader, BufWriter, Write};
    // Owning the buffer lets the loop see whether more input is already here without blocking
    // on a reader that is waiting for its peer (an interactive host waits for each answer).
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut output = BufWriter::new(output);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        let (read, complete) = read_line(&mut input, &mut line, max_line_bytes)?;
        if read == 0 {
            break;
        }
        number += 1;
        let answer = if !complete {
            let limit = match max_line_bytes {
                mib if mib % (1 << 20) == 0 => format!("{} MiB", mib >> 20),
                bytes => format!("{bytes} bytes"),
            };
            err("invalid-input", &format!("line {number} is longer than {limit}; it was skipped"))
        } else {
            let bytes = line.strip_suffix(b"\r").unwrap_or(&line);
            match Line::parse(bytes) {
                Ok(parsed) => with_id(answer(&parsed.call), parsed.id.as_ref()),
                Err(error) => err(error.code.as_str(), &format!("line {number}: {}", error.message)),
            }
        };
        serde_json::to_writer(&mut output, &answer)?;
        output.write_all(b"\n")?;
        if input.buffer().is_empty() {
            output.flush()?;
        }
    }
    output.flush()?;
    Ok(number)
}

/// Reads one line (without its `\n`) into `line`, keeping at most `max` bytes. Returns the
/// bytes consumed and whether the line fit.
#[cfg(not(target_arch = "wasm32"))]
fn read_line(input: &mut impl std::io::BufRead, line: &mut Vec<u8>, max: usize) -> std::io::Result<(usize, bool)> {
    line.clear();
    let mut consumed = 0;
    let mut fits = true;
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok((consumed, fits));
        }
        let (chunk, done) = match buffer.iter().position(|b| *b == b'\n') {
            Some(at) => (&buffer[..at], Some(at + 1)),
            None => (buffer, None),
        };
        if fits && line.len() + chunk.len() <= max {
            line.extend_from_slice(chunk);
        } else {
            fits = false;
            line.clear();
        }
        let used = done.unwrap_or(chunk.len());
        input.consume(used);
        consumed += used;
        if done.is_some() {
            return Ok((consumed, fits));
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

/// The kind of the JSON value that starts with `byte`.
fn kind_of_first(byte: u8) -> &'static str {
    match byte {
        b'{' => "an object",
        b'[' => "an array",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    }
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
        assert!(error_of(b"[1]").contains("must be a JSON object, not an array"));
        assert!(error_of(br#"["policy-info"]"#).contains("must be a JSON object"));
        assert!(error_of(br#"{"op":"policy-info","op":"classify-error"}"#).contains("duplicate field `op`"));
        assert!(
            error_of(br#"{"op":"classify-error","input":{"status":200,"status":429}}"#)
                .contains("duplicate field `status`")
        );
        assert!(error_of(br#"{"op":5}"#).contains("expected a string"));
        assert!(error_of(br#"{"op":"policy-info"} x"#).contains("not JSON: trailing characters"));
        assert!(error_of(br#"{"op":"classify-error","input":"x"}"#).contains("must be an object, not a string"));
        assert!(error_of(br#"{"op":"classify-error","input":null}"#).contains("must be an object, not null"));
        assert!(error_of(br#"{"op":"classify-error"}"#).contains("needs an `input` object"));
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
        // Deep nesting never overflows the stack: skipped iteratively, or cut at serde_json's
        // recursion limit where it is decoded.
        let (open, close) = ("[".repeat(1_000_000), "]".repeat(1_000_000));
        for (deep, needle) in [
            (format!("{open}{close}"), "not an array"),
            (format!(r#"{{"op":"classify-error","input":{open}{close}}}"#), "must be an object, not an array"),
            (
                format!(r#"{{"op":"classify-error","input":{{"body":{open}{close}}}}}"#),
                "at `body`: invalid type: sequence",
            ),
            (format!(r#"{{"op":"classify-error","input":{{"body":{}}}}}"#, "{\"a\":".repeat(100_000)), "not JSON"),
            (format!(r#"{{"op":"policy-info","id":{open}{close}}}"#), "recursion limit"),
        ] {
            let e = error_of(deep.as_bytes());
            assert!(e.contains(needle), "{}: {e}", &deep[..40]);
        }
    }

    #[test]
    fn answers_are_the_contract_json() {
        let line = Line::parse(br#"{"id":7,"op":"policy-info"}"#).unwrap();
        let answer = with_id(line.call.run_native().to_json(), line.id.as_ref());
        assert_eq!(answer["id"], 7);
        let line = Line::parse(br#"{"id":null,"op":"policy-info","input":{}}"#).unwrap();
        assert_eq!(line.id, Some(Value::Null), "an explicit null id is echoed");
        assert_eq!(answer["ok"]["contract"], crate::rules::CONTRACT);
    }
}
