//! `filter-fallbacks`: an honest plan, with a reason for every ref left out (CONTRACT.md,
//! "filter-fallbacks").
//!
//! Each ref of the chain is checked against the drop reasons in their order of precedence:
//! overridden, invalid-ref, duplicate, capability-mismatch, no-credential, suppressed,
//! unsupported-for-plan, learned-rejection, over-limit. A ref that survives becomes a candidate
//! carrying the credential and transport that `resolve-endpoint` gives it.

use crate::model::{self, ModelRef, plan_name};
use crate::redact;
use crate::resolve::{Route, Routing};
use crate::rules::{self, MODELS, POLICY, ROUTES};
use crate::types::{
    Candidate, Capability, Credential, DropReason, Dropped, FallbackPlan, FallbackRequest, PolicyError,
    PolicyErrorCode, Transport,
};

/// `filter-fallbacks`.
pub fn filter_fallbacks(request: &FallbackRequest) -> Result<FallbackPlan, PolicyError> {
    let limits = &POLICY.limits;
    let invalid = |message: String| PolicyError::new(PolicyErrorCode::InvalidInput, message);
    let max_candidates = request.max_candidates.unwrap_or(limits.default_max_candidates);
    if max_candidates == 0 {
        return Err(invalid(
            "max-candidates is 0; a plan needs at least 1 (leave it out for the default of 8)".to_owned(),
        ));
    }
    if request.explicit_override.as_deref().is_some_and(|o| o.trim().is_empty()) {
        return Err(invalid(
            "explicit-override is empty; name the model the user chose, or leave the field out".to_owned(),
        ));
    }
    let chain = 1 + request.fallbacks.len() + usize::from(request.explicit_override.is_some());
    if chain > limits.max_chain as usize {
        return Err(invalid(format!("the chain holds {chain} refs; a request has at most {}", limits.max_chain)));
    }
    if request.rejections.len() > limits.max_entries as usize {
        return Err(invalid(format!(
            "{} rejections; a request has at most {}",
            request.rejections.len(),
            limits.max_entries
        )));
    }
    let routing = Routing::new(&request.providers, &request.credentials, request.env_base_url.as_deref())?;
    let ctx = Planner { request, routing };

    // The refs in input order: primary, fallbacks, then the override.
    let refs = std::iter::once(request.primary.as_str())
        .chain(request.fallbacks.iter().map(String::as_str))
        .chain(request.explicit_override.as_deref());
    let override_at = request.explicit_override.as_ref().map(|_| chain - 1);

    let mut plan = FallbackPlan::default();
    let mut seen: Vec<String> = Vec::new();
    for (index, written) in refs.enumerate() {
        let is_override = Some(index) == override_at;
        if override_at.is_some() && !is_override {
            let shown = redact::short(request.explicit_override.as_deref().unwrap_or(""));
            plan.dropped.push(drop(
                written,
                DropReason::Overridden,
                format!("the explicit choice {shown} replaces the configured chain for this turn"),
            ));
            continue;
        }
        match ctx.check(written, &mut seen)? {
            Ok(candidate) if plan.candidates.len() < max_candidates as usize => plan.candidates.push(candidate),
            Ok(_) => plan.dropped.push(drop(
                written,
                DropReason::OverLimit,
                format!("the plan keeps at most {max_candidates} candidates; raise max-candidates to try this one"),
            )),
            Err((reason, detail)) => plan.dropped.push(drop(written, reason, detail)),
        }
    }
    Ok(plan)
}

/// A dropped ref, as written; a ref shaped like a secret is redacted, since the plan ends up in
/// the host's logs.
fn drop(written: &str, reason: DropReason, detail: String) -> Dropped {
    Dropped { model: route_policy_contract::accounting::shown_dropped(written), reason, detail }
}

struct Planner<'a> {
    request: &'a FallbackRequest,
    routing: Routing<'a>,
}

/// A ref's fate: a candidate, or a drop reason with its detail. The outer `Result` carries a
/// configuration error that fails the whole plan.
type Fate = Result<Result<Candidate, (DropReason, String)>, PolicyError>;

/// Why a ref is not a candidate: dropped, with its reason and detail, or a configuration error
/// that fails the whole plan. The steps of [`Planner::check`] return it through `?`.
enum NotCandidate {
    Drop(DropReason, String),
    Fail(PolicyError),
}

impl From<PolicyError> for NotCandidate {
    fn from(error: PolicyError) -> Self {
        NotCandidate::Fail(error)
    }
}

type Step<T> = Result<T, NotCandidate>;

fn dropped<T>(reason: DropReason, detail: String) -> Step<T> {
    Err(NotCandidate::Drop(reason, detail))
}

impl Planner<'_> {
    /// A ref's fate, by the drop reasons in CONTRACT.md's order of precedence.
    fn check(&self, written: &str, seen: &mut Vec<String>) -> Fate {
        match self.candidate(written, seen) {
            Ok(candidate) => Ok(Ok(candidate)),
            Err(NotCandidate::Drop(reason, detail)) => Ok(Err((reason, detail))),
            Err(NotCandidate::Fail(error)) => Err(error),
        }
    }

    fn candidate(&self, written: &str, seen: &mut Vec<String>) -> Step<Candidate> {
        let model = parse_ref(written)?;
        let canonical = first_occurrence(&model, seen)?;
        check_family(&model, self.request.capability)?;
        let (credential, transport, route) = self.route(&model)?;
        if route == Route::Codex {
            check_codex_gates(&model, credential)?;
        }
        self.check_rejections(&model, credential)?;
        Ok(Candidate {
            model: canonical,
            requested: written.to_owned(),
            credential: credential.profile_id.clone(),
            transport,
        })
    }

    /// The ref's route, exactly as resolve-endpoint would give it: its credential, transport
    /// and route. Other providers' refs need only a credential of their provider.
    fn route(&self, model: &ModelRef<'_>) -> Step<(&Credential, Transport, Route)> {
        if !model::is_routed(&model.provider) && !self.routing.configures(&model.provider) {
            return match self.routing.credential(&model.provider, |_| true) {
                Some(credential) => Ok((credential, Transport::Custom, Route::Platform)),
                None => {
                    let provider = redact::short(&model.provider);
                    dropped(
                        DropReason::NoCredential,
                        format!(
                            "no credential for {provider}: add a {provider} credential to use this fallback ({})",
                            ROUTES.foreign_provider.id
                        ),
                    )
                }
            };
        }
        match self.routing.route_quietly(model, self.request.capability) {
            Ok(endpoint) => {
                let credential =
                    self.credential(&endpoint.credential).expect("an endpoint names a credential of the request");
                // Another provider's server is no Codex route: no Codex gate applies to it.
                let route =
                    if model::is_routed(&model.provider) { self.routing.choose(model)? } else { Route::Platform };
                Ok((credential, endpoint.transport, route))
            }
            Err(error) => match error.code {
                PolicyErrorCode::MissingCredential => dropped(DropReason::NoCredential, error.message),
                PolicyErrorCode::UnsupportedCapability => dropped(DropReason::CapabilityMismatch, error.message),
                _ => Err(error.into()),
            },
        }
    }

    /// A rejection the host learned earlier, for this model and this plan.
    fn check_rejections(&self, model: &ModelRef<'_>, credential: &Credential) -> Step<()> {
        let rejection = self
            .request
            .rejections
            .iter()
            .find(|r| r.plan == credential.plan && model::rule_key(&r.model) == model.rule_key());
        match rejection {
            Some(rejection) => dropped(
                DropReason::LearnedRejection,
                format!(
                    "the provider rejected {} for the {} plan earlier ({}); it stays out of this chain",
                    redact::short(model.model),
                    plan_name(credential.plan),
                    rejection.reason
                ),
            ),
            None => Ok(()),
        }
    }

    fn credential(&self, profile_id: &str) -> Option<&Credential> {
        self.request.credentials.iter().find(|c| c.profile_id == profile_id)
    }
}

/// The ref, parsed, or dropped as invalid.
fn parse_ref(written: &str) -> Step<ModelRef<'_>> {
    ModelRef::parse(written).or_else(|why| {
        dropped(DropReason::InvalidRef, format!("the ref {why}; write it as provider/model, e.g. openai/gpt-5.5"))
    })
}

/// The ref's canonical form, unless an earlier ref had it.
fn first_occurrence(model: &ModelRef<'_>, seen: &mut Vec<String>) -> Step<String> {
    let canonical = model.canonical();
    // `GPT-5.5` and `gpt-5.5:latest` are `gpt-5.5` (model::same_model_key).
    let key = format!("{}/{}", model.provider, model::same_model_key(model.model));
    if seen.contains(&key) {
        return dropped(
            DropReason::Duplicate,
            format!("{canonical} is already earlier in the chain; the first one is kept"),
        );
    }
    seen.push(key);
    Ok(canonical)
}

/// A model of a family that does not serve the chain's capability.
fn check_family(model: &ModelRef<'_>, capability: Capability) -> Step<()> {
    match model::family_of(model) {
        Some(family) if !family.capabilities.contains(&capability) => dropped(
            DropReason::CapabilityMismatch,
            format!(
                "{} is a {} model ({}), not a {capability} model; remove it from this chain",
                redact::short(model.model),
                family.name,
                family.id
            ),
        ),
        _ => Ok(()),
    }
}

/// What the Codex route does not serve: suppressed models, and models gated off the plan.
fn check_codex_gates(model: &ModelRef<'_>, credential: &Credential) -> Step<()> {
    let key = model.rule_key();
    if MODELS.suppressed.models.iter().any(|m| m.eq_ignore_ascii_case(&key)) {
        return dropped(
            DropReason::Suppressed,
            format!(
                "the Codex route no longer serves {} ({}); add an OpenAI API key to use it, or remove it from the chain",
                redact::short(model.model),
                MODELS.suppressed.id
            ),
        );
    }
    let gated = |g: &&rules::PlanGate| {
        g.plans.contains(&credential.plan) && g.globs.iter().any(|glob| rules::glob_matches(glob, &key))
    };
    match MODELS.plan_gates.iter().find(gated) {
        Some(gate) => dropped(
            DropReason::UnsupportedForPlan,
            format!(
                "your ChatGPT {} plan cannot use {} through the Codex sign-in ({}); add an OpenAI API key to use it",
                plan_name(credential.plan),
                redact::short(model.model),
                gate.id
            ),
        ),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Capability, CredentialKind, FailureReason, Plan, Rejection};

    fn candidates_of(plan: &FallbackPlan) -> Vec<&str> {
        plan.candidates.iter().map(|c| c.model.as_str()).collect()
    }

    fn oauth(plan: Plan) -> Credential {
        Credential { profile_id: "codex".into(), provider: "openai-codex".into(), kind: CredentialKind::Oauth, plan }
    }

    fn request(
        capability: Capability,
        primary: &str,
        fallbacks: &[&str],
        credentials: Vec<Credential>,
    ) -> FallbackRequest {
        FallbackRequest {
            capability,
            primary: primary.into(),
            fallbacks: fallbacks.iter().map(|s| (*s).into()).collect(),
            explicit_override: None,
            credentials,
            rejections: vec![],
            max_candidates: None,
            providers: vec![],
            env_base_url: None,
        }
    }

    #[test]
    fn seed_000_chain_drops_the_pro_model_and_the_repeat() {
        let plan = filter_fallbacks(&request(
            Capability::Chat,
            "openai-codex/gpt-5.5",
            &["openai-codex/gpt-5.5-pro", "openai-codex/gpt-5.5"],
            vec![oauth(Plan::Plus)],
        ))
        .unwrap();
        assert_eq!(candidates_of(&plan), ["openai/gpt-5.5"]);
        assert_eq!(plan.candidates[0].transport, Transport::CodexResponses);
        let reasons: Vec<_> = plan.dropped.iter().map(|d| (d.model.as_str(), d.reason)).collect();
        assert_eq!(
            reasons,
            [
                ("openai-codex/gpt-5.5-pro", DropReason::UnsupportedForPlan),
                ("openai-codex/gpt-5.5", DropReason::Duplicate)
            ]
        );
        assert!(plan.dropped[0].detail.contains("Plus"));
    }

    #[test]
    fn seed_image_chain_keeps_the_codex_image_route() {
        let plan = filter_fallbacks(&request(
            Capability::ImageGenerate,
            "openai/gpt-image-2",
            &["openrouter/openai/gpt-5.4-image-2", "minimax/image-01"],
            vec![oauth(Plan::Plus)],
        ))
        .unwrap();
        assert_eq!(candidates_of(&plan), ["openai/gpt-image-2"]);
        assert!(plan.dropped.iter().all(|d| d.reason == DropReason::NoCredential));
        assert_eq!(plan.dropped.len(), 2);
    }

    #[test]
    fn a_learned_rejection_drops_the_model_for_that_plan_only() {
        let mut req = request(Capability::Chat, "openai/o3", &["openai/gpt-5.5"], vec![oauth(Plan::Plus)]);
        req.rejections =
            vec![Rejection { model: "o3".into(), plan: Plan::Plus, reason: FailureReason::ModelUnsupportedForAccount }];
        let plan = filter_fallbacks(&req).unwrap();
        assert_eq!(candidates_of(&plan), ["openai/gpt-5.5"]);
        assert_eq!(plan.dropped[0].reason, DropReason::LearnedRejection);
        req.rejections[0].plan = Plan::Team;
        assert_eq!(filter_fallbacks(&req).unwrap().candidates.len(), 2);
    }

    #[test]
    fn an_override_is_the_whole_plan() {
        let mut req = request(Capability::Chat, "openai/gpt-5.5", &["openai/o3"], vec![oauth(Plan::Pro)]);
        req.explicit_override = Some("openai/gpt-5.4".into());
        let plan = filter_fallbacks(&req).unwrap();
        assert_eq!(candidates_of(&plan), ["openai/gpt-5.4"]);
        assert!(plan.dropped.iter().all(|d| d.reason == DropReason::Overridden));
        assert_eq!(plan.dropped.len(), 2);
    }

    #[test]
    fn zero_candidates_is_an_error() {
        let mut req = request(Capability::Chat, "gpt-5.5", &[], vec![oauth(Plan::Plus)]);
        req.max_candidates = Some(0);
        assert_eq!(filter_fallbacks(&req).unwrap_err().code, PolicyErrorCode::InvalidInput);
    }
}
