//! Fuzz inputs for the policy's verbs, and the secrets planted in them.
//!
//! Each target reads its bytes as the JSON input of its verb when they are one (the seed
//! corpora are the conformance vectors' inputs, so mutations start from real requests), and
//! otherwise builds the input from the bytes with `arbitrary`. The words it builds from come
//! from the rule data itself (error codes and texts, hosts, paths, model globs, key prefixes),
//! so a new rule is fuzzed without touching this file.
//!
//! Then one secret is planted, at a place chosen by the bytes, where secrets leak from in real
//! failures: a body, a header, a model ref, a base URL, a profile id. The targets check that it
//! never reaches an answer.

use arbitrary::{Arbitrary, Unstructured};
use route_policy_contract::invariants::{PLANTED, PLANTED_CORE, plant};
use route_policy_contract::redact::REDACT;
use route_policy_guest::rules::{ERRORS, MODELS, ROUTES, URLS};
use route_policy_contract::types::{
    Capability, Credential, CredentialKind, EndpointRequest, FailureReason, FallbackRequest, Plan, ProviderConfig,
    ProviderFailure, Rejection,
};

/// Where and what to plant, chosen by a hash of the whole input so that every input plants
/// deterministically (a crash reproduces) and mutations move the secret around.
#[derive(Clone, Copy, Debug)]
pub struct Planting {
    hash: u64,
}

impl Planting {
    /// The planting for these bytes.
    pub fn of(data: &[u8]) -> Planting {
        // FNV-1a: small, and every byte moves it.
        let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
        Planting { hash }
    }

    /// The secret, in one of the shapes providers echo.
    pub fn secret(self) -> &'static str {
        PLANTED[(self.hash % PLANTED.len() as u64) as usize]
    }

    /// Which of `sites` places receives it.
    pub fn site(self, sites: usize) -> usize {
        ((self.hash >> 8) % sites as u64) as usize
    }

    /// A position in a text of `len` bytes.
    pub fn at(self, len: usize) -> usize {
        ((self.hash >> 16) % (len as u64 + 1)) as usize
    }

    /// `text` with the secret planted in it.
    pub fn into_text(self, text: &str) -> String {
        plant(text, self.at(text.len()), self.secret())
    }

    /// A URL carrying the secret where users paste keys: user info, a query, a path segment.
    pub fn into_url(self, url: &str) -> String {
        match (self.hash >> 40) % 3 {
            0 => match url.split_once("://") {
                Some((scheme, rest)) => format!("{scheme}://user:{PLANTED_CORE}@{rest}"),
                None => format!("https://user:{PLANTED_CORE}@{url}"),
            },
            1 => format!("{url}?api_key={PLANTED_CORE}"),
            _ => format!("{}/sk-proj-{PLANTED_CORE}/v1", url.trim_end_matches('/')),
        }
    }
}

/// A fuzz input with a secret planted in it.
pub struct Fuzzed<T> {
    /// The verb's input.
    pub input: T,
    /// Whether the no-secret check applies. It does not when the input already held the
    /// planted core before planting: libFuzzer learns the string from the check's own
    /// comparison and writes it in shapes that are no secret (`prok-sj-PLANTED…`), which the
    /// policy may rightly echo.
    pub check_secret: bool,
}

impl<T: serde::Serialize> Fuzzed<T> {
    fn before_planting(input: T) -> Fuzzed<T> {
        let check_secret = !serde_json::to_string(&input).unwrap_or_default().contains(PLANTED_CORE);
        Fuzzed { input, check_secret }
    }
}

/// The bytes as a `T` in JSON, else built by `arbitrary`.
fn decode<T: serde::de::DeserializeOwned>(data: &[u8], build: impl FnOnce(&mut Unstructured) -> T) -> T {
    serde_json::from_slice(data).unwrap_or_else(|_| build(&mut Unstructured::new(data)))
}

/// One of `items`; the first when the bytes run out.
fn pick<T: Copy>(u: &mut Unstructured, items: &[T]) -> T {
    u.choose(items).copied().unwrap_or(items[0])
}

/// An arbitrary string, or empty when the bytes run out.
fn any_string(u: &mut Unstructured) -> String {
    String::arbitrary(u).unwrap_or_default()
}

/// A small count.
fn count(u: &mut Unstructured, max: usize) -> usize {
    u.int_in_range(0..=max).unwrap_or(0)
}

fn chance(u: &mut Unstructured) -> bool {
    bool::arbitrary(u).unwrap_or(false)
}

/// Text of up to `pieces` pieces, each a word of `words` or arbitrary.
fn text(u: &mut Unstructured, words: &[&str], pieces: usize) -> String {
    let mut out = String::new();
    for _ in 0..count(u, pieces) {
        if u.ratio(3u8, 4u8).unwrap_or(false) && !words.is_empty() {
            out.push_str(pick(u, words));
        } else {
            out.push_str(&any_string(u));
        }
        out.push(' ');
    }
    out
}

/// The words of the error rules: codes, texts and network errors.
fn error_words() -> Vec<&'static str> {
    let rules = ERRORS.rules.iter().chain(std::iter::once(&ERRORS.fallback));
    let mut words: Vec<&str> = rules.flat_map(|r| r.code.iter().chain(r.text.iter()).chain(r.network.iter())).copied().collect();
    words.extend(["{\"error\":{\"message\":\"", "\",\"code\":\"", "\"}}", "<html>", "</html>", "\n", "retry"]);
    words
}

/// Base URLs built from the hosts and paths of the URL rules, and hosts of no rule.
fn base_url(u: &mut Unstructured) -> String {
    let mut hosts: Vec<&str> = URLS.official.iter().map(|o| o.host).collect();
    hosts.extend(URLS.not_api.iter().map(|n| n.host));
    hosts.extend(URLS.custom.loopback_hosts.iter().copied());
    hosts.extend(["res.openai.azure.com", "127.0.0.1", "[::1]", "proxy.example.com", "chatgpt.com.evil.example"]);
    let mut paths: Vec<&str> = URLS.official.iter().flat_map(|o| o.paths.iter().chain(o.legacy_paths.iter())).copied().collect();
    paths.extend(URLS.azure.strip_suffixes.iter().copied());
    paths.extend(["", "/", "/v1/", "//x", "/./", "/%2e%2e/", "\\"]);
    if u.ratio(1u8, 8u8).unwrap_or(false) {
        return any_string(u);
    }
    let scheme = pick(u, &["https://", "http://", "HTTPS://", "ftp://", "", "https:"]);
    let port = pick(u, &["", "", ":443", ":80", ":8080"]);
    format!("{scheme}{}{port}{}{}", pick(u, &hosts), pick(u, &paths), if chance(u) { "" } else { pick(u, &["?", "#", "@x", " "]) })
}

/// Model refs built from the model rules' globs and the provider aliases.
fn model_ref(u: &mut Unstructured) -> String {
    let globs: Vec<&str> = MODELS
        .families
        .iter()
        .flat_map(|f| f.globs.iter())
        .chain(MODELS.suppressed.models.iter())
        .chain(MODELS.plan_gates.iter().flat_map(|g| g.globs.iter()))
        .copied()
        .collect();
    let mut providers: Vec<&str> = ROUTES.aliases.iter().flat_map(|a| [a.alias, a.provider]).collect();
    providers.extend(["", "azure-openai", "openrouter", "anthropic", "acme"]);
    match count(u, 7) {
        0 => any_string(u),
        1 => pick(u, &globs).replace('*', ""),
        _ => format!("{}/{}", pick(u, &providers), pick(u, &globs).replace('*', &any_string(u))),
    }
}

fn credential(u: &mut Unstructured, n: usize) -> Credential {
    let providers = ["openai", "openai-codex", "azure-openai", "openrouter", "anthropic"];
    let provider = pick(u, &providers);
    let kind = pick(u, CredentialKind::ALL);
    Credential { profile_id: format!("{provider}:{kind}:{n}"), provider: provider.to_owned(), kind, plan: pick(u, Plan::ALL) }
}

fn providers(u: &mut Unstructured) -> Vec<ProviderConfig> {
    (0..count(u, 3))
        .map(|_| ProviderConfig {
            id: pick(u, &["openai", "openai-codex", "azure-openai", "OpenAI"]).to_owned(),
            base_url: chance(u).then(|| base_url(u)),
            api: chance(u).then(|| pick(u, &["openai-responses", "openai-codex-responses", "chat", ""]).to_owned()),
            deployment: chance(u).then(|| any_string(u)),
        })
        .collect()
}

/// A `classify-error` input, with the secret planted in the body and one other place.
pub fn failure(data: &[u8]) -> Fuzzed<ProviderFailure> {
    let words = error_words();
    let failure = decode(data, |u| {
        let statuses: Vec<u16> = ERRORS.rules.iter().flat_map(|r| r.status.iter()).copied().collect();
        let header_names = ["retry-after", "retry-after-ms", "x-ratelimit-reset-requests", "content-type", "x-request-id"];
        ProviderFailure {
            status: if chance(u) { Some(pick(u, &statuses)) } else { Option::<u16>::arbitrary(u).unwrap_or(None) },
            headers: (0..count(u, 3)).map(|_| (pick(u, &header_names).to_owned(), text(u, &["1", "0.5", "-1", "Wed, 21 Oct 2026 07:28:00 GMT", "1h2m3s", "20ms"], 2))).collect(),
            body: text(u, &words, 24),
            network_error: chance(u).then(|| text(u, &words, 2)),
            request_url: chance(u).then(|| base_url(u)),
            model: chance(u).then(|| model_ref(u)),
            credential_kind: Option::<u8>::arbitrary(u).unwrap_or(None).map(|_| pick(u, CredentialKind::ALL)),
            plan: chance(u).then(|| pick(u, Plan::ALL)),
            capability: chance(u).then(|| pick(u, Capability::ALL)),
            attempt: count(u, 6) as u32,
            now_ms: Option::<u64>::arbitrary(u).unwrap_or(None),
        }
    });
    let mut fuzzed = Fuzzed::before_planting(failure);
    let failure = &mut fuzzed.input;
    let planting = Planting::of(data);
    failure.body = planting.into_text(&failure.body);
    let name = REDACT.secret_names.first().copied().unwrap_or("authorization");
    match planting.site(5) {
        0 => failure.headers.push((name.to_owned(), planting.secret().to_owned())),
        1 => failure.model = Some(planting.into_text(failure.model.as_deref().unwrap_or(""))),
        2 => failure.request_url = Some(planting.into_url(failure.request_url.as_deref().unwrap_or("https://proxy.example.com/v1"))),
        3 => failure.network_error = Some(planting.into_text(failure.network_error.as_deref().unwrap_or(""))),
        _ => failure.headers.push(("x-echo".to_owned(), planting.secret().to_owned())),
    }
    fuzzed
}

/// A `resolve-endpoint` input, with the secret planted in one place.
pub fn endpoint_request(data: &[u8]) -> Fuzzed<EndpointRequest> {
    let request = decode(data, |u| EndpointRequest {
        model: model_ref(u),
        capability: pick(u, Capability::ALL),
        providers: providers(u),
        credentials: (0..count(u, 4)).map(|n| credential(u, n)).collect(),
        env_base_url: chance(u).then(|| base_url(u)),
    });
    let mut fuzzed = Fuzzed::before_planting(request);
    let request = &mut fuzzed.input;
    let planting = Planting::of(data);
    match planting.site(5) {
        0 => request.model = planting.into_text(&request.model),
        1 => match request.providers.first_mut() {
            Some(config) => config.base_url = Some(planting.into_url(config.base_url.as_deref().unwrap_or("https://chatgpt.com"))),
            None => request.env_base_url = Some(planting.into_url("https://proxy.example.com")),
        },
        2 => request.env_base_url = Some(planting.into_url(request.env_base_url.as_deref().unwrap_or("https://api.openai.com"))),
        3 => plant_profile(&mut request.credentials, planting),
        _ => {
            if let Some(credential) = request.credentials.first_mut() {
                credential.provider = planting.into_text(&credential.provider);
            }
        }
    }
    fuzzed
}

/// A `filter-fallbacks` input, with the secret planted in one place.
pub fn fallback_request(data: &[u8]) -> Fuzzed<FallbackRequest> {
    let request = decode(data, |u| FallbackRequest {
        capability: pick(u, Capability::ALL),
        primary: model_ref(u),
        fallbacks: (0..count(u, 10)).map(|_| model_ref(u)).collect(),
        explicit_override: u.ratio(1u8, 5u8).unwrap_or(false).then(|| model_ref(u)),
        credentials: (0..count(u, 4)).map(|n| credential(u, n)).collect(),
        rejections: (0..count(u, 3))
            .map(|_| Rejection { model: model_ref(u), plan: pick(u, Plan::ALL), reason: pick(u, &[FailureReason::ModelUnsupportedForAccount, FailureReason::ModelNotFound, FailureReason::ToolUnavailable]) })
            .collect(),
        max_candidates: Option::<u8>::arbitrary(u).unwrap_or(None).map(|n| u32::from(n % 12)),
        providers: providers(u),
        env_base_url: chance(u).then(|| base_url(u)),
    });
    let mut fuzzed = Fuzzed::before_planting(request);
    let request = &mut fuzzed.input;
    let planting = Planting::of(data);
    match planting.site(6) {
        0 => request.primary = planting.into_text(&request.primary),
        1 => {
            let at = planting.at(request.fallbacks.len());
            request.fallbacks.insert(at, planting.secret().to_owned());
        }
        2 => request.explicit_override = Some(planting.into_text(request.explicit_override.as_deref().unwrap_or(""))),
        3 => request.rejections.push(Rejection { model: planting.secret().to_owned(), plan: Plan::Plus, reason: FailureReason::ModelUnsupportedForAccount }),
        4 => plant_profile(&mut request.credentials, planting),
        _ => request.env_base_url = Some(planting.into_url("https://proxy.example.com/v1")),
    }
    fuzzed
}

/// A credential whose profile id is the secret (a user pasted the key there).
fn plant_profile(credentials: &mut Vec<Credential>, planting: Planting) {
    credentials.push(Credential {
        profile_id: planting.secret().to_owned(),
        provider: "openai".to_owned(),
        kind: CredentialKind::ApiKey,
        plan: Plan::Api,
    });
}

/// A JSON Lines stream with the secret planted at one byte of it, and the index of the line
/// that holds it (`None` when the check does not apply: that line held the core already).
pub fn stream(data: &[u8]) -> (Vec<u8>, Option<usize>) {
    let planting = Planting::of(data);
    let at = planting.at(data.len());
    let mut out = Vec::with_capacity(data.len() + 40);
    out.extend_from_slice(&data[..at]);
    out.extend_from_slice(format!(" {} ", planting.secret()).as_bytes());
    out.extend_from_slice(&data[at..]);
    let line = data[..at].iter().filter(|b| **b == b'\n').count();
    let start = data[..at].iter().rposition(|b| *b == b'\n').map_or(0, |n| n + 1);
    let end = data[at..].iter().position(|b| *b == b'\n').map_or(data.len(), |n| at + n);
    let original = &data[start..end];
    // The core may hide in JSON escapes (`\u0050LANTED…`): look at the decoded line too.
    let decoded = serde_json::from_slice::<serde_json::Value>(original).map(|v| v.to_string()).unwrap_or_default();
    let held = original.windows(PLANTED_CORE.len()).any(|w| w == PLANTED_CORE.as_bytes()) || decoded.contains(PLANTED_CORE);
    (out, (!held).then_some(line))
}

/// An answer a hostile policy could give to a `resolve-endpoint` request: a credential of the
/// request sent to a URL built from the pieces that once got past the guard (user info,
/// backslashes, CR/LF, ports, trailing dots, case, escapes, hosts named for other providers),
/// or to arbitrary text.
pub fn hostile_endpoint(data: &[u8]) -> (EndpointRequest, route_policy_contract::types::Endpoint) {
    use route_policy_contract::types::{AuthHeader, BaseUrlClass, Endpoint, Transport};
    let mut u = Unstructured::new(data);
    let u = &mut u;
    let hosts = [
        "chatgpt.com", "api.openai.com", "res.openai.azure.com", "x.services.ai.azure.com", "api.anthropic.com",
        "openrouter.ai", "evil.example", "proxy.example.com", "127.0.0.1", "[::1]", "localhost", "CHATGPT.COM",
        "chatgpt.com.", "chatgpt.com..", "chatgpt.com.evil.example", "xn--chtgpt-8nf.com",
    ];
    let request = EndpointRequest {
        model: "gpt-5.5".to_owned(),
        capability: Capability::Chat,
        providers: (0..count(u, 3))
            .map(|_| ProviderConfig {
                id: pick(u, &["openai", "openai-codex", "azure-openai", "openrouter", "anthropic", "OpenAI"]).to_owned(),
                base_url: Some(format!(
                    "{}{}{}{}",
                    pick(u, &["https://", "http://", "https://u:p@"]),
                    pick(u, &hosts),
                    pick(u, &["", ":8443", ":443", ":4000"]),
                    pick(u, &["", "/v1", "/backend-api/codex", "/api/v1"])
                )),
                api: None,
                deployment: None,
            })
            .collect(),
        credentials: (0..=count(u, 3)).map(|n| credential(u, n)).collect(),
        env_base_url: chance(u).then(|| format!("https://{}/v1", pick(u, &hosts))),
    };
    let credential = pick(u, &(0..request.credentials.len()).collect::<Vec<_>>());
    let url = if u.ratio(1u8, 10u8).unwrap_or(false) {
        any_string(u)
    } else {
        format!(
            "{}{}{}{}{}{}{}",
            pick(u, &["https://", "http://", "HTTPS://", "https:", "https:/", "https:\\\\"]),
            pick(u, &["", "", "", "u:p@", "chatgpt.com@", "chatgpt.com\\@", "%40"]),
            pick(u, &hosts),
            pick(u, &["", "", ":443", ":8443", ":80", ":"]),
            pick(u, &["/backend-api/codex", "/v1", "/openai/v1", "", "/%2e%2e", "/./", "//", "\\@evil.example"]),
            pick(u, &["/responses", "/responses", "/chat/completions", "?x=1", "#f"]),
            pick(u, &["", "", "", "\r\nX-Injected: 1", " ", "\t", "\u{0}"]),
        )
    };
    let cut = pick(u, &[0usize, 1, 2, 3]);
    let base = match url.rsplit_once('/') {
        Some((base, _)) if cut > 0 => base.to_owned(),
        _ => url.clone(),
    };
    let endpoint = Endpoint {
        transport: pick(u, Transport::ALL),
        base_url: base,
        request_url: url,
        base_url_class: pick(u, &[BaseUrlClass::Custom, BaseUrlClass::Chatgpt, BaseUrlClass::Platform]),
        credential: request.credentials[credential].profile_id.clone(),
        auth_header: pick(u, &[AuthHeader::Bearer, AuthHeader::ApiKey]),
        upstream_model: "gpt-5.5".to_owned(),
        tool: None,
        tool_model: None,
        notes: vec![],
        rules: vec![],
    };
    (request, endpoint)
}
