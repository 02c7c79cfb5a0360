//! The executor: runs one model call the way the policy's `next-step` says, and nothing more.
//!
//! For each step it asks the policy (with the attempts so far, the stored route health, the
//! clock and a seed), stores the health the step returns, and then either finishes or sends:
//! the guard checks the endpoint, the credential's secret is attached only then, the request
//! waits the step's delay and is sent with the step's timeouts, and what happened is recorded
//! as a fact for the next step. It decides nothing about failover. Every call leaves a
//! [`Receipt`]: requested and effective model, every attempt with its outcome and timings,
//! the policy's revision; a fallback is never silent.

use crate::clock::Clock;
use crate::credentials::Credentials;
use crate::health::HealthStore;
use crate::learned::LearnedStore;
use crate::transport::{Answer, Api, Deadlines, Outgoing, Translation, Transport};
use bytes::Bytes;
use route_policy_contract::guard::{self, Guard};
use route_policy_contract::learning;
use route_policy_contract::redact;
use route_policy_contract::types::{
    Attempt, AuthHeader, CallFailure, CallState, Candidate, Dropped, FallbackPlan, FallbackRequest, Finished, Next,
    Outcome, Rejection, Sending, Step, Usage,
};
use route_policy_host::{DecisionLog, Router};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// A model call: the chain to serve it from, and the request body in the API of its endpoints
/// (Chat Completions or Responses), whose `model` the executor sets per attempt.
#[derive(Clone, Debug)]
pub struct ModelCall {
    /// The chain, the credentials (described) and the provider configs.
    pub chain: FallbackRequest,
    /// The request as the caller wrote it.
    pub body: Value,
}

impl ModelCall {
    /// Whether the caller asked for a streamed answer.
    pub fn streaming(&self) -> bool {
        self.body.get("stream").and_then(Value::as_bool).unwrap_or(false)
    }
}

/// Whose answer a streamed call is passing on: the candidate of the attempt under way, and
/// whether it is not the caller's first choice.
#[derive(Clone, Debug, PartialEq)]
pub struct Serving {
    /// The candidate.
    pub candidate: Candidate,
    /// Whether it is a fallback.
    pub fallback: bool,
}

/// A call that was served.
#[derive(Clone, Debug)]
pub struct Served {
    /// The candidate that answered.
    pub candidate: Candidate,
    /// The model name the upstream got.
    pub upstream_model: String,
    /// Whether it was a fallback, and the sentence that tells the user why.
    pub fallback: bool,
    /// The policy's sentence, when a fallback served.
    pub notice: Option<String>,
    /// The answer, whole.
    pub answer: Answer,
}

/// Why a call was not served.
#[derive(Clone, Debug, PartialEq)]
pub enum Failed {
    /// The policy finished the call as failed: its verdict and the user's sentence.
    Policy(Box<CallFailure>),
    /// A streamed answer failed after some of it reached the caller: nothing may take its
    /// place, and the caller must be told it is incomplete.
    Interrupted {
        /// The model whose answer was cut.
        model: String,
        /// What happened to it.
        outcome: Outcome,
        /// The sentence for the caller.
        message: String,
    },
    /// The host stopped the call: the policy could not answer, or answered unsafely, or a
    /// credential's secret is missing, or the caller went away.
    Host {
        /// Why, as a code.
        code: HostCode,
        /// What happened.
        message: String,
    },
}

/// Why the host stopped a call: the contract's host error codes (CONTRACT.md), the policy's own
/// error code when its `next-step` answered one, and the caller going away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostCode {
    /// The policy's answer was unsafe, and withheld (`guard-refused`).
    GuardRefused,
    /// The host holds no secret for the credential (`missing-credential`).
    MissingCredential,
    /// The policy ran past its deadline (`deadline-exceeded`).
    DeadlineExceeded,
    /// The policy wanted more than its memory cap (`memory-exceeded`).
    MemoryExceeded,
    /// The policy trapped (`policy-trap`).
    PolicyTrap,
    /// The call was too heavy to hand to the sandbox (`invalid-input`).
    InvalidInput,
    /// The host could not run the call (`host-error`).
    HostError,
    /// The policy's own error (a `policy-error-code`).
    Policy(route_policy_contract::types::PolicyErrorCode),
    /// The caller went away (`client-disconnected`).
    ClientDisconnected,
    /// The request holds what the route's API cannot carry (`untranslatable`): the caller's
    /// to change.
    Untranslatable,
}

impl HostCode {
    /// The code as answers and logs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            HostCode::GuardRefused => "guard-refused",
            HostCode::MissingCredential => "missing-credential",
            HostCode::DeadlineExceeded => "deadline-exceeded",
            HostCode::MemoryExceeded => "memory-exceeded",
            HostCode::PolicyTrap => "policy-trap",
            HostCode::InvalidInput => "invalid-input",
            HostCode::HostError => "host-error",
            HostCode::Policy(code) => code.as_str(),
            HostCode::ClientDisconnected => "client-disconnected",
            HostCode::Untranslatable => "untranslatable",
        }
    }

    /// The code of a failed call to the policy.
    pub fn of(error: &route_policy_host::Error) -> HostCode {
        use route_policy_host::Error;
        match error {
            Error::Policy(e) => HostCode::Policy(e.code),
            Error::Input(_) => HostCode::InvalidInput,
            Error::Deadline { .. } => HostCode::DeadlineExceeded,
            Error::Memory { .. } => HostCode::MemoryExceeded,
            Error::Trap { .. } => HostCode::PolicyTrap,
            Error::Guard { .. } => HostCode::GuardRefused,
            Error::Host { .. } => HostCode::HostError,
        }
    }
}

impl std::fmt::Display for HostCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Failed {
    fn host(code: HostCode, message: String) -> Failed {
        Failed::Host { code, message }
    }

    /// The sentence for the user.
    pub fn message(&self) -> &str {
        match self {
            Failed::Policy(failure) => &failure.message,
            Failed::Interrupted { message, .. } | Failed::Host { message, .. } => message,
        }
    }
}

/// One attempt, as the receipt keeps it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AttemptRecord {
    /// The candidate's canonical model.
    pub model: String,
    /// The credential's profile id (never the secret).
    pub credential: String,
    /// Where it was sent.
    pub request_url: String,
    /// The wait before it, in the policy's milliseconds.
    pub delay_ms: u64,
    /// When it was sent, on the executor's clock.
    pub started_ms: u64,
    /// When it ended.
    pub ended_ms: u64,
    /// Whether it probed a route whose circuit was open.
    pub probe: bool,
    /// What happened.
    pub outcome: Outcome,
    /// Events of its stream that were not JSON, skipped (neither passed on nor kept).
    pub skipped_events: u32,
}

/// What a call leaves in the decision log.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Receipt {
    /// The model the caller asked for (the chain's primary, or its override).
    pub requested: String,
    /// The model that answered, if one did.
    pub effective: Option<String>,
    /// Whether a fallback answered.
    pub fallback: bool,
    /// The policy's sentence that says which model answered and why.
    pub notice: Option<String>,
    /// The failure's sentence, if the call failed.
    pub failure: Option<String>,
    /// Every attempt, in order.
    pub attempts: Vec<AttemptRecord>,
    /// Rejections the policy learned in this call, and the host kept (past its floor).
    pub learned: Vec<Rejection>,
    /// The refs of the chain the policy left out, each with its reason and sentence (from the
    /// call's first plan): nothing the caller asked for disappears without a word.
    pub dropped: Vec<Dropped>,
    /// The usage of the answer that served.
    pub usage: Option<Usage>,
    /// What a translation between the caller's API and a route's left out (a sampling hint
    /// with no equivalent, a reasoning item), each `field: why`, once each.
    pub translation_notes: Vec<String>,
    /// The policy's revision.
    pub policy: String,
    /// The rules that decided each step, in order.
    pub rules: Vec<String>,
    /// How long each `next-step` took, in µs (the sandbox, the guard).
    pub step_micros: Vec<u64>,
}

/// The result of a call, and its receipt.
#[derive(Clone, Debug)]
pub struct CallResult {
    /// Served, or why not.
    pub result: Result<Served, Failed>,
    /// What happened, for the log.
    pub receipt: Receipt,
}

/// Where a streamed call's events go, and who is told whose answer they are.
type Sink = (tokio::sync::mpsc::Sender<Bytes>, tokio::sync::watch::Sender<Option<Serving>>);

/// One call under way: what the loop carries from step to step.
struct Run {
    /// The chain, with what earlier calls learned for its credentials.
    chain: FallbackRequest,
    /// The model the caller asked for.
    requested: String,
    streaming: bool,
    started_ms: u64,
    jitter_seed: u64,
    attempts: Vec<Attempt>,
    /// The body the newest attempt sent (a learned rejection must not echo it).
    last_sent: Bytes,
    /// The newest successful attempt's answer, and the model name it was sent.
    last_answer: Option<Answer>,
    last_upstream: String,
    /// A streamed answer cut after the caller began reading it.
    interrupted: Option<Failed>,
    receipt: Receipt,
}

impl Run {
    fn start<T: Transport>(executor: &Executor<T>, call: &ModelCall) -> Run {
        let started_ms = executor.clock.now_ms();
        let mut chain = call.chain.clone();
        chain.rejections.extend(executor.learned.for_credentials(&chain.credentials, started_ms));
        let requested = chain.explicit_override.clone().unwrap_or_else(|| chain.primary.clone());
        let policy = executor.router.policy_info().map_or_else(|_| "unknown".to_owned(), |i| i.revision);
        let receipt = Receipt {
            requested: redact::short(&requested),
            effective: None,
            fallback: false,
            notice: None,
            failure: None,
            attempts: Vec::new(),
            learned: Vec::new(),
            dropped: Vec::new(),
            usage: None,
            translation_notes: Vec::new(),
            policy,
            rules: Vec::new(),
            step_micros: Vec::new(),
        };
        Run {
            chain,
            requested,
            streaming: call.streaming(),
            started_ms,
            jitter_seed: seed(),
            attempts: Vec::new(),
            last_sent: Bytes::new(),
            last_answer: None,
            last_upstream: String::new(),
            interrupted: None,
            receipt,
        }
    }

    /// Keeps what a translation left out, once each.
    fn note(&mut self, notes: Vec<String>) {
        for note in notes {
            if !self.receipt.translation_notes.contains(&note) {
                self.receipt.translation_notes.push(note);
            }
        }
    }

    /// The policy finished the call as served: the newest attempt's answer is the caller's.
    fn served(&mut self, served: route_policy_contract::types::Served) -> Result<Served, Failed> {
        let Some(answer) = self.last_answer.take() else {
            let message = "the policy finished the call as served, but no attempt had succeeded".to_owned();
            return Err(Failed::host(HostCode::HostError, message));
        };
        self.note(answer.notes.clone());
        Ok(Served {
            candidate: served.candidate,
            upstream_model: std::mem::take(&mut self.last_upstream),
            fallback: served.fallback,
            notice: served.notice,
            answer,
        })
    }
}

impl AttemptRecord {
    fn of(attempt: &Attempt, send: &Sending, skipped_events: u32) -> AttemptRecord {
        AttemptRecord {
            model: attempt.model.clone(),
            credential: attempt.credential.clone(),
            request_url: redact::url(&attempt.request_url),
            delay_ms: send.delay_ms,
            started_ms: attempt.started_ms,
            ended_ms: attempt.ended_ms,
            probe: send.probe,
            outcome: attempt.outcome.clone(),
            skipped_events,
        }
    }
}

/// Runs model calls through a policy's `next-step`.
pub struct Executor<T: Transport> {
    router: Arc<dyn Router + Send + Sync>,
    transport: T,
    credentials: Arc<dyn Credentials>,
    guard: Guard,
    health: HealthStore,
    learned: LearnedStore,
    clock: Clock,
    log: Option<Arc<DecisionLog>>,
}

impl<T: Transport> Executor<T> {
    /// An executor of `router`'s steps over `transport`, with secrets from `credentials`.
    /// Defaults: real time, the router's own guard (a sandboxed policy's engine's, with the
    /// operator's allowed hosts), no log.
    pub fn new(router: Arc<dyn Router + Send + Sync>, transport: T, credentials: Arc<dyn Credentials>) -> Self {
        Executor {
            guard: router.guard(),
            router,
            transport,
            credentials,
            health: HealthStore::default(),
            learned: LearnedStore::default(),
            clock: Clock::default(),
            log: None,
        }
    }

    /// Checks every endpoint with `guard` (the one the engine uses, with its allowed hosts).
    pub fn with_guard(mut self, guard: Guard) -> Self {
        self.guard = guard;
        self
    }

    /// Runs on `clock` (a scaled one in tests and demos).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Records each call's receipt in `log`.
    pub fn with_log(mut self, log: Arc<DecisionLog>) -> Self {
        self.log = Some(log);
        self
    }

    /// The route health this executor stores between calls.
    pub fn health(&self) -> &HealthStore {
        &self.health
    }

    /// The rejections this executor learned, passed to every later call's chain.
    pub fn learned(&self) -> &LearnedStore {
        &self.learned
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Runs one call to its end; a streamed answer is held until it is complete, so that a
    /// fault mid-stream can still fail over without the caller seeing partial text.
    pub async fn run(&self, call: &ModelCall) -> CallResult {
        self.run_with(call, None).await
    }

    /// Runs one call, passing a streamed answer's events to `sink` as they arrive (each event
    /// read and checked first). Until the first event is passed on, the loop runs as in
    /// [`Executor::run`]; after it, a fault ends the call as [`Failed::Interrupted`], since
    /// nothing may take the place of an answer the caller has begun to read. A closed sink
    /// (the caller went away) drops the upstream request and ends the call.
    ///
    /// Before each attempt, `serving` says which candidate it goes to and whether that is a
    /// fallback, so that a caller whose first bytes arrive knows whose answer they are.
    pub async fn run_streaming(
        &self,
        call: &ModelCall,
        sink: tokio::sync::mpsc::Sender<Bytes>,
        serving: tokio::sync::watch::Sender<Option<Serving>>,
    ) -> CallResult {
        self.run_with(call, Some((sink, serving))).await
    }

    async fn run_with(&self, call: &ModelCall, sink: Option<Sink>) -> CallResult {
        let mut run = Run::start(self, call);
        let result = loop {
            let next = match self.step(&mut run) {
                Ok(next) => next,
                Err(failed) => break Err(failed),
            };
            // A stream cut after the caller began reading it: the policy was asked once more,
            // so that its health learned of the fault, but its next step is not taken.
            if let Some(failed) = run.interrupted.take() {
                break Err(failed);
            }
            let send = match next.step {
                Step::Finish(Finished::Served(served)) => break run.served(served),
                Step::Finish(Finished::Failed(failure)) => break Err(Failed::Policy(Box::new(failure))),
                Step::Send(send) => send,
            };
            if let Err(failed) = self.send(&mut run, call, &next.plan, send, sink.as_ref()).await {
                break Err(failed);
            }
        };
        self.finish(run, result)
    }

    /// Asks the policy for the call's next step, and keeps what the answer says to keep: the
    /// route health it returns, the rejection the newest attempt taught (past the floor), the
    /// plan's drops (from the first step), the rules that decided.
    fn step(&self, run: &mut Run) -> Result<Next, Failed> {
        let state = CallState {
            chain: run.chain.clone(),
            streaming: run.streaming,
            started_ms: run.started_ms,
            now_ms: self.clock.now_ms(),
            attempts: run.attempts.clone(),
            health: self.health.snapshot_for(&run.chain.credentials),
            jitter_seed: run.jitter_seed,
        };
        let asked = std::time::Instant::now();
        let answered = self.router.next_step(&state);
        run.receipt.step_micros.push(asked.elapsed().as_micros() as u64);
        // The caller's sentence names the policy by revision, never by its path here.
        let next = answered.map_err(|error| Failed::host(HostCode::of(&error), error.public_message()))?;
        self.health.store(&next.health);
        if run.attempts.is_empty() {
            run.receipt.dropped.clone_from(&next.plan.dropped);
        }
        self.learn(&next.learned, run);
        run.receipt.rules.extend(next.rules.iter().cloned());
        Ok(next)
    }

    /// Sends one attempt as the step says, and records what happened as a fact for the next
    /// step. `Err` ends the call (a refusal before sending, or a caller that went away).
    async fn send(
        &self,
        run: &mut Run,
        call: &ModelCall,
        plan: &FallbackPlan,
        send: Sending,
        sink: Option<&Sink>,
    ) -> Result<(), Failed> {
        if run.attempts.len() >= guard::MAX_CALL_ATTEMPTS {
            return Err(Failed::host(
                HostCode::GuardRefused,
                format!(
                    "the policy asked for attempt {} of one call; the host allows {}",
                    run.attempts.len() + 1,
                    guard::MAX_CALL_ATTEMPTS
                ),
            ));
        }
        let (mut outgoing, notes) = self.outgoing(call, &send, run.streaming).await?;
        run.note(notes);
        if let Some((bytes, serving)) = sink.filter(|_| run.streaming) {
            outgoing.sink = Some(bytes.clone());
            let first = plan.candidates.first();
            let fallback = first.is_none_or(|f| f != &send.candidate || f.requested != run.requested);
            serving.send_replace(Some(Serving { candidate: send.candidate.clone(), fallback }));
        }
        run.last_sent = outgoing.body.clone();
        self.clock.sleep(send.delay_ms).await;
        let started_ms = self.clock.now_ms();
        let sent = self.transport.send(outgoing).await;
        let attempt = Attempt {
            model: send.candidate.model.clone(),
            credential: send.candidate.credential.clone(),
            request_url: send.endpoint.request_url.clone(),
            started_ms,
            ended_ms: self.clock.now_ms(),
            outcome: sent.outcome,
        };
        run.receipt.attempts.push(AttemptRecord::of(&attempt, &send, sent.skipped));
        if sent.abandoned {
            return Err(Failed::host(
                HostCode::ClientDisconnected,
                "the caller went away; the upstream request was dropped".to_owned(),
            ));
        }
        let cut = !matches!(attempt.outcome, Outcome::Success(_)) && sent.forwarded;
        if cut {
            let message = format!(
                "the answer from {} was cut off ({}); what arrived is incomplete",
                redact::short(&attempt.model),
                describe(&attempt.outcome)
            );
            let (model, outcome) = (attempt.model.clone(), attempt.outcome.clone());
            run.interrupted = Some(Failed::Interrupted { model, outcome, message });
        } else {
            run.last_answer = sent.answer;
            run.last_upstream = send.endpoint.upstream_model.clone();
        }
        run.attempts.push(attempt);
        Ok(())
    }

    /// Completes the receipt, logs it, and hands back the call's result.
    fn finish(&self, mut run: Run, result: Result<Served, Failed>) -> CallResult {
        let receipt = &mut run.receipt;
        match &result {
            Ok(served) => {
                receipt.effective = Some(served.candidate.model.clone());
                receipt.fallback = served.fallback;
                receipt.notice = served.notice.clone();
                receipt.usage = served.answer.usage;
            }
            Err(failed) => receipt.failure = Some(failed.message().to_owned()),
        }
        if let Some(log) = &self.log {
            log.record_receipt(&serde_json::to_value(&*receipt).unwrap_or(Value::Null));
        }
        CallResult { result, receipt: run.receipt }
    }

    /// Keeps what the newest attempt taught, past the host's floor, for its credential.
    fn learn(&self, taught: &[Rejection], run: &mut Run) {
        let Some(attempt) = run.attempts.last() else { return };
        let Some(credential) = run.chain.credentials.iter().find(|c| c.profile_id == attempt.credential) else {
            return;
        };
        for rejection in taught {
            match learning::learnable(rejection, attempt, credential, &run.last_sent) {
                Ok(()) => {
                    self.learned.keep(rejection.clone(), &credential.profile_id, self.clock.now_ms());
                    run.receipt.learned.push(rejection.clone());
                }
                Err(_) => run.receipt.rules.push("host.floor.unlearnable".to_owned()),
            }
        }
    }

    /// The request of a step: the guard checks the endpoint for its candidate first, and only
    /// then is the credential's secret attached.
    async fn outgoing(
        &self,
        call: &ModelCall,
        send: &Sending,
        streaming: bool,
    ) -> Result<(Outgoing, Vec<String>), Failed> {
        let endpoint = &send.endpoint;
        let request = call.chain.endpoint_request(&send.candidate.requested);
        self.guard.check_endpoint(&request, endpoint).map_err(|violation| {
            Failed::host(HostCode::GuardRefused, guard::refusal("serving this call", &violation))
        })?;
        // The route's API decides what goes upstream; the caller's, what comes back.
        let api = Api::of(&endpoint.request_url);
        let asked = if call.body.get("messages").is_some() { Api::ChatCompletions } else { Api::Responses };
        let (body, translation, notes) = translated(&call.body, asked, api, endpoint.transport).map_err(|error| {
            Failed::host(
                HostCode::Untranslatable,
                format!(
                    "{} speaks {} and this request {}: {}",
                    redact::short(&send.candidate.model),
                    api.name(),
                    asked.name(),
                    redact::text(&error.to_string())
                ),
            )
        })?;
        let secret = self
            .credentials
            .secret(&endpoint.credential, send.refresh_credential)
            .await
            .map_err(|why| Failed::host(HostCode::MissingCredential, redact::text(&why).into_owned()))?
            .ok_or_else(|| {
                let message =
                    format!("the host holds no secret for credential `{}`", redact::short(&endpoint.credential));
                Failed::host(HostCode::MissingCredential, message)
            })?;
        let auth = match endpoint.auth_header {
            AuthHeader::Bearer => ("authorization".to_owned(), format!("Bearer {}", secret.expose())),
            AuthHeader::ApiKey => ("api-key".to_owned(), secret.expose().to_owned()),
        };
        let mut headers = vec![auth, ("content-type".to_owned(), "application/json".to_owned())];
        if streaming {
            headers.push(("accept".to_owned(), "text/event-stream".to_owned()));
        }
        let t = send.timeouts;
        let scaled = |ms: u32| self.clock.real(u64::from(ms));
        let outgoing = Outgoing {
            url: endpoint.request_url.clone(),
            headers,
            body: request_body(&body, endpoint, api, streaming),
            streaming,
            api,
            sink: None,
            translation,
            deadlines: Deadlines {
                connect: scaled(t.connect_ms),
                first_byte: scaled(t.first_byte_ms),
                first_token: scaled(t.first_token_ms),
                idle: scaled(t.idle_ms),
                total: scaled(t.total_ms),
            },
        };
        Ok((outgoing, notes))
    }
}

/// A body in the route's API, how the answer goes back, and what the translation left out.
type InRouteApi<'a> = (std::borrow::Cow<'a, Value>, Option<Translation>, Vec<String>);

/// The caller's body in the route's API, and how its answer goes back: as it is when the
/// route speaks the caller's API (or one the executor does not know), else translated both ways
/// (`route_policy_translate`; the Codex backend in its own dialect).
fn translated(
    body: &Value,
    asked: Api,
    route: Api,
    transport: route_policy_contract::types::Transport,
) -> Result<InRouteApi<'_>, route_policy_translate::Error> {
    use route_policy_translate::request::{self, Dialect};
    Ok(match (asked, route) {
        (Api::ChatCompletions, Api::Responses) => {
            let dialect = if transport == route_policy_contract::types::Transport::CodexResponses {
                Dialect::Codex
            } else {
                Dialect::Platform
            };
            let include_usage = request::chat_include_usage(body);
            let translated = request::chat_to_responses(body, dialect)?;
            let notes = translated.notes.iter().map(ToString::to_string).collect();
            (std::borrow::Cow::Owned(translated.body), Some(Translation::ResponsesToChat { include_usage }), notes)
        }
        (Api::Responses, Api::ChatCompletions) => {
            let translated = request::responses_to_chat(body)?;
            let notes = translated.notes.iter().map(ToString::to_string).collect();
            (std::borrow::Cow::Owned(translated.body), Some(Translation::ChatToResponses), notes)
        }
        _ => (std::borrow::Cow::Borrowed(body), None, Vec::new()),
    })
}

/// The caller's body for one attempt: the upstream model named as configured; the tool the
/// endpoint names offered and chosen (images over the Codex route are made by the
/// `image_generation` tool of a Responses model, the image model named in the tool); and a
/// streamed Chat Completions request asking for its usage.
fn request_body(body: &Value, endpoint: &route_policy_contract::types::Endpoint, api: Api, streaming: bool) -> Bytes {
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        object.insert("model".to_owned(), Value::from(endpoint.upstream_model.as_str()));
        if let Some(tool) = &endpoint.tool {
            let mut spec = json!({ "type": tool });
            if let Some(model) = &endpoint.tool_model {
                spec["model"] = Value::from(model.as_str());
            }
            let tools = object.entry("tools").or_insert_with(|| json!([]));
            if let Some(tools) = tools.as_array_mut()
                && !tools.iter().any(|t| t.get("type").and_then(Value::as_str) == Some(tool))
            {
                tools.push(spec);
            }
            object.insert("tool_choice".to_owned(), json!({ "type": tool }));
        }
        if streaming && api == Api::ChatCompletions {
            let options = object.entry("stream_options").or_insert_with(|| json!({}));
            if let Some(options) = options.as_object_mut() {
                options.insert("include_usage".to_owned(), Value::Bool(true));
            }
        }
    }
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// An outcome in a few words, for a sentence.
fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Success(_) => "it finished".to_owned(),
        Outcome::HttpError(r) => format!("HTTP {}", r.status),
        Outcome::Network(n) => format!("the connection failed: {}", n.kind),
        Outcome::Timeout(kind) => format!("its {kind} timeout fired"),
        Outcome::StreamFault(f) => format!("{} after {} events", f.kind, f.events),
    }
}

/// Random bits for the policy's jitter.
fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}
