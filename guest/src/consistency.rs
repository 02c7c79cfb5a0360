//! What this policy promises beyond the contract, checked by its property tests and fuzz
//! targets beside the contract's invariants (`route_policy_contract::invariants`): its verbs
//! agree with each other, and its verdicts keep its own rule data's caps. Native builds only.

use crate::resolve_endpoint;
use crate::rules::{ERRORS, POLICY};
use crate::types::{
    Action, FallbackPlan, FallbackRequest, PolicyError, PolicyErrorCode, ProviderFailure, Transport, Verdict,
};

/// `filter-fallbacks`: each candidate routes as `resolve-endpoint` answers for it (a plan never
/// promises a route the policy would not give), within the policy's own default limit.
pub fn plan(request: &FallbackRequest, answer: &Result<FallbackPlan, PolicyError>) -> Result<(), String> {
    let Ok(plan) = answer else { return Ok(()) };
    let limit = request.max_candidates.unwrap_or(POLICY.limits.default_max_candidates);
    if plan.candidates.len() > limit as usize {
        return Err(format!("more candidates than the policy's limit of {limit}: {plan:?}"));
    }
    for candidate in &plan.candidates {
        let resolved = resolve_endpoint(&request.endpoint_request(&candidate.requested));
        match resolved {
            Ok(e) if e.transport == candidate.transport && e.credential == candidate.credential => {}
            Err(e) if e.code == PolicyErrorCode::UnsupportedProvider && candidate.transport == Transport::Custom => {}
            other => return Err(format!("candidate {candidate:?} but resolve-endpoint answers {other:?}")),
        }
    }
    Ok(())
}

/// `classify-error`: a retry stays under the policy's own attempt cap (`errors.toml`), which is
/// stricter than the host's floor.
pub fn verdict(failure: &ProviderFailure, verdict: &Verdict) -> Result<(), String> {
    if verdict.action == Action::Retry && u64::from(failure.attempt.max(1)) >= ERRORS.retry.attempt_cap.value {
        return Err(format!("a retry past the policy's attempt cap: {verdict:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter_fallbacks;

    #[test]
    fn a_candidate_routed_differently_from_resolve_endpoint_is_caught() {
        let request: FallbackRequest = serde_json::from_value(serde_json::json!({
            "capability": "chat",
            "primary": "openai/gpt-5.5",
            "fallbacks": ["openai/o3"],
            "credentials": [{"profile-id": "c", "provider": "openai-codex", "kind": "oauth", "plan": "plus"}],
        }))
        .unwrap();
        let mut answer = filter_fallbacks(&request).unwrap();
        plan(&request, &Ok(answer.clone())).unwrap();
        answer.candidates[0].transport = Transport::PlatformResponses;
        assert!(plan(&request, &Ok(answer)).unwrap_err().contains("resolve-endpoint answers"));
    }

    #[test]
    fn a_retry_past_the_policys_cap_is_caught() {
        let cap = ERRORS.retry.attempt_cap.value as u32;
        let failure = ProviderFailure { status: Some(429), attempt: cap, ..ProviderFailure::default() };
        let mut retried = crate::classify_error(&ProviderFailure { attempt: 1, ..failure.clone() });
        assert_eq!(retried.action, Action::Retry);
        verdict(&ProviderFailure { attempt: 1, ..failure.clone() }, &retried).unwrap();
        retried.action = Action::Retry;
        assert!(verdict(&failure, &retried).is_err());
    }
}
