//! The invariants every answer of any policy must keep, whatever the input: checked by the
//! policy's property tests and by the fuzz targets (`guest/fuzz`), so that both hold a policy
//! to the contract's rules. What is particular to one policy (its own attempt cap, its verbs
//! agreeing with each other) is checked by that policy's own tests.

use crate::accounting::{self, Unaccounted};
use crate::guard::{self, Guard};
use crate::types::{
    Action, BaseUrlClass, DEFAULT_MAX_CANDIDATES, Endpoint, EndpointRequest, FallbackPlan, FallbackRequest,
    PolicyError, ProviderFailure, Transport, Verdict,
};

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

/// `resolve-endpoint`: no credential meets an invalid base URL, and the answer passes the
/// credential-egress guard with no host allowed beyond the request's own ([`Guard::new`]): the
/// URL is canonical, and each credential reaches only its provider's hosts.
pub fn endpoint(request: &EndpointRequest, answer: &Result<Endpoint, PolicyError>) -> Result<(), String> {
    let Ok(endpoint) = answer else { return Ok(()) };
    if endpoint.base_url_class == BaseUrlClass::Invalid {
        return Err(format!("an invalid base URL was answered ok: {endpoint:?}"));
    }
    let credential = request.credentials.iter().find(|c| c.profile_id == endpoint.credential);
    if credential.is_some_and(|c| c.kind.is_account())
        && (endpoint.base_url_class == BaseUrlClass::Platform || endpoint.transport != Transport::CodexResponses)
    {
        return Err(format!("an account credential was paired with the platform API: {endpoint:?}"));
    }
    Guard::new().check_endpoint(request, endpoint).map_err(|violation| format!("{violation}: {endpoint:?}"))
}

/// `filter-fallbacks`: every ref is a candidate or dropped exactly once ([`accounting`]),
/// within the limit, every drop says why, and the plan passes the guard.
pub fn plan(request: &FallbackRequest, answer: &Result<FallbackPlan, PolicyError>) -> Result<(), String> {
    let Ok(plan) = answer else { return Ok(()) };
    match accounting::check(request, plan) {
        Ok(()) => {}
        Err(Unaccounted::Invented(r)) => {
            return Err(format!("{r:?} is not a ref of the request, or appears twice: {plan:?}"));
        }
        Err(Unaccounted::Lost(r)) => {
            return Err(format!("{r:?} is neither a candidate nor dropped: {plan:?}"));
        }
    }
    let limit = request.max_candidates.unwrap_or(DEFAULT_MAX_CANDIDATES);
    if plan.candidates.len() > limit as usize || (request.explicit_override.is_some() && plan.candidates.len() > 1) {
        return Err(format!("too many candidates: {plan:?}"));
    }
    if plan.dropped.iter().any(|d| d.detail.trim().is_empty()) {
        return Err(format!("a drop without a detail: {plan:?}"));
    }
    Guard::new().check_plan(request, plan).map_err(|violation| format!("{violation}: {plan:?}"))
}

/// `classify-error`: every verdict can be acted on; a retry has a delay, stays under the
/// host's attempt cap ([`guard::MAX_ATTEMPTS`]), waits at least [`guard::MIN_RETRY_DELAY_MS`],
/// and never answers a 4xx the host does not retry ([`guard::retryable_status`]); only a
/// dropped model is remembered.
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
        if verdict.retry_after_ms.is_some_and(|ms| ms < guard::MIN_RETRY_DELAY_MS) {
            return fail("a retry sooner than the host's minimum delay");
        }
        if failure.attempt.max(1) >= guard::MAX_ATTEMPTS {
            return fail("a retry past the attempt cap");
        }
        if failure.status.is_some_and(|s| !guard::retryable_status(s)) {
            return fail("a client error was retried");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The checks themselves must catch what they are for, or the property tests and fuzz
    //! targets that lean on them could never fail.

    use super::*;
    use crate::types::{AuthHeader, Candidate, DropReason, Dropped};
    use serde_json::json;

    fn chain() -> FallbackRequest {
        serde_json::from_value(json!({
            "capability": "chat",
            "primary": "openai/gpt-5.5",
            "fallbacks": ["openai/gpt-5.5-pro", "acme/mystery"],
            "credentials": [{"profile-id": "c", "provider": "openai-codex", "kind": "oauth", "plan": "plus"}],
        }))
        .unwrap()
    }

    /// The plan an honest policy answers for [`chain`].
    fn honest_plan() -> FallbackPlan {
        let dropped = |model: &str, reason| Dropped { model: model.into(), reason, detail: "why".into() };
        FallbackPlan {
            candidates: vec![Candidate {
                model: "openai/gpt-5.5".into(),
                requested: "openai/gpt-5.5".into(),
                credential: "c".into(),
                transport: Transport::CodexResponses,
            }],
            dropped: vec![
                dropped("openai/gpt-5.5-pro", DropReason::UnsupportedForPlan),
                dropped("acme/mystery", DropReason::NoCredential),
            ],
        }
    }

    #[test]
    fn a_true_answer_passes() {
        plan(&chain(), &Ok(honest_plan())).unwrap();
        no_secret(&honest_plan()).unwrap();
    }

    #[test]
    fn a_lost_or_doubled_ref_is_caught() {
        let request = chain();
        let mut lost = honest_plan();
        lost.dropped.pop();
        assert!(plan(&request, &Ok(lost)).unwrap_err().contains("neither a candidate nor dropped"));
        let mut doubled = honest_plan();
        doubled.dropped.push(doubled.dropped[0].clone());
        assert!(plan(&request, &Ok(doubled)).unwrap_err().contains("appears twice"));
        let mut undetailed = honest_plan();
        undetailed.dropped[0].detail = " ".into();
        assert!(plan(&request, &Ok(undetailed)).unwrap_err().contains("without a detail"));
    }

    #[test]
    fn a_candidate_whose_transport_does_not_suit_its_credential_is_caught() {
        let mut plan_ = honest_plan();
        plan_.candidates[0].transport = Transport::PlatformResponses;
        assert!(plan(&chain(), &Ok(plan_)).unwrap_err().contains("does not suit"));
    }

    #[test]
    fn a_retry_without_a_delay_or_on_a_client_error_is_caught() {
        let failure = ProviderFailure { status: Some(429), ..ProviderFailure::default() };
        let mut retry = Verdict {
            reason: crate::types::FailureReason::RateLimited,
            action: Action::Retry,
            retry_after_ms: Some(1000),
            user_message: "slow down".into(),
            remember: None,
            rule: "status.429".into(),
        };
        verdict(&failure, &retry).unwrap();
        for status in [400, 401, 404, 422] {
            let client = ProviderFailure { status: Some(status), ..failure.clone() };
            assert!(verdict(&client, &retry).unwrap_err().contains("client error"), "{status}");
        }
        let late = ProviderFailure { attempt: guard::MAX_ATTEMPTS, ..failure.clone() };
        assert!(verdict(&late, &retry).unwrap_err().contains("attempt cap"));
        retry.retry_after_ms = None;
        assert!(verdict(&failure, &retry).unwrap_err().contains("without a delay"));
    }

    #[test]
    fn an_account_credential_on_the_platform_is_caught() {
        let request: EndpointRequest = serde_json::from_value(json!({
            "model": "openai/gpt-5.5",
            "capability": "chat",
            "credentials": [{"profile-id": "c", "provider": "openai-codex", "kind": "oauth", "plan": "plus"}],
        }))
        .unwrap();
        let mut answer = Endpoint {
            transport: Transport::CodexResponses,
            base_url: "https://chatgpt.com/backend-api/codex".into(),
            request_url: "https://chatgpt.com/backend-api/codex/responses".into(),
            base_url_class: BaseUrlClass::Unresolved,
            credential: "c".into(),
            auth_header: AuthHeader::Bearer,
            upstream_model: "gpt-5.5".into(),
            tool: None,
            tool_model: None,
            notes: vec![],
            rules: vec![],
        };
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
