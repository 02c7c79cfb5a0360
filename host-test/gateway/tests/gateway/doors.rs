//! Who may reach the gateway, and what a client may hold of it: the key off loopback, web pages
//! and rebound names, half-open connections, and the memory of requests in flight. Each test is
//! a hostile client's move; the fake's log shows that nothing reached an upstream.

use crate::rig::*;
use route_policy_executor::Clock;
use route_policy_gateway::{Config, Gateway, MAX_JSON_VALUES};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_bound_off_loopback_without_a_key_refuses_to_serve() {
    // The file says loopback (the default); the socket is bound to every interface, as
    // `--listen 0.0.0.0:8080` did. The rule is checked on the socket.
    let config = Config::parse("").unwrap();
    let gateway = Arc::new(Gateway::start(config, ENGINE.clone(), Clock::default()).unwrap());
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", 0)).await.unwrap();
    let served = tokio::time::timeout(Duration::from_secs(10), gateway.serve(listener)).await;
    let error = served.expect("it stops at once").expect_err("refused").to_string();
    assert!(error.contains("client-key-env") && error.contains("0.0.0.0"), "{error}");
    // An IPv4-mapped loopback address is loopback; the unspecified IPv6 address is not.
    let config = Config::parse("").unwrap();
    assert!(config.check_listen("[::ffff:127.0.0.1]:8080".parse().unwrap()).is_ok());
    assert!(config.check_listen("[::]:8080".parse().unwrap()).is_err());
}

/// What a page on evil.example can make a browser send: a "simple" POST (text or form body,
/// no preflight) with its Origin, or, after rebinding its name to 127.0.0.1, any request with
/// its own name in Host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_cannot_drive_the_loopback_gateway() {
    let rig = rig("").await;
    let port = rig.origin.rsplit(':').next().unwrap().to_owned();
    let url = format!("{}/v1/chat/completions", rig.origin);
    let body = serde_json::to_vec(&ask("fake/beta", false)).unwrap();
    let send = |content_type: &'static str, origin: Option<&'static str>, host: Option<String>| {
        let mut request = rig.client.post(&url).header("content-type", content_type).body(body.clone());
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(host) = host {
            request = request.header("host", host);
        }
        request.send()
    };
    let cases = [
        (send("text/plain", Some("https://evil.example"), None).await.unwrap(), 403, "origin_not_allowed"),
        (send("text/plain", None, None).await.unwrap(), 415, "unsupported_media_type"),
        (send("application/x-www-form-urlencoded", None, None).await.unwrap(), 415, "unsupported_media_type"),
        (send("application/json", Some("https://evil.example"), None).await.unwrap(), 403, "origin_not_allowed"),
        (send("application/json", None, Some(format!("evil.example:{port}"))).await.unwrap(), 403, "host_not_allowed"),
    ];
    for (response, status, code) in cases {
        assert_eq!(response.status(), status);
        assert!(response.headers().get("access-control-allow-origin").is_none());
        let answer: Value = json_of(response).await;
        assert_eq!(answer["error"]["code"], code, "{answer}");
    }
    // A rebound page cannot read the operator's pages either.
    for path in ["/v1/models", "/metrics", "/status", "/healthz"] {
        let response = rig
            .client
            .get(format!("{}{path}", rig.origin))
            .header("host", format!("evil.example:{port}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    assert!(rig.fake.log().is_empty(), "nothing reached an upstream: {:?}", rig.fake.log());
    // The README's own `curl localhost:PORT` keeps working.
    let response = send("application/json", None, Some(format!("localhost:{port}"))).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(rig.models_sent(), vec!["beta".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_origin_gets_its_preflight_and_cors_headers() {
    let rig = rig(r#"allowed-origins = ["https://app.example.com"]"#).await;
    let url = format!("{}/v1/chat/completions", rig.origin);
    let preflight = rig
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(header(&preflight, "access-control-allow-origin"), "https://app.example.com");
    assert!(header(&preflight, "access-control-allow-headers").contains("content-type"));
    let response = rig
        .client
        .post(&url)
        .header("origin", "https://app.example.com")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&ask("fake/beta", false)).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "access-control-allow-origin"), "https://app.example.com");
    let other = rig.client.request(reqwest::Method::OPTIONS, &url).header("origin", "https://evil.example").send();
    assert_eq!(other.await.unwrap().status(), 403);
}

/// Half-open connections (request headers sent a byte at a time, then nothing) from one
/// client: more of them than the gateway holds, and each one held past the header time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_neither_lock_out_health_nor_stay_open() {
    let rig = rig("[limits]\nmax-connections = 16\nheader-seconds = 0.5\n").await;
    let address = rig.origin.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.unwrap();
        held.push(stream);
    }
    // Each health check is a new connection; it takes an idle one's place and is answered.
    for _ in 0..3 {
        let response = tokio::time::timeout(
            Duration::from_secs(10),
            reqwest::Client::new().get(format!("{}/healthz", rig.origin)).send(),
        )
        .await
        .expect("answered while 40 half-open connections wait")
        .unwrap();
        assert_eq!(response.status(), 200);
    }
    // Every half-open connection is closed: evicted, or past its header time.
    for stream in &mut held {
        let mut buffer = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await;
        // A reset is closed too; bytes read must be the 408 that closes it.
        if let Ok(n) = read.expect("the gateway closed it") {
            assert!(n == 0 || buffer.starts_with(b"HTTP/1.1 408"), "{:?}", String::from_utf8_lossy(&buffer[..n]));
        }
    }
    let metrics = rig.client.get(format!("{}/metrics", rig.origin)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with(r#"route_policy_requests_rejected_total{reason="connection_evicted"}"#)),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_millions_of_tiny_values_is_refused_before_it_is_parsed() {
    let rig = rig("").await;
    let mut body = ask("fake/beta", false).to_string();
    body.pop();
    body.push_str(",\"metadata_flood\":[");
    body.push_str(&"0,".repeat(MAX_JSON_VALUES + 1));
    body.push_str("0]}");
    let response = rig
        .client
        .post(format!("{}/v1/chat/completions", rig.origin))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let answer: Value = json_of(response).await;
    assert!(answer["error"]["message"].as_str().unwrap().contains("JSON values"), "{answer}");
    assert!(rig.fake.log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_share_one_memory_budget() {
    let rig = rig("[limits]\nin-flight-mib = 1\n").await;
    let large = |model: &str, stream: bool| json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "x".repeat(300 * 1024)}]});
    // The first call holds its share while its stream stalls.
    let mut first = rig.chat(large("fake/stall/alpha", true)).await;
    assert_eq!(first.status(), 200);
    assert!(first.chunk().await.unwrap().is_some());
    let refused = rig.chat(large("fake/beta", false)).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(header(&refused, "retry-after"), "1");
    let answer: Value = json_of(refused).await;
    assert_eq!(answer["error"]["code"], "busy", "{answer}");
    // Small calls still fit beside it.
    assert_eq!(rig.chat(ask("fake/beta", false)).await.status(), 200);
    // The first call's share comes back when it ends.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = rig.chat(large("fake/beta", false)).await.status();
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the budget never came back: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
