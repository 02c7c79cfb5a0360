//! The credential-egress guard: the host's own check of every routing answer, so that even a
//! hostile policy cannot send a credential where it does not belong.
//!
//! For `resolve-endpoint`, the credential must be one the request described, and the request
//! URL's host must suit its kind:
//! - an OAuth or token credential goes only to `chatgpt.com`, or to a host the operator named
//!   that is not another official API;
//! - an API key goes only to `api.openai.com`, or to a host the operator named other than
//!   `chatgpt.com`.
//!
//! "Named by the operator" means a host in the request's own provider configs or
//! `env-base-url`, or one given to [`crate::EngineBuilder::allow_host`]; never a host the policy
//! made up. Plain http is allowed only to a named loopback host.
//!
//! For `filter-fallbacks`, every candidate must be a ref of the request with one of its
//! credentials, on a transport that suits the credential's kind, and every ref of the request
//! must be accounted for exactly once (a candidate or a drop).
//!
//! For `classify-error`, the verdict's free text is redacted again ([`Guard::scrub_verdict`]).

use route_policy_guest::fallbacks::Unaccounted;
use route_policy_guest::types::{
    CredentialKind, Endpoint, EndpointRequest, FallbackPlan, FallbackRequest, ProviderConfig, Transport, Verdict,
};
use std::fmt;
use url::{Host, Url};

/// The host OAuth and token credentials may always reach.
pub const ACCOUNT_HOST: &str = "chatgpt.com";
/// The host API keys may always reach.
pub const PLATFORM_HOST: &str = "api.openai.com";

/// The guard's configuration: hosts the operator allows beyond those each request names.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    allowed_hosts: Vec<String>,
}

/// Why an answer was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The answer names a credential the request did not describe.
    UnknownCredential(String),
    /// The endpoint's URL does not parse, or does not start with its base URL.
    BadUrl(String),
    /// The credential would go to a host its kind may not reach.
    Egress {
        /// The credential's profile id.
        credential: String,
        /// Its kind.
        kind: CredentialKind,
        /// Where it would have gone.
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
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::UnknownCredential(c) => {
                write!(f, "it names credential `{c}`, which the request did not describe")
            }
            Violation::BadUrl(u) => write!(f, "its URL {u} does not parse or does not start with its base URL"),
            Violation::Egress { credential, kind, host } => {
                write!(f, "it would send the {kind} credential `{credential}` to {host}, which that kind may not reach")
            }
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
        }
    }
}

impl Guard {
    /// A guard that also allows `allowed_hosts` (lowercase names).
    pub fn new(allowed_hosts: Vec<String>) -> Guard {
        Guard { allowed_hosts }
    }

    /// Checks a `resolve-endpoint` answer against its request.
    pub fn check_endpoint(&self, request: &EndpointRequest, endpoint: &Endpoint) -> Result<(), Violation> {
        let shown = |s: &str| route_policy_guest::redact::short(s);
        let credential = request
            .credentials
            .iter()
            .find(|c| c.profile_id == endpoint.credential)
            .ok_or_else(|| Violation::UnknownCredential(shown(&endpoint.credential)))?;
        if !endpoint.request_url.starts_with(&endpoint.base_url) {
            return Err(Violation::BadUrl(route_policy_guest::redact::url(&endpoint.request_url)));
        }
        let url = Url::parse(&endpoint.request_url)
            .map_err(|_| Violation::BadUrl(route_policy_guest::redact::url(&endpoint.request_url)))?;
        let host =
            host_name(&url).ok_or_else(|| Violation::BadUrl(route_policy_guest::redact::url(&endpoint.request_url)))?;
        // Whether the operator named the host: parsed only when the answer is not the
        // credential's own official host.
        let named = || self.is_named(&host, &request.providers, request.env_base_url.as_deref());
        let allowed = if credential.kind.is_account() {
            host == ACCOUNT_HOST || (host != PLATFORM_HOST && !is_azure(&host) && named())
        } else {
            host == PLATFORM_HOST || (host != ACCOUNT_HOST && named())
        };
        if !allowed {
            return Err(Violation::Egress { credential: shown(&credential.profile_id), kind: credential.kind, host });
        }
        if url.scheme() != "https" {
            let loopback = url.host().is_some_and(|h| is_loopback(&h));
            if url.scheme() != "http" || !loopback || !named() {
                return Err(Violation::PlainHttp { credential: shown(&credential.profile_id), host });
            }
        }
        Ok(())
    }

    /// Checks a `filter-fallbacks` answer against its request.
    pub fn check_plan(&self, request: &FallbackRequest, plan: &FallbackPlan) -> Result<(), Violation> {
        let shown = |s: &str| route_policy_guest::redact::short(s);
        // Every ref exactly once: a candidate as written, a drop as the plan shows it.
        match route_policy_guest::fallbacks::accounting(request, plan) {
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
    pub fn scrub_verdict(&self, verdict: &mut Verdict) {
        for text in [&mut verdict.user_message, &mut verdict.rule] {
            if let std::borrow::Cow::Owned(clean) = route_policy_guest::redact::text(text) {
                *text = clean;
            }
        }
        if verdict.remember.as_ref().is_some_and(|r| route_policy_guest::redact::has_secret_token(&r.model)) {
            verdict.remember = None;
        }
    }

    /// Whether the operator named `host`: in the request's configs, its `env-base-url`, or the
    /// guard's allowlist.
    fn is_named(&self, host: &str, providers: &[ProviderConfig], env_base_url: Option<&str>) -> bool {
        let configured = providers.iter().filter_map(|p| p.base_url.as_deref()).chain(env_base_url);
        self.allowed_hosts.iter().any(|h| h == host)
            || configured.filter_map(|raw| Url::parse(raw.trim()).ok()).filter_map(|u| host_name(&u)).any(|h| h == host)
    }
}

/// A URL's host, lowercase, without a trailing dot.
fn host_name(url: &Url) -> Option<String> {
    let host = match url.host()? {
        Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => format!("[{ip}]"),
    };
    Some(host)
}

fn is_azure(host: &str) -> bool {
    host.ends_with(".openai.azure.com") || host.ends_with(".cognitiveservices.azure.com")
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
    use route_policy_guest::types::{AuthHeader, BaseUrlClass, Capability, Credential, Plan};

    fn request(providers: Vec<ProviderConfig>) -> EndpointRequest {
        EndpointRequest {
            model: "gpt-5.5".into(),
            capability: Capability::Chat,
            providers,
            credentials: vec![
                Credential {
                    profile_id: "oauth".into(),
                    provider: "openai-codex".into(),
                    kind: CredentialKind::Oauth,
                    plan: Plan::Plus,
                },
                Credential {
                    profile_id: "key".into(),
                    provider: "openai".into(),
                    kind: CredentialKind::ApiKey,
                    plan: Plan::Api,
                },
            ],
            env_base_url: None,
        }
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

    #[test]
    fn oauth_goes_only_to_chatgpt_or_a_named_proxy() {
        let guard = Guard::default();
        assert!(
            guard.check_endpoint(&request(vec![]), &endpoint("oauth", "https://chatgpt.com/backend-api/codex")).is_ok()
        );
        let evil = guard.check_endpoint(&request(vec![]), &endpoint("oauth", "https://evil.example/v1"));
        assert!(matches!(evil, Err(Violation::Egress { .. })), "{evil:?}");
        let platform = guard.check_endpoint(&request(vec![]), &endpoint("oauth", "https://api.openai.com/v1"));
        assert!(matches!(platform, Err(Violation::Egress { .. })));
        let proxy = ProviderConfig {
            id: "openai-codex".into(),
            base_url: Some("http://127.0.0.1:4000/backend-api/codex".into()),
            ..Default::default()
        };
        assert!(
            guard
                .check_endpoint(&request(vec![proxy]), &endpoint("oauth", "http://127.0.0.1:4000/backend-api/codex"))
                .is_ok()
        );
        // Naming the platform does not let an OAuth token reach it.
        let named = ProviderConfig {
            id: "openai-codex".into(),
            base_url: Some("https://api.openai.com/v1".into()),
            ..Default::default()
        };
        assert!(guard.check_endpoint(&request(vec![named]), &endpoint("oauth", "https://api.openai.com/v1")).is_err());
    }

    #[test]
    fn api_keys_stay_off_chatgpt_and_plain_http() {
        let guard = Guard::new(vec!["proxy.internal".into()]);
        assert!(guard.check_endpoint(&request(vec![]), &endpoint("key", "https://api.openai.com/v1")).is_ok());
        assert!(
            guard.check_endpoint(&request(vec![]), &endpoint("key", "https://chatgpt.com/backend-api/codex")).is_err()
        );
        assert!(guard.check_endpoint(&request(vec![]), &endpoint("key", "https://proxy.internal/v1")).is_ok());
        let plain = guard.check_endpoint(&request(vec![]), &endpoint("key", "http://proxy.internal/v1"));
        assert!(matches!(plain, Err(Violation::PlainHttp { .. })), "{plain:?}");
        assert!(matches!(
            guard.check_endpoint(&request(vec![]), &endpoint("ghost", "https://api.openai.com/v1")),
            Err(Violation::UnknownCredential(_))
        ));
    }
}
