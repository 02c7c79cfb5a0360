//! The rig every gateway test stands on: a fake upstream on loopback and a gateway in front of
//! it, configured from TOML as an operator would.

use route_policy_executor::Clock;
use route_policy_fake_upstream::FakeUpstream;
use route_policy_gateway::{Config, Gateway};
use route_policy_host::Engine;
use serde_json::{Value, json};
use std::sync::{Arc, LazyLock};

/// Waits run at this fraction of their length.
pub const SCALE: f64 = 0.02;
pub const KEY: &str = "sk-fake-gateway-key-0000";

/// One engine for the binary, with a compilation cache: the built-in policy is compiled once,
/// and each test's gateway loads it from the cache.
pub static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("gateway-cache");
    Engine::builder().cache_dir(dir).build().expect("an engine")
});

/// A fake, and a gateway whose `fake` provider is it.
pub struct Rig {
    pub fake: FakeUpstream,
    pub origin: String,
    pub client: reqwest::Client,
    _server: tokio::task::JoinHandle<Result<(), route_policy_gateway::GatewayError>>,
}

/// A rig whose only credential is a ChatGPT Plus sign-in on the Codex route (chatgpt.com on the
/// fake).
pub async fn codex_rig() -> Rig {
    // SAFETY: set once, to the same value, before any gateway reads it.
    unsafe { std::env::set_var("ROUTE_POLICY_GATEWAY_TEST_SIGNIN", "eyJhbGciOiJub25lIn0.eyJwbGFuIjoicGx1cyJ9.plus") };
    let fake = FakeUpstream::start(SCALE).await.expect("the fake starts");
    let text = format!(
        r#"
        [[credentials]]
        profile-id = "codex"
        provider = "openai-codex"
        kind = "oauth"
        plan = "plus"
        secret-env = "ROUTE_POLICY_GATEWAY_TEST_SIGNIN"

        [[routes]]
        from = "https://chatgpt.com"
        to = "{origin}"

        [[models]]
        name = "mini"
        primary = "openai/gpt-5.4-mini"
        fallbacks = ["openai/gpt-5.5"]
        "#,
        origin = fake.origin()
    );
    serve(fake, &text).await
}

pub async fn rig(extra: &str) -> Rig {
    let fake = FakeUpstream::start(SCALE).await.expect("the fake starts");
    // SAFETY: set once, to the same value, before any gateway reads it.
    unsafe { std::env::set_var("ROUTE_POLICY_GATEWAY_TEST_KEY", KEY) };
    let text = format!(
        r#"
        {extra}
        [[providers]]
        id = "fake"
        base-url = "{origin}/v1"

        [[credentials]]
        profile-id = "fake-key"
        provider = "fake"
        kind = "api-key"
        secret-env = "ROUTE_POLICY_GATEWAY_TEST_KEY"

        [[credentials]]
        profile-id = "openai-key"
        provider = "openai"
        kind = "api-key"
        secret-env = "ROUTE_POLICY_GATEWAY_TEST_KEY"

        [[providers]]
        id = "remote"
        base-url = "http://llm.example.com/v1"

        [[credentials]]
        profile-id = "remote-key"
        provider = "remote"
        kind = "api-key"
        secret-env = "ROUTE_POLICY_GATEWAY_TEST_KEY"

        [[models]]
        name = "uncredentialed"
        primary = "azure/gpt-4.1"

        [[routes]]
        from = "https://api.openai.com"
        to = "{origin}"

        [[models]]
        name = "smart"
        primary = "fake/unavailable/alpha"
        fallbacks = ["fake/beta"]

        [[models]]
        name = "cut"
        primary = "fake/cut/alpha"
        fallbacks = ["fake/beta"]

        [[models]]
        name = "silent"
        primary = "fake/silent/alpha"
        fallbacks = ["fake/beta"]
        "#,
        origin = fake.origin()
    );
    serve(fake, &text).await
}

pub async fn serve(fake: FakeUpstream, text: &str) -> Rig {
    let config = Config::parse(text).expect("the configuration reads");
    let gateway = Arc::new(Gateway::start(config, ENGINE.clone(), Clock::scaled(SCALE)).expect("the gateway starts"));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(gateway.serve(listener));
    Rig { fake, origin, client: reqwest::Client::new(), _server: server }
}

impl Rig {
    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.origin))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .send()
            .await
            .expect("the gateway answers")
    }

    pub async fn chat(&self, body: Value) -> reqwest::Response {
        self.post("/v1/chat/completions", body).await
    }

    pub fn models_sent(&self) -> Vec<String> {
        self.fake.log().into_iter().map(|l| l.model).collect()
    }
}

pub fn ask(model: &str, stream: bool) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Count to sixty."}], "stream": stream})
}

pub async fn json_of(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.expect("a whole body");
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

pub fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}
