//! A fake OpenAI and ChatGPT upstream that fails on purpose, for route-policy's tests and
//! demo. It listens on 127.0.0.1 with an ephemeral port; the model a request names picks the
//! fault; every request it sees goes into a log the tests judge the executor by.
//!
//! The model is `FAULT/REAL-MODEL` (or a bare `REAL-MODEL`, which is healthy), e.g.
//! `unavailable/gpt-4o`; where a provider's ids hold no `/` (OpenAI's), the fault may end the
//! name instead: `gpt-5.5-unavailable`. Faults (`wit/LIVE-LOOP.md`'s table):
//!
//! | fault | what it does |
//! |---|---|
//! | (none), `ok` | answers [`ANSWER`], streamed one word per event when asked |
//! | `retry-after-once` | 429 with `Retry-After: 2` the first time, then answers |
//! | `rate-limited` | 429 without `Retry-After`, every time |
//! | `error-once` | 500 the first time, then answers |
//! | `unavailable` | 503 every time |
//! | `reset-once` | closes the connection before any response byte the first time |
//! | `silent` | accepts the request and never answers |
//! | `slow-first-token` | starts the stream, sends the first word after 20 s |
//! | `cut` | streams 40 of the 60 words, then closes |
//! | `stall` | streams 10 words, then stalls with the connection open |
//! | `malformed` | sends one event that is not JSON in the middle |
//! | `no-done` | finishes the stream (finish reason, usage) without `[DONE]`, then closes |
//! | `context` | 400 `context_length_exceeded` |
//! | `content-policy` | 400 `content_policy_violation` |
//! | `rejects-prefill` | 400 when the last message is the assistant's (a prefill) |
//! | `down-N` | 503 for its first N requests, then answers |
//! | `down-for-S` | 503 until S seconds (scaled) after the fake started, then answers: an outage that ends |
//! | `not-for-account` | 400 "The 'X' model is not supported when using Codex with a ChatGPT account." |
//!
//! OpenAI's token endpoint stands at `/oauth/token` (single-use refresh tokens), and the Codex
//! backend refuses a sign-in whose access token's `exp` has passed with a 401.
//!
//! And the seeds' behaviours, by path and credential: `/backend-api/responses` (the retired
//! path) answers an HTML 403; a bearer that is not an API key (`sk-…`) on `/v1/*` answers 401
//! `Missing scopes: api.responses.write`; a `*-pro` model on `/backend-api/codex/responses` for a
//! sign-in of a Plus account answers the 400 "The 'X' model is not supported when using Codex
//! with a ChatGPT account.", and so does any model named by [`FakeUpstream::reject_for_account`];
//! a Codex request that chooses the `image_generation` tool without offering it answers the 400
//! "Tool choice 'image_generation' not found in 'tools' parameter."; a top-level field neither
//! API knows answers OpenAI's 400 "Unrecognized request argument supplied: NAME", echoing it.
//!
//! Every wait scales by [`FakeUpstream::start`]'s `scale`, so a 20 s stall takes a fraction of
//! a second in a test.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The healthy answer: 60 words, so that a truncated one can never pass as complete.
pub const ANSWER: &str = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen \
sixteen seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three twenty-four twenty-five twenty-six \
twenty-seven twenty-eight twenty-nine thirty thirty-one thirty-two thirty-three thirty-four thirty-five thirty-six \
thirty-seven thirty-eight thirty-nine forty forty-one forty-two forty-three forty-four forty-five forty-six \
forty-seven forty-eight forty-nine fifty fifty-one fifty-two fifty-three fifty-four fifty-five fifty-six \
fifty-seven fifty-eight fifty-nine sixty";

/// The faults a model may name, as its first path segment (`unavailable/gpt-4o`) or, where a
/// provider's ids hold no `/` (OpenAI's), as a suffix (`gpt-5.5-unavailable`).
const NAMED_FAULTS: &[&str] = &[
    "unavailable",
    "rate-limited",
    "retry-after-once",
    "error-once",
    "reset-once",
    "silent",
    "slow-first-token",
    "cut",
    "stall",
    "malformed",
    "no-done",
    "context",
    "content-policy",
    "rejects-prefill",
    "not-for-account",
];

/// A model's fault and its bare name.
fn fault_of(model: &str) -> (String, String) {
    if let Some((fault, bare)) = model.split_once('/') {
        return (fault.to_owned(), bare.to_owned());
    }
    for fault in NAMED_FAULTS {
        if let Some(bare) = model.strip_suffix(fault).and_then(|m| m.strip_suffix('-')).filter(|b| !b.is_empty()) {
            return ((*fault).to_owned(), bare.to_owned());
        }
    }
    (String::new(), model.to_owned())
}

/// Refreshes a sign-in as OpenAI's token endpoint does: the Codex CLI's client id, a
/// `refresh_token` grant, and a refresh token that is single-use (a reused one is refused with
/// `refresh_token_reused`). It answers new access, refresh and id tokens.
fn refresh(state: &State, body: &Value) -> Response<Body> {
    let grant = body.get("grant_type").and_then(Value::as_str) == Some("refresh_token");
    let client = body.get("client_id").and_then(Value::as_str) == Some("app_EMoamEEZ73f0CkXaXp7hrann");
    let Some(token) = body.get("refresh_token").and_then(Value::as_str).filter(|_| grant && client) else {
        return json_reply(StatusCode::BAD_REQUEST, json!({"error": "invalid_request"}));
    };
    let mut refreshed = state.refreshed.lock().expect("not poisoned");
    if refreshed.iter().any(|t| t == token) {
        let error =
            json!({"error": {"code": "refresh_token_reused", "message": "This refresh token was already used."}});
        return json_reply(StatusCode::UNAUTHORIZED, error);
    }
    refreshed.push(token.to_owned());
    let n = refreshed.len();
    json_reply(
        StatusCode::OK,
        json!({
            "access_token": jwt("acct_fake", 3600),
            "refresh_token": format!("rt_fake_{n}"),
            "id_token": jwt("acct_fake", 3600),
        }),
    )
}

/// An unsigned JWT for `account`, expiring `in_secs` from now.
fn jwt(account: &str, in_secs: i64) -> String {
    use base64::Engine as _;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    // A serial number, so that no two tokens are alike.
    static ISSUED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let jti = ISSUED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let claims = json!({
        "jti": format!("fake-{jti}"),
        "exp": now + in_secs,
        "https://api.openai.com/auth": {"chatgpt_account_id": account, "chatgpt_plan_type": "plus"},
    });
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!("{}.{}.fake", b64(br#"{"alg":"none"}"#), b64(claims.to_string().as_bytes()))
}

/// Whether a bearer is a JWT whose `exp` has passed.
fn expired(bearer: &str) -> bool {
    use base64::Engine as _;
    let Some(payload) = bearer.split('.').nth(1) else { return false };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload) else { return false };
    let exp = serde_json::from_slice::<Value>(&bytes).ok().and_then(|c| c.get("exp").and_then(Value::as_i64));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    exp.is_some_and(|exp| exp <= now)
}

/// The top-level request fields OpenAI's Chat Completions and Responses APIs know. Any other is
/// refused with a 400 that names it, as OpenAI does ("Unrecognized request argument supplied:
/// NAME"): a gateway's own field left in, or a client's words echoed back.
const KNOWN_FIELDS: &[&str] = &[
    "model",
    "messages",
    "input",
    "instructions",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "n",
    "stop",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "text",
    "reasoning",
    "reasoning_effort",
    "store",
    "metadata",
    "user",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "previous_response_id",
    "include",
    "truncation",
    "service_tier",
    "prediction",
    "modalities",
    "audio",
    "prompt_cache_key",
    "safety_identifier",
    "background",
    "conversation",
    "prompt",
    "verbosity",
    "web_search_options",
];

/// The longest the fake holds a request open (a silent or stalled one), before scaling.
const FOREVER: Duration = Duration::from_secs(600);

type Body = BoxBody<Bytes, Infallible>;

/// One request the fake saw.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Logged {
    /// When it arrived, since the fake started.
    #[serde(serialize_with = "millis")]
    pub at: Duration,
    /// The path.
    pub path: String,
    /// The model the body named, as sent (`FAULT/REAL-MODEL`).
    pub model: String,
    /// `api-key`, `sign-in` or `none`: what the bearer was.
    pub credential: &'static str,
    /// Whether the body asked for a stream.
    pub stream: bool,
    /// Whether the last message was the assistant's.
    pub prefill: bool,
    /// Whether the body asked for usage in the stream.
    pub include_usage: bool,
    /// What the fake did: a status, `reset`, `silent`, `cut`, `stall`, …
    pub answer: String,
}

fn millis<S: serde::Serializer>(at: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(at.as_secs_f64() * 1000.0)
}

/// A running fake upstream.
pub struct FakeUpstream {
    addr: SocketAddr,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

struct State {
    started: Instant,
    scale: f64,
    log: Mutex<Vec<Logged>>,
    /// Requests per model, for the faults that change over time.
    seen: Mutex<HashMap<String, u32>>,
    /// Models the Codex route rejects for a ChatGPT account, beyond `*-pro` for Plus.
    not_for_account: Mutex<Vec<String>>,
    /// Streams whose reader went away before they ended.
    abandoned: std::sync::atomic::AtomicU32,
    /// The refresh tokens it has taken (each is single-use).
    refreshed: Mutex<Vec<String>>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeUpstream {
    /// Starts a fake on 127.0.0.1 with an ephemeral port; its waits take `scale` times their
    /// nominal length (1.0 is real time).
    pub async fn start(scale: f64) -> std::io::Result<FakeUpstream> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            started: Instant::now(),
            scale,
            log: Mutex::new(Vec::new()),
            seen: Mutex::new(HashMap::new()),
            not_for_account: Mutex::new(Vec::new()),
            abandoned: std::sync::atomic::AtomicU32::new(0),
            refreshed: Mutex::new(Vec::new()),
        });
        let serving = Arc::clone(&state);
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                // Each event goes out as it is written, as a real provider's stream does (and no
                // Nagle delay skews the benchmarks that use this fake).
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&serving);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| handle(Arc::clone(&state), request));
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        Ok(FakeUpstream { addr, state, server })
    }

    /// Its origin, `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything it has seen, in order.
    pub fn log(&self) -> Vec<Logged> {
        self.state.log.lock().expect("not poisoned").clone()
    }

    /// The requests that named `model`.
    pub fn requests_for(&self, model: &str) -> Vec<Logged> {
        self.log().into_iter().filter(|l| l.model == model).collect()
    }

    /// Makes the Codex route reject `model` for every ChatGPT account, as the backend does for
    /// a model the policy's rules do not know yet.
    pub fn reject_for_account(&self, model: &str) {
        self.state.not_for_account.lock().expect("not poisoned").push(model.to_owned());
    }

    /// How many sign-ins it refreshed at `/oauth/token` (OpenAI's token endpoint).
    pub fn refreshes(&self) -> u32 {
        self.state.refreshed.lock().expect("not poisoned").len() as u32
    }

    /// A sign-in's access token, an unsigned JWT expiring `in_secs` from now (in the past when
    /// negative), for account `account`.
    pub fn access_token(account: &str, in_secs: i64) -> String {
        jwt(account, in_secs)
    }

    /// How many streams it was writing when their reader went away (the caller hung up).
    pub fn abandoned(&self) -> u32 {
        self.state.abandoned.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The scale its waits run at.
    pub fn scale(&self) -> f64 {
        self.state.scale
    }
}

/// A request's shape, as the fault needs it.
struct Asked {
    path: String,
    model: String,
    fault: String,
    bare: String,
    credential: &'static str,
    plan_plus: bool,
    stream: bool,
    prefill: bool,
    include_usage: bool,
    responses: bool,
    /// The request chose the `image_generation` tool without offering it.
    missing_image_tool: bool,
    /// A top-level field OpenAI does not know (a gateway's own, left in by mistake).
    unrecognized: Option<String>,
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Body>, std::io::Error> {
    let path = request.uri().path().to_owned();
    if let Some(control) = path.strip_prefix("/__fake/") {
        return Ok(control_request(&state, control, request).await);
    }
    let bearer = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| request.headers().get("api-key").and_then(|v| v.to_str().ok()).map(str::to_owned));
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if path == "/oauth/token" {
        return Ok(refresh(&state, &json));
    }
    // A sign-in whose access token has expired is refused by the Codex backend.
    if path.contains("/backend-api/codex/") && bearer.as_deref().is_some_and(expired) {
        let body = json!({"detail": "Your authentication token has expired. Please try signing in again."});
        return Ok(json_reply(StatusCode::UNAUTHORIZED, body));
    }
    let model = json.get("model").and_then(Value::as_str).unwrap_or("").to_owned();
    let (fault, bare) = fault_of(&model);
    let credential = match &bearer {
        Some(b) if b.starts_with("sk-") => "api-key",
        Some(_) => "sign-in",
        None => "none",
    };
    let last_role = json
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| m.last())
        .and_then(|m| m.get("role"))
        .and_then(Value::as_str);
    let chose_image_tool = json.pointer("/tool_choice/type").and_then(Value::as_str) == Some("image_generation")
        || json.get("tool_choice").and_then(Value::as_str) == Some("image_generation");
    let offers_image_tool = json
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| tools.iter().any(|t| t.get("type").and_then(Value::as_str) == Some("image_generation")));
    let asked = Asked {
        missing_image_tool: chose_image_tool && !offers_image_tool,
        unrecognized: json.as_object().and_then(|o| o.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str()))).cloned(),
        responses: path.ends_with("/responses"),
        path,
        model,
        fault,
        bare,
        credential,
        plan_plus: bearer.as_deref().is_some_and(|b| b.contains("plus")),
        stream: json.get("stream").and_then(Value::as_bool).unwrap_or(false),
        prefill: last_role == Some("assistant"),
        include_usage: json.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false),
    };
    let count = {
        let mut seen = state.seen.lock().expect("not poisoned");
        let count = seen.entry(asked.model.clone()).or_default();
        *count += 1;
        *count
    };
    let (answer, response) = respond(&state, &asked, count);
    let asked_fault_is_silent = answer == "silent";
    state.log.lock().expect("not poisoned").push(Logged {
        at: state.started.elapsed(),
        path: asked.path,
        model: asked.model,
        credential: asked.credential,
        stream: asked.stream,
        prefill: asked.prefill,
        include_usage: asked.include_usage,
        answer,
    });
    if asked_fault_is_silent {
        tokio::time::sleep(FOREVER.mul_f64(state.scale)).await;
    }
    match response {
        Some(response) => Ok(response),
        // No response at all: hyper closes the connection (a reset before any byte).
        None => Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset on purpose")),
    }
}

/// The fake's own controls, for tests in other languages: `GET /__fake/log` (the log, as JSON),
/// `POST /__fake/reject-for-account` with `{"model": …}` ([`FakeUpstream::reject_for_account`]).
/// They are not logged.
async fn control_request(state: &Arc<State>, control: &str, request: Request<Incoming>) -> Response<Body> {
    match control {
        "log" => {
            let log = state.log.lock().expect("not poisoned").clone();
            json_reply(StatusCode::OK, serde_json::to_value(log).unwrap_or(Value::Null))
        }
        "reject-for-account" => {
            let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            match json.get("model").and_then(Value::as_str) {
                Some(model) => {
                    state.not_for_account.lock().expect("not poisoned").push(model.to_owned());
                    json_reply(StatusCode::OK, json!({"rejected": model}))
                }
                None => json_reply(StatusCode::BAD_REQUEST, json!({"error": "send {\"model\": …}"})),
            }
        }
        _ => json_reply(StatusCode::NOT_FOUND, json!({"error": "unknown control"})),
    }
}

/// What to answer, and its name in the log.
fn respond(state: &Arc<State>, asked: &Asked, count: u32) -> (String, Option<Response<Body>>) {
    // The seeds' behaviours, by path and credential, before any fault.
    if asked.path.ends_with("/backend-api/responses") {
        let page = "<html><head><title>Just a moment...</title></head><body>403 Forbidden</body></html>";
        return ("403 html".into(), Some(reply(StatusCode::FORBIDDEN, "text/html", page.into(), &[])));
    }
    if asked.path.starts_with("/v1/") && asked.credential == "sign-in" {
        let body = error_json(
            "You have insufficient permissions for this operation. Missing scopes: api.responses.write.",
            "invalid_request_error",
            None,
        );
        return ("401 missing scopes".into(), Some(json_reply(StatusCode::UNAUTHORIZED, body)));
    }
    let codex = asked.path.contains("/backend-api/codex/");
    let rejected = state.not_for_account.lock().expect("not poisoned").contains(&asked.bare);
    if codex && asked.credential == "sign-in" && (asked.plan_plus && asked.bare.ends_with("-pro") || rejected)
        || asked.fault == "not-for-account"
    {
        let detail = format!("The '{}' model is not supported when using Codex with a ChatGPT account.", asked.bare);
        return ("400 not for account".into(), Some(json_reply(StatusCode::BAD_REQUEST, json!({ "detail": detail }))));
    }
    if let Some(field) = &asked.unrecognized {
        let body =
            error_json(&format!("Unrecognized request argument supplied: {field}"), "invalid_request_error", None);
        return ("400 unrecognized".into(), Some(json_reply(StatusCode::BAD_REQUEST, body)));
    }
    if codex && asked.missing_image_tool {
        let body =
            error_json("Tool choice 'image_generation' not found in 'tools' parameter.", "invalid_request_error", None);
        return ("400 tool not found".into(), Some(json_reply(StatusCode::BAD_REQUEST, body)));
    }
    let healthy = || ("200".to_owned(), Some(answer(asked, state, Plan::Whole)));
    match asked.fault.as_str() {
        "" | "ok" => healthy(),
        "retry-after-once" if count == 1 => {
            let body =
                error_json("Rate limit reached. Please try again in 2s.", "requests", Some("rate_limit_exceeded"));
            (
                "429 retry-after".into(),
                Some(reply(
                    StatusCode::TOO_MANY_REQUESTS,
                    "application/json",
                    body.to_string(),
                    &[("retry-after", "2")],
                )),
            )
        }
        "rate-limited" => {
            let body = error_json("Too many requests.", "requests", Some("rate_limit_exceeded"));
            ("429".into(), Some(json_reply(StatusCode::TOO_MANY_REQUESTS, body)))
        }
        "error-once" if count == 1 => {
            let body = error_json("The server had an error while processing your request.", "server_error", None);
            ("500".into(), Some(json_reply(StatusCode::INTERNAL_SERVER_ERROR, body)))
        }
        "unavailable" => (
            "503".into(),
            Some(json_reply(StatusCode::SERVICE_UNAVAILABLE, error_json("Service Unavailable", "server_error", None))),
        ),
        "reset-once" if count == 1 => ("reset".into(), None),
        // The wait is in `handle`, before any header goes out.
        "silent" => (
            "silent".into(),
            Some(json_reply(StatusCode::GATEWAY_TIMEOUT, error_json("gave up", "server_error", None))),
        ),
        "slow-first-token" => ("slow first token".into(), Some(answer(asked, state, Plan::SlowFirst))),
        "cut" if asked.stream => ("cut".into(), Some(answer(asked, state, Plan::Cut))),
        "stall" if asked.stream => ("stall".into(), Some(answer(asked, state, Plan::Stall))),
        "malformed" if asked.stream => ("malformed".into(), Some(answer(asked, state, Plan::Malformed))),
        "no-done" if asked.stream => ("no done".into(), Some(answer(asked, state, Plan::NoDone))),
        "context" => {
            let body = error_json(
                "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
                "invalid_request_error",
                Some("context_length_exceeded"),
            );
            ("400 context".into(), Some(json_reply(StatusCode::BAD_REQUEST, body)))
        }
        "content-policy" => {
            let body = error_json(
                "Your request was rejected as a result of our safety system.",
                "invalid_request_error",
                Some("content_policy_violation"),
            );
            ("400 content policy".into(), Some(json_reply(StatusCode::BAD_REQUEST, body)))
        }
        "rejects-prefill" if asked.prefill => {
            let body = error_json(
                "This model does not support assistant message prefill. The conversation must end with a user message.",
                "invalid_request_error",
                None,
            );
            ("400 prefill".into(), Some(json_reply(StatusCode::BAD_REQUEST, body)))
        }
        fault
            if fault
                .strip_prefix("down-for-")
                .and_then(|s| s.parse::<f64>().ok())
                .is_some_and(|seconds| state.started.elapsed() < Duration::from_secs_f64(seconds * state.scale)) =>
        {
            (
                "503 outage".into(),
                Some(json_reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    error_json("Service Unavailable", "server_error", None),
                )),
            )
        }
        fault if fault.strip_prefix("down-").and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| count <= n) => (
            "503 down".into(),
            Some(json_reply(StatusCode::SERVICE_UNAVAILABLE, error_json("Service Unavailable", "server_error", None))),
        ),
        _ => healthy(),
    }
}

fn error_json(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({ "error": { "message": message, "type": kind, "code": code } })
}

fn json_reply(status: StatusCode, body: Value) -> Response<Body> {
    reply(status, "application/json", body.to_string(), &[])
}

fn reply(status: StatusCode, content_type: &str, body: String, headers: &[(&str, &str)]) -> Response<Body> {
    let mut response = Response::builder().status(status).header("content-type", content_type);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response.body(Full::new(Bytes::from(body)).boxed()).expect("a valid response")
}

/// How a healthy-looking answer goes.
#[derive(Clone, Copy, PartialEq)]
enum Plan {
    Whole,
    SlowFirst,
    Cut,
    Stall,
    Malformed,
    NoDone,
}

/// The answer, streamed or whole, played as `plan` says.
fn answer(asked: &Asked, state: &Arc<State>, plan: Plan) -> Response<Body> {
    let scale = state.scale;
    let gone = Arc::clone(state);
    let words: Vec<&str> = ANSWER.split(' ').collect();
    let usage_in = 17u64;
    let usage_out = words.len() as u64;
    if !asked.stream {
        let body = if asked.responses {
            json!({"id": "resp_fake", "object": "response", "status": "completed", "model": asked.bare,
                   "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": ANSWER}]}],
                   "usage": {"input_tokens": usage_in, "output_tokens": usage_out, "total_tokens": usage_in + usage_out}})
        } else {
            json!({"id": "chatcmpl-fake", "object": "chat.completion", "model": asked.bare,
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out, "total_tokens": usage_in + usage_out}})
        };
        if plan == Plan::SlowFirst {
            let (sender, receiver) = mpsc::channel(1);
            let wait = Duration::from_secs(20).mul_f64(scale);
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                let _ = sender.send(Bytes::from(body.to_string())).await;
            });
            return streamed(receiver, "application/json");
        }
        return json_reply(StatusCode::OK, body);
    }
    let (sender, receiver) = mpsc::channel(8);
    let (bare, responses, include_usage) = (asked.bare.clone(), asked.responses, asked.include_usage);
    tokio::spawn(async move {
        let event = |data: String| Bytes::from(format!("data: {data}\n\n"));
        // A send that fails means the reader went away (the caller dropped the request).
        let send = |b: Bytes| {
            let sender = sender.clone();
            let gone = Arc::clone(&gone);
            async move {
                let sent = sender.send(b).await.is_ok();
                if !sent {
                    gone.abandoned.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                sent
            }
        };
        if !send(Bytes::from_static(b": connected\n\n")).await {
            return;
        }
        // A Responses stream announces its message item first, as OpenAI's does: OpenClaw's
        // adapter (@openclaw/ai 2026.9.6) drops the deltas of an item it never saw.
        if responses {
            let added = json!({"type": "response.output_item.added", "output_index": 0,
                "item": {"type": "message", "id": "msg_fake", "role": "assistant", "status": "in_progress", "content": []}});
            if !send(event(added.to_string())).await {
                return;
            }
        }
        if plan == Plan::SlowFirst {
            tokio::time::sleep(Duration::from_secs(20).mul_f64(scale)).await;
        }
        for (i, word) in words.iter().enumerate() {
            if plan == Plan::Cut && i == 40 {
                return; // the connection closes mid-answer
            }
            if plan == Plan::Stall && i == 10 {
                tokio::select! {
                    _ = tokio::time::sleep(FOREVER.mul_f64(scale)) => {}
                    _ = sender.closed() => {
                        gone.abandoned.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                return;
            }
            if plan == Plan::Malformed
                && i == 20
                && !send(Bytes::from_static(b"data: {\"choices\": [{\"delta\": \n\n")).await
            {
                return;
            }
            let text = if i + 1 < words.len() { format!("{word} ") } else { (*word).to_owned() };
            let data = if responses {
                json!({"type": "response.output_text.delta", "item_id": "msg_fake", "output_index": 0, "content_index": 0, "delta": text})
            } else {
                json!({"object": "chat.completion.chunk", "model": bare, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
            };
            if !send(event(data.to_string())).await {
                return;
            }
        }
        let usage = |a: &str, b: &str| json!({ a: usage_in, b: usage_out });
        if responses {
            let item = json!({"type": "message", "id": "msg_fake", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": ANSWER, "annotations": []}]});
            let item_done = json!({"type": "response.output_item.done", "output_index": 0, "item": item.clone()});
            if !send(event(item_done.to_string())).await {
                return;
            }
            let done = json!({"type": "response.completed", "response": {"id": "resp_fake", "status": "completed", "model": bare, "output": [item], "usage": usage("input_tokens", "output_tokens")}});
            let _ = send(Bytes::from(format!("event: response.completed\ndata: {done}\n\n"))).await;
            return;
        }
        let finish = json!({"object": "chat.completion.chunk", "model": bare, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        if !send(event(finish.to_string())).await {
            return;
        }
        if include_usage {
            let chunk = json!({"object": "chat.completion.chunk", "model": bare, "choices": [], "usage": usage("prompt_tokens", "completion_tokens")});
            if !send(event(chunk.to_string())).await {
                return;
            }
        }
        if plan != Plan::NoDone {
            let _ = send(Bytes::from_static(b"data: [DONE]\n\n")).await;
        }
    });
    streamed(receiver, "text/event-stream")
}

fn streamed(receiver: mpsc::Receiver<Bytes>, content_type: &str) -> Response<Body> {
    let body = StreamBody::new(futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|b| (Ok::<_, Infallible>(Frame::data(b)), receiver))
    }));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", content_type)
        .body(BodyExt::boxed(body))
        .expect("a valid response")
}
