//! The seed stories, through the typed API an agent runtime would call.

use route_policy_contract::types::{
    Action, Capability, CredentialKind, DropReason, EndpointRequest, FailureReason, FallbackRequest, Plan,
    ProviderConfig, ProviderFailure, Transport,
};
use route_policy_host::Router;
use route_policy_testkit::{POLICY, codex_oauth};

#[test]
fn legacy_base_url_is_never_built_verbatim() {
    let endpoint = POLICY
        .resolve_endpoint(&EndpointRequest {
            model: "openai/gpt-image-2".into(),
            capability: Capability::ImageGenerate,
            providers: vec![ProviderConfig {
                id: "openai-codex".into(),
                base_url: Some("https://chatgpt.com/backend-api".into()),
                ..Default::default()
            }],
            credentials: vec![codex_oauth()],
            env_base_url: None,
        })
        .unwrap();
    assert_eq!(endpoint.transport, Transport::CodexResponses);
    assert_eq!(endpoint.request_url, "https://chatgpt.com/backend-api/codex/responses");
    assert_eq!(endpoint.tool.as_deref(), Some("image_generation"));
}

#[test]
fn scope_error_reroutes_at_the_platform_and_refreshes_at_chatgpt() {
    let body = r#"{"error":{"message":"You have insufficient permissions for this operation. Missing scopes: api.responses.write.","type":"invalid_request_error","param":null,"code":null}}"#;
    let mut failure = ProviderFailure {
        status: Some(401),
        body: body.into(),
        request_url: Some("https://api.openai.com/v1/responses".into()),
        credential_kind: Some(CredentialKind::Oauth),
        ..Default::default()
    };
    let verdict = POLICY.classify_error(&failure).unwrap();
    assert_eq!((verdict.reason, verdict.action), (FailureReason::AuthScopeMissing, Action::ReResolveEndpoint));
    failure.request_url = Some("https://chatgpt.com/backend-api/codex/responses".into());
    assert_eq!(POLICY.classify_error(&failure).unwrap().action, Action::RefreshCredential);
}

#[test]
fn plan_gated_model_leaves_the_chain_and_the_rejection_is_learned() {
    let mut request = FallbackRequest {
        capability: Capability::Chat,
        primary: "openai-codex/gpt-5.5".into(),
        fallbacks: vec!["openai-codex/gpt-5.5-pro".into(), "openai-codex/gpt-5.5".into()],
        explicit_override: None,
        credentials: vec![codex_oauth()],
        rejections: vec![],
        max_candidates: None,
        providers: vec![],
        env_base_url: None,
    };
    let plan = POLICY.filter_fallbacks(&request).unwrap();
    assert_eq!(plan.candidates.iter().map(|c| c.model.as_str()).collect::<Vec<_>>(), ["openai/gpt-5.5"]);
    assert_eq!(
        plan.dropped.iter().map(|d| d.reason).collect::<Vec<_>>(),
        [DropReason::UnsupportedForPlan, DropReason::Duplicate]
    );

    // Closed loop: classify a rejection the rules do not know, feed `remember` back.
    let verdict = POLICY
        .classify_error(&ProviderFailure {
            status: Some(400),
            body: r#"{"detail":"The 'gpt-5.6-mini' model is not supported when using Codex with a ChatGPT account."}"#
                .into(),
            plan: Some(Plan::Plus),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(verdict.action, Action::DropCandidate);
    request.primary = "openai/gpt-5.6-mini".into();
    request.rejections = verdict.remember.into_iter().collect();
    let plan = POLICY.filter_fallbacks(&request).unwrap();
    assert_eq!(plan.dropped[0].model, "openai/gpt-5.6-mini");
    assert_eq!(plan.dropped[0].reason, DropReason::LearnedRejection);
}
