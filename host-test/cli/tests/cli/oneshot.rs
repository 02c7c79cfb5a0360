//! `route-policy resolve|filter|classify`: the readable answer prints what a policy or a
//! provider wrote escaped, so neither can rewrite the operator's terminal.

use crate::binary;
use route_policy_testkit::{FIXTURES, temp_dir};
use std::process::Command;

/// A provider body that tries to clear the screen, move the cursor, overwrite its own line,
/// ring the bell and reverse the rest of the line.
const BODY: &str = "\u{1b}[2J\u{1b}[1;1Hall good\rOK\u{7} \u{202e}dlrow";

#[test]
fn classify_prints_a_policys_words_escaped() {
    let dir = temp_dir("oneshot-escaped");
    let component = dir.join("hostile.wasm");
    // The hostile policy echoes the body into its verdict's message.
    std::fs::write(&component, &FIXTURES.hostile).unwrap();
    let request = serde_json::json!({"status": 503, "body": BODY}).to_string();
    let output =
        Command::new(binary()).arg("classify").arg("--component").arg(&component).arg(&request).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let hidden = |c: char| (c.is_control() && c != '\n') || c == '\u{202e}';
    assert!(!stdout.chars().any(hidden), "raw control characters reached the terminal: {stdout:?}");
    // Each is shown, escaped, in its place.
    assert!(
        stdout.contains(r"\u{1b}[2J\u{1b}[1;1Hall good\u{d}OK\u{7} \u{202e}dlrow"),
        "the message is shown escaped: {stdout}"
    );
    assert!(stdout.contains("  rule    hostile.echo\n"), "{stdout}");
}
