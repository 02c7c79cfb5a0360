//! The credential-egress guard: the host's own check of every routing answer, so that even a
//! hostile (or merely buggy) policy cannot send a credential where it does not belong.
//!
//! For `resolve-endpoint`, the credential must be one the request described, and:
//! - **the request URL is exactly its own canonical form.** It is parsed as WHATWG does, and
//!   its serialization must equal it byte for byte: no user info, no control character or
//!   space, no backslash, no fragment, no default port spelled out, no trailing-dot host. A URL
//!   two parsers could read differently (`https://chatgpt.com\@evil.example/`) never passes,
//!   whichever parser the host's HTTP client uses.
//! - **the host is tied to the credential's provider.** A credential may reach its provider's
//!   official hosts ([`OFFICIAL_HOSTS`], on the default port), or a host the operator named
//!   *for that provider*: the base URL of the request's own config for that provider (or
//!   `env-base-url`, for an OpenAI API key), or one given to
//!   [`crate::EngineBuilder::allow_host`] for it; a named host is matched on its whole origin
//!   (scheme, host and port). A config only names a host when it is itself sound (http(s), no
//!   user info, no fragment, plain http only to loopback): a config the policy refused names
//!   nothing. A host the policy made up, or another provider's host, never passes.
//! - **the kind fits the host.** A sign-in (OAuth or token) never reaches the platform API or
//!   an Azure resource, and an API key never reaches chatgpt.com, even when named.
//! - plain http only to a named loopback host.
//!
//! For `filter-fallbacks`, every candidate must be a ref of the request with one of its
//! credentials, on a transport that suits the credential's kind, and every ref of the request
//! must be accounted for exactly once (a candidate or a drop).
//!
//! For `classify-error`, the verdict's free text is bounded and redacted again
//! ([`Guard::scrub_verdict`]).

use crate::accounting::{self, Unaccounted};
use crate::redact;
use crate::types::{
    Action, CallState, Credential, CredentialKind, Endpoint, EndpointRequest, FallbackPlan, FallbackRequest, Finished,
    Next, ProviderFailure, Step, Transport, Verdict,
};
use std::fmt;
use url::{Host, Url};

/// The host OAuth and token credentials may always reach.
pub const ACCOUNT_HOST: &str = "chatgpt.com";
/// The host OpenAI API keys may always reach.
pub const PLATFORM_HOST: &str = "api.openai.com";

/// Each provider's official hosts, which its credentials may reach on the default https port
/// without the operator naming them: `(provider, sign-ins, hosts)`, where `sign-ins` says
/// whether the row is for OAuth and token credentials (else API keys), and a host written
/// `*.suffix` is any name under that suffix.
pub const OFFICIAL_HOSTS: &[(&str, bool, &[&str])] = &[
    ("openai", false, &[PLATFORM_HOST]),
    ("openai", true, &[ACCOUNT_HOST]),
    ("openai-codex", true, &[ACCOUNT_HOST]),
    ("azure-openai", false, &["*.openai.azure.com", "*.cognitiveservices.azure.com", "*.services.ai.azure.com"]),
    ("anthropic", false, &["api.anthropic.com"]),
    ("openrouter", false, &["openrouter.ai"]),
    ("google", false, &["generativelanguage.googleapis.com"]),
    ("mistral", false, &["api.mistral.ai"]),
    ("groq", false, &["api.groq.com"]),
    ("deepseek", false, &["api.deepseek.com"]),
    ("xai", false, &["api.x.ai"]),
    ("moonshot", false, &["api.moonshot.ai"]),
];

/// The longest verdict text (a `user-message` or a `rule`) the guard passes on, in bytes;
/// longer text is cut to an excerpt.
pub const MAX_VERDICT_TEXT: usize = 4096;

/// The longest model id a verdict may ask the host to remember, in bytes.
pub const MAX_MODEL_ID: usize = 256;

/// The most attempts of one call a verdict may ask the host to repeat work for (`retry`,
/// `refresh-credential`, `rotate-credential`, `re-resolve-endpoint`), whatever the policy
/// says: at this attempt the host moves on to the next candidate instead.
pub const MAX_ATTEMPTS: u32 = 5;

/// The most attempts one call may make, whatever the policy says.
pub const MAX_CALL_ATTEMPTS: usize = 16;

/// The longest a policy may make one attempt wait for its answer, in milliseconds.
pub const MAX_ATTEMPT_MS: u32 = 15 * 60 * 1000;

/// The shortest wait before a retry, in milliseconds, whatever the policy says: a policy that
/// answers `retry` with no delay cannot make the host hammer a provider.
pub const MIN_RETRY_DELAY_MS: u64 = 100;

/// The longest wait before a retry the host honours, in milliseconds; a longer one means the
/// provider is out for a while, and the host moves on.
pub const MAX_RETRY_DELAY_MS: u64 = 5 * 60 * 1000;

/// The longest one call may last, waits and attempts together, in milliseconds, whatever the
/// policy says: an attempt's total timeout is cut to what is left, and no attempt starts past
/// it.
pub const MAX_CALL_MS: u64 = 15 * 60 * 1000;

/// The longest route key (`MODEL@CREDENTIAL`) whose health the host stores, in bytes.
pub const MAX_ROUTE_KEY: usize = 512;

/// Whether a failure with this status may be retried at all: a request the provider refused
/// as malformed, unauthorized or not found fails the same way again. 408 (timeout), 409
/// (conflict), 425 (too early), 429 (rate limit), every 5xx, and anything outside 4xx may be.
pub fn retryable_status(status: u16) -> bool {
    !(400..500).contains(&status) || matches!(status, 408 | 409 | 425 | 429)
}

/// The guard's configuration: hosts the operator allows for a provider, beyond its official
/// hosts and those each request's own configuration names.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    /// `(provider, origin)` pairs, lowercase.
    allowed: Vec<(String, Origin)>,
}

/// A URL's scheme, host and port: what a named host is matched on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    fn of(url: &Url) -> Option<Origin> {
        Some(Origin { scheme: url.scheme().to_owned(), host: host_name(url)?, port: url.port() })
    }
}

/// Why an answer was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The answer names a credential the request did not describe.
    UnknownCredential(String),
    /// The endpoint's URL does not parse, or does not start with its base URL.
    BadUrl(String),
    /// The endpoint's URL is not exactly its canonical serialization.
    NotCanonical {
        /// The URL, redacted.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The credential would go to a host its provider and kind may not reach.
    Egress {
        /// The credential's profile id.
        credential: String,
        /// Its kind.
        kind: CredentialKind,
        /// Its provider.
        provider: String,
        /// Where it would have gone (host, and port when not the default).
        host: String,
    },
    /// A credential would travel over plain http to a host that is not a named loopback.
    PlainHttp {
        /// The credential's profile id.
        credential: String,
        /// Where it would have gone.
        host: String,
    },
    /// A candidate's transport does not suit its credential's kind or provider.
    Transport {
        /// The candidate's model.
        model: String,
        /// The credential's profile id.
        credential: String,
        /// The transport it named.
        transport: Transport,
    },
    /// A candidate is not one of the request's refs.
    Invented(String),
    /// A ref of the request is neither a candidate nor dropped, or appears twice.
    Lost(String),
    /// A `next-step` that breaks the host's floor for a call: too many attempts, a resend with
    /// no wait, a wait or a timeout out of bounds, a candidate the plan does not hold.
    Loop(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::UnknownCredential(c) => {
                write!(f, "it names credential `{c}`, which the request did not describe")
            }
            Violation::BadUrl(u) => write!(f, "its URL {u} does not parse or does not start with its base URL"),
            Violation::NotCanonical { url, reason } => {
                write!(f, "its URL {url} is not in canonical form: {reason}")
            }
            Violation::Egress { credential, kind, provider, host } => write!(
                f,
                "it would send the {provider} {kind} credential `{credential}` to {host}, which is neither an official host of {provider} for that kind nor one the operator named for it"
            ),
            Violation::PlainHttp { credential, host } => {
                write!(f, "it would send credential `{credential}` over plain http to {host}")
            }
            Violation::Transport { model, credential, transport } => {
                write!(
                    f,
                    "candidate {model} pairs credential `{credential}` with transport {transport}, which does not suit it"
                )
            }
            Violation::Invented(m) => write!(f, "candidate {m} is not a ref of the request"),
            Violation::Lost(m) => write!(f, "ref {m} is not accounted for exactly once (candidate or dropped)"),
            Violation::Loop(what) => write!(f, "its next step {what}"),
        }
    }
}

/// Why an allowlist entry was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowError {
    /// The provider it was for.
    pub provider: String,
    /// The entry as given.
    pub entry: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for AllowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "allowed host `{}` for {}: {}", self.entry, self.provider, self.reason)
    }
}

impl std::error::Error for AllowError {}

impl std::error::Error for Violation {}

/// The sentence of a `guard-refused` answer: which policy answered unsafely, and how. Every
/// host writes it this way.
pub fn refusal(policy: &str, violation: &Violation) -> String {
    format!("policy {policy} answered unsafely and was refused: {violation}")
}

impl Guard {
    /// A guard with no allowed hosts beyond the official ones and each request's own.
    pub fn new() -> Guard {
        Guard::default()
    }

    /// Lets `provider`'s credentials also reach `host`: a name (`proxy.internal`, meaning
    /// https on the default port), a `host:port`, or an origin (`http://127.0.0.1:4000`, plain
    /// http only for a loopback host).
    pub fn allow(mut self, provider: &str, host: &str) -> Result<Guard, AllowError> {
        let refuse = |reason| AllowError { provider: provider.to_owned(), entry: host.to_owned(), reason };
        if provider.is_empty() || !provider.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(refuse("the provider must be a provider id such as openai"));
        }
        let written = if host.contains("://") { host.to_owned() } else { format!("https://{host}") };
        let url = Url::parse(&written).map_err(|_| refuse("not a host name, host:port or origin"))?;
        let origin = sound_origin(&url).ok_or(refuse("user info, a path, plain http to a non-loopback host"))?;
        if url.path() != "/" || url.query().is_some() {
            return Err(refuse("user info, a path, plain http to a non-loopback host"));
        }
        self.allowed.push((provider.to_ascii_lowercase(), origin));
        Ok(self)
    }

    /// Checks a `resolve-endpoint` answer against its request.
    pub fn check_endpoint(&self, request: &EndpointRequest, endpoint: &Endpoint) -> Result<(), Violation> {
        let credential = request
            .credentials
            .iter()
            .find(|c| c.profile_id == endpoint.credential)
            .ok_or_else(|| Violation::UnknownCredential(redact::short(&endpoint.credential)))?;
        let url = canonical_url(&endpoint.request_url)?;
        let base_ends = endpoint.request_url.strip_prefix(&endpoint.base_url).and_then(|rest| rest.chars().next());
        if !matches!(base_ends, Some('/' | '?')) {
            return Err(Violation::BadUrl(redact::url(&endpoint.request_url)));
        }
        let origin = Origin::of(&url).ok_or_else(|| Violation::BadUrl(redact::url(&endpoint.request_url)))?;
        let shown_host = || match origin.port {
            Some(port) => format!("{}:{port}", origin.host),
            None => origin.host.clone(),
        };
        let egress = || Violation::Egress {
            credential: redact::short(&credential.profile_id),
            kind: credential.kind,
            provider: redact::short(&credential.provider),
            host: shown_host(),
        };
        let account = credential.kind.is_account();
        // The seeds' rules hold even for named hosts: no sign-in to the platform API or Azure,
        // no API key to the ChatGPT backend.
        let forbidden_for_kind = if account {
            origin.host == PLATFORM_HOST || is_official_of(&origin.host, "azure-openai", false)
        } else {
            origin.host == ACCOUNT_HOST
        };
        if forbidden_for_kind {
            return Err(egress());
        }
        let official = origin.scheme == "https" && origin.port.is_none() && is_official_for(&origin.host, credential);
        if official {
            return Ok(());
        }
        if !self.is_named(&origin, request, credential) {
            return Err(egress());
        }
        if origin.scheme != "https" && !url.host().is_some_and(|h| is_loopback(&h)) {
            return Err(Violation::PlainHttp { credential: redact::short(&credential.profile_id), host: shown_host() });
        }
        Ok(())
    }

    /// Checks a `filter-fallbacks` answer against its request.
    pub fn check_plan(&self, request: &FallbackRequest, plan: &FallbackPlan) -> Result<(), Violation> {
        let shown = |s: &str| redact::short(s);
        // Every ref exactly once: a candidate as written, a drop as the plan shows it.
        match accounting::check(request, plan) {
            Ok(()) => {}
            Err(Unaccounted::Invented(r)) => return Err(Violation::Invented(shown(&r))),
            Err(Unaccounted::Lost(r)) => return Err(Violation::Lost(shown(&r))),
        }
        for candidate in &plan.candidates {
            let credential = request
                .credentials
                .iter()
                .find(|c| c.profile_id == candidate.credential)
                .ok_or_else(|| Violation::UnknownCredential(shown(&candidate.credential)))?;
            let suits = match candidate.transport {
                Transport::CodexResponses => credential.kind.is_account(),
                Transport::Custom => {
                    let provider = candidate.requested.trim().split('/').next().unwrap_or("");
                    candidate.requested.contains('/') && credential.provider.eq_ignore_ascii_case(provider)
                }
                _ => credential.kind == CredentialKind::ApiKey,
            };
            if !suits {
                return Err(Violation::Transport {
                    model: shown(&candidate.model),
                    credential: shown(&credential.profile_id),
                    transport: candidate.transport,
                });
            }
        }
        Ok(())
    }

    /// Redacts a verdict's free text. A policy only ever sees secrets in `classify-error`
    /// (bodies, headers and URLs that providers echo), and a hostile one could repeat them in
    /// its message; the host redacts again rather than trust it did.
    ///
    /// Text longer than [`MAX_VERDICT_TEXT`] is cut first (an honest verdict is a sentence or
    /// two), so the host's work on a verdict is bounded whatever a policy returns.
    pub fn scrub_verdict(&self, verdict: &mut Verdict) {
        bound_text(&mut verdict.user_message);
        bound_text(&mut verdict.rule);
        if verdict.remember.as_ref().is_some_and(|r| r.model.len() > MAX_MODEL_ID || redact::has_secret_token(&r.model))
        {
            verdict.remember = None;
        }
    }

    /// Holds a verdict to the host's floor ([`MAX_ATTEMPTS`], [`MIN_RETRY_DELAY_MS`],
    /// [`MAX_RETRY_DELAY_MS`], [`retryable_status`]) and redacts it ([`Guard::scrub_verdict`]),
    /// whatever the policy answered. A verdict the floor changes names the floor's rule
    /// (`host.floor.…`) and says so in its message. Returns whether the floor changed it.
    pub fn check_verdict(&self, failure: &ProviderFailure, verdict: &mut Verdict) -> bool {
        self.scrub_verdict(verdict);
        let repeats = matches!(
            verdict.action,
            Action::Retry | Action::RefreshCredential | Action::RotateCredential | Action::ReResolveEndpoint
        );
        let (action, rule, why) = if repeats && failure.attempt.max(1) >= MAX_ATTEMPTS {
            (Action::NextCandidate, "host.floor.attempt-cap", format!("the host stops after {MAX_ATTEMPTS} attempts"))
        } else if verdict.action == Action::Retry && failure.status.is_some_and(|s| !retryable_status(s)) {
            let status = failure.status.unwrap_or_default();
            (Action::Surface, "host.floor.no-retry-status", format!("the host never retries a {status}"))
        } else if verdict.action == Action::Retry && verdict.retry_after_ms.is_some_and(|ms| ms > MAX_RETRY_DELAY_MS) {
            (
                Action::NextCandidate,
                "host.floor.delay-cap",
                "the provider asked for a wait longer than the host's".to_owned(),
            )
        } else {
            if verdict.action == Action::Retry {
                let delay = verdict.retry_after_ms.unwrap_or(0).max(MIN_RETRY_DELAY_MS);
                verdict.retry_after_ms = Some(delay);
            }
            return false;
        };
        verdict.user_message = format!(
            "{} ({why}; the policy's rule {} said {}.)",
            verdict.user_message.trim_end(),
            redact::short(&verdict.rule),
            verdict.action
        );
        verdict.action = action;
        verdict.rule = rule.to_owned();
        verdict.retry_after_ms = None;
        verdict.remember = None;
        true
    }

    /// Checks a `next-step` answer against its call: the plan accounts for the chain; a send
    /// goes to one of the plan's candidates, to an endpoint that passes [`Guard::check_endpoint`]
    /// for it, within the host's floor:
    /// - no attempt past [`MAX_CALL_ATTEMPTS`], and none that would start past [`MAX_CALL_MS`]
    ///   from the call's start (an attempt's total timeout is cut to what is left);
    /// - no attempt to a route sooner than [`MIN_RETRY_DELAY_MS`] after the last one to it
    ///   ended, however the attempts in between alternate;
    /// - no resend of the same request (model, URL and credential) after the provider refused
    ///   it with a 4xx other than 408, 409, 425 or 429, except once with a refreshed credential
    ///   after a 401 or 403 (another URL, or another candidate, is not a resend);
    /// - no wait past [`MAX_RETRY_DELAY_MS`], every timeout set and within [`MAX_ATTEMPT_MS`].
    ///
    /// Health updates are kept only for the routes of the plan (`MODEL@CREDENTIAL` of its
    /// candidates), so a policy cannot fill the host's store with routes no call uses. A
    /// finished call's text is bounded and redacted, as a verdict's is.
    pub fn check_next(&self, call: &CallState, next: &mut Next) -> Result<(), Violation> {
        self.check_plan(&call.chain, &next.plan)?;
        let routes: Vec<String> =
            next.plan.candidates.iter().map(|c| format!("{}@{}", c.model, c.credential)).collect();
        next.health.retain(|h| h.route.len() <= MAX_ROUTE_KEY && routes.contains(&h.route));
        let refuse = |what: String| Err(Violation::Loop(what));
        match &mut next.step {
            Step::Send(send) => {
                if !next.plan.candidates.contains(&send.candidate) {
                    return refuse(format!(
                        "sends to {}, which its plan does not hold",
                        redact::short(&send.candidate.model)
                    ));
                }
                if send.endpoint.credential != send.candidate.credential {
                    return refuse("sends with another credential than its candidate's".to_owned());
                }
                self.check_endpoint(&call.chain.endpoint_request(&send.candidate.requested), &send.endpoint)?;
                if call.attempts.len() >= MAX_CALL_ATTEMPTS {
                    return refuse(format!(
                        "would make attempt {} of one call; the host allows {MAX_CALL_ATTEMPTS}",
                        call.attempts.len() + 1
                    ));
                }
                let same_route = |a: &&crate::types::Attempt| {
                    a.model == send.candidate.model && a.credential == send.candidate.credential
                };
                if let Some(last) = call.attempts.iter().rev().find(same_route) {
                    let starts = call.now_ms.saturating_add(send.delay_ms);
                    let gap = starts.saturating_sub(last.ended_ms);
                    if gap < MIN_RETRY_DELAY_MS {
                        return refuse(format!(
                            "sends to {} again {gap} ms after its last attempt; the host waits at least {MIN_RETRY_DELAY_MS} ms",
                            redact::short(&send.candidate.model)
                        ));
                    }
                }
                let refused: Vec<u16> = call
                    .attempts
                    .iter()
                    .filter(|a| same_route(a) && a.request_url == send.endpoint.request_url)
                    .filter_map(|a| match &a.outcome {
                        crate::types::Outcome::HttpError(r) if !retryable_status(r.status) => Some(r.status),
                        _ => None,
                    })
                    .collect();
                let refresh_once = send.refresh_credential && matches!(refused.as_slice(), [401 | 403]);
                if !refused.is_empty() && !refresh_once {
                    return refuse(format!(
                        "resends the request the provider refused with HTTP {}; a 4xx other than 408, 409, 425 or 429 is not resent",
                        refused[refused.len() - 1]
                    ));
                }
                let starts = call.now_ms.saturating_add(send.delay_ms);
                let ends_by = call.started_ms.saturating_add(MAX_CALL_MS);
                if starts >= ends_by {
                    return refuse(format!(
                        "would start an attempt {} s into the call; the host ends a call at {} s",
                        starts.saturating_sub(call.started_ms) / 1000,
                        MAX_CALL_MS / 1000
                    ));
                }
                if send.delay_ms > MAX_RETRY_DELAY_MS {
                    return refuse(format!(
                        "waits {} ms; the host waits at most {MAX_RETRY_DELAY_MS} ms",
                        send.delay_ms
                    ));
                }
                let t = send.timeouts;
                let all = [t.connect_ms, t.first_byte_ms, t.first_token_ms, t.idle_ms, t.total_ms];
                if all.iter().any(|ms| *ms == 0 || *ms > MAX_ATTEMPT_MS) {
                    return refuse(format!("sets a timeout of 0 or past {MAX_ATTEMPT_MS} ms"));
                }
                // The attempt ends by the call's end, whatever its own timeouts say.
                let left = u32::try_from(ends_by - starts).unwrap_or(u32::MAX);
                if send.timeouts.total_ms > left {
                    let t = &mut send.timeouts;
                    t.total_ms = left;
                    for ms in [&mut t.connect_ms, &mut t.first_byte_ms, &mut t.first_token_ms, &mut t.idle_ms] {
                        *ms = (*ms).min(left);
                    }
                    next.rules.push("host.floor.call-time".to_owned());
                }
            }
            Step::Finish(Finished::Failed(failure)) => {
                self.scrub_verdict(&mut failure.verdict);
                bound_text(&mut failure.message);
            }
            Step::Finish(Finished::Served(served)) => {
                if let Some(notice) = &mut served.notice {
                    bound_text(notice);
                }
            }
        }
        next.learned.retain(|r| r.model.len() <= MAX_MODEL_ID && !redact::has_secret_token(&r.model));
        Ok(())
    }

    /// Checks a policy's answer to `call` with the check of its verb: the endpoint, the plan,
    /// the verdict (held to the floor, never refused), the next step. The policy's own errors
    /// pass unchanged.
    pub fn check_answer(
        &self,
        call: &crate::wire::Call,
        answer: crate::wire::Answer,
    ) -> Result<crate::wire::Answer, Violation> {
        use crate::wire::{Answer, Call};
        Ok(match (call, answer) {
            (Call::ResolveEndpoint(request), Answer::Endpoint(Ok(endpoint))) => {
                self.check_endpoint(request, &endpoint)?;
                Answer::Endpoint(Ok(endpoint))
            }
            (Call::FilterFallbacks(request), Answer::Plan(Ok(plan))) => {
                self.check_plan(request, &plan)?;
                Answer::Plan(Ok(plan))
            }
            (Call::ClassifyError(failure), Answer::Verdict(mut verdict)) => {
                self.check_verdict(failure, &mut verdict);
                Answer::Verdict(verdict)
            }
            (Call::NextStep(call), Answer::Next(Ok(mut next))) => {
                self.check_next(call, &mut next)?;
                Answer::Next(Ok(next))
            }
            (_, other) => other,
        })
    }

    /// Whether the operator named `origin` for this credential's provider: in the request's
    /// config for that provider, in `env-base-url` (an OpenAI API key's), or in the guard's
    /// allowlist.
    fn is_named(&self, origin: &Origin, request: &EndpointRequest, credential: &Credential) -> bool {
        let provider = credential.provider.to_ascii_lowercase();
        let config_ids = config_ids(&provider, credential.kind.is_account());
        let configured = request
            .providers
            .iter()
            .filter(|p| config_ids.iter().any(|id| p.id.eq_ignore_ascii_case(id)))
            .filter_map(|p| p.base_url.as_deref());
        let env = (provider == "openai" && !credential.kind.is_account()).then_some(request.env_base_url.as_deref());
        self.allowed.iter().any(|(p, o)| *p == provider && o == origin)
            || configured.chain(env.flatten()).filter_map(configured_origin).any(|o| o == *origin)
    }
}

/// Text from a policy, cut to [`MAX_VERDICT_TEXT`] and redacted.
fn bound_text(text: &mut String) {
    if text.len() > MAX_VERDICT_TEXT {
        *text = redact::excerpt(text, MAX_VERDICT_TEXT / 4);
    } else if let std::borrow::Cow::Owned(clean) = redact::text(text) {
        *text = clean;
    }
}

/// The config ids whose base URLs name hosts for a provider's credentials. OpenAI's sign-ins
/// use the `openai-codex` config (the Codex route); its API keys the `openai` config.
fn config_ids(provider: &str, account: bool) -> Vec<String> {
    match (provider, account) {
        ("openai" | "openai-codex", true) => vec!["openai-codex".to_owned()],
        _ => vec![provider.to_owned()],
    }
}

/// The request URL, if it is exactly its own canonical serialization.
fn canonical_url(raw: &str) -> Result<Url, Violation> {
    let refuse = |reason| Violation::NotCanonical { url: redact::url(raw), reason };
    if raw.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(refuse("it holds a control character or a space"));
    }
    if raw.contains('\\') {
        return Err(refuse("it holds a backslash"));
    }
    let url = Url::parse(raw).map_err(|_| Violation::BadUrl(redact::url(raw)))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("it carries user info"));
    }
    if url.fragment().is_some() {
        return Err(refuse("it has a fragment"));
    }
    if !matches!(url.scheme(), "https" | "http") {
        return Err(refuse("its scheme is not https"));
    }
    if url.host_str().is_some_and(|h| h.ends_with('.')) {
        return Err(refuse("its host ends in a dot"));
    }
    if url.as_str() != raw {
        return Err(refuse("it is not written as a URL parser writes it back"));
    }
    Ok(url)
}

/// The origin a configured base URL names, if the config is sound: it parses, has no user
/// info or fragment, and uses https (or plain http to a loopback host).
fn configured_origin(raw: &str) -> Option<Origin> {
    let raw = raw.trim();
    if raw.bytes().any(|b| b.is_ascii_control() || b == b' ' || b == b'\\') {
        return None;
    }
    sound_origin(&Url::parse(raw).ok()?)
}

fn sound_origin(url: &Url) -> Option<Origin> {
    let sound = url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none_or(str::is_empty)
        && (url.scheme() == "https" || (url.scheme() == "http" && url.host().is_some_and(|h| is_loopback(&h))));
    sound.then(|| Origin::of(url)).flatten()
}

/// Whether `host` is an official host of this credential's provider, for its kind.
fn is_official_for(host: &str, credential: &Credential) -> bool {
    is_official_of(host, &credential.provider.to_ascii_lowercase(), credential.kind.is_account())
}

fn is_official_of(host: &str, provider: &str, account: bool) -> bool {
    OFFICIAL_HOSTS.iter().filter(|(p, a, _)| *p == provider && *a == account).flat_map(|(_, _, hosts)| *hosts).any(
        |pattern| match pattern.strip_prefix('*') {
            Some(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
            None => host == *pattern,
        },
    )
}

/// A URL's host, lowercase (IPv6 in brackets), without the DNS root's trailing dot (a request
/// URL with one is refused before this, as not canonical).
fn host_name(url: &Url) -> Option<String> {
    let host = match url.host()? {
        Host::Domain(d) => d.strip_suffix('.').unwrap_or(d).to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => format!("[{ip}]"),
    };
    Some(host)
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(d) => {
            let d = d.trim_end_matches('.');
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{AuthHeader, BaseUrlClass, Capability, Plan, ProviderConfig};

    fn credential(profile_id: &str, provider: &str, kind: CredentialKind) -> Credential {
        Credential { profile_id: profile_id.into(), provider: provider.into(), kind, plan: Plan::Plus }
    }

    fn request(providers: Vec<ProviderConfig>) -> EndpointRequest {
        EndpointRequest {
            model: "gpt-5.5".into(),
            capability: Capability::Chat,
            providers,
            credentials: vec![
                credential("oauth", "openai-codex", CredentialKind::Oauth),
                credential("key", "openai", CredentialKind::ApiKey),
                credential("claude", "anthropic", CredentialKind::ApiKey),
                credential("azure", "azure-openai", CredentialKind::ApiKey),
                credential("router", "openrouter", CredentialKind::ApiKey),
            ],
            env_base_url: None,
        }
    }

    fn config(id: &str, base: &str) -> ProviderConfig {
        ProviderConfig { id: id.into(), base_url: Some(base.into()), ..Default::default() }
    }

    fn endpoint(credential: &str, base: &str) -> Endpoint {
        Endpoint {
            transport: Transport::CodexResponses,
            base_url: base.into(),
            request_url: format!("{base}/responses"),
            base_url_class: BaseUrlClass::Custom,
            credential: credential.into(),
            auth_header: AuthHeader::Bearer,
            upstream_model: "gpt-5.5".into(),
            tool: None,
            tool_model: None,
            notes: vec![],
            rules: vec![],
        }
    }

    fn with_url(credential: &str, base: &str, request_url: &str) -> Endpoint {
        Endpoint { request_url: request_url.into(), ..endpoint(credential, base) }
    }

    fn check(providers: Vec<ProviderConfig>, endpoint: &Endpoint) -> Result<(), Violation> {
        Guard::new().check_endpoint(&request(providers), endpoint)
    }

    #[test]
    fn oauth_goes_only_to_chatgpt_or_a_named_proxy() {
        assert!(check(vec![], &endpoint("oauth", "https://chatgpt.com/backend-api/codex")).is_ok());
        let evil = check(vec![], &endpoint("oauth", "https://evil.example/v1"));
        assert!(matches!(evil, Err(Violation::Egress { .. })), "{evil:?}");
        assert!(matches!(
            check(vec![], &endpoint("oauth", "https://api.openai.com/v1")),
            Err(Violation::Egress { .. })
        ));
        let proxy = config("openai-codex", "http://127.0.0.1:4000/backend-api/codex");
        assert!(check(vec![proxy.clone()], &endpoint("oauth", "http://127.0.0.1:4000/backend-api/codex")).is_ok());
        // The same proxy host on another port is another origin.
        assert!(check(vec![proxy], &endpoint("oauth", "http://127.0.0.1:4001/backend-api/codex")).is_err());
        // Naming the platform does not let an OAuth token reach it.
        let named = config("openai-codex", "https://api.openai.com/v1");
        assert!(check(vec![named], &endpoint("oauth", "https://api.openai.com/v1")).is_err());
    }

    #[test]
    fn api_keys_stay_off_chatgpt_and_plain_http() {
        let guard = Guard::new().allow("openai", "proxy.internal").unwrap();
        let check = |e: &Endpoint| guard.check_endpoint(&request(vec![]), e);
        assert!(check(&endpoint("key", "https://api.openai.com/v1")).is_ok());
        assert!(check(&endpoint("key", "https://chatgpt.com/backend-api/codex")).is_err());
        assert!(check(&endpoint("key", "https://proxy.internal/v1")).is_ok());
        let plain = check(&endpoint("key", "http://proxy.internal/v1"));
        assert!(matches!(plain, Err(Violation::Egress { .. })), "{plain:?}");
        assert!(matches!(check(&endpoint("ghost", "https://api.openai.com/v1")), Err(Violation::UnknownCredential(_))));
        // The allowlist names the proxy for openai's keys only.
        assert!(check(&endpoint("claude", "https://proxy.internal/v1")).is_err());
    }

    #[test]
    fn a_url_two_parsers_read_differently_is_refused() {
        // Python's urlsplit reads evil.example as the host; WHATWG reads chatgpt.com.
        let backslash = with_url("oauth", "https://chatgpt.com", "https://chatgpt.com\\@evil.example/responses");
        assert!(
            matches!(check(vec![], &backslash), Err(Violation::NotCanonical { .. })),
            "{:?}",
            check(vec![], &backslash)
        );
        let crlf = with_url(
            "oauth",
            "https://chatgpt.com/backend-api/codex",
            "https://chatgpt.com/backend-api/codex/responses\r\nX-Injected: 1",
        );
        assert!(matches!(check(vec![], &crlf), Err(Violation::NotCanonical { .. })));
        for url in [
            "https://user:pw@chatgpt.com/backend-api/codex/responses",
            "https://chatgpt.com:443/backend-api/codex/responses",
            "https://chatgpt.com./backend-api/codex/responses",
            "https://CHATGPT.com/backend-api/codex/responses",
            "https://chatgpt.com/backend-api/codex/responses#x",
            "https://chatgpt.com/backend-api/codex/%2e%2e/responses",
            "https://chatgpt.com/backend-api/codex/../responses",
            "https://chatgpt.com/backend-api/codex/resp onses",
        ] {
            let base = url.split("/responses").next().unwrap();
            let result = check(vec![], &with_url("oauth", base, url));
            assert!(result.is_err(), "{url} passed");
        }
    }

    #[test]
    fn an_official_host_on_another_port_is_not_official() {
        let result = check(vec![], &endpoint("oauth", "https://chatgpt.com:8443/backend-api/codex"));
        assert!(matches!(result, Err(Violation::Egress { ref host, .. }) if host == "chatgpt.com:8443"), "{result:?}");
    }

    #[test]
    fn a_host_named_for_another_provider_does_not_count() {
        let openrouter = config("openrouter", "https://openrouter.ai/api/v1");
        assert!(check(vec![openrouter.clone()], &endpoint("oauth", "https://openrouter.ai/api/v1")).is_err());
        assert!(check(vec![openrouter.clone()], &endpoint("key", "https://openrouter.ai/api/v1")).is_err());
        assert!(check(vec![openrouter], &endpoint("router", "https://openrouter.ai/api/v1")).is_ok());
        // OPENAI_BASE_URL names a host for OpenAI's API keys, never for a sign-in.
        let mut env = request(vec![]);
        env.env_base_url = Some("https://proxy.example/v1".into());
        let guard = Guard::new();
        assert!(guard.check_endpoint(&env, &endpoint("key", "https://proxy.example/v1")).is_ok());
        assert!(guard.check_endpoint(&env, &endpoint("oauth", "https://proxy.example/v1")).is_err());
    }

    #[test]
    fn a_config_with_user_info_names_nothing() {
        let bad = config("openai-codex", "https://u:p@evil.example/backend-api/codex");
        let result = check(vec![bad], &endpoint("oauth", "https://evil.example/backend-api/codex"));
        assert!(matches!(result, Err(Violation::Egress { .. })), "{result:?}");
        let plain = config("openai", "http://proxy.example/v1");
        assert!(check(vec![plain], &endpoint("key", "http://proxy.example/v1")).is_err());
    }

    #[test]
    fn other_providers_keys_stay_with_their_providers() {
        for profile in ["claude", "azure", "router"] {
            let result = check(vec![], &endpoint(profile, "https://api.openai.com/v1"));
            assert!(matches!(result, Err(Violation::Egress { .. })), "{profile}: {result:?}");
        }
        assert!(check(vec![], &endpoint("claude", "https://api.anthropic.com/v1")).is_ok());
        assert!(check(vec![], &endpoint("azure", "https://res.openai.azure.com/openai/v1")).is_ok());
        assert!(check(vec![], &endpoint("azure", "https://openai.azure.com/openai/v1")).is_err());
        assert!(check(vec![], &endpoint("oauth", "https://res.openai.azure.com/openai/v1")).is_err());
    }

    #[test]
    fn the_allowlist_refuses_what_it_cannot_mean() {
        for (provider, host) in [
            ("openai", "http://proxy.example"),
            ("openai", "https://u:p@proxy.example"),
            ("openai", "proxy.example/v1"),
            ("", "proxy.example"),
            ("open ai", "proxy.example"),
        ] {
            assert!(Guard::new().allow(provider, host).is_err(), "{provider}={host}");
        }
        assert!(Guard::new().allow("openai", "http://127.0.0.1:4000").is_ok());
        assert!(Guard::new().allow("openai", "proxy.example:8443").is_ok());
    }
}

/// The host's floor under `next-step`: what a hostile policy's loop cannot make the host do.
#[cfg(test)]
mod loop_floor {
    use super::*;
    use crate::types::{
        Attempt, AuthHeader, BaseUrlClass, Candidate, Capability, FallbackRequest, HttpResponse, Outcome, Plan,
        ProviderConfig, RouteHealth, Sending, Timeouts,
    };

    const BASE: &str = "https://llm.example.com/v1";

    fn chain() -> FallbackRequest {
        FallbackRequest {
            capability: Capability::Chat,
            primary: "acme/alpha".into(),
            fallbacks: vec!["acme/beta".into()],
            explicit_override: None,
            credentials: vec![Credential {
                profile_id: "key".into(),
                provider: "acme".into(),
                kind: CredentialKind::ApiKey,
                plan: Plan::Api,
            }],
            rejections: vec![],
            max_candidates: None,
            providers: vec![ProviderConfig { id: "acme".into(), base_url: Some(BASE.into()), ..Default::default() }],
            env_base_url: None,
        }
    }

    fn candidate(model: &str) -> Candidate {
        Candidate {
            model: model.into(),
            requested: model.into(),
            credential: "key".into(),
            transport: Transport::Custom,
        }
    }

    fn attempt(model: &str, ended_ms: u64, status: u16) -> Attempt {
        Attempt {
            model: model.into(),
            credential: "key".into(),
            request_url: format!("{BASE}/chat/completions"),
            started_ms: ended_ms.saturating_sub(10),
            ended_ms,
            outcome: Outcome::HttpError(HttpResponse { status, headers: vec![], body: String::new() }),
        }
    }

    fn call(now_ms: u64, attempts: Vec<Attempt>) -> CallState {
        CallState { chain: chain(), streaming: false, started_ms: 0, now_ms, attempts, health: vec![], jitter_seed: 0 }
    }

    fn send(model: &str, delay_ms: u64, total_ms: u32, refresh: bool) -> Next {
        let endpoint = Endpoint {
            transport: Transport::Custom,
            base_url: BASE.into(),
            request_url: format!("{BASE}/chat/completions"),
            base_url_class: BaseUrlClass::Custom,
            credential: "key".into(),
            auth_header: AuthHeader::Bearer,
            upstream_model: model.trim_start_matches("acme/").into(),
            tool: None,
            tool_model: None,
            notes: vec![],
            rules: vec![],
        };
        let timeouts = Timeouts {
            connect_ms: 5_000,
            first_byte_ms: total_ms,
            first_token_ms: total_ms,
            idle_ms: 30_000,
            total_ms,
        };
        Next {
            step: Step::Send(Sending {
                candidate: candidate(model),
                endpoint,
                delay_ms,
                timeouts,
                probe: false,
                refresh_credential: refresh,
            }),
            health: vec![],
            learned: vec![],
            plan: FallbackPlan { candidates: vec![candidate("acme/alpha"), candidate("acme/beta")], dropped: vec![] },
            rules: vec![],
        }
    }

    fn check(call: &CallState, next: &mut Next) -> Result<(), Violation> {
        Guard::new().check_next(call, next)
    }

    #[test]
    fn a_refused_request_is_not_resent_except_once_with_a_refreshed_credential() {
        let refused = call(10_000, vec![attempt("acme/alpha", 1_000, 400)]);
        let error = check(&refused, &mut send("acme/alpha", 1_000, 60_000, false)).unwrap_err();
        assert!(error.to_string().contains("HTTP 400"), "{error}");
        // Another candidate is not a resend.
        assert_eq!(check(&refused, &mut send("acme/beta", 0, 60_000, false)), Ok(()));
        // A 429 may be retried; a 401 once, with a refreshed credential.
        assert_eq!(
            check(
                &call(10_000, vec![attempt("acme/alpha", 1_000, 429)]),
                &mut send("acme/alpha", 1_000, 60_000, false)
            ),
            Ok(())
        );
        let unauthorized = call(10_000, vec![attempt("acme/alpha", 1_000, 401)]);
        assert!(check(&unauthorized, &mut send("acme/alpha", 100, 60_000, false)).is_err());
        assert_eq!(check(&unauthorized, &mut send("acme/alpha", 100, 60_000, true)), Ok(()));
        let twice = call(10_000, vec![attempt("acme/alpha", 1_000, 401), attempt("acme/alpha", 2_000, 401)]);
        assert!(check(&twice, &mut send("acme/alpha", 100, 60_000, true)).is_err());
    }

    #[test]
    fn two_routes_alternating_still_wait_between_attempts_to_each() {
        let alternating = call(1_020, vec![attempt("acme/alpha", 1_000, 503), attempt("acme/beta", 1_010, 503)]);
        let error = check(&alternating, &mut send("acme/alpha", 0, 60_000, false)).unwrap_err();
        assert!(error.to_string().contains("20 ms after its last attempt"), "{error}");
        assert_eq!(check(&alternating, &mut send("acme/alpha", 80, 60_000, false)), Ok(()));
    }

    #[test]
    fn a_call_ends_by_its_cap_whatever_its_waits_and_timeouts() {
        // Late in the call, an attempt's total timeout is cut to what is left.
        let late = call(MAX_CALL_MS - 60_000, vec![]);
        let mut next = send("acme/alpha", 0, MAX_ATTEMPT_MS, false);
        assert_eq!(check(&late, &mut next), Ok(()));
        let Step::Send(sending) = &next.step else { unreachable!() };
        assert_eq!(sending.timeouts.total_ms, 60_000);
        assert!(sending.timeouts.first_byte_ms <= 60_000);
        assert!(next.rules.contains(&"host.floor.call-time".to_owned()));
        // No attempt starts past it.
        let error = check(&late, &mut send("acme/alpha", 60_000, 1_000, false)).unwrap_err();
        assert!(error.to_string().contains("ends a call"), "{error}");
    }

    #[test]
    fn health_is_kept_only_for_the_plans_routes() {
        let mut next = send("acme/alpha", 0, 60_000, false);
        next.health = vec![
            RouteHealth { route: "acme/alpha@key".into(), failures: 1, ..Default::default() },
            RouteHealth { route: "x".repeat(16 << 10), failures: 1, ..Default::default() },
            RouteHealth { route: "acme/unknown@key".into(), failures: 1, ..Default::default() },
        ];
        assert_eq!(check(&call(0, vec![]), &mut next), Ok(()));
        assert_eq!(next.health.iter().map(|h| h.route.as_str()).collect::<Vec<_>>(), vec!["acme/alpha@key"]);
    }
}
