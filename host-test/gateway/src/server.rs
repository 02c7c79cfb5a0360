//! The gateway's HTTP side: OpenAI-compatible endpoints whose every call runs the policy's
//! failover loop through the executor, and the operator's `/metrics` and `/healthz`.
//!
//! A request names a configured model (or a `provider/model` ref); its chain is the configured
//! one, or the request's own `"fallbacks"` (taken out of the body before it is forwarded and
//! filtered by the policy like any chain). What answered is told in headers
//! (`x-route-policy-model`, `x-route-policy-fallback`, `x-route-policy-policy`) and, in a
//! JSON answer, a `route_policy` field with the policy's notice.
//!
//! Streams pass on event by event once an attempt's first event reads well; until then the
//! loop may still fail over unseen. After it, a fault ends the stream with an in-band error
//! event and no `[DONE]`, so no client takes a cut answer for a whole one. A client that goes
//! away drops the upstream request with it.

use crate::budget::{self, Budget, Share};
use crate::config::Config;
use crate::connections::{Admitted, Connections, InRequest};
use crate::doors::{self, Doors, printable};
use crate::metrics::Metrics;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue, ORIGIN};
use hyper::{Method, Request, Response, StatusCode};
use route_policy_contract::types::{Capability, FailureReason, FallbackRequest, Outcome};
use route_policy_executor::{
    CallResult, Clock, CodexAuthFile, Executor, Failed, HostCode, HttpTransport, ModelCall, Receipt, Secret,
    StaticCredentials, TOKEN_URL,
};
use route_policy_host::{
    DecisionLog, Engine, LoadError, Policy, PolicyHost, ReloadOptions, Router, Trust, Watcher, read_public_key,
};
use route_policy_oci::{DEFAULT_POLL_INTERVAL, Event, OciRef, RegistrySource, Watching, default_data_dir};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

/// The largest request body the gateway reads (10 MiB); a larger one gets a 413.
pub const MAX_REQUEST_BYTES: usize = 10 << 20;
/// The most fallbacks a request may name.
pub const MAX_REQUEST_FALLBACKS: usize = 16;
/// How much of a too-large body is read and discarded before the 413 (64 MiB).
const DRAIN_BYTES: usize = 64 << 20;
/// How long a body may take to arrive (or a too-large one to be discarded).
const DRAIN_TIME: Duration = Duration::from_secs(30);

type Body = BoxBody<Bytes, Infallible>;

/// A gateway that could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Something the configuration names (a secret, a key, the policy, a route).
    #[error("{0}")]
    Start(String),
}

fn start<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> GatewayError + '_ {
    move |e| GatewayError::Start(format!("{what}: {e}"))
}

/// A running gateway's state: its configuration, its policy (hot-swappable), the executor and
/// the metrics.
pub struct Gateway {
    config: Config,
    client_key: Option<String>,
    host: Arc<PolicyHost>,
    executor: Arc<Executor<HttpTransport>>,
    metrics: Arc<Metrics>,
    /// What the requests in flight may cost in memory.
    budget: Budget,
    /// The registry the policy comes from, when it does.
    registry: Option<Arc<RegistrySource>>,
    _watcher: Option<Watch>,
}

/// Keeps the policy's watch running: a file's, or a registry tag's.
enum Watch {
    File(#[allow(dead_code)] Watcher),
    Registry(#[allow(dead_code)] Watching),
}

/// The policy options of a configuration: pin, trusted keys, rollback.
fn reload_options(source: &crate::config::PolicySource) -> Result<ReloadOptions, GatewayError> {
    let mut trust = Trust::none();
    if let Some(pin) = &source.pin_sha256 {
        trust = trust.pin_sha256(pin).map_err(start("policy.pin-sha256"))?;
    }
    for key in &source.trusted_keys {
        let key = read_public_key(key).map_err(start("policy.trusted-keys"))?;
        trust = trust.trust_key(key).map_err(start("policy.trusted-keys"))?;
    }
    Ok(ReloadOptions { trust, allow_rollback: source.allow_rollback, ..ReloadOptions::default() })
}

/// Logs a registry event and counts it.
fn report(metrics: &Metrics, event: &Event) {
    if let Some(line) = event.log_line() {
        eprintln!("{line}");
    }
    match event {
        Event::Activated { policy, origin, .. } => {
            metrics.activated(origin.as_str(), &policy.id().revision, &policy.id().sha256)
        }
        Event::Refused(refusal) => metrics.refused(refusal.reason.as_str()),
        Event::Unreachable(_) | Event::Unchanged | Event::StillRefused(_) => {}
    }
}

impl Gateway {
    /// Starts a gateway's state from its configuration: reads the secrets, loads and checks the
    /// policy (and watches it, if asked), opens the decision log. `clock` scales the loop's
    /// waits (tests); `Clock::default()` is real time. A registry policy needs [`Gateway::open`].
    pub fn start(config: Config, engine: Engine, clock: Clock) -> Result<Gateway, GatewayError> {
        if config.policy.registry.is_some() {
            return Err(GatewayError::Start("policy.registry: start the gateway with Gateway::open".into()));
        }
        let source = &config.policy;
        let options = reload_options(source)?;
        let host = match &source.component {
            Some(path) => PolicyHost::open(engine, path, options),
            None if options.trust.is_required() => {
                return Err(GatewayError::Start(
                    "policy.pin-sha256 and policy.trusted-keys need policy.component".into(),
                ));
            }
            None => Policy::builtin(&engine).and_then(|policy| PolicyHost::new(engine, policy, options)),
        }
        .map_err(start("policy"))?;
        let origin = if source.component.is_some() { "file" } else { "built-in" };
        let mut gateway = Gateway::assemble(config, host, None, clock, origin)?;
        gateway._watcher = match (gateway.config.policy.watch, gateway.config.policy.component.clone()) {
            (true, Some(path)) => {
                let metrics = Arc::clone(&gateway.metrics);
                let report = move |outcome: Result<Arc<Policy>, LoadError>| match outcome {
                    Ok(policy) => {
                        eprintln!("activated {}", policy.id());
                        metrics.activated("file", &policy.id().revision, &policy.id().sha256);
                    }
                    Err(error) => {
                        eprintln!("rejected {error}; the previous policy keeps serving");
                        metrics.refused(error.step.as_str());
                    }
                };
                Some(Watch::File(
                    gateway.host.watch(path, Duration::from_millis(100), report).map_err(start("policy.watch"))?,
                ))
            }
            (true, None) => return Err(GatewayError::Start("policy.watch needs policy.component".into())),
            (false, _) => None,
        };
        Ok(gateway)
    }

    /// Starts a gateway like [`Gateway::start`], and also from a registry (`policy.registry`):
    /// the first policy is pulled and verified (or the last good one served, when the registry
    /// is unreachable), and a watched tag is polled from then on. Runs inside a tokio runtime.
    pub async fn open(config: Config, engine: Engine, clock: Clock) -> Result<Gateway, GatewayError> {
        let Some(reference) = config.policy.registry.clone() else {
            return Gateway::start(config, engine, clock);
        };
        let reference = OciRef::parse(&reference).map_err(start("policy.registry"))?;
        let data_dir = match &config.policy.data_dir {
            Some(dir) => dir.clone(),
            None => default_data_dir().map_err(start("policy.data-dir"))?,
        };
        let registry = Arc::new(RegistrySource::new(reference, &data_dir).map_err(start("policy.registry"))?);
        let options = reload_options(&config.policy)?;
        let (host, events) = registry.start(engine, options).await.map_err(start("policy.registry"))?;
        let interval = config.policy.poll_seconds.map_or(DEFAULT_POLL_INTERVAL, Duration::from_secs_f64);
        let mut gateway = Gateway::assemble(config, host, Some(Arc::clone(&registry)), clock, "")?;
        for event in &events {
            report(&gateway.metrics, event);
        }
        if registry.watches() {
            let metrics = Arc::clone(&gateway.metrics);
            let watching = registry.watch(Arc::clone(&gateway.host), interval, move |event| report(&metrics, event));
            gateway._watcher = Some(Watch::Registry(watching));
        }
        Ok(gateway)
    }

    /// The rest of a start, once the policy serves: secrets, routes, log, metrics, executor.
    fn assemble(
        config: Config,
        host: PolicyHost,
        registry: Option<Arc<RegistrySource>>,
        clock: Clock,
        origin: &str,
    ) -> Result<Gateway, GatewayError> {
        let client_key = config.client_key().map_err(GatewayError::Start)?;
        // A sign-in refreshes through OpenAI's token endpoint, or the loopback server a route
        // sends auth.openai.com to.
        let token_url = config
            .routes
            .iter()
            .find(|r| r.from.trim_end_matches('/').eq_ignore_ascii_case("https://auth.openai.com"))
            .map_or_else(|| TOKEN_URL.to_owned(), |r| format!("{}/oauth/token", r.to.trim_end_matches('/')));
        let mut secrets = StaticCredentials::new();
        for credential in &config.credentials {
            if let Some(file) = &credential.codex_auth_file {
                let sign_in = Arc::new(CodexAuthFile::new(file, token_url.clone()));
                secrets = secrets.with_sign_in(credential.profile_id.clone(), sign_in);
                continue;
            }
            let secret = credential.read_secret().map_err(start(&format!("credential `{}`", credential.profile_id)))?;
            secrets = secrets.with(credential.profile_id.clone(), Secret::new(secret));
        }
        let mut transport = HttpTransport::new();
        for route in &config.routes {
            transport = transport.route(&route.from, &route.to).map_err(start("route"))?;
        }
        let log = match &config.decision_log {
            Some(path) => Some(Arc::new(DecisionLog::open(path).map_err(start("decision-log"))?)),
            None => None,
        };
        let host = Arc::new(host);
        let metrics = Arc::new(Metrics::new(config.refs()));
        if !origin.is_empty() {
            let id = host.current().id().clone();
            metrics.activated(origin, &id.revision, &id.sha256);
        }
        // The executor asks the host, so a swap takes over at the next step of a call in
        // flight: the loop's whole state is in the call, never in the policy.
        let router: Arc<dyn Router + Send + Sync> = Arc::clone(&host) as _;
        let mut executor = Executor::new(router, transport, Arc::new(secrets)).with_clock(clock);
        if let Some(log) = log {
            executor = executor.with_log(log);
        }
        let budget = Budget::new(config.limits.in_flight_mib);
        Ok(Gateway {
            config,
            client_key,
            host,
            registry,
            executor: Arc::new(executor),
            metrics,
            budget,
            _watcher: None,
        })
    }

    /// What `GET /status` answers: the registry source's status, or the serving policy's
    /// file and identity.
    pub fn status(&self) -> Value {
        match &self.registry {
            Some(registry) => serde_json::to_value(registry.status()).unwrap_or(Value::Null),
            None => {
                let policy = self.policy();
                json!({
                    "source": policy.id().source,
                    "active": {"revision": policy.id().revision, "sha256": policy.id().sha256,
                               "rules_digest": policy.id().rules_digest},
                })
            }
        }
    }

    /// What `GET /healthz` answers: 200 while calls can be served, 503 with the problem when
    /// the state every call carries (route health, learned rejections) no longer fits what the
    /// policy accepts as input.
    fn health(&self) -> Response<Body> {
        let policy = self.policy();
        let routes = self.executor.health().snapshot();
        let learned = self.executor.learned().snapshot().len();
        let state_bytes = serde_json::to_vec(&routes).map_or(0, |v| v.len());
        let limit = policy.engine().limits().input;
        let mut answer = json!({
            "status": "ok", "policy": policy.id().tag(), "routes": routes.len(), "learned": learned,
            "state-bytes": state_bytes,
        });
        if state_bytes > limit / 2 {
            answer["status"] = json!("degraded");
            answer["problem"] = json!(format!(
                "the route health every call carries holds {state_bytes} bytes, more than half the policy's input limit of {limit}"
            ));
            return json_response(StatusCode::SERVICE_UNAVAILABLE, &answer);
        }
        json_response(StatusCode::OK, &answer)
    }

    /// The serving policy.
    pub fn policy(&self) -> Arc<Policy> {
        self.host.current()
    }

    /// Serves connections from `listener` until the task is dropped. Refuses to serve an
    /// address off loopback without a client key (however the address was chosen: the rule is
    /// checked on the socket actually bound).
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> Result<(), GatewayError> {
        let local = listener.local_addr().map_err(start("listen"))?;
        self.config.check_listen(local).map_err(GatewayError::Start)?;
        let doors = Arc::new(Doors::new(local, &self.config.allowed_hosts, &self.config.allowed_origins));
        let connections = Connections::new(self.config.limits.max_connections);
        let header_time = Duration::from_secs_f64(self.config.limits.header_seconds);
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                // Out of descriptors, or a connection reset before it was accepted: wait a
                // moment rather than spin, and keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let held = match connections.admit() {
                Admitted::Held { held, evicted_other } => {
                    if evicted_other {
                        self.metrics.rejected("connection_evicted");
                    }
                    held
                }
                Admitted::Full => {
                    self.metrics.rejected("connection_limit");
                    drop(stream);
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let gateway = Arc::clone(&self);
            let doors = Arc::clone(&doors);
            tokio::spawn(async move {
                let busy = Arc::clone(&held.busy);
                let service = hyper::service::service_fn(move |request| {
                    let gateway = Arc::clone(&gateway);
                    let doors = Arc::clone(&doors);
                    // The connection counts as in a request until the response is sent.
                    let in_request = InRequest::enter(&busy);
                    async move {
                        let response = gateway.admit(&doors, request).await;
                        Ok::<_, Infallible>(response.map(|body| {
                            BodyExt::boxed(BodyExt::map_frame(body, move |frame| {
                                let _ = &in_request;
                                frame
                            }))
                        }))
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_time)
                    .serve_connection(io, service);
                let mut held = held;
                tokio::select! {
                    _ = connection => {}
                    _ = &mut held.evicted => {}
                }
            });
        }
    }

    /// Answers one request that came through `doors`: a request whose `Host` does not name
    /// the gateway, or from a web page of an origin not configured, is refused before
    /// anything else; a configured origin's page gets CORS headers (and its preflight).
    async fn admit(self: Arc<Self>, doors: &Doors, request: Request<Incoming>) -> Response<Body> {
        let header = |name| request.headers().get(name).map(|v: &HeaderValue| v.to_str().unwrap_or("\u{fffd}"));
        let origin = match doors.admit(header(HOST), header(ORIGIN)) {
            Ok(origin) => origin,
            Err(refusal) => return self.refuse(StatusCode::FORBIDDEN, refusal.code(), refusal.message()),
        };
        let mut response = if request.method() == Method::OPTIONS && origin.is_some() {
            let mut preflight = Response::new(full(Bytes::new()));
            *preflight.status_mut() = StatusCode::NO_CONTENT;
            let headers = preflight.headers_mut();
            headers.insert("access-control-allow-methods", HeaderValue::from_static("GET, POST"));
            headers.insert(
                "access-control-allow-headers",
                HeaderValue::from_static("authorization, content-type, x-route-policy-hold"),
            );
            headers.insert("access-control-max-age", HeaderValue::from_static("600"));
            preflight
        } else {
            self.handle(request).await
        };
        if let Some(value) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
            response.headers_mut().insert("access-control-allow-origin", value);
            response.headers_mut().insert("vary", HeaderValue::from_static("origin"));
            response.headers_mut().insert(
                "access-control-expose-headers",
                HeaderValue::from_static("x-route-policy-model, x-route-policy-fallback, x-route-policy-policy"),
            );
        }
        response
    }

    /// Answers one request, without the checks of the doors (see [`Gateway::serve`]).
    pub async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        let path = request.uri().path().to_owned();
        match (request.method(), path.as_str()) {
            (&Method::GET, "/status") => json_response(StatusCode::OK, &self.status()),
            (&Method::GET, "/healthz") => self.health(),
            (&Method::GET, "/metrics") => {
                self.refresh_circuits();
                let mut response = Response::new(full(self.metrics.encode()));
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
                );
                response
            }
            (&Method::GET, "/v1/models") => match self.authorize(&request) {
                Err(response) => *response,
                Ok(()) => json_response(StatusCode::OK, &self.models()),
            },
            (&Method::POST, "/v1/chat/completions") => self.complete(request, Api::Chat).await,
            (&Method::POST, "/v1/responses") => self.complete(request, Api::Responses).await,
            (_, "/v1/chat/completions" | "/v1/responses" | "/v1/models" | "/metrics" | "/healthz") => self.refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{} is not served on {path}", request.method()),
            ),
            _ => self.refuse(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("nothing is served at {path}: POST /v1/chat/completions or /v1/responses"),
            ),
        }
    }

    fn authorize(&self, request: &Request<Incoming>) -> Result<(), Box<Response<Body>>> {
        let Some(key) = &self.client_key else { return Ok(()) };
        let presented = request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if constant_time_eq(presented.as_bytes(), key.as_bytes()) {
            Ok(())
        } else {
            self.metrics.rejected("unauthorized");
            Err(Box::new(error_response(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "unauthorized",
                "this gateway needs its client key: Authorization: Bearer …",
            )))
        }
    }

    fn refuse(&self, status: StatusCode, code: &str, message: String) -> Response<Body> {
        self.metrics.rejected(code);
        error_response(status, "invalid_request_error", code, &message)
    }

    /// A model call: read and check the request, then run the loop.
    async fn complete(self: Arc<Self>, request: Request<Incoming>, api: Api) -> Response<Body> {
        if let Err(response) = self.authorize(&request) {
            return *response;
        }
        // A browser sends a JSON body across origins only after a preflight, which an origin
        // not configured fails; a text or form body it sends without asking.
        if !doors::is_json(request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok())) {
            return self.refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "a model call's body is JSON: send it with Content-Type: application/json".to_owned(),
            );
        }
        let hold = self.config.hold_streams
            || request.headers().get("x-route-policy-hold").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        let mut share = Budget::empty();
        let bytes = match read_body(request.into_body(), |n| self.budget.grow(&mut share, n)).await {
            Ok(bytes) => bytes,
            Err(BodyError::TooLarge) => return self.too_large(),
            Err(BodyError::Busy) => return self.busy(),
            Err(BodyError::Slow) => {
                let message = format!("the request body did not arrive within {} s", DRAIN_TIME.as_secs());
                return self.refuse(StatusCode::REQUEST_TIMEOUT, "request_timeout", message);
            }
            Err(BodyError::Unreadable(error)) => {
                return self.refuse(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    format!("the request body could not be read: {error}"),
                );
            }
        };
        // What parsing will cost is known before parsing, and must fit too.
        let Some(cost) = budget::parse_cost(&bytes) else {
            self.metrics.rejected("too_large");
            let message = format!(
                "the request body holds more than {} JSON values; send fewer, larger values",
                budget::MAX_JSON_VALUES
            );
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "request_too_large",
                &message,
            );
        };
        if !self.budget.grow(&mut share, cost) {
            return self.busy();
        }
        let (call, requested) = match self.call(&bytes, api) {
            Ok(call) => call,
            Err(response) => return *response,
        };
        drop(bytes);
        let tag = self.policy().id().tag();
        if call.streaming() && !hold {
            self.stream(call, requested, tag, share).await
        } else {
            let result = self.executor.run(&call).await;
            drop(share);
            self.account(&result);
            self.whole(result, &requested, tag)
        }
    }

    /// The answer when the requests in flight hold the whole memory budget.
    fn busy(&self) -> Response<Body> {
        self.metrics.rejected("busy");
        let mut response = error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_busy",
            "busy",
            "the gateway is at its memory budget for requests in flight (limits.in-flight-mib); retry shortly",
        );
        response.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        response
    }

    fn too_large(&self) -> Response<Body> {
        let message = format!("the request body is larger than {MAX_REQUEST_BYTES} bytes");
        self.metrics.rejected("too_large");
        error_response(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error", "request_too_large", &message)
    }

    /// The model call a request body asks for, and the model it named; or the answer that
    /// says what is wrong with it.
    fn call(&self, bytes: &[u8], api: Api) -> Result<(ModelCall, String), Box<Response<Body>>> {
        let bad = |code: &str, message: String| Err(Box::new(self.refuse(StatusCode::BAD_REQUEST, code, message)));
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => return bad("invalid_json", format!("the body is not UTF-8 (from byte {})", e.valid_up_to())),
        };
        let mut body: Value = match serde_json::from_str(text) {
            Ok(body) => body,
            Err(e) => return bad("invalid_json", format!("the body is not valid JSON: {e}")),
        };
        let Some(object) = body.as_object_mut() else {
            return bad("invalid_request", "the body must be a JSON object".to_owned());
        };
        let model = match object.get("model") {
            Some(Value::String(model)) if !model.is_empty() => model.clone(),
            Some(_) => return bad("invalid_model", "`model` must be a non-empty string".to_owned()),
            None => return bad("missing_model", "the body names no `model`".to_owned()),
        };
        if object.get("stream").is_some_and(|s| !s.is_boolean()) {
            return bad("invalid_stream", "`stream` must be true or false".to_owned());
        }
        match api {
            Api::Chat if !object.get("messages").is_some_and(Value::is_array) => {
                return bad("missing_messages", "a chat completion needs `messages`, an array".to_owned());
            }
            Api::Responses if object.contains_key("messages") || !object.contains_key("input") => {
                return bad("missing_input", "a response needs `input` (and no `messages`)".to_owned());
            }
            _ => {}
        }
        let asked_fallbacks = match object.remove("fallbacks") {
            None => None,
            Some(Value::Array(items)) if items.len() <= MAX_REQUEST_FALLBACKS => {
                let refs: Option<Vec<String>> = items.iter().map(|i| i.as_str().map(str::to_owned)).collect();
                match refs {
                    Some(refs) => Some(refs),
                    None => return bad("invalid_fallbacks", "`fallbacks` must be an array of model refs".to_owned()),
                }
            }
            Some(Value::Array(_)) => {
                return bad(
                    "invalid_fallbacks",
                    format!("`fallbacks` may name at most {MAX_REQUEST_FALLBACKS} models"),
                );
            }
            Some(_) => return bad("invalid_fallbacks", "`fallbacks` must be an array of model refs".to_owned()),
        };
        let (primary, configured) = match self.config.model(&model) {
            Some(entry) => (entry.primary.clone(), entry.fallbacks.clone()),
            None => match self.read_ref(&model) {
                Ok(read) => (read, Vec::new()),
                Err(why) => return Err(Box::new(self.refuse(StatusCode::NOT_FOUND, "model_not_found", why))),
            },
        };
        let chain = FallbackRequest {
            capability: Capability::Chat,
            primary,
            fallbacks: asked_fallbacks.unwrap_or(configured),
            explicit_override: None,
            credentials: self.config.described(),
            // The executor adds what earlier calls learned for these credentials.
            rejections: Vec::new(),
            max_candidates: None,
            providers: self.config.providers.clone(),
            env_base_url: None,
        };
        Ok((ModelCall { chain, body }, model))
    }

    /// What `GET /v1/models` lists, in OpenAI's shape: the configured names (`owned_by`
    /// `route-policy`), then every ref their chains name that this gateway's credentials can
    /// reach (`owned_by` its provider), each once. Each of them is served by a request naming it.
    fn models(&self) -> Value {
        let mut seen = std::collections::BTreeSet::new();
        let mut data: Vec<Value> = Vec::new();
        for model in &self.config.models {
            if seen.insert(model.name.clone()) {
                data.push(json!({"id": model.name, "object": "model", "owned_by": "route-policy"}));
            }
        }
        for reference in self.config.refs() {
            let Ok(read) = self.read_ref(&reference) else { continue };
            if seen.insert(read.clone()) {
                let provider = read.split_once('/').map_or("openai", |(p, _)| p).to_owned();
                data.push(json!({"id": read, "object": "model", "owned_by": provider}));
            }
        }
        json!({"object": "list", "data": data})
    }

    /// A model that is not a configured name, read as a ref: `provider/model` for a provider
    /// the gateway holds a credential for, or a bare name, which means `openai/NAME` (as in
    /// the contract). When no credential serves it, the refusal says how it was read and what
    /// this gateway does serve (the names `GET /v1/models` lists, and refs of which providers).
    fn read_ref(&self, model: &str) -> Result<String, String> {
        let (provider, read) = match model.split_once('/') {
            Some((provider, name)) if !provider.is_empty() && !name.is_empty() => (provider, model.to_owned()),
            Some(_) => return Err(format!("`{}` is not a model ref: write PROVIDER/MODEL", printable(model))),
            None => ("openai", format!("openai/{model}")),
        };
        let serves = |p: &str| {
            self.config.credentials.iter().any(|c| {
                c.provider.eq_ignore_ascii_case(p) || (p == "openai" && c.provider.eq_ignore_ascii_case("openai-codex"))
            })
        };
        if serves(provider) {
            return Ok(read);
        }
        let names: Vec<&str> = self.config.models.iter().map(|m| m.name.as_str()).collect();
        let mut providers: Vec<&str> = self.config.credentials.iter().map(|c| c.provider.as_str()).collect();
        providers.sort_unstable();
        providers.dedup();
        let shown = |list: &[&str]| if list.is_empty() { "none".to_owned() } else { list.join(", ") };
        let read_as = if model.contains('/') { String::new() } else { format!(" (a bare name means {read})") };
        Err(format!(
            "`{}` is not a configured model, and this gateway holds no credential for {provider}{read_as}. \
             It serves the configured names ({}; GET /v1/models lists them) and PROVIDER/MODEL refs for: {}",
            printable(model),
            shown(&names),
            shown(&providers)
        ))
    }

    /// A call's answer, whole (a held stream is sent as it arrived, all at once).
    fn whole(&self, result: CallResult, requested: &str, policy: Value) -> Response<Body> {
        let served = match result.result {
            Ok(served) => served,
            Err(failed) => return failure_response(&failed, &result.receipt, policy),
        };
        let answer = served.answer;
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
        let json_body = answer.content_type.starts_with("application/json");
        let body = match serde_json::from_slice::<Value>(&answer.body) {
            Ok(Value::Object(mut object)) if json_body => {
                object.insert(
                    "route_policy".to_owned(),
                    json!({
                        "requested": requested,
                        "model": served.candidate.model,
                        "fallback": served.fallback,
                        "notice": served.notice,
                        "dropped": dropped_json(&result.receipt),
                        "translation_notes": result.receipt.translation_notes,
                        "policy": policy,
                    }),
                );
                Bytes::from(serde_json::to_vec(&object).unwrap_or_default())
            }
            _ => answer.body,
        };
        let mut response = Response::new(full(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&answer.content_type) {
            headers.insert(CONTENT_TYPE, value);
        }
        tag_headers(headers, &served.candidate.model, served.fallback, &policy);
        response
    }

    /// A streamed call: wait for the first event that may pass on (or the end of the loop),
    /// then pass on the rest as it arrives.
    async fn stream(
        self: Arc<Self>,
        call: ModelCall,
        requested: String,
        policy: Value,
        share: Share,
    ) -> Response<Body> {
        let (sink, mut events) = mpsc::channel::<Bytes>(16);
        let (serving_tx, serving) = watch::channel(None);
        let (done_tx, done) = oneshot::channel::<CallResult>();
        let executor = Arc::clone(&self.executor);
        let responses = call.body.get("messages").is_none();
        let task = tokio::spawn(async move {
            let result = executor.run_streaming(&call, sink, serving_tx).await;
            let _ = done_tx.send(result);
        });
        // Dropped with the response body, or with this future if the client leaves first: the
        // loop and its upstream request go with it.
        let mut running = Running { task, metrics: Arc::clone(&self.metrics), ended: false, _share: share };
        let Some(first) = events.recv().await else {
            // Nothing passed on: the loop ended before any event could (a failure, or an
            // answer that was not a stream). Answer it whole.
            let Ok(result) = done.await else {
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "route_policy_error",
                    "host-error",
                    "the call ended without a result",
                );
            };
            running.ended = true;
            self.account(&result);
            return self.whole(result, &requested, policy);
        };
        let now = serving.borrow().clone();
        let mut prefix = String::new();
        let mut response_headers = hyper::HeaderMap::new();
        if let Some(now) = &now {
            if now.fallback {
                // An SSE comment, which clients ignore, for whoever reads the raw stream.
                prefix = format!(
                    ": route-policy: {} answers for {}\n\n",
                    printable(&now.candidate.model),
                    printable(&requested)
                );
            }
            tag_headers(&mut response_headers, &now.candidate.model, now.fallback, &policy);
        }
        let first = if prefix.is_empty() { first } else { Bytes::from([prefix.as_bytes(), &first].concat()) };
        let state = Passing { first: Some(first), events, done: Some(done), gateway: self, responses, running };
        let body = StreamBody::new(futures_util::stream::unfold(state, |mut s| async move {
            if let Some(first) = s.first.take() {
                return Some((Ok(Frame::data(first)), s));
            }
            if let Some(bytes) = s.events.recv().await {
                return Some((Ok(Frame::data(bytes)), s));
            }
            let result = s.done.take()?.await.ok()?;
            s.running.ended = true;
            s.gateway.account(&result);
            let failed = result.result.err()?;
            Some((Ok(Frame::data(error_event(&failed, s.responses))), s))
        }));
        let mut response = Response::new(BodyExt::boxed(body));
        *response.headers_mut() = response_headers;
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        response.headers_mut().insert("cache-control", HeaderValue::from_static("no-cache"));
        response
    }

    /// Counts what a call did.
    fn account(&self, result: &CallResult) {
        let receipt: &Receipt = &result.receipt;
        for attempt in &receipt.attempts {
            self.metrics.attempt(outcome_word(&attempt.outcome));
            self.metrics.skipped(attempt.skipped_events);
        }
        for micros in &receipt.step_micros {
            self.metrics.step(*micros);
        }
        let word = match &result.result {
            Ok(served) if served.fallback => {
                self.metrics.fallback(&receipt.requested, &served.candidate.model);
                "fallback"
            }
            Ok(_) => "served",
            Err(Failed::Policy(_)) => "failed",
            Err(Failed::Interrupted { .. }) => "interrupted",
            Err(Failed::Host { code: HostCode::ClientDisconnected, .. }) => "client-disconnected",
            Err(Failed::Host { .. }) => "host-error",
        };
        self.metrics.call(word);
        self.refresh_circuits();
    }

    fn refresh_circuits(&self) {
        let now = self.executor.clock().now_ms();
        let open =
            self.executor.health().snapshot().iter().filter(|h| h.open_until_ms.is_some_and(|t| t > now)).count();
        self.metrics.circuits(open);
    }
}

/// Why a request body was not read.
enum BodyError {
    TooLarge,
    Busy,
    Slow,
    Unreadable(hyper::Error),
}

/// Reads a request body of at most [`MAX_REQUEST_BYTES`], each chunk kept only if `room`
/// grants its size from the memory budget. A larger body, or one the budget has no room for,
/// is read on and discarded (up to [`DRAIN_BYTES`], within [`DRAIN_TIME`]) so that the client,
/// still writing, reads the 413 or 503 rather than a broken pipe; past those bounds the
/// connection closes.
async fn read_body(mut body: Incoming, mut room: impl FnMut(usize) -> bool) -> Result<Bytes, BodyError> {
    let mut bytes = bytes::BytesMut::new();
    let mut seen = 0usize;
    let mut busy = false;
    let drained = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(BodyError::Unreadable)?;
            let Some(data) = frame.data_ref() else { continue };
            seen = seen.saturating_add(data.len());
            if seen <= MAX_REQUEST_BYTES && !busy {
                if room(data.len()) {
                    bytes.extend_from_slice(data);
                } else {
                    busy = true;
                    bytes = bytes::BytesMut::new();
                }
            } else if seen > DRAIN_BYTES {
                break;
            }
        }
        Ok(())
    })
    .await;
    match drained {
        _ if seen > MAX_REQUEST_BYTES => Err(BodyError::TooLarge),
        _ if busy => Err(BodyError::Busy),
        Ok(Ok(())) => Ok(bytes.freeze()),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(BodyError::Slow),
    }
}

/// Which API a request speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Chat,
    Responses,
}

/// A streamed call's loop, aborted when its response is dropped before the loop's result was
/// taken (the client went away).
struct Running {
    task: tokio::task::JoinHandle<()>,
    metrics: Arc<Metrics>,
    /// Whether the loop's result was taken (and counted).
    ended: bool,
    /// The request's share of the memory budget, held until the stream ends.
    _share: Share,
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.ended {
            self.task.abort();
            self.metrics.call("client-disconnected");
        }
    }
}

/// A stream being passed on.
struct Passing {
    first: Option<Bytes>,
    events: mpsc::Receiver<Bytes>,
    done: Option<oneshot::Receiver<CallResult>>,
    gateway: Arc<Gateway>,
    responses: bool,
    running: Running,
}

fn outcome_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Success(_) => "success",
        Outcome::HttpError(_) => "http-error",
        Outcome::Network(_) => "network",
        Outcome::Timeout(_) => "timeout",
        Outcome::StreamFault(_) => "stream-fault",
    }
}

/// The in-band error that ends a stream cut after the client began reading it: the OpenAI
/// shape of each API, and no `[DONE]` after it.
fn error_event(failed: &Failed, responses: bool) -> Bytes {
    let (code, message) = match failed {
        Failed::Interrupted { message, .. } => ("stream_interrupted", message.as_str()),
        other => ("route_policy_error", other.message()),
    };
    let text = if responses {
        format!("event: error\ndata: {}\n\n", json!({"type": "error", "code": code, "message": message}))
    } else {
        format!("data: {}\n\n", json!({"error": {"type": "route_policy_error", "code": code, "message": message}}))
    };
    Bytes::from(text)
}

/// A failed call in the OpenAI error shape, with a status that says whose problem it is.
fn failure_response(failed: &Failed, receipt: &Receipt, policy: Value) -> Response<Body> {
    let (status, code, retry_after) = match failed {
        Failed::Policy(failure) => {
            let status = match failure.verdict.reason {
                FailureReason::ContextOverflow | FailureReason::ContentPolicy | FailureReason::InvalidRequest => {
                    StatusCode::BAD_REQUEST
                }
                FailureReason::RateLimited | FailureReason::QuotaExhausted => StatusCode::TOO_MANY_REQUESTS,
                FailureReason::Timeout => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            };
            let code = serde_json::to_value(failure.verdict.reason).ok().and_then(|v| v.as_str().map(str::to_owned));
            (status, code.unwrap_or_else(|| "unknown".to_owned()), failure.verdict.retry_after_ms)
        }
        Failed::Interrupted { .. } => (StatusCode::BAD_GATEWAY, "stream_interrupted".to_owned(), None),
        // A request the route's API cannot carry is the caller's to change.
        Failed::Host { code: HostCode::Untranslatable, .. } => {
            (StatusCode::BAD_REQUEST, "untranslatable".to_owned(), None)
        }
        Failed::Host { code, .. } => (StatusCode::INTERNAL_SERVER_ERROR, code.as_str().to_owned(), None),
    };
    let attempts: Vec<Value> =
        receipt.attempts.iter().map(|a| json!({"model": a.model, "outcome": outcome_word(&a.outcome)})).collect();
    let body = json!({
        "error": {"message": failed.message(), "type": "route_policy_error", "code": code},
        "route_policy": {"attempts": attempts, "dropped": dropped_json(receipt), "policy": policy},
    });
    let mut response = json_response(status, &body);
    if let Some(ms) = retry_after {
        response.headers_mut().insert("retry-after", HeaderValue::from(ms.div_ceil(1000)));
    }
    response
}

/// The refs the policy left out of the chain, each with its reason and sentence.
fn dropped_json(receipt: &Receipt) -> Value {
    serde_json::to_value(&receipt.dropped).unwrap_or(Value::Null)
}

fn tag_headers(headers: &mut hyper::HeaderMap, model: &str, fallback: bool, policy: &Value) {
    if let Ok(value) = HeaderValue::from_str(&printable(model)) {
        headers.insert("x-route-policy-model", value);
    }
    headers.insert("x-route-policy-fallback", HeaderValue::from_static(if fallback { "true" } else { "false" }));
    if let Some(value) =
        policy.get("revision").and_then(Value::as_str).and_then(|r| HeaderValue::from_str(&printable(r)).ok())
    {
        headers.insert("x-route-policy-policy", value);
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn full(bytes: impl Into<Bytes>) -> Body {
    BodyExt::boxed(Full::new(bytes.into()))
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(full(serde_json::to_vec(body).unwrap_or_default()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_response(status: StatusCode, kind: &str, code: &str, message: &str) -> Response<Body> {
    json_response(status, &json!({"error": {"message": message, "type": kind, "code": code}}))
}
