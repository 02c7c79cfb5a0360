//! ChatGPT sign-ins that last: the Codex CLI's auth file (`~/.codex/auth.json`) as a credential.
//!
//! The file holds `{"tokens": {"access_token", "refresh_token", "id_token", "account_id"}, …}`.
//! The access token is a JWT whose `exp` says when it expires; a little before then (or when
//! the provider said it expired), the sign-in is refreshed through OpenAI's token endpoint
//! (`POST https://auth.openai.com/oauth/token`, `grant_type=refresh_token`, the Codex CLI's
//! client id). Refresh tokens are single-use, and the Codex CLI may refresh the same file, so a
//! refresh is taken with care:
//!
//! 1. one refresh at a time in this process (calls that need one wait for it and share it);
//! 2. an exclusive lock on `auth.json.lock` beside the file, against other processes;
//! 3. the file is read again inside the lock: if another process already refreshed it, its
//!    token is used, and the token endpoint is not asked;
//! 4. the new tokens are written back at once, through a private temporary file renamed over
//!    the old one (mode 0600), every other field kept.
//!
//! No token ever reaches a log, an error or the policy; errors name the file and what failed.

use crate::credentials::Secret;
use base64::Engine as _;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// OpenAI's token endpoint.
pub const TOKEN_URL: &str = "https://auth.openai.com/oauth/token";

/// The Codex CLI's OAuth client id (public, in its source).
pub const CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// A token is refreshed this long before its `exp`, so that it does not expire in flight.
const EARLY: Duration = Duration::from_secs(60);

/// How long the token endpoint may take.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(30);

/// The Codex CLI's auth file, as a refreshable sign-in.
pub struct CodexAuthFile {
    path: PathBuf,
    token_url: String,
    client: reqwest::Client,
    /// The newest access token this process knows; one refresh at a time.
    current: tokio::sync::Mutex<Option<String>>,
}

impl CodexAuthFile {
    /// The sign-in kept in `path`, refreshed through `token_url` (OpenAI's, or a loopback
    /// server standing in for it in tests).
    pub fn new(path: impl Into<PathBuf>, token_url: impl Into<String>) -> CodexAuthFile {
        let client = reqwest::Client::builder()
            .timeout(REFRESH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        CodexAuthFile { path: path.into(), token_url: token_url.into(), client, current: tokio::sync::Mutex::new(None) }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A fresh access token: the one known, the file's, or a refreshed one. `expired` says the
    /// provider refused the one sent as expired: then it is refreshed even if its `exp` is
    /// still ahead (unless the file already holds another).
    pub async fn secret(&self, expired: bool) -> Result<Secret, String> {
        let mut current = self.current.lock().await;
        if !expired && let Some(token) = current.as_ref().filter(|t| fresh(t)) {
            return Ok(Secret::new(token.clone()));
        }
        let stale = current.clone();
        let file = self.read()?;
        let on_file = access_token(&file).ok_or_else(|| self.problem("holds no tokens.access_token"))?;
        if fresh(&on_file) && !(expired && stale.as_deref() == Some(on_file.as_str())) {
            *current = Some(on_file.clone());
            return Ok(Secret::new(on_file));
        }
        let refreshed = self.refresh(stale.as_deref()).await?;
        *current = Some(refreshed.clone());
        Ok(Secret::new(refreshed))
    }

    /// Refreshes under the file lock; `stale` is the token found wanting.
    async fn refresh(&self, stale: Option<&str>) -> Result<String, String> {
        let lock_path = self.path.with_extension("json.lock");
        let lock = tokio::task::spawn_blocking(move || FileLock::take(&lock_path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| self.problem(&format!("its lock could not be taken: {e}")))?;
        // Another process may have refreshed while this one waited for the lock.
        let mut file = self.read()?;
        let on_file = access_token(&file).ok_or_else(|| self.problem("holds no tokens.access_token"))?;
        if fresh(&on_file) && stale != Some(on_file.as_str()) {
            drop(lock);
            return Ok(on_file);
        }
        let refresh_token = file
            .pointer("/tokens/refresh_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.problem("holds no tokens.refresh_token; sign in again with the Codex CLI"))?
            .to_owned();
        let body = json!({"client_id": CODEX_CLIENT_ID, "grant_type": "refresh_token", "refresh_token": refresh_token});
        let response = self
            .client
            .post(&self.token_url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| self.problem(&format!("the token endpoint could not be reached: {}", without_url(&e))))?;
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default();
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            // The endpoint's error code, never its body (it may echo a token).
            let code = answer
                .pointer("/error/code")
                .or_else(|| answer.get("error"))
                .and_then(Value::as_str)
                .map(|c| c.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect::<String>())
                .unwrap_or_default();
            return Err(self.problem(&format!(
                "the token endpoint refused the refresh (HTTP {}{}); sign in again with the Codex CLI",
                status.as_u16(),
                if code.is_empty() { String::new() } else { format!(", {code}") }
            )));
        }
        let access = answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.problem("the token endpoint answered without an access_token"))?
            .to_owned();
        // Every token the answer holds replaces the file's: a refresh token is single-use.
        let tokens = file.as_object_mut().map(|o| o.entry("tokens").or_insert_with(|| json!({})));
        if let Some(Value::Object(tokens)) = tokens {
            for key in ["access_token", "refresh_token", "id_token"] {
                if let Some(value) = answer.get(key).filter(|v| v.is_string()) {
                    tokens.insert(key.to_owned(), value.clone());
                }
            }
        }
        if let Some(object) = file.as_object_mut() {
            object.insert("last_refresh".to_owned(), Value::from(rfc3339(SystemTime::now())));
        }
        self.write(&file)?;
        drop(lock);
        Ok(access)
    }

    fn read(&self) -> Result<Value, String> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| self.problem(&format!("cannot be read: {e}")))?;
        serde_json::from_str(&text).map_err(|e| self.problem(&format!("is not JSON: {e}")))
    }

    /// Writes the file whole, through a private temporary file renamed over it.
    fn write(&self, file: &Value) -> Result<(), String> {
        use std::io::Write;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let name = self.path.file_name().and_then(|n| n.to_str()).unwrap_or("auth.json");
        let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        }
        let _ = std::fs::remove_file(&temporary);
        let written = options.open(&temporary).and_then(|mut out| {
            out.write_all(serde_json::to_string_pretty(file).unwrap_or_default().as_bytes())?;
            out.write_all(b"\n")?;
            out.sync_all()
        });
        let renamed = written.and_then(|()| std::fs::rename(&temporary, &self.path));
        renamed.map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            self.problem(&format!("could not be rewritten: {e}"))
        })
    }

    fn problem(&self, what: &str) -> String {
        format!("the Codex sign-in file {} {what}", self.path.display())
    }
}

/// An exclusive lock on a file, released when dropped.
struct FileLock(#[allow(dead_code)] std::fs::File); // held for its lock

impl FileLock {
    fn take(path: &Path) -> std::io::Result<FileLock> {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
        #[cfg(unix)]
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(FileLock(file))
    }
}

/// The access token in a Codex auth file.
fn access_token(file: &Value) -> Option<String> {
    file.pointer("/tokens/access_token").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// A JWT's claims, if it is one.
pub fn claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether a token is not about to expire: its `exp` is more than [`EARLY`] ahead, or it has
/// none (an opaque token is refreshed only when the provider says it expired).
fn fresh(token: &str) -> bool {
    let Some(exp) = claims(token).and_then(|c| c.get("exp").and_then(Value::as_u64)) else { return true };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Duration::from_secs(exp) > now + EARLY
}

/// A reqwest error without its URL (a loopback port, or a query, is no one's business).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "the endpoint");
    }
    text
}

/// A time in RFC 3339 (UTC), as the Codex CLI writes `last_refresh`.
fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_the_codex_cli_writes_them() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_000_000)), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn a_token_is_fresh_until_shortly_before_its_exp() {
        let jwt = |exp: u64| {
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"exp\":{exp}}}"));
            format!("eyJhbGciOiJub25lIn0.{payload}.sig")
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert!(fresh(&jwt(now + 3600)));
        assert!(!fresh(&jwt(now + 30)), "within a minute of its exp it is refreshed");
        assert!(!fresh(&jwt(now - 10)));
        assert!(fresh("opaque-token"), "an opaque token waits for the provider to say");
    }
}
