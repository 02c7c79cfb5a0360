//! `route-policy eval`: one answer per line, in order, whatever the lines hold.

use crate::binary;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

fn eval(input: &[u8]) -> Vec<Value> {
    let mut child = Command::new(binary()).arg("eval").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "eval exited with {}", output.status);
    String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn malformed_lines_get_invalid_input_and_the_stream_goes_on() {
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"id\":1,\"op\":\"policy-info\"}\n");
    input.extend_from_slice(b"this is not json\n");
    input.extend_from_slice(b"\xff\xfe\n");
    input.extend_from_slice(b"\n");
    input.extend_from_slice(
        b"{\"op\":\"resolve-endpoint\",\"input\":{\"model\":\"gpt-5.5\",\"capability\":\"teleport\"}}\n",
    );
    input.extend_from_slice(b"{\"id\":\"last\",\"op\":\"classify-error\",\"input\":{\"status\":429}}");
    let answers = eval(&input);
    assert_eq!(answers.len(), 6, "{answers:?}");
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[0]["ok"]["contract"], "0.2.0");
    for (at, needle) in
        [(1, "line 2: the line is not JSON"), (2, "not UTF-8"), (3, "empty"), (4, "unknown value `teleport`")]
    {
        assert_eq!(answers[at]["err"]["code"], "invalid-input", "{}", answers[at]);
        assert!(answers[at]["err"]["message"].as_str().unwrap().contains(needle), "{}", answers[at]);
    }
    assert_eq!(answers[5]["id"], "last");
    assert_eq!(answers[5]["ok"]["reason"], "rate-limited");
}

#[test]
fn answers_keep_the_order_of_the_lines() {
    let lines: String = (0..50)
        .map(|i| {
            format!(
                "{{\"id\":{i},\"op\":\"classify-error\",\"input\":{{\"status\":{}}}}}\n",
                if i % 2 == 0 { 503 } else { 400 }
            )
        })
        .collect();
    let answers = eval(lines.as_bytes());
    assert_eq!(answers.len(), 50);
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer["id"], i);
        assert_eq!(answer["ok"]["reason"], if i % 2 == 0 { "overloaded" } else { "invalid-request" });
    }
}

#[test]
fn an_interactive_host_gets_each_answer_before_it_sends_the_next_line() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(binary()).arg("eval").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for i in 0..3 {
        // Stdin stays open: the answer must come before more input, or this read blocks.
        stdin.write_all(format!("{{\"id\":{i},\"op\":\"policy-info\"}}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(answer["id"], i);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
