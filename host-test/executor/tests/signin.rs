//! A ChatGPT sign-in kept in the Codex CLI's auth file, against the fake's token endpoint:
//! refreshed once when it expires however many calls (and processes) need it at once, and
//! written back so that the single-use refresh token is never used twice.

use route_policy_executor::{CodexAuthFile, claims};
use route_policy_fake_upstream::FakeUpstream;
use serde_json::{Value, json};
use std::sync::Arc;

fn auth_file(dir: &std::path::Path, access: &str) -> std::path::PathBuf {
    let path = dir.join("auth.json");
    let file = json!({
        "OPENAI_API_KEY": null,
        "tokens": {"id_token": "id-old", "access_token": access, "refresh_token": "rt_first", "account_id": "acct_fake"},
        "last_refresh": "2026-01-01T00:00:00Z",
    });
    std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    path
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_sign_in_is_refreshed_once_by_concurrent_calls_in_two_processes_and_written_back() {
    let fake = FakeUpstream::start(1.0).await.unwrap();
    let dir = route_policy_testkit::temp_dir("signin-refresh");
    let path = auth_file(&dir, &FakeUpstream::access_token("acct_fake", -60));
    let token_url = format!("{}/oauth/token", fake.origin());
    // Two holders of the same file, as the gateway and the Codex CLI would be.
    let (one, two) = (Arc::new(CodexAuthFile::new(&path, &token_url)), Arc::new(CodexAuthFile::new(&path, &token_url)));
    let mut calls = Vec::new();
    for i in 0..8 {
        let holder = Arc::clone(if i % 2 == 0 { &one } else { &two });
        calls.push(tokio::spawn(async move { holder.secret(false).await }));
    }
    let mut tokens = Vec::new();
    for call in calls {
        tokens.push(call.await.unwrap().expect("a fresh token").expose().to_owned());
    }
    assert_eq!(fake.refreshes(), 1, "one refresh for eight calls in two holders");
    assert!(tokens.iter().all(|t| t == &tokens[0]), "every call got the refreshed token");
    let exp = claims(&tokens[0]).and_then(|c| c.get("exp").and_then(Value::as_u64)).unwrap();
    assert!(exp > std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs());
    // The file holds every new token at once (the single-use refresh token above all), keeps
    // its other fields, is private, and no temporary file is left beside it.
    let file = read(&path);
    assert_eq!(file["tokens"]["access_token"], tokens[0].as_str());
    assert_eq!(file["tokens"]["refresh_token"], "rt_fake_1");
    assert_ne!(file["tokens"]["id_token"], "id-old");
    assert_eq!(file["tokens"]["account_id"], "acct_fake");
    assert_ne!(file["last_refresh"], "2026-01-01T00:00:00Z");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let left: Vec<_> = std::fs::read_dir(&*dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_provider_calls_expired_is_refreshed_and_one_refreshed_elsewhere_is_read() {
    let fake = FakeUpstream::start(1.0).await.unwrap();
    let dir = route_policy_testkit::temp_dir("signin-expired");
    let path = auth_file(&dir, &FakeUpstream::access_token("acct_fake", 3600));
    let holder = CodexAuthFile::new(&path, format!("{}/oauth/token", fake.origin()));
    let first = holder.secret(false).await.unwrap().expose().to_owned();
    assert_eq!(fake.refreshes(), 0, "a fresh token is used as it is");
    // The provider refused it as expired: refreshed, whatever its exp says.
    let second = holder.secret(true).await.unwrap().expose().to_owned();
    assert_ne!(first, second);
    assert_eq!(fake.refreshes(), 1);
    // The Codex CLI refreshed the file meanwhile: its token is read, and not refreshed again.
    let elsewhere = FakeUpstream::access_token("acct_fake", 7200);
    let mut file = read(&path);
    file["tokens"]["access_token"] = json!(elsewhere);
    std::fs::write(&path, serde_json::to_string(&file).unwrap()).unwrap();
    let third = holder.secret(true).await.unwrap().expose().to_owned();
    assert_eq!(third, elsewhere);
    assert_eq!(fake.refreshes(), 1);
    // A refresh the token endpoint refuses says why, and never shows a token.
    let mut file = read(&path);
    file["tokens"]["access_token"] = json!(FakeUpstream::access_token("acct_fake", -60));
    file["tokens"]["refresh_token"] = json!("rt_first");
    std::fs::write(&path, serde_json::to_string(&file).unwrap()).unwrap();
    let reused = CodexAuthFile::new(&path, format!("{}/oauth/token", fake.origin())).secret(false).await.unwrap_err();
    assert!(reused.contains("refresh_token_reused") && reused.contains("sign in again"), "{reused}");
    assert!(!reused.contains("eyJ"), "{reused}");
}
