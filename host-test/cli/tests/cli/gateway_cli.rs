//! `route-policy gateway` as the README runs it: the try-it configuration over the fake
//! upstream, one fallback served through the real binary.

use crate::binary;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the gateway when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_readme_gateway_serves_a_fallback_over_the_fake_upstream() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/try.toml");
    let mut child = Child(
        Command::new(binary())
            .args(["gateway", "--config", config, "--fake-upstream", "--listen", "127.0.0.1:0"])
            .env("OPENAI_API_KEY", "sk-try")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the gateway starts"),
    );
    // It names the fake's origin on stderr, then its own address on stdout. Its stderr is
    // read to the end, so that it never writes to a closed pipe.
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    let (said, first) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = said.send(line);
        }
    });
    let said = first.recv_timeout(std::time::Duration::from_secs(60)).expect("the gateway names its fake");
    let fake = said.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")).unwrap_or_else(|| panic!("{said}"));
    let fake = fake.trim_end_matches(':').to_owned();
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line}")).to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // A Responses client on OpenAI's own route (which speaks Responses): nothing to
        // translate.
        let body = r#"{"model": "flaky", "input": "Count to sixty."}"#;
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/v1/responses"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-route-policy-model"], "openai/gpt-4.1");
        assert_eq!(response.headers()["x-route-policy-fallback"], "true");
        let text = response.text().await.unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["model"], "gpt-4.1", "the upstream model, as configured: {text}");
        let notice = json["route_policy"]["notice"].as_str().unwrap_or_else(|| panic!("{text}"));
        assert!(notice.contains("after 3 attempts") && notice.contains("HTTP 503"), "{notice}");
        // The fallback served for the reason the README gives: the primary's 503s, in the
        // fake's own log, then the fallback once.
        let log = reqwest::get(format!("{fake}/__fake/log")).await.unwrap().text().await.unwrap();
        let log: serde_json::Value = serde_json::from_str(&log).unwrap();
        let seen: Vec<(String, String)> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["model"].as_str().unwrap().to_owned(), l["answer"].as_str().unwrap().to_owned()))
            .collect();
        let expected = [
            ("gpt-5.5-unavailable", "503"),
            ("gpt-5.5-unavailable", "503"),
            ("gpt-5.5-unavailable", "503"),
            ("gpt-4.1", "200"),
        ];
        assert_eq!(seen, expected.map(|(m, a)| (m.to_owned(), a.to_owned())));
        let metrics = reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await.unwrap();
        assert!(metrics.lines().any(|l| l == r#"route_policy_calls_total{result="fallback"} 1"#), "{metrics}");
    });
}
