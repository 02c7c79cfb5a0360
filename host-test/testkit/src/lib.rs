//! What route-policy's test binaries stand on, so that each crate's tests live beside it and
//! none copies another's helpers: one engine and one loaded built-in policy per test binary
//! ([`ENGINE`], [`POLICY`]), the hostile fixtures built once per binary ([`FIXTURES`]),
//! variants of the built-in policy with edited rule data ([`policy_variant`]), temporary
//! directories removed at the end of a test ([`temp_dir`]), a registry process per test
//! ([`TestRegistry`]), and tests that need an outside program ([`programs`]).
//!
//! It is a dev-dependency only; nothing here ships.
#![allow(missing_docs)]

mod fixtures;
pub mod programs;
mod registry;

pub use fixtures::{FIXTURES, Fixtures, one_attempt_variant, policy_variant};
pub use registry::{TestRegistry, key, publish, runtime, trusting};

use route_policy_host::{Engine, Policy};
use std::path::PathBuf;
use std::sync::LazyLock;

pub static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::builder().build().expect("the default engine builds"));

/// The built-in policy, shared (an executor holds it through an `Arc`).
pub static POLICY: LazyLock<std::sync::Arc<Policy>> =
    LazyLock::new(|| std::sync::Arc::new(Policy::builtin(&ENGINE).expect("the built-in policy loads")));

/// The conformance vectors shared with the native tests.
pub fn vectors_dir() -> PathBuf {
    workspace().join("guest/vectors")
}

/// The workspace's root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh, empty directory for one test, removed when the test ends (pass or fail).
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl From<&TempDir> for PathBuf {
    fn from(dir: &TempDir) -> PathBuf {
        dir.0.clone()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("route-policy-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// The built-in component with a custom section appended: a different file (and sha256) that
/// behaves the same, for swapping between two good policies.
pub fn variant_of_builtin(tag: &str) -> Vec<u8> {
    let mut bytes = route_policy_host::BUILTIN.to_vec();
    let name = b"route-policy-test";
    let mut content = vec![name.len() as u8];
    content.extend_from_slice(name);
    content.extend_from_slice(tag.as_bytes());
    bytes.push(0); // a custom section
    let mut size = content.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        bytes.push(if size == 0 { byte } else { byte | 0x80 });
        if size == 0 {
            break;
        }
    }
    bytes.extend_from_slice(&content);
    bytes
}

/// The ChatGPT sign-in of the seed stories: an OAuth credential on the Plus plan.
pub fn codex_oauth() -> route_policy_contract::types::Credential {
    use route_policy_contract::types::{Credential, CredentialKind, Plan};
    Credential {
        profile_id: "codex".into(),
        provider: "openai-codex".into(),
        kind: CredentialKind::Oauth,
        plan: Plan::Plus,
    }
}

/// The built-in policy's revision (`guest/rules/policy.toml`): tests compare with it, never
/// with a date written into them.
pub fn builtin_revision() -> String {
    POLICY.id().revision.clone()
}

/// A revision newer than the built-in's: the built-in's with `.1` after it.
pub fn newer_revision() -> String {
    format!("{}.1", builtin_revision())
}
