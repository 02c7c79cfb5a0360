//! A ChatGPT sign-in configured as the Codex CLI's auth file (`codex-auth-file`): its expired
//! token is refreshed once for many concurrent clients, through the loopback route that stands
//! for auth.openai.com, and every call is served with the new one.

use crate::rig::*;
use route_policy_fake_upstream::FakeUpstream;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_sign_in_is_refreshed_once_for_concurrent_clients() {
    let fake = FakeUpstream::start(SCALE).await.unwrap();
    let dir = route_policy_testkit::temp_dir("gateway-signin");
    let auth = dir.join("auth.json");
    let file =
        json!({"tokens": {"access_token": FakeUpstream::access_token("acct_fake", -60), "refresh_token": "rt_first"}});
    std::fs::write(&auth, file.to_string()).unwrap();
    let text = format!(
        r#"
        [[credentials]]
        profile-id = "codex"
        provider = "openai-codex"
        kind = "oauth"
        plan = "plus"
        codex-auth-file = {auth:?}

        [[routes]]
        from = "https://chatgpt.com"
        to = "{origin}"

        [[routes]]
        from = "https://auth.openai.com"
        to = "{origin}"

        [[models]]
        name = "mini"
        primary = "openai/gpt-5.4-mini"
        "#,
        auth = auth.display().to_string(),
        origin = fake.origin()
    );
    let rig = serve(fake, &text).await;
    let calls: Vec<_> =
        (0..8).map(|_| rig.post("/v1/responses", json!({"model": "mini", "input": "Count to sixty."}))).collect();
    for response in futures_util::future::join_all(calls).await {
        assert_eq!(response.status(), 200);
    }
    assert_eq!(rig.fake.refreshes(), 1);
    assert!(rig.fake.log().iter().all(|l| l.answer == "200"), "no call went out with the expired token");
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&auth).unwrap()).unwrap();
    assert_eq!(kept["tokens"]["refresh_token"], "rt_fake_1");
}

#[test]
fn a_codex_auth_file_is_a_sign_ins_own_source() {
    let both = "[[credentials]]\nprofile-id = \"c\"\nprovider = \"openai-codex\"\nkind = \"oauth\"\nplan = \"plus\"\nsecret-env = \"X\"\ncodex-auth-file = \"auth.json\"\n";
    assert!(route_policy_gateway::Config::parse(both).unwrap_err().contains("exactly one"));
    let key = "[[credentials]]\nprofile-id = \"k\"\nprovider = \"openai\"\nkind = \"api-key\"\ncodex-auth-file = \"auth.json\"\n";
    assert!(route_policy_gateway::Config::parse(key).unwrap_err().contains("kind is oauth"));
}
