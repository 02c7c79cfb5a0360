//! `route-policy serve --watch`: answers tagged with their policy, swaps on file changes,
//! rejections logged with the old policy serving, and a decision log without secrets.

use crate::binary;
use route_policy_testkit::{FIXTURES, temp_dir, variant_of_builtin};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const INFO: &[u8] = b"{\"op\":\"policy-info\"}\n";

/// Replaces a file the way a deploy does: write beside it, rename over it.
fn deploy(path: &std::path::Path, bytes: &[u8]) {
    let staging = path.with_extension("staging");
    std::fs::write(&staging, bytes).unwrap();
    std::fs::rename(&staging, path).unwrap();
}

#[test]
fn serve_watches_swaps_rejects_and_logs() {
    let dir = temp_dir("serve");
    let component = dir.join("policy.wasm");
    let log = dir.join("decisions.jsonl");
    std::fs::write(&component, variant_of_builtin("first")).unwrap();
    let mut child = Command::new(binary())
        .args(["serve", "--watch", "--component"])
        .arg(&component)
        .arg("--decision-log")
        .arg(&log)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (events, stderr_lines) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = events.send(line);
        }
    });
    let next_event = || stderr_lines.recv_timeout(Duration::from_secs(60)).expect("serve logs on stderr");
    let mut ask = |line: &[u8]| -> Value {
        stdin.write_all(line).unwrap();
        stdin.flush().unwrap();
        let mut answer = String::new();
        stdout.read_line(&mut answer).unwrap();
        serde_json::from_str(&answer).unwrap()
    };

    assert!(next_event().starts_with("activated "));
    let first = ask(INFO);
    let first_sha = first["policy"]["sha256"].as_str().unwrap().to_owned();
    assert_eq!(first["ok"]["contract"], "0.2.0");

    deploy(&component, &variant_of_builtin("second"));
    let event = next_event();
    assert!(event.starts_with("activated "), "{event}");
    let second = ask(INFO);
    assert_ne!(second["policy"]["sha256"], first_sha.as_str(), "answers name the new policy");

    deploy(&component, &FIXTURES.hostile);
    let event = next_event();
    assert!(event.starts_with("rejected ") && event.contains("canary") && event.contains("keeps serving"), "{event}");
    let third = ask(INFO);
    assert_eq!(third["policy"]["sha256"], second["policy"]["sha256"], "the rejected update does not serve");

    let secret_line = br#"{"op":"classify-error","input":{"status":401,"body":"Incorrect API key provided: sk-proj-L0gSh0uldN3v3rSh0wThis"}}"#;
    let verdict = ask(&[secret_line.as_slice(), b"\n"].concat());
    assert_eq!(verdict["ok"]["reason"], "auth-invalid");

    drop(stdin);
    assert!(child.wait().unwrap().success());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.contains("L0gSh0uldN3v3rSh0wThis"), "the decision log holds a secret");
    let entries: Vec<Value> = logged.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(entries.len(), 4);
    let last = entries.last().unwrap();
    assert_eq!(last["op"], "classify-error");
    assert_eq!(last["rules"], serde_json::json!(["pattern.auth-invalid"]));
    assert_eq!(last["policy"]["sha256"], second["policy"]["sha256"]);
    assert_eq!(last["input-sha256"].as_str().unwrap().len(), 64);
    assert!(last["time-ms"].as_u64().unwrap() > 1_700_000_000_000);
}

#[test]
fn keygen_and_sign_produce_what_serve_verifies() {
    let dir = temp_dir("cli-sign");
    let component = dir.join("policy.wasm");
    std::fs::write(&component, route_policy_host::BUILTIN).unwrap();
    let run = |args: &[&std::ffi::OsStr]| Command::new(binary()).args(args).output().unwrap();
    assert!(run(&["keygen".as_ref(), dir.join("ops").as_os_str()]).status.success());
    assert!(
        run(&["sign".as_ref(), "--key".as_ref(), dir.join("ops.key").as_os_str(), component.as_os_str()])
            .status
            .success()
    );
    let serve = |key: &std::path::Path| {
        let mut child = Command::new(binary())
            .args(["serve", "--component"])
            .arg(&component)
            .arg("--trusted-key")
            .arg(key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(INFO).unwrap();
        child.wait_with_output().unwrap()
    };
    let trusted = serve(&dir.join("ops.pub"));
    assert!(trusted.status.success(), "{}", String::from_utf8_lossy(&trusted.stderr));
    assert!(String::from_utf8_lossy(&trusted.stdout).contains("\"contract\":\"0.2.0\""));
    assert!(run(&["keygen".as_ref(), dir.join("stranger").as_os_str()]).status.success());
    let untrusted = serve(&dir.join("stranger.pub"));
    assert!(!untrusted.status.success());
    assert!(
        String::from_utf8_lossy(&untrusted.stderr).contains("refused at verify"),
        "{}",
        String::from_utf8_lossy(&untrusted.stderr)
    );
}
