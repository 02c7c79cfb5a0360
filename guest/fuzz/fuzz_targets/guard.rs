//! Fuzzes the credential-egress guard with answers a hostile policy could give: whatever the
//! answer, a credential the guard lets through reaches only a host tied to its provider, by a
//! URL that every parser reads alike. The checks here are the target's own, not the guard's.

#![no_main]

use libfuzzer_sys::fuzz_target;
use route_policy_contract::guard::{Guard, OFFICIAL_HOSTS};
use route_policy_contract::types::{Credential, Endpoint, EndpointRequest};
use route_policy_fuzz::hostile_endpoint;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let (request, endpoint) = hostile_endpoint(data);
    if Guard::new().check_endpoint(&request, &endpoint).is_ok() {
        passed_safely(&request, &endpoint);
    }
});

/// What must hold of an answer the guard let through.
fn passed_safely(request: &EndpointRequest, endpoint: &Endpoint) {
    let raw = endpoint.request_url.as_str();
    let credential = request.credentials.iter().find(|c| c.profile_id == endpoint.credential).expect("its own credential");
    assert!(raw.bytes().all(|b| b > b' ' && b != b'\\' && b != 0x7f), "an odd byte passed: {raw:?}");
    let url = Url::parse(raw).expect("a URL that parses");
    assert_eq!(url.as_str(), raw, "a URL that is not its own serialization");
    // A naive reader (everything between `://` and the first `/`, `?` or `#` is the authority)
    // must see the same host as WHATWG: no user info, nothing hidden.
    let authority = raw.split_once("://").map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or("")).unwrap_or("");
    assert!(!authority.contains('@'), "user info passed: {raw}");
    let host = url.host_str().expect("a host");
    let naive_host = match url.port() {
        Some(port) => authority.strip_suffix(&format!(":{port}")).unwrap_or(authority),
        None => authority,
    };
    assert_eq!(naive_host, host, "parsers disagree on the host of {raw}");
    assert!(url.scheme() == "https" || (url.scheme() == "http" && is_loopback(host)), "plain http to {host}");
    // The host is tied to the credential's provider.
    let account = credential.kind.is_account();
    if account {
        assert!(host != "api.openai.com" && !host.ends_with(".azure.com"), "a sign-in reached {host}");
    } else {
        assert_ne!(host, "chatgpt.com", "an API key reached the ChatGPT backend");
    }
    let official = url.scheme() == "https" && url.port().is_none() && is_official(host, credential);
    assert!(official || named(&url, request, credential), "{} {} reached {raw}", credential.provider, credential.kind);
}

fn is_official(host: &str, credential: &Credential) -> bool {
    let provider = credential.provider.to_ascii_lowercase();
    OFFICIAL_HOSTS.iter().filter(|(p, a, _)| *p == provider && *a == credential.kind.is_account()).any(|(_, _, hosts)| {
        hosts.iter().any(|h| match h.strip_prefix('*') {
            Some(suffix) => host.ends_with(suffix) && host.len() > suffix.len(),
            None => host == *h,
        })
    })
}

/// Whether a config for the credential's provider (or OPENAI_BASE_URL, for an OpenAI key)
/// names this exact origin, in a config with no user info.
fn named(url: &Url, request: &EndpointRequest, credential: &Credential) -> bool {
    let provider = credential.provider.to_ascii_lowercase();
    let config_id = if credential.kind.is_account() && provider.starts_with("openai") { "openai-codex".to_owned() } else { provider.clone() };
    let same_origin = |raw: &str| {
        Url::parse(raw.trim()).is_ok_and(|named| {
            named.username().is_empty()
                && named.password().is_none()
                && named.scheme() == url.scheme()
                && named.host_str().map(|h| h.trim_end_matches('.')) == url.host_str()
                && named.port() == url.port()
        })
    };
    let configs = request.providers.iter().filter(|p| p.id.eq_ignore_ascii_case(&config_id)).filter_map(|p| p.base_url.as_deref());
    let env = (provider == "openai" && !credential.kind.is_account()).then_some(request.env_base_url.as_deref()).flatten();
    configs.chain(env).any(same_origin)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost") || host.starts_with("127.") || host == "[::1]"
}
