//! Where the secrets are: the policy only ever sees credentials described (a profile id, a
//! provider, a kind, a plan). The executor asks a [`Credentials`] store for the secret of the
//! profile a step names, only after the guard approved the exact URL, and attaches it in the
//! header the endpoint says. A secret never enters the policy, a log or an error.

use crate::signin::CodexAuthFile;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

/// A secret, kept out of `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, to put in a header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A store of secrets by profile id.
pub trait Credentials: Send + Sync {
    /// The secret of `profile_id`, if the store holds one; `Err` says why a secret it holds
    /// could not be had (a sign-in that could not be refreshed). `expired` says the provider
    /// refused the last one as expired: a sign-in is refreshed then, whatever its `exp` says.
    fn secret<'a>(&'a self, profile_id: &'a str, expired: bool) -> BoxFuture<'a, Result<Option<Secret>, String>>;
}

/// Secrets held in memory (read from the environment or files by the host that fills it), and
/// sign-ins refreshed from the Codex CLI's auth file.
#[derive(Default)]
pub struct StaticCredentials {
    secrets: RwLock<HashMap<String, Secret>>,
    sign_ins: RwLock<HashMap<String, Arc<CodexAuthFile>>>,
}

impl StaticCredentials {
    /// An empty store.
    pub fn new() -> StaticCredentials {
        StaticCredentials::default()
    }

    /// Holds `secret` for `profile_id`.
    pub fn with(self, profile_id: impl Into<String>, secret: Secret) -> StaticCredentials {
        self.secrets.write().expect("not poisoned").insert(profile_id.into(), secret);
        self
    }

    /// Serves `profile_id` from a Codex CLI auth file, refreshed when it expires.
    pub fn with_sign_in(self, profile_id: impl Into<String>, file: Arc<CodexAuthFile>) -> StaticCredentials {
        self.sign_ins.write().expect("not poisoned").insert(profile_id.into(), file);
        self
    }
}

impl Credentials for StaticCredentials {
    fn secret<'a>(&'a self, profile_id: &'a str, expired: bool) -> BoxFuture<'a, Result<Option<Secret>, String>> {
        let sign_in = self.sign_ins.read().ok().and_then(|s| s.get(profile_id).cloned());
        let fixed = self.secrets.read().ok().and_then(|s| s.get(profile_id).cloned());
        Box::pin(async move {
            match sign_in {
                Some(file) => file.secret(expired).await.map(Some),
                None => Ok(fixed),
            }
        })
    }
}
