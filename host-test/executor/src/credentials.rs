//! Where the secrets are: the policy only ever sees credentials described (a profile id, a
//! provider, a kind, a plan). The executor asks a [`Credentials`] store for the secret of the
//! profile a step names, only after the guard approved the exact URL, and attaches it in the
//! header the endpoint says. A secret never enters the policy, a log or an error.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

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
    /// The secret of `profile_id`, if the store holds one.
    fn secret(&self, profile_id: &str) -> Option<Secret>;

    /// Refreshes a sign-in the provider said has expired; whether a fresh one is now held. The
    /// default store cannot refresh.
    fn refresh(&self, _profile_id: &str) -> bool {
        false
    }
}

/// Secrets held in memory (read from the environment or files by the host that fills it).
#[derive(Default)]
pub struct StaticCredentials {
    secrets: RwLock<HashMap<String, Secret>>,
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
}

impl Credentials for StaticCredentials {
    fn secret(&self, profile_id: &str) -> Option<Secret> {
        self.secrets.read().ok()?.get(profile_id).cloned()
    }
}
