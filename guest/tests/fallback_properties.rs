//! Invariants of `filter-fallbacks`: nothing is lost (every ref is a candidate or dropped,
//! exactly once), and every candidate carries the route `resolve-endpoint` gives it.

use proptest::prelude::*;
use route_policy_guest::types::{
    Capability, Credential, CredentialKind, EndpointRequest, FailureReason, FallbackPlan, FallbackRequest, Plan,
    PolicyErrorCode, Rejection, Transport,
};
use route_policy_guest::wire::Call;
use route_policy_guest::{filter_fallbacks, redact, resolve_endpoint, vectors};
use std::path::Path;

/// Checks that a candidate's route is what `resolve-endpoint` answers for it.
fn consistent_with_resolve(request: &FallbackRequest, plan: &FallbackPlan) -> Result<(), String> {
    for candidate in &plan.candidates {
        let resolved = resolve_endpoint(&EndpointRequest {
            model: candidate.requested.clone(),
            capability: request.capability,
            providers: request.providers.clone(),
            credentials: request.credentials.clone(),
            env_base_url: request.env_base_url.clone(),
        });
        match resolved {
            Ok(endpoint)
                if endpoint.transport == candidate.transport && endpoint.credential == candidate.credential => {}
            Err(e) if e.code == PolicyErrorCode::UnsupportedProvider && candidate.transport == Transport::Custom => {}
            other => return Err(format!("candidate {candidate:?} but resolve-endpoint answers {other:?}")),
        }
    }
    Ok(())
}

/// Every ref of the request appears exactly once in the plan.
fn nothing_lost(request: &FallbackRequest, plan: &FallbackPlan) -> Result<(), String> {
    let mut refs: Vec<String> = std::iter::once(&request.primary)
        .chain(&request.fallbacks)
        .chain(&request.explicit_override)
        .map(|r| redact::text(r).into_owned())
        .collect();
    for answered in plan.candidates.iter().map(|c| &c.requested).chain(plan.dropped.iter().map(|d| &d.model)) {
        let at = refs
            .iter()
            .position(|r| r == answered)
            .ok_or_else(|| format!("{answered:?} is not a ref of the request, or appears twice"))?;
        refs.swap_remove(at);
    }
    match refs.first() {
        Some(lost) => Err(format!("{lost:?} is neither a candidate nor dropped")),
        None => Ok(()),
    }
}

#[test]
fn every_candidate_of_every_vector_routes_as_resolve_endpoint_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut candidates = 0;
    for path in vectors::files(&dir).unwrap() {
        let file = vectors::load(&path).unwrap();
        for case in &file.cases {
            let Ok(Call::FilterFallbacks(request)) = case.call(&file) else { continue };
            if let Ok(plan) = filter_fallbacks(&request) {
                consistent_with_resolve(&request, &plan)
                    .unwrap_or_else(|e| panic!("{}: {}: {e}", path.display(), case.name));
                nothing_lost(&request, &plan).unwrap_or_else(|e| panic!("{}: {}: {e}", path.display(), case.name));
                candidates += plan.candidates.len();
            }
        }
    }
    assert!(candidates >= 30, "only {candidates} candidates in the vectors");
}

fn model_ref() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "openai/gpt-5.5", "gpt-5.5", "openai-codex/gpt-5.5", " openai/gpt-5.5 ", "openai/gpt-5.5-pro", "openai/gpt-5.2",
            "openai/gpt-image-2", "openai/dall-e-3", "openai/sora-2", "openai/text-embedding-3-small", "openai/whisper-1",
            "openrouter/openai/gpt-5.4-image-2", "minimax/image-01", "anthropic/claude-sonnet-4.5", "azure-openai/gpt-image-1",
            "", "openai/", "/x", "a b", "sk-proj-AAAAbbbbCCCCdddd1234", "acme/mystery",
        ]).prop_map(str::to_owned),
        1 => ".{0,24}",
    ]
}

fn credential() -> impl Strategy<Value = Credential> {
    let provider =
        prop::sample::select(vec!["openai", "openai-codex", "openrouter", "minimax", "azure-openai", "anthropic"]);
    (provider, prop::sample::select(CredentialKind::ALL.to_vec()), prop::sample::select(Plan::ALL.to_vec())).prop_map(
        |(provider, kind, plan)| Credential {
            profile_id: format!("{provider}:{kind}:{plan}"),
            provider: provider.into(),
            kind,
            plan,
        },
    )
}

fn request() -> impl Strategy<Value = FallbackRequest> {
    (
        prop::sample::select(Capability::ALL.to_vec()),
        model_ref(),
        prop::collection::vec(model_ref(), 0..10),
        prop::option::weighted(0.2, model_ref()),
        prop::collection::vec(credential(), 0..4),
        prop::collection::vec((model_ref(), prop::sample::select(Plan::ALL.to_vec())), 0..3),
        prop::option::weighted(0.3, 1u32..6),
    )
        .prop_map(
            |(capability, primary, fallbacks, explicit_override, credentials, rejections, max_candidates)| {
                FallbackRequest {
                    capability,
                    primary,
                    fallbacks,
                    explicit_override,
                    credentials,
                    rejections: rejections
                        .into_iter()
                        .map(|(model, plan)| Rejection {
                            model,
                            plan,
                            reason: FailureReason::ModelUnsupportedForAccount,
                        })
                        .collect(),
                    max_candidates,
                    providers: vec![],
                    env_base_url: None,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn every_ref_is_a_candidate_or_dropped_exactly_once(request in request()) {
        let plan = filter_fallbacks(&request).expect("without provider configs no chain is a configuration error");
        prop_assert!(nothing_lost(&request, &plan).is_ok(), "{:?}", nothing_lost(&request, &plan));
        prop_assert!(plan.candidates.len() <= request.max_candidates.unwrap_or(8) as usize);
        prop_assert!(consistent_with_resolve(&request, &plan).is_ok(), "{:?}", consistent_with_resolve(&request, &plan));
        prop_assert!(plan.dropped.iter().all(|d| !d.detail.is_empty()));
        if request.explicit_override.is_some() {
            prop_assert!(plan.candidates.len() <= 1);
        }
    }
}
