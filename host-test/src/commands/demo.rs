//! `route-policy demo`: the three seed stories, told through the real component. Each shows
//! what a naive host did, then what the policy decides and why (rule ids, notes).

use crate::cli::CliResult;
use crate::commands::oneshot::readable;
use route_policy_host::Router;
use route_policy_host::types::{
    Capability, Credential, CredentialKind, EndpointRequest, FallbackRequest, Plan, ProviderConfig, ProviderFailure,
};
use route_policy_host::wire::{Answer, Call};
use std::process::ExitCode;

/// Tells the stories; fails if the policy's answers are not the ones the stories need.
pub fn run(router: &dyn Router) -> CliResult<ExitCode> {
    let info = router.policy_info().map_err(|e| e.to_string())?;
    println!(
        "route-policy demo: policy revision {} (contract {}, rules {})\n",
        info.revision,
        info.contract,
        &info.rules_digest[..12]
    );
    let mut ok = true;
    ok &= legacy_base_url(router)?;
    ok &= oauth_on_platform(router)?;
    ok &= plan_gated_model(router)?;
    println!(
        "{}",
        if ok {
            "All three stories ended as the policy intends."
        } else {
            "A story did not end as intended (see above)."
        }
    );
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn codex_oauth(plan: Plan) -> Credential {
    Credential {
        profile_id: "openai-codex:me@example.com".into(),
        provider: "openai-codex".into(),
        kind: CredentialKind::Oauth,
        plan,
    }
}

fn ask(router: &dyn Router, call: Call) -> Result<Answer, String> {
    let answer = router.call(&call).map_err(|e| e.to_string())?;
    print!("{}", readable(&answer));
    Ok(answer)
}

fn heading(title: &str, seed: &str) {
    println!("== {title}  [{seed}]");
}

fn outcome(good: bool, what: &str) -> bool {
    println!("  => {} {what}\n", if good { "ok:" } else { "NOT AS INTENDED:" });
    good
}

fn legacy_base_url(router: &dyn Router) -> Result<bool, String> {
    heading("A legacy base URL", "seed 004, openclaw#71460");
    let legacy = "https://chatgpt.com/backend-api";
    println!("Config: openai-codex base-url = {legacy}; only a Codex sign-in; image_generate with openai/gpt-image-2.");
    println!("Naive host: builds {legacy} + /responses = {legacy}/responses,");
    println!("            gets an HTML 403, and silently serves an image from another provider.\n");

    println!("Policy, classify-error on that HTML 403:");
    let failure = ProviderFailure {
        status: Some(403),
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: "<html> <head><title>403 Forbidden</title></head> ... </html>".into(),
        request_url: Some(format!("{legacy}/responses")),
        credential_kind: Some(CredentialKind::Oauth),
        ..ProviderFailure::default()
    };
    let verdict = ask(router, Call::ClassifyError(failure))?;
    let mismatch = matches!(&verdict, Answer::Verdict(v) if v.reason.as_str() == "endpoint-mismatch" && v.action.as_str() == "re-resolve-endpoint");

    println!("\nPolicy, resolve-endpoint for the same request:");
    let request = EndpointRequest {
        model: "openai/gpt-image-2".into(),
        capability: Capability::ImageGenerate,
        providers: vec![ProviderConfig {
            id: "openai-codex".into(),
            base_url: Some(legacy.into()),
            ..Default::default()
        }],
        credentials: vec![codex_oauth(Plan::Plus)],
        env_base_url: None,
    };
    let endpoint = ask(router, Call::ResolveEndpoint(request))?;
    let canonical = matches!(&endpoint, Answer::Endpoint(Ok(e)) if e.request_url == "https://chatgpt.com/backend-api/codex/responses");
    Ok(outcome(
        mismatch && canonical,
        "the image path now uses the canonical Codex URL, and an HTML 403 is never read as an auth failure",
    ))
}

fn oauth_on_platform(router: &dyn Router) -> Result<bool, String> {
    heading("An OAuth token sent to the platform API", "seed 000, OpenClaw 2026.5.7");
    println!("Naive host: sends the Codex sign-in to https://api.openai.com/v1/responses and gets:");
    let body = r#"{"error":{"message":"You have insufficient permissions for this operation. Missing scopes: api.responses.write. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a ChatGPT subscription, verify that the model supports this action.","type":"invalid_request_error","param":null,"code":null}}"#;
    println!("            401 \"Missing scopes: api.responses.write\"\n");

    println!("Policy, classify-error on that 401:");
    let failure = ProviderFailure {
        status: Some(401),
        body: body.into(),
        request_url: Some("https://api.openai.com/v1/responses".into()),
        credential_kind: Some(CredentialKind::Oauth),
        plan: Some(Plan::Plus),
        ..ProviderFailure::default()
    };
    let verdict = ask(router, Call::ClassifyError(failure))?;
    let reroute = matches!(&verdict, Answer::Verdict(v) if v.action.as_str() == "re-resolve-endpoint");

    println!("\nPolicy, resolve-endpoint with only the sign-in:");
    let request = EndpointRequest {
        model: "openai/gpt-image-2".into(),
        capability: Capability::ImageGenerate,
        providers: vec![],
        credentials: vec![codex_oauth(Plan::Plus)],
        env_base_url: None,
    };
    let endpoint = ask(router, Call::ResolveEndpoint(request.clone()))?;
    let codex = matches!(&endpoint, Answer::Endpoint(Ok(e)) if e.transport.as_str() == "codex-responses" && e.tool.as_deref() == Some("image_generation"));

    println!("\nPolicy, when a config points the sign-in at the platform API:");
    let mut misconfigured = request;
    misconfigured.providers = vec![ProviderConfig {
        id: "openai-codex".into(),
        base_url: Some("https://api.openai.com/v1".into()),
        ..Default::default()
    }];
    let refused = ask(router, Call::ResolveEndpoint(misconfigured))?;
    let clear = matches!(&refused, Answer::Endpoint(Err(e)) if e.code.as_str() == "invalid-base-url");
    Ok(outcome(
        reroute && codex && clear,
        "an OAuth token is never paired with api.openai.com; images go through the Codex image_generation tool",
    ))
}

fn plan_gated_model(router: &dyn Router) -> Result<bool, String> {
    heading("A plan-gated model in the fallback chain", "seed 000");
    let chain = ["openai-codex/gpt-5.5-pro", "openai-codex/gpt-5.5"];
    println!("Config: primary openai-codex/gpt-5.5, fallbacks {chain:?}, a ChatGPT Plus sign-in.");
    println!(
        "Naive host: keeps gpt-5.5-pro and gets \"The 'gpt-5.5-pro' model is not supported when using Codex with a ChatGPT account.\"\n"
    );

    println!("Policy, filter-fallbacks:");
    let mut request = FallbackRequest {
        capability: Capability::Chat,
        primary: "openai-codex/gpt-5.5".into(),
        fallbacks: chain.iter().map(|s| (*s).into()).collect(),
        explicit_override: None,
        credentials: vec![codex_oauth(Plan::Plus)],
        rejections: vec![],
        max_candidates: None,
        providers: vec![],
        env_base_url: None,
    };
    let plan = ask(router, Call::FilterFallbacks(request.clone()))?;
    let gated =
        matches!(&plan, Answer::Plan(Ok(p)) if p.candidates.len() == 1 && p.candidates[0].model == "openai/gpt-5.5");

    println!("\nA model the rules do not know yet: the backend rejects it, the policy learns it.");
    println!("Policy, classify-error on the backend's 400:");
    let failure = ProviderFailure {
        status: Some(400),
        body: r#"{"detail":"The 'gpt-5.6-preview' model is not supported when using Codex with a ChatGPT account."}"#
            .into(),
        request_url: Some("https://chatgpt.com/backend-api/codex/responses".into()),
        credential_kind: Some(CredentialKind::Oauth),
        plan: Some(Plan::Plus),
        ..ProviderFailure::default()
    };
    let verdict = ask(router, Call::ClassifyError(failure))?;
    let remember = match &verdict {
        Answer::Verdict(v) => v.remember.clone(),
        _ => None,
    };

    println!("\nPolicy, filter-fallbacks with that rejection remembered:");
    request.primary = "openai/gpt-5.6-preview".into();
    request.fallbacks = vec!["openai/gpt-5.5".into()];
    request.rejections = remember.iter().cloned().collect();
    let learned = ask(router, Call::FilterFallbacks(request))?;
    let dropped = matches!(&learned, Answer::Plan(Ok(p)) if p.dropped.first().is_some_and(|d| d.reason.as_str() == "learned-rejection"));
    Ok(outcome(
        gated && remember.is_some() && dropped,
        "the chain keeps only what the account can use, and says why for the rest",
    ))
}
