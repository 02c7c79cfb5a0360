//! Contract versions: a policy built for an earlier contract (`wit/v0.1`) keeps serving under
//! this host, through that version's bindings, for the verbs its version has; a verb added
//! later is answered with an error that names both versions.

use route_policy_contract::types::{
    CallState, Capability, Credential, CredentialKind, EndpointRequest, FallbackRequest, Plan, ProviderFailure,
};
use route_policy_host::{Error, Policy, Router};
use route_policy_testkit::{ENGINE, FIXTURES};

fn key() -> Credential {
    Credential { profile_id: "key".into(), provider: "openai".into(), kind: CredentialKind::ApiKey, plan: Plan::Api }
}

fn chain() -> FallbackRequest {
    FallbackRequest {
        capability: Capability::Chat,
        primary: "openai/gpt-5.5".into(),
        fallbacks: vec!["gpt-4.1".into()],
        explicit_override: None,
        credentials: vec![key()],
        rejections: vec![],
        max_candidates: None,
        providers: vec![],
        env_base_url: None,
    }
}

#[test]
fn a_policy_built_for_contract_0_1_loads_and_answers_its_verbs() {
    let policy = Policy::from_bytes(&ENGINE, &FIXTURES.v0_1, "v0.1.wasm".into()).expect("a 0.1 policy loads");
    assert_eq!((policy.id().contract.as_str(), policy.id().revision.as_str()), ("0.1.0", "v0.1-fixture"));
    let endpoint = policy.resolve_endpoint(&chain().endpoint_request("openai/gpt-5.5")).unwrap();
    assert_eq!(endpoint.request_url, "https://api.openai.com/v1/responses");
    assert_eq!(endpoint.rules, vec!["v0-1.platform".to_owned()]);
    let plan = policy.filter_fallbacks(&chain()).unwrap();
    let models: Vec<&str> = plan.candidates.iter().map(|c| c.model.as_str()).collect();
    assert_eq!(models, vec!["openai/gpt-5.5", "openai/gpt-4.1"]);
    let failure: ProviderFailure = serde_json::from_value(serde_json::json!({"status": 503, "body": "down"})).unwrap();
    assert_eq!(policy.classify_error(&failure).unwrap().rule, "v0-1.surface");
    // The guard holds it to today's rules: a sign-in is no API key, so it cannot be routed.
    let signin = Credential { kind: CredentialKind::Oauth, provider: "openai-codex".into(), plan: Plan::Plus, ..key() };
    let request = EndpointRequest { credentials: vec![signin], ..chain().endpoint_request("gpt-5.5") };
    assert!(matches!(policy.resolve_endpoint(&request), Err(Error::Policy(_))));
}

#[test]
fn a_verb_added_after_a_policys_contract_names_both_versions() {
    let policy = Policy::from_bytes(&ENGINE, &FIXTURES.v0_1, "v0.1.wasm".into()).unwrap();
    let call = CallState {
        chain: chain(),
        streaming: false,
        started_ms: 0,
        now_ms: 0,
        attempts: vec![],
        health: vec![],
        jitter_seed: 0,
    };
    let error = policy.next_step(&call).unwrap_err();
    assert!(matches!(error, Error::Host { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("contract 0.1.0") && message.contains("no next-step (since 0.2)"), "{message}");
    // A warm session answers the same.
    assert!(policy.session().next_step(&call).is_err());
}
