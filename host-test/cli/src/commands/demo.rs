//! `route-policy demo`: the seed stories over real HTTP. A fake OpenAI/ChatGPT upstream starts
//! in-process on 127.0.0.1 and stands in for chatgpt.com and api.openai.com (the guard checks
//! the real URLs; only where the bytes go changes). Each story first sends what a naive host
//! sent, and shows the upstream's answer as the bug reports describe it; then runs the same
//! call through the executor, driven by the policy's `next-step`, and shows every attempt and
//! the notice the user gets.

use crate::cli::CliResult;
use route_policy_contract::types::{FallbackRequest, Outcome};
use route_policy_executor::{CallResult, Clock, Executor, Failed, HttpTransport, ModelCall, Secret, StaticCredentials};
use route_policy_fake_upstream::FakeUpstream;
use route_policy_host::{Policy, Router};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::sync::Arc;

/// The sign-in of a ChatGPT Plus account, and an API key, as the fake reads them.
const SIGNIN: &str = "eyJhbGciOiJub25lIn0.eyJwbGFuIjoicGx1cyJ9.plus";
const KEY: &str = "sk-demo-key-0000";

/// The demo's waits run at a tenth of their length (a 1 s backoff takes 100 ms).
const SCALE: f64 = 0.1;

/// Tells the stories; fails if one does not end as the policy intends.
pub fn run(policy: Arc<Policy>) -> CliResult<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(stories(policy))
}

async fn stories(policy: Arc<Policy>) -> CliResult<ExitCode> {
    let info = policy.policy_info()?;
    let fake = FakeUpstream::start(SCALE).await?;
    println!(
        "route-policy demo: policy revision {} (contract {}, rules {}), over HTTP to a fake upstream at {}\n",
        info.revision,
        info.contract,
        &info.rules_digest[..12],
        fake.origin()
    );
    let transport = HttpTransport::new()
        .route("https://chatgpt.com", &fake.origin())?
        .route("https://api.openai.com", &fake.origin())?;
    let secrets = StaticCredentials::new().with("codex", Secret::new(SIGNIN)).with("fake-key", Secret::new(KEY));
    let executor = Executor::new(policy, transport, Arc::new(secrets)).with_clock(Clock::scaled(SCALE));
    let demo = Demo { fake, executor, naive: reqwest::Client::new() };

    let mut ok = true;
    ok &= demo.legacy_base_url().await?;
    ok &= demo.signin_on_platform().await?;
    ok &= demo.plan_gated_model().await?;
    ok &= demo.failover().await?;
    println!(
        "{}",
        if ok {
            "All four stories ended as the policy intends."
        } else {
            "A story did not end as intended (see above)."
        }
    );
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

struct Demo {
    fake: FakeUpstream,
    executor: Executor<HttpTransport>,
    naive: reqwest::Client,
}

impl Demo {
    /// What a naive host sends: the URL it built, the secret it holds, no policy.
    async fn naive(&self, url: &str, secret: &str, model: &str) -> CliResult<()> {
        let real = url.replacen("https://chatgpt.com", &self.fake.origin(), 1).replacen(
            "https://api.openai.com",
            &self.fake.origin(),
            1,
        );
        let response = self
            .naive
            .post(real)
            .bearer_auth(secret)
            .header("content-type", "application/json")
            .body(json!({"model": model, "input": "Count to sixty.", "stream": false}).to_string())
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let said = body.chars().take(110).collect::<String>().replace('\n', " ");
        println!("  naive host: POST {url} as {model}\n    -> {status}: {said}");
        Ok(())
    }

    async fn call(&self, chain: Value) -> CliResult<CallResult> {
        let chain: FallbackRequest = serde_json::from_value(chain)?;
        let result =
            self.executor.run(&ModelCall { chain, body: json!({"input": "Count to sixty.", "stream": true}) }).await;
        println!("  with the policy:");
        for (i, attempt) in result.receipt.attempts.iter().enumerate() {
            let wait = if attempt.delay_ms > 0 { format!(" after {} ms", attempt.delay_ms) } else { String::new() };
            println!(
                "    attempt {}: {} -> {}{wait}: {}",
                i + 1,
                attempt.model,
                attempt.request_url,
                outcome(&attempt.outcome)
            );
        }
        match &result.result {
            Ok(served) => {
                println!("    served by {} (upstream model {})", served.candidate.model, served.upstream_model);
                if let Some(notice) = &served.notice {
                    println!("    notice to the user: {notice}");
                }
            }
            Err(failed) => println!("    failed: {}", describe(failed)),
        }
        Ok(result)
    }

    async fn legacy_base_url(&self) -> CliResult<bool> {
        heading("A legacy base URL", "seed 004, openclaw#71460");
        println!("  config: openai-codex base-url = https://chatgpt.com/backend-api; a ChatGPT sign-in only");
        self.naive("https://chatgpt.com/backend-api/responses", SIGNIN, "gpt-5.5").await?;
        let result = self
            .call(json!({"capability": "chat", "primary": "openai-codex/gpt-5.5", "credentials": [signin()],
                         "providers": [{"id": "openai-codex", "base-url": "https://chatgpt.com/backend-api"}]}))
            .await?;
        let good = served(&result)
            && self.fake.log().iter().any(|l| l.path == "/backend-api/codex/responses" && l.answer == "200");
        Ok(end(good, "the legacy base was canonicalized to .../backend-api/codex: no HTML 403, no silent fallback"))
    }

    async fn signin_on_platform(&self) -> CliResult<bool> {
        heading("A sign-in sent to the platform API", "seed 000");
        println!("  config: no API key, a ChatGPT Plus sign-in; the host's default route is api.openai.com");
        self.naive("https://api.openai.com/v1/responses", SIGNIN, "gpt-5.5").await?;
        let before = self.fake.log().iter().filter(|l| l.path.starts_with("/v1/")).count();
        let result =
            self.call(json!({"capability": "chat", "primary": "openai/gpt-5.5", "credentials": [signin()]})).await?;
        let platform = self.fake.log().iter().filter(|l| l.path.starts_with("/v1/")).count() - before;
        Ok(end(served(&result) && platform == 0, "the sign-in went to the Codex route and never to api.openai.com"))
    }

    async fn plan_gated_model(&self) -> CliResult<bool> {
        heading("A plan-gated model in the fallback chain", "seed 000");
        println!("  chain: openai-codex/gpt-5.5-pro, then openai-codex/gpt-5.5; a ChatGPT Plus sign-in");
        self.naive("https://chatgpt.com/backend-api/codex/responses", SIGNIN, "gpt-5.5-pro").await?;
        let before = self.fake.requests_for("gpt-5.5-pro").len();
        let result = self
            .call(json!({"capability": "chat", "primary": "openai-codex/gpt-5.5-pro", "fallbacks": ["openai-codex/gpt-5.5"], "credentials": [signin()]}))
            .await?;
        let sent = self.fake.requests_for("gpt-5.5-pro").len() - before;
        let told = result.result.as_ref().is_ok_and(|s| s.fallback && s.notice.is_some());
        Ok(end(
            served(&result) && sent == 0 && told,
            "gpt-5.5-pro stayed off the wire, and the user is told gpt-5.5 answered",
        ))
    }

    async fn failover(&self) -> CliResult<bool> {
        heading("A provider that is down", "the live loop");
        println!(
            "  chain: fake/unavailable/gpt-4o (503 every time), then fake/ok/gpt-4.1; waits at {SCALE} of their length"
        );
        let result = self
            .call(json!({"capability": "chat", "primary": "fake/unavailable/gpt-4o", "fallbacks": ["fake/ok/gpt-4.1"],
                         "credentials": [{"profile-id": "fake-key", "provider": "fake", "kind": "api-key", "plan": "api"}],
                         "providers": [{"id": "fake", "base-url": format!("{}/v1", self.fake.origin()), "api": "openai-responses"}]}))
            .await?;
        let tries = self.fake.requests_for("unavailable/gpt-4o").len();
        let told = result.result.as_ref().is_ok_and(|s| s.fallback && s.notice.is_some());
        Ok(end(
            served(&result) && tries == 3 && told,
            "three attempts with backoff, then the fallback, and the user is told",
        ))
    }
}

fn signin() -> Value {
    json!({"profile-id": "codex", "provider": "openai-codex", "kind": "oauth", "plan": "plus"})
}

fn heading(title: &str, seed: &str) {
    println!("== {title}  [{seed}]");
}

fn end(good: bool, what: &str) -> bool {
    println!("  => {} {what}\n", if good { "ok:" } else { "NOT AS INTENDED:" });
    good
}

fn served(result: &CallResult) -> bool {
    result.result.is_ok()
}

fn describe(failed: &Failed) -> String {
    match failed {
        Failed::Policy(failure) => format!("{} ({})", failure.message, failure.verdict.rule),
        Failed::Interrupted { message, .. } => message.clone(),
        Failed::Host { code, message } => format!("{code}: {message}"),
    }
}

fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Success(Some(usage)) => format!("200, the whole answer ({} tokens out)", usage.output_tokens),
        Outcome::Success(None) => "200, the whole answer".to_owned(),
        Outcome::HttpError(r) => format!("{} {}", r.status, r.body.chars().take(80).collect::<String>()),
        Outcome::Network(n) => format!("{} ({})", n.kind, n.detail),
        Outcome::Timeout(kind) => format!("the {kind} timeout fired"),
        Outcome::StreamFault(f) => format!("stream {} after {} events", f.kind, f.events),
    }
}
