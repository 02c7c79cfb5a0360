//! A registry process owned by one test: Debian's `docker-registry` on 127.0.0.1 with an
//! ephemeral port, its storage and access log in the test's temporary directory, killed when
//! the test ends. Tests that use it are wrapped in [`crate::needs_docker_registry!`].

use crate::{ENGINE, TempDir, programs, temp_dir};
use ed25519_dalek::SigningKey;
use route_policy_host::{Canary, Policy, ReloadOptions, Trust};
use route_policy_oci::{Artifact, LocalRegistry, OciRef, Registry};

/// A registry process owned by one test, with its files in the test's temporary directory.
pub struct TestRegistry {
    inner: LocalRegistry,
    _dir: TempDir,
}

impl std::ops::Deref for TestRegistry {
    type Target = LocalRegistry;
    fn deref(&self) -> &LocalRegistry {
        &self.inner
    }
}

impl std::ops::DerefMut for TestRegistry {
    fn deref_mut(&mut self) -> &mut LocalRegistry {
        &mut self.inner
    }
}

impl TestRegistry {
    /// Starts one; a missing `docker-registry` fails the test with its install command.
    pub fn start(name: &str) -> TestRegistry {
        let dir = temp_dir(&format!("oci-registry-process-{name}"));
        let inner = LocalRegistry::start(&dir).unwrap_or_else(|e| {
            if e.contains("No such file") || e.contains("not found") {
                panic!("{}", programs::missing("docker-registry"))
            }
            panic!("{e}")
        });
        TestRegistry { inner, _dir: dir }
    }

    /// A reference to `path` (`REPO:TAG`) on this registry.
    pub fn reference(&self, path: &str) -> OciRef {
        self.inner.reference(path).unwrap()
    }

    /// Changes stored bytes in place, keeping their length, as a disk fault or an attacker
    /// with access to the storage would.
    pub fn tamper(&self, digest: &str, edit: impl Fn(&mut Vec<u8>)) {
        let path = self.blob_path(digest);
        let mut bytes = std::fs::read(&path).unwrap();
        let length = bytes.len();
        edit(&mut bytes);
        assert_eq!(bytes.len(), length);
        std::fs::write(&path, bytes).unwrap();
    }
}

/// A signing key made of `n` (tests need several distinct, repeatable keys).
pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

/// Reload options that trust `keys`, with the built-in canary.
pub fn trusting(keys: &[&SigningKey], allow_rollback: bool) -> ReloadOptions {
    let mut trust = Trust::none();
    for key in keys {
        trust = trust.trust_key(key.verifying_key()).unwrap();
    }
    ReloadOptions { trust, canary: Canary::builtin(), allow_rollback }
}

/// Pushes `wasm` under `tag` and signs it with `signer` (if any); the artifact's digest ref.
pub async fn publish(tag: &OciRef, wasm: &[u8], signer: Option<&SigningKey>) -> OciRef {
    let policy = Policy::from_bytes(&ENGINE, wasm, "test".to_owned()).unwrap();
    let artifact = Artifact::new(wasm.to_vec(), policy.id());
    let registry = Registry::new(tag);
    let digest = registry.push(tag, &artifact).await.unwrap();
    assert_eq!(digest, artifact.digest);
    let at = tag.at(&digest);
    if let Some(signer) = signer {
        registry.sign(&at, signer).await.unwrap();
    }
    at
}

/// A runtime for one registry test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}
