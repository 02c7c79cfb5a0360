//! Model calls through the gateway: each test judges what the gateway did from the fake's own
//! request log, and what a client saw from the wire.

use crate::rig::*;
use route_policy_executor::Clock;
use route_policy_gateway::{Config, Gateway, MAX_REQUEST_BYTES};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fallback_serves_and_the_answer_says_so() {
    let rig = rig("").await;
    let response = rig.chat(ask("smart", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-route-policy-model"), "fake/beta");
    assert_eq!(header(&response, "x-route-policy-fallback"), "true");
    assert!(!header(&response, "x-route-policy-policy").is_empty());
    let body: Value = json_of(response).await;
    assert_eq!(body["route_policy"]["requested"], "smart");
    assert_eq!(body["route_policy"]["model"], "fake/beta");
    // The notice tells how the call ended: no "retrying" after the loop moved on.
    let notice = body["route_policy"]["notice"].as_str().unwrap_or_default();
    assert!(notice.starts_with("fake/beta answered instead of fake/unavailable/alpha after 3 attempts: "), "{notice}");
    assert!(notice.contains("HTTP 503") && !notice.to_lowercase().contains("retrying"), "{notice}");
    assert!(body["choices"][0]["message"]["content"].as_str().is_some_and(|c| c.contains("sixty")), "{body}");
    // The upstream saw the primary fail (and perhaps its retry), then the fallback once.
    let sent = rig.models_sent();
    assert!(sent.iter().any(|m| m == "unavailable/alpha"), "{sent:?}");
    assert_eq!(sent.last().map(String::as_str), Some("beta"), "{sent:?}");
    assert_eq!(sent.iter().filter(|m| *m == "beta").count(), 1, "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_own_fallbacks_replace_the_configured_ones_and_are_not_forwarded() {
    let rig = rig("").await;
    let mut body = ask("smart", false);
    body["fallbacks"] = json!(["fake/gamma", "fake/gamma"]);
    let response = rig.chat(body).await;
    // The fake refuses a body that still carries `fallbacks`, as OpenAI does.
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(header(&response, "x-route-policy-model"), "fake/gamma");
    // The ref the policy left out is named in the answer, with its reason.
    let answer = json_of(response).await;
    let dropped = &answer["route_policy"]["dropped"];
    assert_eq!(
        (dropped[0]["model"].as_str(), dropped[0]["reason"].as_str()),
        (Some("fake/gamma"), Some("duplicate")),
        "{answer}"
    );
    let sent = rig.models_sent();
    assert!(sent.contains(&"gamma".to_owned()) && !sent.contains(&"beta".to_owned()), "{sent:?}");
    assert!(rig.fake.log().iter().all(|l| l.answer != "400 unrecognized"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_an_error_that_names_the_problem_and_reach_no_upstream() {
    let rig = rig("").await;
    let url = format!("{}/v1/chat/completions", rig.origin);
    let raw = |body: Vec<u8>| rig.client.post(&url).header("content-type", "application/json").body(body).send();
    let cases: Vec<(reqwest::Response, u16, &str, &str)> = vec![
        (raw(b"{\"model\": ".to_vec()).await.unwrap(), 400, "invalid_json", "not valid JSON"),
        (raw(b"{\"model\": \"smart\xff\"}".to_vec()).await.unwrap(), 400, "invalid_json", "not UTF-8"),
        (raw(b"[1, 2]".to_vec()).await.unwrap(), 400, "invalid_request", "JSON object"),
        (raw(vec![b' '; MAX_REQUEST_BYTES + 1]).await.unwrap(), 413, "request_too_large", "larger than"),
        (rig.chat(ask("nowhere/no-such-model", false)).await, 404, "model_not_found", "no credential for nowhere"),
        (rig.chat(json!({"model": "smart"})).await, 400, "missing_messages", "messages"),
        (rig.chat(json!({"messages": []})).await, 400, "missing_model", "model"),
        (rig.chat(json!({"model": "smart", "messages": [], "stream": "yes"})).await, 400, "invalid_stream", "stream"),
        (
            rig.chat(json!({"model": "smart", "messages": [], "fallbacks": "fake/beta"})).await,
            400,
            "invalid_fallbacks",
            "array",
        ),
        (
            rig.chat(json!({"model": "smart", "messages": [], "fallbacks": vec!["fake/x"; 17]})).await,
            400,
            "invalid_fallbacks",
            "at most",
        ),
        (rig.post("/v1/responses", ask("smart", false)).await, 400, "missing_input", "input"),
        (rig.post("/v1/embeddings", json!({})).await, 404, "not_found", "/v1/embeddings"),
        (rig.client.get(&url).send().await.unwrap(), 405, "method_not_allowed", "GET"),
    ];
    for (response, status, code, words) in cases {
        assert_eq!(response.status(), status);
        let body: Value = json_of(response).await;
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(words), "{body}");
    }
    assert!(rig.fake.log().is_empty(), "{:?}", rig.fake.log());
    // And it still serves.
    assert_eq!(rig.chat(ask("fake/beta", false)).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_without_a_credential_or_with_plain_http_off_loopback_is_refused_clearly() {
    let rig = rig("").await;
    let response = rig.chat(ask("uncredentialed", false)).await;
    let status = response.status();
    let body = json_of(response).await;
    assert!(status.is_client_error() || status.is_server_error(), "{status} {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("credential"), "{body}");
    let response = rig.chat(ask("remote/llama", false)).await;
    let status = response.status();
    let body = json_of(response).await;
    assert!(status.is_client_error() || status.is_server_error(), "{status} {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("http"), "{body}");
    assert!(rig.fake.log().is_empty(), "{:?}", rig.fake.log());
}

#[test]
fn a_gateway_whose_secret_is_missing_does_not_start() {
    let text = "[[credentials]]\nprofile-id = \"k\"\nprovider = \"openai\"\nkind = \"api-key\"\nsecret-env = \"ROUTE_POLICY_GATEWAY_TEST_UNSET\"\n";
    let config = Config::parse(text).unwrap();
    let error = Gateway::start(config, ENGINE.clone(), Clock::default()).err().expect("refused").to_string();
    assert!(error.contains("credential `k`") && error.contains("ROUTE_POLICY_GATEWAY_TEST_UNSET"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_never_starts_fails_over_unseen() {
    let rig = rig("").await;
    let response = rig.chat(ask("silent", true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-route-policy-model"), "fake/beta");
    assert_eq!(header(&response, "x-route-policy-fallback"), "true");
    let text = response.text().await.unwrap();
    assert!(text.starts_with(": route-policy: fake/beta answers for silent"), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    // Only the fallback's words reached the client (the silent primary sent none).
    assert!(text.contains("sixty") && !text.contains("\"error\""), "{text}");
    // Usage was asked for upstream, and passed through.
    assert!(rig.fake.log().iter().all(|l| l.include_usage), "{:?}", rig.fake.log());
    assert!(text.contains("\"usage\""), "{text}");
    let sent = rig.models_sent();
    assert_eq!(sent.first().map(String::as_str), Some("silent/alpha"), "{sent:?}");
    assert_eq!(sent.last().map(String::as_str), Some("beta"), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_after_it_began_ends_with_an_error_event_and_no_done() {
    let rig = rig("").await;
    let response = rig.chat(ask("cut", true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-route-policy-model"), "fake/cut/alpha");
    let text = response.text().await.unwrap();
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    let error: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(error["error"]["code"], "stream_interrupted", "{last}");
    assert!(!text.contains("[DONE]"));
    assert!(text.matches("chat.completion.chunk").count() >= 40, "the events before the cut passed on");
    // Nothing took the cut answer's place: the fallback was never asked.
    assert_eq!(rig.models_sent(), vec!["cut/alpha".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_stream_fails_over_after_a_cut_and_arrives_whole() {
    let rig = rig("").await;
    let response = rig
        .client
        .post(format!("{}/v1/chat/completions", rig.origin))
        .header("x-route-policy-hold", "true")
        .header("content-type", "application/json")
        .body(ask("cut", true).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-route-policy-model"), "fake/beta");
    let text = response.text().await.unwrap();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert_eq!(text.matches("\"finish_reason\":\"stop\"").count(), 1, "one whole answer, not two halves");
    assert_eq!(rig.models_sent(), vec!["cut/alpha".to_owned(), "beta".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_drops_the_upstream_request() {
    let rig = rig("").await;
    let mut response = rig.chat(ask("fake/stall/alpha", true)).await;
    assert_eq!(response.status(), 200);
    // The first events arrive; then the client goes away while the upstream stalls.
    let chunk = response.chunk().await.unwrap().expect("a first chunk");
    assert!(!chunk.is_empty());
    drop(response);
    let deadline = Instant::now() + Duration::from_secs(10);
    while rig.fake.abandoned() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rig.fake.abandoned(), 1, "the upstream saw its reader go away");
    assert_eq!(rig.models_sent(), vec!["stall/alpha".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_the_caller_must_fix_is_a_400_with_the_policys_reason() {
    let rig = rig("").await;
    let response = rig.chat(ask("fake/context/alpha", false)).await;
    assert_eq!(response.status(), 400);
    let body: Value = json_of(response).await;
    assert_eq!(body["error"]["code"], "context-overflow", "{body}");
    assert_eq!(body["route_policy"]["attempts"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(rig.models_sent(), vec!["context/alpha".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_responses_api_streams_through() {
    let rig = rig("").await;
    let body = json!({"model": "openai/gpt-5.5", "input": "Count to sixty.", "stream": true});
    let response = rig.post("/v1/responses", body).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("event: response.completed"), "{text}");
    let log = rig.fake.log();
    assert_eq!(log.len(), 1);
    assert!(log[0].path == "/v1/responses" && log[0].stream && log[0].model == "gpt-5.5", "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_loop_did() {
    let rig = rig("").await;
    assert_eq!(rig.chat(ask("smart", false)).await.status(), 200);
    assert_eq!(rig.chat(ask("nowhere/no-such-model", false)).await.status(), 404);
    let metrics = rig.client.get(format!("{}/metrics", rig.origin)).send().await.unwrap().text().await.unwrap();
    let has = |line: &str| metrics.lines().any(|l| l == line);
    assert!(has(r#"route_policy_calls_total{result="fallback"} 1"#), "{metrics}");
    assert!(
        has(r#"route_policy_fallbacks_total{requested="fake/unavailable/alpha",effective="fake/beta"} 1"#),
        "{metrics}"
    );
    assert!(has(r#"route_policy_requests_rejected_total{reason="model_not_found"} 1"#), "{metrics}");
    assert!(has(r#"route_policy_attempts_total{outcome="success"} 1"#), "{metrics}");
    let failed = rig.fake.log().iter().filter(|l| l.answer == "503").count();
    assert!(has(&format!(r#"route_policy_attempts_total{{outcome="http-error"}} {failed}"#)), "{metrics}");
    assert!(metrics.contains("route_policy_policy_info{revision="), "{metrics}");
    assert!(metrics.contains("route_policy_step_seconds_count"), "{metrics}");
    assert!(metrics.trim_end().ends_with("# EOF"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_key_is_required_when_configured() {
    let rig = rig(r#"client-key-env = "ROUTE_POLICY_GATEWAY_TEST_KEY""#).await;
    let url = format!("{}/v1/chat/completions", rig.origin);
    let refused = rig
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&ask("fake/beta", false)).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let wrong = rig
        .client
        .post(&url)
        .bearer_auth("sk-wrong")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&ask("fake/beta", false)).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let allowed = rig
        .client
        .post(&url)
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&ask("fake/beta", false)).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(rig.models_sent(), vec!["beta".to_owned()]);
}

#[test]
fn a_gateway_open_to_other_machines_needs_a_client_key() {
    let error = Config::parse(r#"listen = "0.0.0.0:8080""#).unwrap_err();
    assert!(error.contains("client-key-env"), "{error}");
    let error =
        Config::parse("[[credentials]]\nprofile-id = \"k\"\nprovider = \"openai\"\nkind = \"api-key\"\n").unwrap_err();
    assert!(error.contains("secret-env"), "{error}");
    let error = Config::parse("listen = \"127.0.0.1:1\"\nsurprise = 1").unwrap_err();
    assert!(error.contains("surprise"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_policy_that_fails_its_checks_is_refused_and_the_old_one_keeps_serving() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gateway-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.wasm");
    std::fs::write(&path, route_policy_host::BUILTIN).unwrap();
    let rig = rig(&format!("[policy]\ncomponent = {:?}\nwatch = true\n", path.display().to_string())).await;
    let metrics =
        || async { rig.client.get(format!("{}/metrics", rig.origin)).send().await.unwrap().text().await.unwrap() };
    assert!(metrics().await.lines().any(|l| l == r#"route_policy_policy_activations_total{origin="file"} 1"#));
    std::fs::write(&path, b"\0asm but not a component").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !metrics().await.lines().any(|l| l == r#"route_policy_policy_refusals_total{reason="compile"} 1"#) {
        assert!(Instant::now() < deadline, "the refusal was never counted: {}", metrics().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rig.chat(ask("fake/beta", false)).await.status(), 200, "the first policy still serves");
    let status = rig.client.get(format!("{}/status", rig.origin)).send().await.unwrap().bytes().await.unwrap();
    let status: Value = serde_json::from_slice(&status).unwrap();
    assert_eq!(status["source"], path.display().to_string());
    assert_eq!(status["active"]["sha256"], route_policy_host::sha256_hex(route_policy_host::BUILTIN));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_the_account_may_not_use_is_not_tried_again_on_the_next_call() {
    let rig = codex_rig().await;
    rig.fake.reject_for_account("gpt-5.4-mini");
    let body = json!({"model": "mini", "input": "Count to sixty."});
    for _ in 0..2 {
        let response = rig.post("/v1/responses", body.clone()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-route-policy-model"), "openai/gpt-5.5");
    }
    // The first call learned the rejection; the second dropped the model before sending.
    assert_eq!(rig.models_sent(), vec!["gpt-5.4-mini".to_owned(), "gpt-5.5".to_owned(), "gpt-5.5".to_owned()]);
    assert!(rig.fake.log().iter().all(|l| l.credential == "sign-in" && l.path == "/backend-api/codex/responses"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_calls_message_promises_nothing_more() {
    let rig = rig("").await;
    let response = rig.chat(ask("fake/unavailable/solo", false)).await;
    assert_eq!(response.status(), 502);
    let body: Value = json_of(response).await;
    let message = body["error"]["message"].as_str().unwrap().to_lowercase();
    assert!(message.starts_with("no candidate could answer"), "{message}");
    for promise in ["retrying", "next candidate"] {
        assert!(!message.contains(promise), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_name_is_read_as_openai_and_the_refusal_says_so() {
    let fake = route_policy_fake_upstream::FakeUpstream::start(SCALE).await.unwrap();
    // SAFETY: set once, to the same value, before any gateway reads it.
    unsafe { std::env::set_var("ROUTE_POLICY_GATEWAY_TEST_KEY", KEY) };
    let text = format!(
        "[[providers]]\nid = \"fake\"\nbase-url = \"{}/v1\"\n\n[[credentials]]\nprofile-id = \"k\"\nprovider = \"fake\"\nkind = \"api-key\"\nsecret-env = \"ROUTE_POLICY_GATEWAY_TEST_KEY\"\n\n[[models]]\nname = \"local\"\nprimary = \"fake/beta\"\n",
        fake.origin()
    );
    let rig = serve(fake, &text).await;
    let response = rig.chat(ask("gpt-5.5", false)).await;
    assert_eq!(response.status(), 404);
    let body: Value = json_of(response).await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("a bare name means openai/gpt-5.5"), "{message}");
    assert!(message.contains("(local;") && message.contains("refs for: fake"), "{message}");
    // What the refusal names is what the gateway serves.
    assert_eq!(rig.chat(ask("local", false)).await.status(), 200);
    assert_eq!(rig.chat(ask("fake/beta", false)).await.status(), 200);
    assert!(rig.models_sent().iter().all(|m| m == "beta"));
}

/// A Chat Completions client on OpenAI's own route, which speaks Responses: the request goes
/// upstream as Responses, and the answer comes back in Chat Completions, whole and streamed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_client_is_served_over_a_responses_route() {
    let rig = rig("").await;
    // `seed` has no Responses equivalent: dropped, and the answer says so (never silently).
    let mut whole = ask("openai/gpt-5.5", false);
    whole["seed"] = json!(7);
    let response = rig.chat(whole).await;
    assert_eq!(response.status(), 200);
    let body: Value = json_of(response).await;
    assert_eq!(body["object"], "chat.completion", "{body}");
    let notes = body["route_policy"]["translation_notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n.as_str().is_some_and(|n| n.starts_with("seed"))), "{body}");
    assert!(body["choices"][0]["message"]["content"].as_str().is_some_and(|c| c.ends_with("sixty")), "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "stop", "{body}");
    assert!(body["usage"]["completion_tokens"].as_u64().is_some_and(|n| n > 0), "{body}");
    let streamed = rig.chat(ask("openai/gpt-5.5", true)).await;
    assert_eq!(streamed.status(), 200);
    let text = streamed.text().await.unwrap();
    assert!(text.contains("chat.completion.chunk") && text.trim_end().ends_with("data: [DONE]"), "{text}");
    let words: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
        .collect();
    assert!(words.starts_with("one two") && words.ends_with("sixty"), "{words}");
    let log = rig.fake.log();
    assert!(log.iter().all(|l| l.path == "/v1/responses" && l.answer == "200"), "{log:?}");
}

/// A Responses client on an OpenAI-compatible server that speaks Chat Completions only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responses_client_is_served_over_a_chat_only_route() {
    let rig = rig("").await;
    let response = rig.post("/v1/responses", json!({"model": "fake/beta", "input": "Count to sixty."})).await;
    assert_eq!(response.status(), 200);
    let body: Value = json_of(response).await;
    assert_eq!(body["object"], "response", "{body}");
    assert_eq!(body["status"], "completed", "{body}");
    let text = body["output"][0]["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.ends_with("sixty"), "{body}");
    let streamed =
        rig.post("/v1/responses", json!({"model": "fake/beta", "input": "Count to sixty.", "stream": true})).await;
    let events = streamed.text().await.unwrap();
    assert!(
        events.contains("event: response.output_text.delta") && events.contains("event: response.completed"),
        "{events}"
    );
    assert!(!events.contains("[DONE]"), "Responses streams end without [DONE]");
    let log = rig.fake.log();
    assert!(log.iter().all(|l| l.path == "/v1/chat/completions" && l.answer == "200"), "{log:?}");
    // What the route's API cannot carry is refused by name, as the caller's to change.
    let refused =
        rig.post("/v1/responses", json!({"model": "fake/beta", "input": "hi", "previous_response_id": "resp_1"})).await;
    assert_eq!(refused.status(), 400);
    let body: Value = json_of(refused).await;
    assert!(body["error"]["message"].as_str().unwrap().contains("previous_response_id"), "{body}");
}

/// A chain that falls back from a Responses route to a Chat-only one answers in the caller's
/// API either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fallback_across_apis_answers_in_the_callers_api() {
    let rig = rig("").await;
    let mut chat = ask("openai/gpt-5.5-unavailable", false);
    chat["fallbacks"] = json!(["fake/beta"]);
    let body: Value = json_of(rig.chat(chat).await).await;
    assert_eq!(body["object"], "chat.completion", "{body}");
    assert_eq!(body["route_policy"]["model"], "fake/beta", "{body}");
    let input = json!({"model": "openai/gpt-5.5-unavailable", "input": "Count to sixty.", "fallbacks": ["fake/beta"]});
    let body: Value = json_of(rig.post("/v1/responses", input).await).await;
    assert_eq!(body["object"], "response", "{body}");
    assert_eq!(body["route_policy"]["model"], "fake/beta", "{body}");
    let paths: Vec<(String, String)> = rig.fake.log().into_iter().map(|l| (l.path, l.answer)).collect();
    assert!(paths.iter().any(|(p, a)| p == "/v1/responses" && a == "503"), "{paths:?}");
    assert!(paths.iter().any(|(p, a)| p == "/v1/chat/completions" && a == "200"), "{paths:?}");
}

/// `GET /v1/models` lists what a request may name, and every one of them is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_model_is_served() {
    let rig = rig("").await;
    let list: Value = serde_json::from_str(
        &rig.client.get(format!("{}/v1/models", rig.origin)).send().await.unwrap().text().await.unwrap(),
    )
    .unwrap();
    let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    for expected in ["smart", "cut", "fake/beta", "fake/unavailable/alpha"] {
        assert!(ids.contains(&expected), "{expected} not in {ids:?}");
    }
    assert!(!ids.contains(&"azure/gpt-4.1"), "a ref no credential reaches is not listed: {ids:?}");
    assert_eq!(list["data"][0]["owned_by"], "route-policy");
    for id in ids {
        let response = rig.chat(ask(id, false)).await;
        assert_ne!(response.status(), 404, "{id} is listed but not served");
    }
}
