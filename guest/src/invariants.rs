//! The invariants every answer must keep, whatever the input: checked by the property tests
//! and by the fuzz targets (`host-test/fuzz`), so that both hold the policy to the same rules.

use crate::types::{
    Action, BaseUrlClass, EndpointRequest, FallbackPlan, FallbackRequest, PolicyError, PolicyErrorCode,
    ProviderFailure, Transport, Verdict,
};
use crate::{resolve_endpoint, rules};

/// A secret for planting in inputs: shaped like an OpenAI project key, with a distinctive core
/// that must never appear in an answer.
pub const PLANTED_CORE: &str = "PLANTEDs3cr3tC0reX9y8";

/// The planted secrets, each containing [`PLANTED_CORE`], in the shapes providers echo.
pub const PLANTED: [&str; 4] = [
    "sk-proj-PLANTEDs3cr3tC0reX9y8",
    "Bearer PLANTEDs3cr3tC0reX9y8",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.PLANTEDs3cr3tC0reX9y8",
    "api_key=PLANTEDs3cr3tC0reX9y8",
];

/// Inserts a planted secret, set apart by spaces, at the character boundary nearest `at`.
pub fn plant(text: &str, at: usize, secret: &str) -> String {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    format!("{} {secret} {}", &text[..at], &text[at..])
}

/// No answer shows the planted secret.
pub fn no_secret(answer: &impl serde::Serialize) -> Result<(), String> {
    let shown = serde_json::to_string(answer).map_err(|e| e.to_string())?;
    if shown.contains(PLANTED_CORE) {
        return Err(format!("a planted secret reached the answer: {shown}"));
    }
    Ok(())
}

/// `resolve-endpoint`: the request URL parses and starts with the base URL; no credential meets
/// an invalid URL; an account credential never meets the platform API.
pub fn endpoint(request: &EndpointRequest, answer: &Result<crate::types::Endpoint, PolicyError>) -> Result<(), String> {
    let Ok(endpoint) = answer else { return Ok(()) };
    let fail = |what: &str| Err(format!("{what}: {endpoint:?}"));
    if !endpoint.request_url.starts_with(&endpoint.base_url) {
        return fail("request-url does not start with base-url");
    }
    if url::Url::parse(&endpoint.request_url).is_err() {
        return fail("request-url does not parse");
    }
    if endpoint.base_url_class == BaseUrlClass::Invalid {
        return fail("an invalid base URL was answered ok");
    }
    let Some(credential) = request.credentials.iter().find(|c| c.profile_id == endpoint.credential) else {
        return fail("the credential is not one of the request's");
    };
    let host = |raw: &str| url::Url::parse(raw.trim()).ok().and_then(|u| u.host_str().map(str::to_owned));
    let Some(target) = host(&endpoint.request_url) else { return fail("request-url has no host") };
    let target = target.trim_end_matches('.');
    if credential.kind.is_account()
        && (endpoint.base_url_class == BaseUrlClass::Platform
            || endpoint.transport != Transport::CodexResponses
            || target == "api.openai.com")
    {
        return fail("an account credential was paired with the platform API");
    }
    // The host is the credential's official one, or one the request itself named: the policy
    // never makes a host up, and never sends an API key to the ChatGPT backend.
    let official = if credential.kind.is_account() { "chatgpt.com" } else { "api.openai.com" };
    let named = request
        .providers
        .iter()
        .filter_map(|p| p.base_url.as_deref())
        .chain(request.env_base_url.as_deref())
        .filter_map(host)
        .any(|named| named.trim_end_matches('.') == target);
    if target != official && !named {
        return fail("the request URL's host is neither the credential's official host nor one the request named");
    }
    if !credential.kind.is_account() && target == "chatgpt.com" {
        return fail("an API key was sent to the ChatGPT backend");
    }
    Ok(())
}

/// `filter-fallbacks`: every ref is a candidate or dropped exactly once, within the limit, and
/// each candidate routes as `resolve-endpoint` answers.
pub fn plan(request: &FallbackRequest, answer: &Result<FallbackPlan, PolicyError>) -> Result<(), String> {
    let Ok(plan) = answer else { return Ok(()) };
    match crate::fallbacks::accounting(request, plan) {
        Ok(()) => {}
        Err(crate::fallbacks::Unaccounted::Invented(r)) => {
            return Err(format!("{r:?} is not a ref of the request, or appears twice: {plan:?}"));
        }
        Err(crate::fallbacks::Unaccounted::Lost(r)) => {
            return Err(format!("{r:?} is neither a candidate nor dropped: {plan:?}"));
        }
    }
    let limit = request.max_candidates.unwrap_or(rules::POLICY.limits.default_max_candidates);
    if plan.candidates.len() > limit as usize || (request.explicit_override.is_some() && plan.candidates.len() > 1) {
        return Err(format!("too many candidates: {plan:?}"));
    }
    if plan.dropped.iter().any(|d| d.detail.trim().is_empty()) {
        return Err(format!("a drop without a detail: {plan:?}"));
    }
    for candidate in &plan.candidates {
        let resolved = resolve_endpoint(&EndpointRequest {
            model: candidate.requested.clone(),
            capability: request.capability,
            providers: request.providers.clone(),
            credentials: request.credentials.clone(),
            env_base_url: request.env_base_url.clone(),
        });
        match resolved {
            Ok(e) if e.transport == candidate.transport && e.credential == candidate.credential => {}
            Err(e) if e.code == PolicyErrorCode::UnsupportedProvider && candidate.transport == Transport::Custom => {}
            other => return Err(format!("candidate {candidate:?} but resolve-endpoint answers {other:?}")),
        }
    }
    Ok(())
}

/// `classify-error`: every verdict can be acted on; a retry has a delay and stays under the
/// attempt cap; a 400 is never retried; only a dropped model is remembered.
pub fn verdict(failure: &ProviderFailure, verdict: &Verdict) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{what}: {verdict:?}"));
    if verdict.user_message.trim().is_empty() || verdict.rule.is_empty() {
        return fail("a verdict without a message or a rule");
    }
    if verdict.remember.is_some() && verdict.action != Action::DropCandidate {
        return fail("remember without drop-candidate");
    }
    if verdict.action == Action::Retry {
        if verdict.retry_after_ms.is_none() {
            return fail("a retry without a delay");
        }
        if u64::from(failure.attempt.max(1)) >= rules::ERRORS.retry.attempt_cap.value {
            return fail("a retry past the attempt cap");
        }
        if failure.status == Some(400) {
            return fail("a 400 was retried");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The checks themselves must catch what they are for, or the property tests and fuzz
    //! targets that lean on them could never fail.

    use super::*;
    use crate::{classify_error, filter_fallbacks};

    fn chain() -> FallbackRequest {
        serde_json::from_value(serde_json::json!({
            "capability": "chat",
            "primary": "openai/gpt-5.5",
            "fallbacks": ["openai/gpt-5.5-pro", "acme/mystery"],
            "credentials": [{"profile-id": "c", "provider": "openai-codex", "kind": "oauth", "plan": "plus"}],
        }))
        .unwrap()
    }

    #[test]
    fn a_true_answer_passes() {
        let request = chain();
        let answer = filter_fallbacks(&request);
        plan(&request, &answer).unwrap();
        no_secret(&answer).unwrap();
    }

    #[test]
    fn a_lost_or_doubled_ref_is_caught() {
        let request = chain();
        let mut lost = filter_fallbacks(&request).unwrap();
        lost.dropped.pop();
        assert!(plan(&request, &Ok(lost)).unwrap_err().contains("neither a candidate nor dropped"));
        let mut doubled = filter_fallbacks(&request).unwrap();
        doubled.dropped.push(doubled.dropped[0].clone());
        assert!(plan(&request, &Ok(doubled)).unwrap_err().contains("appears twice"));
    }

    #[test]
    fn a_candidate_routed_differently_from_resolve_endpoint_is_caught() {
        let request = chain();
        let mut plan_ = filter_fallbacks(&request).unwrap();
        plan_.candidates[0].transport = Transport::PlatformResponses;
        assert!(plan(&request, &Ok(plan_)).unwrap_err().contains("resolve-endpoint answers"));
    }

    #[test]
    fn a_retry_without_a_delay_or_on_a_400_is_caught() {
        let failure = ProviderFailure { status: Some(429), ..ProviderFailure::default() };
        let mut retry = classify_error(&failure);
        assert_eq!(retry.action, Action::Retry);
        verdict(&failure, &retry).unwrap();
        let on_400 = ProviderFailure { status: Some(400), ..failure.clone() };
        assert!(verdict(&on_400, &retry).unwrap_err().contains("400"));
        retry.retry_after_ms = None;
        assert!(verdict(&failure, &retry).unwrap_err().contains("without a delay"));
    }

    #[test]
    fn an_account_credential_on_the_platform_is_caught() {
        let request: EndpointRequest = serde_json::from_value(serde_json::json!({
            "model": "openai/gpt-5.5",
            "capability": "chat",
            "credentials": [{"profile-id": "c", "provider": "openai-codex", "kind": "oauth", "plan": "plus"}],
        }))
        .unwrap();
        let mut answer = resolve_endpoint(&request).unwrap();
        endpoint(&request, &Ok(answer.clone())).unwrap();
        answer.base_url = "https://api.openai.com/v1".into();
        answer.request_url = "https://api.openai.com/v1/responses".into();
        answer.base_url_class = BaseUrlClass::Platform;
        assert!(endpoint(&request, &Ok(answer)).unwrap_err().contains("platform"));
    }

    #[test]
    fn a_planted_secret_is_found_wherever_it_is() {
        for secret in PLANTED {
            let text = plant("a provider said: nope", 7, secret);
            assert!(text.contains(secret));
            assert!(no_secret(&text).is_err());
            assert!(no_secret(&crate::redact::text(&text)).is_ok(), "{secret} survives redaction");
        }
        assert_eq!(plant("é", 1, "x"), " x é");
    }
}
