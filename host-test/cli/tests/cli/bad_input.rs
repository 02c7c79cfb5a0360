//! The bad-input suite through `route-policy eval`: one stream holding every kind of bad line,
//! each answered in its place, in bounded time, with an error that names the problem.
//!
//! The same oddities inside well-formed requests (unknown enum values, missing and extra
//! fields, NUL bytes, WHATWG URL tricks) are conformance vectors in `guest/vectors/bad-input/`,
//! which every host runs; see `conformance.rs` for the component's run.

use crate::binary;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most one run of the whole suite may take (85 MiB through a debug build: 1.1 s here).
const BOUND: Duration = Duration::from_secs(60);

const MIB: usize = 1 << 20;

/// What one line's answer must be.
enum Want {
    /// `{"ok": …}` with this field equal to this value.
    Ok(&'static str, &'static str),
    /// `{"err": {"code": "invalid-input", …}}` whose message contains this.
    Invalid(&'static str),
}

/// Every bad line, each between two good ones in the stream.
fn lines() -> Vec<(&'static str, Vec<u8>, Want)> {
    let classify = |body: &str| format!(r#"{{"op":"classify-error","input":{{"status":429,"body":"{body}"}}}}"#);
    let rate_limit_16mib = classify(&"Rate limit reached for requests. ".repeat(16 * MIB / 33));
    vec![
        ("an empty line", b"".to_vec(), Want::Invalid("empty")),
        ("a blank line", b" \t ".to_vec(), Want::Invalid("empty")),
        ("non-UTF-8 bytes", b"\xff\xfe{\"op\":\"policy-info\"}".to_vec(), Want::Invalid("not UTF-8")),
        (
            "a truncated UTF-8 sequence",
            b"{\"op\":\"policy-info\",\"id\":\"\xe2\x82\"}".to_vec(),
            Want::Invalid("not UTF-8"),
        ),
        ("a raw NUL byte", b"{\"op\":\"policy-info\"\x00}".to_vec(), Want::Invalid("not JSON")),
        ("a CRLF line ending", b"{\"op\":\"policy-info\"}\r".to_vec(), Want::Ok("contract", "0.2.0")),
        ("a lone surrogate escape", br#"{"op":"policy-info","id":"\ud800"}"#.to_vec(), Want::Invalid("not JSON")),
        ("JSON that is not an object", b"[\"policy-info\"]".to_vec(), Want::Invalid("must be a JSON object")),
        ("trailing garbage", b"{\"op\":\"policy-info\"} {}".to_vec(), Want::Invalid("trailing characters")),
        (
            "a duplicated op",
            br#"{"op":"policy-info","op":"classify-error"}"#.to_vec(),
            Want::Invalid("duplicate field `op`"),
        ),
        ("an unknown op", br#"{"op":"route","input":{}}"#.to_vec(), Want::Invalid("unknown op `route`")),
        ("an unknown line field", br#"{"op":"policy-info","ops":1}"#.to_vec(), Want::Invalid("unknown field `ops`")),
        (
            "an unknown enum value",
            br#"{"op":"resolve-endpoint","input":{"model":"gpt-5.5","capability":"teleport"}}"#.to_vec(),
            Want::Invalid("at `capability`: unknown value `teleport`"),
        ),
        (
            "a missing field",
            br#"{"op":"filter-fallbacks","input":{"capability":"chat"}}"#.to_vec(),
            Want::Invalid("missing field `primary`"),
        ),
        (
            "an array nested a million deep",
            format!("{}{}", "[".repeat(MIB), "]".repeat(MIB)).into_bytes(),
            Want::Invalid("the line nests deeper than 127 levels"),
        ),
        (
            "an id nested a million deep",
            format!(r#"{{"op":"policy-info","id":{}{}}}"#, "[".repeat(MIB), "]".repeat(MIB)).into_bytes(),
            Want::Invalid("the line nests deeper than 127 levels"),
        ),
        ("a 16 MiB classify-error line", rate_limit_16mib.into_bytes(), Want::Ok("reason", "rate-limited")),
        ("a 16 MiB line of garbage", vec![b'x'; 16 * MIB], Want::Invalid("not JSON")),
        (
            "a 16 MiB model ref",
            format!(
                r#"{{"op":"resolve-endpoint","input":{{"model":"{}","capability":"chat"}}}}"#,
                "m".repeat(16 * MIB)
            )
            .into_bytes(),
            Want::Invalid("at most 1048576 go into the policy sandbox"),
        ),
        ("a 33 MiB line", vec![b'{'; 33 * MIB], Want::Invalid("longer than 32 MiB")),
    ]
}

#[test]
fn every_bad_line_is_answered_in_its_place() {
    let lines = lines();
    // Each bad line sits between two good lines whose ids say where they were.
    let mut input = Vec::new();
    for (at, (_, line, _)) in lines.iter().enumerate() {
        writeln!(input, r#"{{"id":{at},"op":"policy-info"}}"#).unwrap();
        input.extend_from_slice(line);
        input.push(b'\n');
    }
    // The last line has no newline, and still counts.
    input.extend_from_slice(br#"{"id":"last","op":"classify-error","input":{"status":503}}"#);

    let size = input.len();
    let started = Instant::now();
    let mut child = Command::new(binary()).arg("eval").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let elapsed = started.elapsed();
    assert!(output.status.success(), "eval exited with {}", output.status);
    assert!(elapsed < BOUND, "the suite took {elapsed:?}");

    let answers: Vec<Value> = String::from_utf8(output.stdout)
        .expect("answers are UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each answer is one JSON line"))
        .collect();
    assert_eq!(answers.len(), 2 * lines.len() + 1, "one answer per line, none lost");
    for (at, (name, _, want)) in lines.iter().enumerate() {
        assert_eq!(answers[2 * at]["id"], at, "the good line before {name} is in its place");
        let answer = &answers[2 * at + 1];
        assert!(answer.as_object().unwrap().len() <= 2, "{name}: {answer}");
        match want {
            Want::Ok(field, value) => assert_eq!(answer["ok"][field], *value, "{name}: {answer}"),
            Want::Invalid(needle) => {
                assert_eq!(answer["err"]["code"], "invalid-input", "{name}: {answer}");
                let message = answer["err"]["message"].as_str().unwrap();
                assert!(message.contains(needle), "{name}: {message}");
                assert!(message.len() < 2048, "{name}: a {} byte message", message.len());
            }
        }
    }
    assert_eq!(answers.last().unwrap()["id"], "last");
    assert_eq!(answers.last().unwrap()["ok"]["reason"], "overloaded");
    eprintln!("{} lines ({} MiB) answered in {elapsed:?}", answers.len(), size / MIB);
}

#[test]
fn an_empty_stream_gets_an_empty_answer() {
    let output = Command::new(binary()).arg("eval").stdin(Stdio::null()).output().unwrap();
    assert!(output.status.success());
    assert!(output.stdout.is_empty(), "{:?}", String::from_utf8_lossy(&output.stdout));
}
