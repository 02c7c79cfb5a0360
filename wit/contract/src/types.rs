//! The contract's vocabulary as plain Rust types: one mirror of `wit/v0.2/route-policy.wit`.
//!
//! The policy's logic works on these types, natively and inside the component. Their serde form
//! is the JSON of CONTRACT.md: WIT names in kebab-case, options as `null` or absent, tuples as
//! arrays. Unknown fields are refused so that a typo (`base_url`) is an error, not a silently
//! ignored setting. [`crate::convert_vocabulary!`] converts them to and from generated bindings.

use serde::{Deserialize, Serialize};

/// Declares a kebab-case enum of the contract, with the list of its wire names.
macro_rules! vocabulary_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            /// Every value, in WIT order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The WIT name of this value, as it appears in JSON.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)* }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary_enum!(
    /// What a request is for.
    Capability {
        Chat = "chat",
        ImageGenerate = "image-generate",
        ImageEdit = "image-edit",
        VideoGenerate = "video-generate",
        Embeddings = "embeddings",
        Transcription = "transcription",
        Speech = "speech",
    }
);

vocabulary_enum!(
    /// How a credential authenticates.
    CredentialKind {
        ApiKey = "api-key",
        Oauth = "oauth",
        Token = "token",
    }
);

impl CredentialKind {
    /// OAuth sign-ins and account tokens: never valid on the platform API.
    pub const fn is_account(self) -> bool {
        matches!(self, CredentialKind::Oauth | CredentialKind::Token)
    }
}

vocabulary_enum!(
    /// The account plan behind a credential.
    Plan {
        Api = "api",
        Free = "free",
        Go = "go",
        Plus = "plus",
        Pro = "pro",
        Team = "team",
        Business = "business",
        Enterprise = "enterprise",
        Edu = "edu",
        Unknown = "unknown",
    }
);

vocabulary_enum!(
    /// Why a provider refused a call.
    FailureReason {
        AuthScopeMissing = "auth-scope-missing",
        AuthInvalid = "auth-invalid",
        AuthExpired = "auth-expired",
        PermissionDenied = "permission-denied",
        EndpointMismatch = "endpoint-mismatch",
        Blocked = "blocked",
        ModelUnsupportedForAccount = "model-unsupported-for-account",
        ModelNotFound = "model-not-found",
        ToolUnavailable = "tool-unavailable",
        QuotaExhausted = "quota-exhausted",
        RateLimited = "rate-limited",
        ContextOverflow = "context-overflow",
        ContentPolicy = "content-policy",
        InvalidRequest = "invalid-request",
        Timeout = "timeout",
        Overloaded = "overloaded",
        ServerError = "server-error",
        Network = "network",
        Unknown = "unknown",
    }
);

vocabulary_enum!(
    /// What kind of problem a [`PolicyError`] reports.
    PolicyErrorCode {
        InvalidBaseUrl = "invalid-base-url",
        MissingCredential = "missing-credential",
        UnsupportedCapability = "unsupported-capability",
        UnsupportedProvider = "unsupported-provider",
        InvalidModelRef = "invalid-model-ref",
        InvalidInput = "invalid-input",
    }
);

vocabulary_enum!(
    /// The wire protocol and URL path family of an endpoint.
    Transport {
        PlatformResponses = "platform-responses",
        PlatformImages = "platform-images",
        PlatformVideos = "platform-videos",
        PlatformEmbeddings = "platform-embeddings",
        PlatformAudio = "platform-audio",
        CodexResponses = "codex-responses",
        AzureImages = "azure-images",
        AzureResponses = "azure-responses",
        Custom = "custom",
    }
);

vocabulary_enum!(
    /// The class of a configured base URL.
    BaseUrlClass {
        Unresolved = "unresolved",
        Platform = "platform",
        Chatgpt = "chatgpt",
        Azure = "azure",
        Custom = "custom",
        Invalid = "invalid",
    }
);

vocabulary_enum!(
    /// How the credential is sent.
    AuthHeader {
        Bearer = "bearer",
        ApiKey = "api-key",
    }
);

vocabulary_enum!(
    /// Why a ref was left out of a fallback plan.
    DropReason {
        Overridden = "overridden",
        InvalidRef = "invalid-ref",
        Duplicate = "duplicate",
        CapabilityMismatch = "capability-mismatch",
        NoCredential = "no-credential",
        Suppressed = "suppressed",
        UnsupportedForPlan = "unsupported-for-plan",
        LearnedRejection = "learned-rejection",
        OverLimit = "over-limit",
    }
);

vocabulary_enum!(
    /// What the host should do after a failure.
    Action {
        Retry = "retry",
        RefreshCredential = "refresh-credential",
        RotateCredential = "rotate-credential",
        ReResolveEndpoint = "re-resolve-endpoint",
        NextCandidate = "next-candidate",
        DropCandidate = "drop-candidate",
        Surface = "surface",
    }
);

/// A description of a credential the host holds, never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Credential {
    pub profile_id: String,
    pub provider: String,
    pub kind: CredentialKind,
    pub plan: Plan,
}

/// A provider's configuration as the user wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProviderConfig {
    pub id: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api: Option<String>,
    #[serde(default)]
    pub deployment: Option<String>,
}

/// A model a provider rejected for a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rejection {
    pub model: String,
    pub plan: Plan,
    pub reason: FailureReason,
}

/// An answer the policy could not give, with what to fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PolicyError {
    pub code: PolicyErrorCode,
    pub message: String,
}

impl PolicyError {
    /// An error with `code` and an actionable `message`.
    pub fn new(code: PolicyErrorCode, message: impl Into<String>) -> Self {
        PolicyError { code, message: message.into() }
    }
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// The four verbs of the `router` interface as plain Rust: what a policy answers, called
/// in-process. The policy crate implements it natively (the baseline of the hosts' parity
/// tests and benchmarks); hosts call a sandboxed policy through their own traits instead.
pub trait Verbs {
    /// `resolve-endpoint`.
    fn resolve_endpoint(&self, request: &EndpointRequest) -> Result<Endpoint, PolicyError>;
    /// `filter-fallbacks`.
    fn filter_fallbacks(&self, request: &FallbackRequest) -> Result<FallbackPlan, PolicyError>;
    /// `classify-error`.
    fn classify_error(&self, failure: &ProviderFailure) -> Verdict;
    /// `policy-info`.
    fn policy_info(&self) -> PolicyIdentity;
    /// `next-step` (since 0.2.0).
    fn next_step(&self, call: &CallState) -> Result<Next, PolicyError>;
}

/// `max-candidates` when a request leaves it out.
pub const DEFAULT_MAX_CANDIDATES: u32 = 8;

/// A request for an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EndpointRequest {
    pub model: String,
    pub capability: Capability,
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    #[serde(default)]
    pub credentials: Vec<Credential>,
    #[serde(default)]
    pub env_base_url: Option<String>,
}

/// Where to send a request, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Endpoint {
    pub transport: Transport,
    pub base_url: String,
    pub request_url: String,
    pub base_url_class: BaseUrlClass,
    pub credential: String,
    pub auth_header: AuthHeader,
    pub upstream_model: String,
    #[serde(default)]
    pub tool: Option<String>,
    #[serde(default)]
    pub tool_model: Option<String>,
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub rules: Vec<String>,
}

/// A request to turn a configured chain into a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FallbackRequest {
    pub capability: Capability,
    pub primary: String,
    #[serde(default)]
    pub fallbacks: Vec<String>,
    #[serde(default)]
    pub explicit_override: Option<String>,
    #[serde(default)]
    pub credentials: Vec<Credential>,
    #[serde(default)]
    pub rejections: Vec<Rejection>,
    #[serde(default)]
    pub max_candidates: Option<u32>,
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    #[serde(default)]
    pub env_base_url: Option<String>,
}

impl FallbackRequest {
    /// The `resolve-endpoint` request for one ref of this chain (`requested`, as written):
    /// the chain's capability, providers, credentials and `env-base-url`. The policy routes
    /// each candidate with it, and every host checks each send's endpoint against it.
    pub fn endpoint_request(&self, requested: &str) -> EndpointRequest {
        EndpointRequest {
            model: requested.to_owned(),
            capability: self.capability,
            providers: self.providers.clone(),
            credentials: self.credentials.clone(),
            env_base_url: self.env_base_url.clone(),
        }
    }
}

/// A model the host may try, with the route it would take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Candidate {
    pub model: String,
    pub requested: String,
    pub credential: String,
    pub transport: Transport,
}

/// A ref left out of the plan, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Dropped {
    pub model: String,
    pub reason: DropReason,
    pub detail: String,
}

/// What to try, in order, and what was left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FallbackPlan {
    pub candidates: Vec<Candidate>,
    pub dropped: Vec<Dropped>,
}

/// A failed provider call, as the host saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProviderFailure {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub network_error: Option<String>,
    #[serde(default)]
    pub request_url: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub credential_kind: Option<CredentialKind>,
    #[serde(default)]
    pub plan: Option<Plan>,
    #[serde(default)]
    pub capability: Option<Capability>,
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    #[serde(default)]
    pub now_ms: Option<u64>,
}

fn first_attempt() -> u32 {
    1
}

impl Default for ProviderFailure {
    fn default() -> Self {
        ProviderFailure {
            status: None,
            headers: Vec::new(),
            body: String::new(),
            network_error: None,
            request_url: None,
            model: None,
            credential_kind: None,
            plan: None,
            capability: None,
            attempt: first_attempt(),
            now_ms: None,
        }
    }
}

/// The classifier's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Verdict {
    pub reason: FailureReason,
    pub action: Action,
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
    pub user_message: String,
    #[serde(default)]
    pub remember: Option<Rejection>,
    pub rule: String,
}

/// Which policy this is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PolicyIdentity {
    pub contract: String,
    pub revision: String,
    pub rules_digest: String,
}

vocabulary_enum!(
    /// Which of an attempt's timeouts fired. Since 0.2.0.
    TimeoutKind {
        Connect = "connect",
        FirstByte = "first-byte",
        FirstToken = "first-token",
        Idle = "idle",
        Total = "total",
    }
);

vocabulary_enum!(
    /// How a connection failed before any response byte. Since 0.2.0.
    NetworkKind {
        Refused = "refused",
        Reset = "reset",
        Dns = "dns",
        Tls = "tls",
        Other = "other",
    }
);

vocabulary_enum!(
    /// How a response that began with a success went wrong. Since 0.2.0.
    StreamFaultKind {
        Truncated = "truncated",
        MalformedEvent = "malformed-event",
        ErrorEvent = "error-event",
    }
);

/// The timeouts of one attempt, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Timeouts {
    pub connect_ms: u32,
    pub first_byte_ms: u32,
    pub first_token_ms: u32,
    pub idle_ms: u32,
    pub total_ms: u32,
}

/// Tokens a provider reported using.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// An HTTP response that was not a success.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: String,
}

/// A connection that failed before any response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NetworkFailure {
    pub kind: NetworkKind,
    #[serde(default)]
    pub detail: String,
}

/// A response that began and then went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StreamFault {
    pub kind: StreamFaultKind,
    #[serde(default)]
    pub events: u32,
    #[serde(default)]
    pub detail: String,
}

/// What the host observed of one attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Success(Option<Usage>),
    HttpError(HttpResponse),
    Network(NetworkFailure),
    Timeout(TimeoutKind),
    StreamFault(StreamFault),
}

/// One attempt the host made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Attempt {
    pub model: String,
    pub credential: String,
    pub request_url: String,
    pub started_ms: u64,
    pub ended_ms: u64,
    pub outcome: Outcome,
}

/// What the host remembers of a route between calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RouteHealth {
    pub route: String,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub open_until_ms: Option<u64>,
    #[serde(default)]
    pub opened: u32,
}

/// A model call in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CallState {
    pub chain: FallbackRequest,
    #[serde(default)]
    pub streaming: bool,
    pub started_ms: u64,
    pub now_ms: u64,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    #[serde(default)]
    pub health: Vec<RouteHealth>,
    #[serde(default)]
    pub jitter_seed: u64,
}

/// Send an attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Sending {
    pub candidate: Candidate,
    pub endpoint: Endpoint,
    pub delay_ms: u64,
    pub timeouts: Timeouts,
    pub probe: bool,
    pub refresh_credential: bool,
}

/// A call that succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Served {
    pub candidate: Candidate,
    pub fallback: bool,
    #[serde(default)]
    pub notice: Option<String>,
}

/// A call that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CallFailure {
    pub verdict: Verdict,
    pub message: String,
}

/// How the call ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Finished {
    Served(Served),
    Failed(CallFailure),
}

/// What the host does next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Send(Sending),
    Finish(Finished),
}

/// The next step of a call, and what the host must store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Next {
    pub step: Step,
    #[serde(default)]
    pub health: Vec<RouteHealth>,
    #[serde(default)]
    pub learned: Vec<Rejection>,
    pub plan: FallbackPlan,
    #[serde(default)]
    pub rules: Vec<String>,
}

/// Converts between these types and bindings generated from the WIT (`wit-bindgen` in the
/// guest, `wasmtime::component::bindgen!` in a host). `$g` is the path of the generated
/// `router` interface module. Both generators name types and fields alike, so one list of the
/// vocabulary serves both directions and both generators.
///
/// `convert_vocabulary!(path)` converts the types of the current contract;
/// `convert_vocabulary!(@v0_1 path)` those of contract 0.1 (`wit/v0.1`), for a host that still
/// loads 0.1 policies. Each version's list is written once (`@since_v0_1`, `@since_v0_2`): a
/// type added by a version goes in its list, and a type a version changes gets its own
/// conversion in the host's module for the older version.
#[macro_export]
macro_rules! convert_vocabulary {
    (@v0_1 $($g:ident)::+) => { const _: () = {
        use $($g)::+ as generated;
        $crate::convert_vocabulary!(@since_v0_1);
    }; };
    ($($g:ident)::+) => { const _: () = {
        use $($g)::+ as generated;
        $crate::convert_vocabulary!(@since_v0_1);
        $crate::convert_vocabulary!(@since_v0_2);
    }; };
    (@since_v0_1) => {
        $crate::convert_vocabulary!(@enum Capability { Chat, ImageGenerate, ImageEdit, VideoGenerate, Embeddings, Transcription, Speech });
        $crate::convert_vocabulary!(@enum CredentialKind { ApiKey, Oauth, Token });
        $crate::convert_vocabulary!(@enum Plan { Api, Free, Go, Plus, Pro, Team, Business, Enterprise, Edu, Unknown });
        $crate::convert_vocabulary!(@enum FailureReason {
            AuthScopeMissing, AuthInvalid, AuthExpired, PermissionDenied, EndpointMismatch, Blocked,
            ModelUnsupportedForAccount, ModelNotFound, ToolUnavailable, QuotaExhausted, RateLimited,
            ContextOverflow, ContentPolicy, InvalidRequest, Timeout, Overloaded, ServerError, Network,
            Unknown
        });
        $crate::convert_vocabulary!(@enum PolicyErrorCode {
            InvalidBaseUrl, MissingCredential, UnsupportedCapability, UnsupportedProvider,
            InvalidModelRef, InvalidInput
        });
        $crate::convert_vocabulary!(@enum Transport {
            PlatformResponses, PlatformImages, PlatformVideos, PlatformEmbeddings, PlatformAudio,
            CodexResponses, AzureImages, AzureResponses, Custom
        });
        $crate::convert_vocabulary!(@enum BaseUrlClass { Unresolved, Platform, Chatgpt, Azure, Custom, Invalid });
        $crate::convert_vocabulary!(@enum AuthHeader { Bearer, ApiKey });
        $crate::convert_vocabulary!(@enum DropReason {
            Overridden, InvalidRef, Duplicate, CapabilityMismatch, NoCredential, Suppressed,
            UnsupportedForPlan, LearnedRejection, OverLimit
        });
        $crate::convert_vocabulary!(@enum Action {
            Retry, RefreshCredential, RotateCredential, ReResolveEndpoint, NextCandidate,
            DropCandidate, Surface
        });
        $crate::convert_vocabulary!(@record Credential { profile_id, provider, kind, plan });
        $crate::convert_vocabulary!(@record ProviderConfig { id, base_url, api, deployment });
        $crate::convert_vocabulary!(@record Rejection { model, plan, reason });
        $crate::convert_vocabulary!(@record PolicyError { code, message });
        $crate::convert_vocabulary!(@record EndpointRequest { model, capability, providers, credentials, env_base_url });
        $crate::convert_vocabulary!(@record Endpoint {
            transport, base_url, request_url, base_url_class, credential, auth_header,
            upstream_model, tool, tool_model, notes, rules
        });
        $crate::convert_vocabulary!(@record FallbackRequest {
            capability, primary, fallbacks, explicit_override, credentials, rejections,
            max_candidates, providers, env_base_url
        });
        $crate::convert_vocabulary!(@record Candidate { model, requested, credential, transport });
        $crate::convert_vocabulary!(@record Dropped { model, reason, detail });
        $crate::convert_vocabulary!(@record FallbackPlan { candidates, dropped });
        $crate::convert_vocabulary!(@record ProviderFailure {
            status, headers, body, network_error, request_url, model, credential_kind, plan,
            capability, attempt, now_ms
        });
        $crate::convert_vocabulary!(@record Verdict { reason, action, retry_after_ms, user_message, remember, rule });
        $crate::convert_vocabulary!(@record PolicyIdentity { contract, revision, rules_digest });
    };
    (@since_v0_2) => {
        $crate::convert_vocabulary!(@enum TimeoutKind { Connect, FirstByte, FirstToken, Idle, Total });
        $crate::convert_vocabulary!(@enum NetworkKind { Refused, Reset, Dns, Tls, Other });
        $crate::convert_vocabulary!(@enum StreamFaultKind { Truncated, MalformedEvent, ErrorEvent });
        $crate::convert_vocabulary!(@record Timeouts { connect_ms, first_byte_ms, first_token_ms, idle_ms, total_ms });
        $crate::convert_vocabulary!(@record Usage { input_tokens, output_tokens });
        $crate::convert_vocabulary!(@record HttpResponse { status, headers, body });
        $crate::convert_vocabulary!(@record NetworkFailure { kind, detail });
        $crate::convert_vocabulary!(@record StreamFault { kind, events, detail });
        $crate::convert_vocabulary!(@variant Outcome { Success, HttpError, Network, Timeout, StreamFault });
        $crate::convert_vocabulary!(@record Attempt { model, credential, request_url, started_ms, ended_ms, outcome });
        $crate::convert_vocabulary!(@record RouteHealth { route, failures, open_until_ms, opened });
        $crate::convert_vocabulary!(@record CallState { chain, streaming, started_ms, now_ms, attempts, health, jitter_seed });
        $crate::convert_vocabulary!(@record Sending { candidate, endpoint, delay_ms, timeouts, probe, refresh_credential });
        $crate::convert_vocabulary!(@record Served { candidate, fallback, notice });
        $crate::convert_vocabulary!(@record CallFailure { verdict, message });
        $crate::convert_vocabulary!(@variant Finished { Served, Failed });
        $crate::convert_vocabulary!(@variant Step { Send, Finish });
        $crate::convert_vocabulary!(@record Next { step, health, learned, plan, rules });
    };
    (@enum $name:ident { $($variant:ident),* $(,)? }) => {
        impl $crate::types::Convert<generated::$name> for $crate::types::$name {
            fn convert(self) -> generated::$name {
                match self { $($crate::types::$name::$variant => generated::$name::$variant,)* }
            }
        }
        impl $crate::types::Convert<$crate::types::$name> for generated::$name {
            fn convert(self) -> $crate::types::$name {
                match self { $(generated::$name::$variant => $crate::types::$name::$variant,)* }
            }
        }
    };
    (@variant $name:ident { $($case:ident),* $(,)? }) => {
        impl $crate::types::Convert<generated::$name> for $crate::types::$name {
            fn convert(self) -> generated::$name {
                match self { $($crate::types::$name::$case(v) => generated::$name::$case($crate::types::Convert::convert(v)),)* }
            }
        }
        impl $crate::types::Convert<$crate::types::$name> for generated::$name {
            fn convert(self) -> $crate::types::$name {
                match self { $(generated::$name::$case(v) => $crate::types::$name::$case($crate::types::Convert::convert(v)),)* }
            }
        }
    };
    (@record $name:ident { $($field:ident),* $(,)? }) => {
        impl $crate::types::Convert<generated::$name> for $crate::types::$name {
            fn convert(self) -> generated::$name {
                generated::$name { $($field: $crate::types::Convert::convert(self.$field),)* }
            }
        }
        impl $crate::types::Convert<$crate::types::$name> for generated::$name {
            fn convert(self) -> $crate::types::$name {
                $crate::types::$name { $($field: $crate::types::Convert::convert(self.$field),)* }
            }
        }
    };
}

/// A conversion between the vocabulary and generated bindings of it. Unlike `From`, it can be
/// implemented for `Vec`, `Option` and tuples of vocabulary types without orphan-rule trouble,
/// which lets [`convert_vocabulary!`] convert every field with the same call.
pub trait Convert<T> {
    /// Converts `self` into the other representation.
    fn convert(self) -> T;
}

macro_rules! convert_as_is {
    ($($t:ty),*) => { $(impl Convert<$t> for $t { #[inline] fn convert(self) -> $t { self } })* };
}
convert_as_is!(String, bool, u16, u32, u64);

impl<A: Convert<B>, B> Convert<Vec<B>> for Vec<A> {
    fn convert(self) -> Vec<B> {
        self.into_iter().map(Convert::convert).collect()
    }
}

impl<A: Convert<B>, B> Convert<Option<B>> for Option<A> {
    fn convert(self) -> Option<B> {
        self.map(Convert::convert)
    }
}

impl<A1: Convert<B1>, A2: Convert<B2>, B1, B2> Convert<(B1, B2)> for (A1, A2) {
    fn convert(self) -> (B1, B2) {
        (self.0.convert(), self.1.convert())
    }
}

impl<A: Convert<B>, B, E1: Convert<E2>, E2> Convert<Result<B, E2>> for Result<A, E1> {
    fn convert(self) -> Result<B, E2> {
        self.map(Convert::convert).map_err(Convert::convert)
    }
}
