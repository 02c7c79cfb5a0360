//! Invariants of `resolve-endpoint`, over generated URLs and requests (proptest), and the one
//! canonicalizer: every transport's URL is its base plus the path the rule data gives it.

use proptest::prelude::*;
use route_policy_contract::invariants;
use route_policy_contract::types::{
    BaseUrlClass, Capability, Credential, CredentialKind, EndpointRequest, Plan, ProviderConfig, Transport,
};
use route_policy_guest::resolve_endpoint;
use route_policy_guest::rules::ROUTES;
use route_policy_guest::url::{BaseUrl, classify};

/// URLs built from the pieces that matter to classification, plus arbitrary strings.
fn base_url() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec!["https://", "http://", "HTTPS://", "ftp://", "", "https:/"]);
    let userinfo = prop::sample::select(vec!["", "", "", "u@", "u:p@", "chatgpt.com%2F@"]);
    let host = prop::sample::select(vec![
        "api.openai.com",
        "API.OpenAI.com.",
        "chatgpt.com",
        "ChatGPT.com.",
        "chat.openai.com",
        "res.openai.azure.com",
        "localhost",
        "127.0.0.1",
        "[::1]",
        "10.0.0.5",
        "proxy.example.com",
        "chatgpt.com.evil.example",
        "ch\u{0430}tgpt.com",
        "xn--chtgpt-8nf.com",
        "exa mple.com",
        "",
    ]);
    let port = prop::sample::select(vec!["", "", ":443", ":80", ":8080"]);
    let path = prop::sample::select(vec![
        "",
        "/",
        "/v1",
        "/v1/",
        "/v2",
        "/backend-api",
        "/backend-api/",
        "/backend-api/v1",
        "/backend-api/codex",
        "/backend-api/codex/",
        "/backend-api/codex/responses",
        "/openai/v1",
        "//x",
        "/a%2Fb",
        "\\backend-api",
        "/v1/..",
    ]);
    let tail = prop::sample::select(vec!["", "", "", "?", "?a=1", "#f", "\n"]);
    prop_oneof![
        4 => (scheme, userinfo, host, port, path, tail).prop_map(|(s, u, h, p, a, t)| format!("{s}{u}{h}{p}{a}{t}")),
        1 => ".{0,60}",
    ]
}

fn credential() -> impl Strategy<Value = Credential> {
    let provider = prop::sample::select(vec!["openai", "openai-codex", "azure-openai", "openrouter"]);
    let kind = prop::sample::select(CredentialKind::ALL.to_vec());
    let plan = prop::sample::select(Plan::ALL.to_vec());
    (provider, kind, plan, 0..3u8).prop_map(|(provider, kind, plan, n)| Credential {
        profile_id: format!("{provider}-{kind}-{n}"),
        provider: provider.to_owned(),
        kind,
        plan,
    })
}

fn request() -> impl Strategy<Value = EndpointRequest> {
    let model = prop::sample::select(vec![
        "openai/gpt-5.5",
        "gpt-5.5",
        "openai-codex/gpt-5.5",
        "openai/gpt-image-2",
        "azure-openai/gpt-image-1",
        "openai/sora-2",
        "openai/text-embedding-3-small",
        "openai/whisper-1",
        "openai/tts-1",
        "openrouter/x/y",
    ]);
    let capability = prop::sample::select(Capability::ALL.to_vec());
    let config = (prop::sample::select(vec!["openai", "openai-codex", "azure-openai"]), prop::option::of(base_url()))
        .prop_map(|(id, base_url)| ProviderConfig { id: id.to_owned(), base_url, api: None, deployment: None });
    (
        model,
        capability,
        prop::collection::vec(config, 0..3),
        prop::collection::vec(credential(), 0..4),
        prop::option::of(base_url()),
    )
        .prop_map(|(model, capability, mut providers, credentials, env_base_url)| {
            providers.dedup_by(|a, b| a.id == b.id);
            EndpointRequest { model: model.to_owned(), capability, providers, credentials, env_base_url }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Canonicalizing is idempotent: a canonical base classifies to itself, in the same class.
    #[test]
    fn canonicalizing_is_idempotent(raw in base_url()) {
        if let BaseUrl::Valid { class, canonical, .. } = classify(Some(&raw)) {
            match classify(Some(&canonical)) {
                BaseUrl::Valid { class: again, canonical: twice, legacy, .. } => {
                    prop_assert_eq!(again, class);
                    prop_assert_eq!(&twice, &canonical);
                    prop_assert!(!legacy);
                }
                other => prop_assert!(false, "{canonical} from {raw:?} classified as {other:?}"),
            }
        }
    }

    /// Official hosts are recognised only as themselves.
    #[test]
    fn only_official_hosts_are_official(raw in base_url()) {
        if let BaseUrl::Valid { class: BaseUrlClass::Platform | BaseUrlClass::Chatgpt, canonical, .. } = classify(Some(&raw)) {
            prop_assert!(canonical == "https://api.openai.com/v1" || canonical == "https://chatgpt.com/backend-api/codex");
        }
    }

    /// An answer's request URL parses, starts with its base URL, and never pairs an account
    /// credential with the platform or any credential with an invalid URL.
    #[test]
    fn answers_keep_the_routing_invariants(request in request()) {
        let answer = resolve_endpoint(&request);
        if let Err(broken) = invariants::endpoint(&request, &answer) {
            prop_assert!(false, "{broken}");
        }
    }

    /// A secret pasted into a base URL, the env URL or the model ref never reaches the answer.
    #[test]
    fn a_planted_secret_never_reaches_the_answer(
        mut request in request(),
        secret in prop::sample::select(invariants::PLANTED.to_vec()),
        site in 0..3u8,
        at in any::<usize>(),
    ) {
        match site {
            0 => request.model = invariants::plant(&request.model, at, secret),
            1 => request.env_base_url = Some(format!("https://proxy.example.com/v1?api_key={}", invariants::PLANTED_CORE)),
            _ => request.providers.push(ProviderConfig {
                id: "openai-codex".into(),
                base_url: Some(format!("https://u:{}@chatgpt.com/backend-api", invariants::PLANTED_CORE)),
                api: None,
                deployment: None,
            }),
        }
        let answer = resolve_endpoint(&request);
        if let Err(broken) = invariants::no_secret(&answer).and_then(|()| invariants::endpoint(&request, &answer)) {
            prop_assert!(false, "{broken}");
        }
    }

    /// No answer is ever `ok` when the base the route uses is invalid.
    #[test]
    fn an_invalid_base_is_never_ok(raw in base_url(), account in any::<bool>()) {
        prop_assume!(matches!(classify(Some(&raw)), BaseUrl::Invalid { .. }));
        let (config, credential) = if account {
            ("openai-codex", Credential { profile_id: "c".into(), provider: "openai-codex".into(), kind: CredentialKind::Oauth, plan: Plan::Plus })
        } else {
            ("openai", Credential { profile_id: "k".into(), provider: "openai".into(), kind: CredentialKind::ApiKey, plan: Plan::Api })
        };
        let request = EndpointRequest {
            model: "openai/gpt-5.5".into(),
            capability: Capability::Chat,
            providers: vec![ProviderConfig { id: config.into(), base_url: Some(raw), api: None, deployment: None }],
            credentials: vec![credential],
            env_base_url: None,
        };
        prop_assert!(resolve_endpoint(&request).is_err());
    }
}

/// Every transport builds its URL the one way: the canonical base plus the path that the rule
/// data gives the transport. A transport that concatenated anything else fails here.
#[test]
fn every_transport_uses_the_one_canonicalizer() {
    let key =
        Credential { profile_id: "k".into(), provider: "openai".into(), kind: CredentialKind::ApiKey, plan: Plan::Api };
    let oauth = Credential {
        profile_id: "c".into(),
        provider: "openai-codex".into(),
        kind: CredentialKind::Oauth,
        plan: Plan::Plus,
    };
    let azure_key = Credential {
        profile_id: "a".into(),
        provider: "azure-openai".into(),
        kind: CredentialKind::ApiKey,
        plan: Plan::Api,
    };
    let model_for = |capability: Capability| match capability {
        Capability::Chat => "gpt-5.5",
        Capability::ImageGenerate | Capability::ImageEdit => "gpt-image-2",
        Capability::VideoGenerate => "sora-2",
        Capability::Embeddings => "text-embedding-3-small",
        Capability::Transcription => "whisper-1",
        Capability::Speech => "tts-1",
    };
    let bases =
        [None, Some("https://api.openai.com/"), Some("https://proxy.example.com/v1/"), Some("http://localhost:8080")];
    let mut checked = 0;
    for &capability in Capability::ALL {
        for base in bases {
            let providers = base.map(|b| {
                vec![ProviderConfig { id: "openai".into(), base_url: Some(b.into()), api: None, deployment: None }]
            });
            let request = EndpointRequest {
                model: format!("openai/{}", model_for(capability)),
                capability,
                providers: providers.unwrap_or_default(),
                credentials: vec![key.clone()],
                env_base_url: None,
            };
            let endpoint = resolve_endpoint(&request).unwrap();
            let path = ROUTES.platform.paths.iter().find(|p| p.capability == capability).unwrap();
            assert_eq!(endpoint.transport, path.transport);
            assert_eq!(endpoint.request_url, format!("{}{}", endpoint.base_url, path.path), "{capability} at {base:?}");
            checked += 1;
        }
        if ROUTES.codex.capabilities.contains(&capability) {
            for base in [None, Some("https://chatgpt.com/backend-api"), Some("http://127.0.0.1:9/backend-api/codex")] {
                let request = EndpointRequest {
                    model: format!("openai/{}", model_for(capability)),
                    capability,
                    providers: base
                        .map(|b| {
                            vec![ProviderConfig {
                                id: "openai-codex".into(),
                                base_url: Some(b.into()),
                                api: None,
                                deployment: None,
                            }]
                        })
                        .unwrap_or_default(),
                    credentials: vec![oauth.clone()],
                    env_base_url: None,
                };
                let endpoint = resolve_endpoint(&request).unwrap();
                assert_eq!(
                    endpoint.request_url,
                    format!("{}{}", endpoint.base_url, ROUTES.codex.path),
                    "{capability} at {base:?}"
                );
                checked += 1;
            }
        }
        let azure = EndpointRequest {
            model: format!("azure-openai/{}", model_for(capability)),
            capability,
            providers: vec![ProviderConfig {
                id: "azure-openai".into(),
                base_url: Some("https://r.openai.azure.com/openai/v1".into()),
                api: None,
                deployment: None,
            }],
            credentials: vec![azure_key.clone()],
            env_base_url: None,
        };
        if let Ok(endpoint) = resolve_endpoint(&azure) {
            let path = match endpoint.transport {
                Transport::AzureResponses => ROUTES.azure.responses_path.to_owned(),
                _ => {
                    let operation = if capability == Capability::ImageEdit { "edits" } else { "generations" };
                    let path = ROUTES
                        .azure
                        .images_path
                        .replace("{deployment}", model_for(capability))
                        .replace("{operation}", operation);
                    format!("{path}?api-version={}", ROUTES.azure.images_api_version)
                }
            };
            assert_eq!(endpoint.request_url, format!("{}{path}", endpoint.base_url), "azure {capability}");
            checked += 1;
        }
    }
    assert_eq!(checked, 7 * 4 + 3 * 3 + 3);
}
