// The shape of the rule data in this folder, shared by `guest/build.rs` and `guest/src/rules.rs`.
//
// `build.rs` includes this file with `Str = String` and `List<T> = Vec<T>` to deserialize the
// TOML, then writes the values out as Rust statics; `rules.rs` includes it with
// `Str = &'static str` and `List<T> = &'static [T]` to read those statics. So each rule's shape
// is written once, and no rule data is parsed when a component instance starts.
//
// Enum-typed fields (`Capability`, `FailureReason`, …) hold the WIT names in the TOML files;
// a misspelt one fails the build.

schema! {
    /// `policy.toml`: the policy's identity and its limits.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct PolicyRules {
        /// The policy's own version string, reported by `policy-info`.
        pub revision: Str,
        pub limits: Limits,
    }

    /// Input bounds. Each bound exists so that a hostile or broken input costs a bounded amount
    /// of work and produces a bounded answer.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct Limits {
        /// Longest base URL accepted, in bytes.
        pub max_url_bytes: u32,
        /// Longest model ref accepted, in bytes.
        pub max_ref_bytes: u32,
        /// Most refs in one fallback chain (primary, fallbacks and override together).
        pub max_chain: u32,
        /// Most credentials, provider configs or rejections in one request.
        pub max_entries: u32,
        /// Longest profile id, provider id, `api` or deployment string, in bytes.
        pub max_name_bytes: u32,
        /// `max-candidates` when the request leaves it out.
        pub default_max_candidates: u32,
        /// The classifier reads at most this many bytes of a body.
        pub body_scan_bytes: u32,
        /// Most headers the classifier looks at.
        pub max_headers: u32,
        /// Longest quote of a provider's message in a `user-message`, in characters.
        pub excerpt_chars: u32,
    }

    /// `urls.toml`: how configured base URLs are classified and canonicalized.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct UrlRules {
        pub official: List<OfficialHost>,
        pub not_api: List<NotApiHost>,
        pub azure: AzureHosts,
        pub custom: CustomHosts,
        pub account_paths: List<AccountPath>,
    }

    /// A gateway whose documented base URL names the operator's account in its path: that
    /// segment is an identifier, not a credential, though it has a key's shape (32 hex digits).
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct AccountPath {
        pub id: Str,
        /// Where the base URL is documented.
        pub source: Str,
        pub host: Str,
        /// The path segments before the account id, e.g. ["v1"].
        pub before: List<Str>,
        /// The account id's length, in hex digits.
        pub hex_digits: u32,
    }

    /// An official API host and the base paths it serves.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct OfficialHost {
        pub id: Str,
        pub host: Str,
        pub class: BaseUrlClass,
        /// The canonical base URL every accepted form becomes.
        pub canonical: Str,
        /// Accepted paths (each also accepted with a trailing `/`).
        pub paths: List<Str>,
        /// Accepted paths that are legacy spellings: the note says so.
        pub legacy_paths: List<Str>,
    }

    /// An official host that serves no API: a clear error beats a 403.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct NotApiHost {
        pub id: Str,
        pub host: Str,
        pub suggest: Str,
    }

    /// Azure OpenAI resource hosts.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct AzureHosts {
        pub id: Str,
        pub host_suffixes: List<Str>,
        /// Path suffixes dropped from a configured base (longest first).
        pub strip_suffixes: List<Str>,
    }

    /// Any other host.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct CustomHosts {
        pub id: Str,
        /// Hosts that plain `http` may reach (besides 127.0.0.0/8, ::1 and `*.localhost`).
        pub loopback_hosts: List<Str>,
    }

    /// `routes.toml`: which transport serves which capability, and how routes are chosen.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct RouteRules {
        pub aliases: List<ProviderAlias>,
        pub platform: PlatformRoute,
        pub codex: CodexRoute,
        pub azure: AzureRoute,
        pub env_base_url: RuleNote,
        pub missing_credential: RuleNote,
        pub foreign_provider: ForeignProviders,
        pub openai_compatible: OpenAiCompatible,
    }

    /// Another provider's OpenAI-compatible server, configured with a base URL (since 0.2).
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct OpenAiCompatible {
        pub id: Str,
        /// Chat's path when the config's `api` does not ask for Responses.
        pub chat_completions_path: Str,
        /// The `api` values that ask for the Responses API.
        pub responses_apis: List<Str>,
    }

    /// A provider id that is another's legacy name.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct ProviderAlias {
        pub id: Str,
        pub alias: Str,
        pub provider: Str,
    }

    /// A rule that is only an id and the sentence it contributes.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct RuleNote {
        pub id: Str,
        pub note: Str,
    }

    /// The direct platform route, with an API key.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct PlatformRoute {
        pub id: Str,
        /// The rule that makes the direct route explicit without an API key.
        pub explicit_id: Str,
        /// Values of `provider-config.api` that name the platform's API family.
        pub apis: List<Str>,
        pub paths: List<CapabilityPath>,
    }

    /// A capability's transport and URL path on the platform route.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct CapabilityPath {
        pub capability: Capability,
        pub transport: Transport,
        pub path: Str,
    }

    /// The ChatGPT/Codex route, with an OAuth sign-in.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct CodexRoute {
        pub id: Str,
        /// The provider whose config and credentials the route prefers.
        pub provider: Str,
        pub capabilities: List<Capability>,
        pub path: Str,
        pub images: CodexImages,
    }

    /// Images over the Codex route: a Responses model calls the image tool.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct CodexImages {
        pub id: Str,
        pub host_model: Str,
        pub tool: Str,
    }

    /// Azure OpenAI, with an `api-key` header.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct AzureRoute {
        pub id: Str,
        pub provider: Str,
        pub images_path: Str,
        pub images_api_version: Str,
        pub responses_path: Str,
    }

    /// Providers this policy does not route: the host's own client serves them.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct ForeignProviders {
        pub id: Str,
    }

    /// `models.toml`: model families, suppressions and plan gates.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct ModelRules {
        pub families: List<Family>,
        pub suppressed: Suppressed,
        pub plan_gates: List<PlanGate>,
        pub context_windows: List<ContextWindow>,
    }

    /// A family of models and the capabilities they serve. The first family whose glob matches
    /// the model's last path segment decides; a model in no family is never dropped for its
    /// capability.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct Family {
        pub id: Str,
        pub name: Str,
        pub capabilities: List<Capability>,
        pub globs: List<Str>,
    }

    /// Models the Codex route no longer serves.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct Suppressed {
        pub id: Str,
        pub models: List<Str>,
    }

    /// Models that some plans cannot use over the Codex route.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct PlanGate {
        pub id: Str,
        pub globs: List<Str>,
        pub plans: List<Plan>,
    }

    /// `errors.toml`: the classifier's rules, tried in file order; the first whose conditions
    /// all hold decides.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct ErrorRules {
        pub retry: RetryRules,
        pub rules: List<ErrorRule>,
        pub fallback: ErrorRule,
    }

    /// Retry timing.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct RetryRules {
        /// Statuses a `retry` rule may match (0 stands for "no status").
        pub retryable_statuses: List<u16>,
        /// A range of statuses a `retry` rule may also match, inclusive, e.g. [500, 599].
        pub retryable_range: List<u16>,
        /// Backoff when the provider gives no delay: base × 2^(attempt − 1), at most `max`.
        pub backoff_base_ms: u64,
        pub backoff_max_ms: u64,
        /// The shortest wait before a retry, even when the provider says "now" (a `Retry-After`
        /// of 0 or a date in the past): never hammer a provider. At least the host's floor.
        pub min_delay_ms: u64,
        /// The words after which a provider states a wait in its message ("try again in 2s",
        /// "your quota will reset after 114h18m0s"), lowercase.
        pub wait_phrases: List<Str>,
        /// Usage headers of a subscription's windows: a window at 100% is spent until it
        /// resets.
        pub usage_windows: List<UsageWindow>,
        pub attempt_cap: Cap,
        pub delay_cap: Cap,
        /// The attempt from which a verdict that repeats other work (refresh, rotate or
        /// re-resolve) moves on to the next candidate instead: doing it again did not help.
        pub repeat_cap: Cap,
    }

    /// The headers of one usage window (the Codex backend's primary or secondary window).
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct UsageWindow {
        pub used_percent: Str,
        pub reset_after_seconds: Str,
        /// Epoch seconds.
        pub reset_at: Str,
    }

    /// A cap past which `retry` becomes `next-candidate`.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct Cap {
        pub id: Str,
        pub value: u64,
        pub message: Str,
    }

    /// One classification rule: conditions (all must hold; an empty list holds always) and the
    /// verdict they give.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct ErrorRule {
        pub id: Str,
        /// Which layer of CONTRACT.md's classification the evidence comes from: `html`,
        /// `structured`, `status`, `pattern` or `network`. Documentation, checked at build time.
        pub layer: Str,
        /// Where the wording comes from.
        #[serde(default)]
        pub source: Str,
        /// HTTP statuses; 0 stands for "no status".
        #[serde(default)]
        pub status: List<u16>,
        /// A range of statuses, inclusive, e.g. [500, 599].
        #[serde(default)]
        pub status_range: List<u16>,
        /// The body is (or is not) an HTML page.
        #[serde(default)]
        pub html: Option<bool>,
        /// Structured codes: `error.code`, `error.type`, `error.status`, or the top-level
        /// `code`, `type` and `status` strings; compared case-insensitively.
        #[serde(default)]
        pub code: List<Str>,
        /// Message patterns, lowercase: literal pieces joined by `*` (anything between), with
        /// at most one `{model}` capture.
        #[serde(default)]
        pub text: List<Str>,
        /// Network error codes, case-insensitive; a trailing `*` matches a prefix.
        #[serde(default)]
        pub network: List<Str>,
        /// The class of the request URL's host.
        #[serde(default)]
        pub url_class: List<BaseUrlClass>,
        /// Whether the request URL is the canonical URL of its route.
        #[serde(default)]
        pub url_canonical: Option<bool>,
        /// The kind of credential the request used.
        #[serde(default)]
        pub credential: List<CredentialKind>,
        /// Whether the request's credential kind is unknown.
        #[serde(default)]
        pub credential_unknown: Option<bool>,
        /// Whether the wait the provider states (headers, body fields or words) is longer than
        /// the delay cap: the call cannot spend it.
        #[serde(default)]
        pub wait_over_cap: Option<bool>,
        /// Whether usage headers say a window is spent (used at 100%).
        #[serde(default)]
        pub window_spent: Option<bool>,
        pub reason: FailureReason,
        pub action: Action,
        /// Whether the verdict tells the host to remember a rejection of the model.
        #[serde(default)]
        pub remember: bool,
        /// The user message, with placeholders (listed at the top of `errors.toml`).
        pub message: Str,
    }

    /// `loop.toml`: the failover loop of `next-step` (contract 0.2): budgets, timeouts, jitter,
    /// circuits, what the outcomes that are not HTTP statuses mean, and the sentences.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct LoopRules {
        pub budget: Budget,
        pub jitter: Jitter,
        pub timeouts: List<TimeoutRule>,
        /// First-token budgets by model class; the first whose glob matches decides.
        pub first_token: List<FirstToken>,
        pub circuit: Circuit,
        pub outcomes: List<OutcomeRule>,
        pub context: ContextFailover,
        pub notices: Notices,
    }

    /// What one call may spend.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct Budget {
        pub id: Str,
        /// Attempts of one call, over all candidates.
        pub max_attempts: u32,
        /// The whole call, from its start; past it no attempt is sent.
        pub total_ms: u64,
    }

    /// Random extra wait before a retry, from the host's seed.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct Jitter {
        /// At most this share of the delay, in percent.
        pub percent: u32,
        /// And at most this, in milliseconds.
        pub max_ms: u64,
    }

    /// The timeouts of an attempt, by capability.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct TimeoutRule {
        pub id: Str,
        pub capabilities: List<Capability>,
        pub connect_ms: u32,
        pub first_byte_ms: u32,
        pub first_token_ms: u32,
        pub idle_ms: u32,
        pub total_ms: u32,
    }

    /// How long a streamed answer of a class of models may take to begin: short for models
    /// that answer at once, long for reasoning models, which think first.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct FirstToken {
        pub id: Str,
        /// Globs over the model's last path segment, lowercase.
        pub globs: List<Str>,
        pub first_token_ms: u32,
    }

    /// When a route's circuit opens, and for how long.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct Circuit {
        pub id: Str,
        /// The id of the rule that sends a probe to a route whose circuit was open.
        pub probe_id: Str,
        /// Failures in a row (of `reasons`) that open it.
        pub failures: u32,
        /// How long it stays open, less up to `jitter-percent` of it (from the host's seed), while
        /// the outage is young: a provider that comes back is probed again within this long.
        pub open_ms: u64,
        pub jitter_percent: u64,
        /// After this many openings in a row (each one after a failed probe, so at least
        /// `long-after-opens` × `open-ms` into an outage), it stays open `long-open-ms`: a dead
        /// provider gets at most one probe per long window.
        pub long_after_opens: u32,
        pub long_open_ms: u64,
        /// The id of the rule that moves on from a route whose circuit opened with the newest
        /// attempt (a failed probe, or the failure that opened it): it is never retried.
        pub opened_id: Str,
        /// The failures that count against a route: it is sick, not the request.
        pub reasons: List<FailureReason>,
    }

    /// What an outcome that is not an HTTP status means (HTTP statuses, network errors and
    /// error events are read by the rules of `errors.toml`).
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct OutcomeRule {
        pub id: Str,
        #[serde(default)]
        pub timeout: Option<TimeoutKind>,
        #[serde(default)]
        pub stream_fault: Option<StreamFaultKind>,
        pub reason: FailureReason,
        pub action: Action,
        /// The user's sentence; `{model}` and `{events}` are filled in.
        pub message: Str,
    }

    /// A context overflow moves on only to a candidate whose context window is known to be
    /// larger (`models.toml`, `context-windows`); otherwise it is surfaced.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct ContextFailover {
        pub id: Str,
        pub message: Str,
    }

    /// The sentences of a finished call. `{served}`, `{requested}`, `{why}`, `{first}` and
    /// `{last}` are filled in.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct Notices {
        /// A fallback answered after the first choice failed.
        pub fallback: Str,
        /// A fallback answered because the first choice was left out of the plan.
        pub dropped_primary: Str,
        /// A fallback answered because the first choice's circuit is open.
        pub circuit_open: Str,
        /// The call failed; `{first}` is the first failure, `{last}` the last when it differs.
        pub failed: Str,
        /// The plan has no candidate at all.
        pub no_candidate: Str,
        /// Every remaining candidate's circuit is open.
        pub all_open: Str,
        /// The budget ran out.
        pub budget: Str,
        /// The clauses of a verdict's sentence that say what the loop does next (`; retrying
        /// after …`, `Trying the next candidate.`): cut from it where a notice tells what
        /// happened in the end, so that no notice says "retrying" after the loop moved on.
        pub action_clauses: List<Str>,
    }

    /// How many tokens a model family's context window holds, for context failover.
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    pub struct ContextWindow {
        pub globs: List<Str>,
        pub tokens: u64,
    }
}
