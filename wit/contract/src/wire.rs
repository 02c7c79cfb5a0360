//! The JSON Lines envelope of CONTRACT.md (`route-policy eval`): one request per line,
//! `{"op": …, "input": {…}}`, and one answer per line, `{"ok": …}` or `{"err": {…}}`.
//!
//! Every host (the wasmtime CLI, the Node host, the native tests) parses requests and writes
//! answers here, so they agree to the byte. A line that cannot be a request is answered with an
//! `invalid-input` error that names the problem.

use crate::decode;
use crate::types::{
    CallState, Endpoint, EndpointRequest, FallbackPlan, FallbackRequest, Next, PolicyError, PolicyErrorCode,
    PolicyIdentity, ProviderFailure, Verbs, Verdict,
};
use serde_json::{Value, json};

/// The operations, by their WIT names.
pub const OPS: [&str; 5] = ["resolve-endpoint", "filter-fallbacks", "classify-error", "policy-info", "next-step"];

/// One request.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    ResolveEndpoint(EndpointRequest),
    FilterFallbacks(FallbackRequest),
    ClassifyError(ProviderFailure),
    PolicyInfo,
    NextStep(CallState),
}

/// One answer. (`next-step`'s is the largest by far; an answer is built once per call and
/// moved a few times, so it is not boxed.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Endpoint(Result<Endpoint, PolicyError>),
    Plan(Result<FallbackPlan, PolicyError>),
    Verdict(Verdict),
    Info(PolicyIdentity),
    Next(Result<Next, PolicyError>),
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
            Call::NextStep(_) => OPS[4],
        }
    }

    /// Builds a call from an op name and its input, checked by the strict decoder
    /// ([`crate::decode`]).
    pub fn new(op: &str, input: Option<Value>) -> Result<Call, PolicyError> {
        build(op, input, None)
    }

    /// Builds a call from an op name and the JSON text of its input (`route-policy resolve`,
    /// …), refusing a key given twice.
    pub fn from_text(op: &str, text: &str) -> Result<Call, PolicyError> {
        let (input, duplicate) = decode::parse(text).map_err(|e| invalid(not_json("the input", &e)))?;
        build(op, Some(input), duplicate)
    }

    /// The call's input as JSON (`null` for `policy-info`).
    pub fn input(&self) -> Value {
        match self {
            Call::ResolveEndpoint(r) => to_json(r),
            Call::FilterFallbacks(r) => to_json(r),
            Call::ClassifyError(f) => to_json(f),
            Call::PolicyInfo => Value::Null,
            Call::NextStep(c) => to_json(c),
        }
    }

    /// Answers the call with a policy called in-process.
    pub fn answer(&self, policy: &impl Verbs) -> Answer {
        match self {
            Call::ResolveEndpoint(r) => Answer::Endpoint(policy.resolve_endpoint(r)),
            Call::FilterFallbacks(r) => Answer::Plan(policy.filter_fallbacks(r)),
            Call::ClassifyError(f) => Answer::Verdict(policy.classify_error(f)),
            Call::PolicyInfo => Answer::Info(policy.policy_info()),
            Call::NextStep(c) => Answer::Next(policy.next_step(c)),
        }
    }
}

/// A line refused: why, and the line's `id` when it had one, so that a refusal can be matched to
/// its request like any answer.
#[derive(Clone, Debug, PartialEq)]
pub struct LineError {
    pub error: PolicyError,
    pub id: Option<Value>,
}

impl Line {
    /// Parses one line of JSON Lines input: `{"op": …, "input": …, "id": …}`.
    pub fn parse(bytes: &[u8]) -> Result<Line, LineError> {
        let refuse = |message: String| LineError { error: invalid(message), id: None };
        let text = std::str::from_utf8(bytes)
            .map_err(|e| refuse(format!("the line is not UTF-8 (invalid byte at offset {})", e.valid_up_to())))?;
        if text.trim().is_empty() {
            return Err(refuse("the line is empty; each line holds one JSON request".to_owned()));
        }
        let (value, duplicate) = decode::parse(text).map_err(|e| refuse(not_json("the line", &e)))?;
        let Value::Object(mut line) = value else {
            return Err(refuse(format!("the line must be a JSON object, not {}", kind(&value))));
        };
        // From here on a refusal carries the line's `id`, unless the `id` itself is given twice.
        let id_twice = duplicate.as_ref().is_some_and(|d| d.path.0.is_empty() && d.what == "duplicate field `id`");
        let id = if id_twice { None } else { line.remove("id") };
        let refuse = |error: PolicyError| LineError { error, id: id.clone() };
        // A key given twice outside `input` is the line's problem; inside, the input's.
        let (in_input, duplicate) = match duplicate {
            Some(d) if d.path.0.first() == Some(&decode::Step::Key("input".to_owned())) => {
                (Some(decode::Problem { path: decode::Path(d.path.0[1..].to_vec()), what: d.what }), None)
            }
            other => (None, other),
        };
        if let Some(duplicate) = duplicate {
            let at = if duplicate.path.0.is_empty() { String::new() } else { format!(" at `{}`", duplicate.path) };
            return Err(refuse(invalid(format!("the line{at} has a {}", duplicate.what))));
        }
        if let Some(extra) = line.keys().filter(|k| !["op", "input", "id"].contains(&k.as_str())).min() {
            return Err(refuse(invalid(format!(
                "the line has an unknown field {}; a line holds `op`, `input` and an optional `id`",
                decode::quoted(extra)
            ))));
        }
        let op = match line.remove("op") {
            Some(Value::String(op)) => op,
            Some(other) => return Err(refuse(invalid(format!("`op` must be a string, not {}", kind(&other))))),
            None => {
                return Err(refuse(invalid(format!("the line has no `op`; expected one of {}", OPS.join(", ")))));
            }
        };
        match build(&op, line.remove("input"), in_input) {
            Ok(call) => Ok(Line { call, id }),
            Err(error) => Err(refuse(error)),
        }
    }
}

/// serde_json's account of text that is not JSON; nesting past [`MAX_DEPTH`] is named in words
/// that do not depend on the parser.
fn not_json(what: &str, error: &serde_json::Error) -> String {
    if error.to_string().starts_with("recursion limit exceeded") {
        return format!("{what} nests deeper than {MAX_DEPTH} levels");
    }
    if error.to_string().starts_with(decode::TOO_MANY_VALUES) {
        return format!("{what} holds more than {} JSON values; no request needs that many", decode::MAX_VALUES);
    }
    format!("{what} is not JSON: {error}")
}

/// The deepest nesting a line may have, in arrays and objects: serde_json's limit, which the
/// Node host applies too.
pub const MAX_DEPTH: usize = 127;

/// Decodes the input of `op` into the call: a key given twice first, then the strict checks of
/// [`crate::decode`], then serde (which can no longer fail).
fn build(op: &str, input: Option<Value>, duplicate: Option<decode::Duplicate>) -> Result<Call, PolicyError> {
    fn decode_as<T: serde::de::DeserializeOwned>(
        op: &str,
        record: &str,
        input: Option<Value>,
        duplicate: Option<decode::Duplicate>,
    ) -> Result<T, PolicyError> {
        let problem = |p: decode::Problem| {
            let at = if p.path.0.is_empty() { String::new() } else { format!(" at `{}`", p.path) };
            invalid(format!("input of {op}{at}: {}", p.what))
        };
        let mut input = input.ok_or_else(|| invalid(format!("{op} needs an `input` object")))?;
        if !input.is_object() {
            return Err(invalid(format!("input of {op} must be an object, not {}", kind(&input))));
        }
        if let Some(duplicate) = duplicate {
            return Err(problem(duplicate));
        }
        decode::normalize(&mut input);
        decode::check(&input, record, &mut Vec::new()).map_err(problem)?;
        serde_json::from_value(input).map_err(|e| {
            // The checks above and the vocabulary's serde attributes disagree: a bug, named.
            debug_assert!(false, "decode::check passed what serde refuses: {e}");
            invalid(format!("input of {op}: {}", crate::redact::excerpt(&e.to_string(), 512)))
        })
    }
    match op {
        "resolve-endpoint" => decode_as(op, "endpoint-request", input, duplicate).map(Call::ResolveEndpoint),
        "filter-fallbacks" => decode_as(op, "fallback-request", input, duplicate).map(Call::FilterFallbacks),
        "classify-error" => decode_as(op, "provider-failure", input, duplicate).map(Call::ClassifyError),
        "next-step" => decode_as(op, "call-state", input, duplicate).map(Call::NextStep),
        "policy-info" => match input {
            None | Some(Value::Null) => Ok(Call::PolicyInfo),
            Some(Value::Object(map)) if map.is_empty() => Ok(Call::PolicyInfo),
            Some(_) => Err(invalid("policy-info takes no input".to_owned())),
        },
        other => Err(invalid(format!("unknown op {}; expected one of {}", decode::quoted(other), OPS.join(", ")))),
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
            Answer::Next(r) => result(r.as_ref().map(to_json)),
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
                Err(refused) => with_id(
                    err(refused.error.code.as_str(), &format!("line {number}: {}", refused.error.message)),
                    refused.id.as_ref(),
                ),
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

/// Adds the caller's `id` to an answer. Keys print in code-point order, as every object this
/// crate writes (`{"err": …, "id": …}`, `{"id": …, "ok": …}`); the Node host writes the same.
pub fn with_id(answer: Value, id: Option<&Value>) -> Value {
    match (answer, id) {
        (Value::Object(mut fields), Some(id)) => {
            fields.insert("id".to_owned(), id.clone());
            Value::Object(fields)
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

    /// A policy that knows only who it is.
    struct Identity;

    impl Verbs for Identity {
        fn resolve_endpoint(&self, _: &EndpointRequest) -> Result<Endpoint, PolicyError> {
            unreachable!()
        }
        fn filter_fallbacks(&self, _: &FallbackRequest) -> Result<FallbackPlan, PolicyError> {
            unreachable!()
        }
        fn classify_error(&self, _: &ProviderFailure) -> Verdict {
            unreachable!()
        }
        fn policy_info(&self) -> PolicyIdentity {
            PolicyIdentity { contract: crate::CONTRACT.into(), revision: "r".into(), rules_digest: String::new() }
        }
        fn next_step(&self, _: &CallState) -> Result<Next, PolicyError> {
            unreachable!()
        }
    }

    fn error_of(line: &[u8]) -> String {
        let e = Line::parse(line).unwrap_err().error;
        assert_eq!(e.code, PolicyErrorCode::InvalidInput);
        e.message
    }

    #[test]
    fn malformed_lines_name_their_problem() {
        for (line, needle) in [
            (&b""[..], "the line is empty"),
            (b"{\"op\":", "the line is not JSON: EOF"),
            (b"\xff\xfe", "the line is not UTF-8 (invalid byte at offset 0)"),
            (b"[1]", "the line must be a JSON object, not an array"),
            (br#"["policy-info"]"#, "the line must be a JSON object, not an array"),
            (br#"{"op":"policy-info","op":"classify-error"}"#, "the line has a duplicate field `op`"),
            (br#"{"op":"policy-info","id":{"a":1,"a":2}}"#, "the line at `id` has a duplicate field `a`"),
            (
                br#"{"op":"classify-error","input":{"status":200,"status":429}}"#,
                "input of classify-error: duplicate field `status`",
            ),
            (br#"{"op":5}"#, "`op` must be a string, not a number"),
            (br#"{"op":"policy-info"} x"#, "the line is not JSON: trailing characters"),
            (br#"{"op":"classify-error","input":"x"}"#, "input of classify-error must be an object, not a string"),
            (br#"{"op":"classify-error","input":null}"#, "must be an object, not null"),
            (br#"{"op":"classify-error"}"#, "classify-error needs an `input` object"),
            (br#"{"input":{}}"#, "the line has no `op`"),
            (br#"{"op":"resolve"}"#, "unknown op `resolve`"),
            (br#"{"op":"policy-info","extra":1}"#, "the line has an unknown field `extra`"),
            (br#"{"op":"policy-info","input":[]}"#, "policy-info takes no input"),
            (br#"{"op":"resolve-endpoint","input":{"model":"gpt-5.5"}}"#, "missing field `capability`"),
            (
                br#"{"op":"resolve-endpoint","input":{"model":"x","capability":"chatt"}}"#,
                "at `capability`: unknown value `chatt`; expected one of `chat`, `image-generate`",
            ),
            (
                br#"{"op":"resolve-endpoint","input":{"model":"x","capability":{"chat":null}}}"#,
                "at `capability`: expected one of `chat`",
            ),
            (
                br#"{"op":"resolve-endpoint","input":{"model":"x","capability":"chat","credentials":[["k","openai","api-key","api"]]}}"#,
                "at `credentials[0]`: expected an object, not an array",
            ),
            (
                br#"{"op":"resolve-endpoint","input":{"model":"x","capability":"chat","base_url":1}}"#,
                "input of resolve-endpoint: unknown field `base_url`; expected one of `model`, `capability`",
            ),
            (br#"{"op":"classify-error","input":{"status":5.5}}"#, "at `status`: expected an integer from 0 to 65535, not a fractional number"),
            (br#"{"op":"classify-error","input":{"now-ms":1e300}}"#, "not a number beyond 2^53"),
            (br#"{"op":"classify-error","input":{"headers":[["a","b","c"]]}}"#, "at `headers[0]`: expected an array of 2 items, not an array of 3"),
        ] {
            let e = error_of(line);
            assert!(e.contains(needle), "{}: {e}", String::from_utf8_lossy(line));
        }
        // `5.0` is the integer 5, as in JavaScript.
        assert!(Line::parse(br#"{"op":"classify-error","input":{"status":429.0}}"#).is_ok());
        // Deep nesting never overflows the stack: serde_json cuts it past 127 levels.
        let (open, close) = ("[".repeat(1_000_000), "]".repeat(1_000_000));
        for deep in [
            format!("{open}{close}"),
            format!(r#"{{"op":"classify-error","input":{open}{close}}}"#),
            format!(r#"{{"op":"classify-error","input":{{"body":{}}}}}"#, "{\"a\":".repeat(100_000)),
            format!(r#"{{"op":"policy-info","id":{open}{close}}}"#),
        ] {
            let e = error_of(deep.as_bytes());
            assert!(e.contains("nests deeper than 127 levels"), "{}: {e}", &deep[..40]);
        }
        // A line of many small values is refused before it is built (it would take a gigabyte).
        let many = format!(r#"{{"op":"policy-info","id":[{}0]}}"#, "0,".repeat(crate::decode::MAX_VALUES));
        assert!(error_of(many.as_bytes()).contains("holds more than 262144 JSON values"));
        let at_limit =
            |depth: usize| format!(r#"{{"op":"policy-info","id":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        assert!(Line::parse(at_limit(MAX_DEPTH - 1).as_bytes()).is_ok(), "the line object and 126 arrays");
        assert!(error_of(at_limit(MAX_DEPTH).as_bytes()).contains("nests deeper"));
    }

    #[test]
    fn answers_are_the_contract_json() {
        let line = Line::parse(br#"{"id":7,"op":"policy-info"}"#).unwrap();
        let answer = with_id(line.call.answer(&Identity).to_json(), line.id.as_ref());
        assert_eq!(answer["id"], 7);
        let line = Line::parse(br#"{"id":null,"op":"policy-info","input":{}}"#).unwrap();
        assert_eq!(line.id, Some(Value::Null), "an explicit null id is echoed");
        // An id is echoed as the number it is: parsing is correctly rounded (serde_json's
        // `float_roundtrip`), so the echo reads back as the same number (found by fuzzing).
        for id in ["9.88888888888889e39", "0.1", "123456.789e-300", "-0.0"] {
            let line = Line::parse(format!(r#"{{"id":{id},"op":"policy-info"}}"#).as_bytes()).unwrap();
            let echoed = with_id(line.call.answer(&Identity).to_json(), line.id.as_ref()).to_string();
            let again: Value = serde_json::from_str(&echoed).unwrap();
            assert_eq!(again["id"], line.id.clone().unwrap(), "{id} echoed as {echoed}");
            assert_eq!(again["id"].as_f64(), id.parse::<f64>().ok(), "{id}");
        }
        // A refused line keeps its id, unless the id is what is wrong.
        let refused = Line::parse(br#"{"id":"r1","op":"classify-error","input":{"status":"x"}}"#).unwrap_err();
        assert_eq!(refused.id, Some(Value::from("r1")));
        assert_eq!(Line::parse(br#"{"id":1,"id":2,"op":"policy-info"}"#).unwrap_err().id, None);
        assert_eq!(
            Line::parse(br#"{"id":1,"op":"policy-info","x":{"a":1,"a":2}}"#).unwrap_err().id,
            Some(Value::from(1))
        );
        assert_eq!(answer["ok"]["contract"], crate::CONTRACT);
    }
}
