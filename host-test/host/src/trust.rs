//! Whether a policy file may be loaded at all: a sha256 pin, and ed25519 signatures from keys
//! the operator trusts.
//!
//! A signature covers `route-policy component v1\0` followed by the component's sha256, so a
//! key used for route-policy signs nothing else by accident. It is stored beside the component
//! as `FILE.sig` (hex, 64 bytes); keys are hex files, `NAME.pub` (32 bytes) and `NAME.key` (the
//! 32-byte secret seed, mode 0600).
//!
//! Signatures are checked with `verify_strict`: a non-canonical signature is refused, and so is
//! a weak public key (a point of small order, such as the identity), which would otherwise
//! "verify" a degenerate signature over any file.

use crate::error::TrustError;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What a signature signs: a fixed context, then the component's sha256.
const CONTEXT: &[u8] = b"route-policy component v1\0";

/// What a registry signature signs: a fixed context, the sha256 of the artifact's manifest
/// (which names the component's digest, its media types and its annotations), then the
/// repository it was signed for, so that a signature made for one repository (staging) cannot
/// vouch for the same manifest copied into another (production). The contexts differ, so a
/// file signature can never pass for a manifest signature, or back.
const MANIFEST_CONTEXT: &[u8] = b"route-policy oci manifest v2\0";

fn manifest_message(manifest_digest: &[u8; 32], repository: &str) -> Vec<u8> {
    [MANIFEST_CONTEXT, manifest_digest, repository.as_bytes()].concat()
}

/// What the host requires of a policy file before it compiles it.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    pin: Option<[u8; 32]>,
    keys: Vec<VerifyingKey>,
}

impl Trust {
    /// Requires no pin and no signature.
    pub fn none() -> Trust {
        Trust::default()
    }

    /// Requires the component's sha256 to be `hex`.
    pub fn pin_sha256(mut self, hex: &str) -> Result<Trust, TrustError> {
        self.pin = Some(decode::<32>(hex.trim()).ok_or_else(|| TrustError::BadPin(hex.to_owned()))?);
        Ok(self)
    }

    /// Requires a signature by `key` (or by any other trusted key). A weak key is refused: it
    /// would accept forged signatures.
    pub fn trust_key(mut self, key: VerifyingKey) -> Result<Trust, TrustError> {
        if key.is_weak() {
            return Err(TrustError::WeakKey { path: PathBuf::from("(key)") });
        }
        self.keys.push(key);
        Ok(self)
    }

    /// Whether anything is required.
    pub fn is_required(&self) -> bool {
        self.pin.is_some() || !self.keys.is_empty()
    }

    /// Checks the component's bytes, reading `FILE.sig` beside `path` when signatures are
    /// required. The error says what failed.
    pub fn verify(&self, bytes: &[u8], path: Option<&Path>) -> Result<(), TrustError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(pin) = self.pin
            && pin != digest
        {
            return Err(TrustError::PinMismatch { actual: hex(&digest), pinned: hex(&pin) });
        }
        if self.keys.is_empty() {
            return Ok(());
        }
        let path = path.ok_or(TrustError::NoFile)?;
        let sig_path = signature_path(path);
        let text = std::fs::read_to_string(&sig_path).map_err(|e| TrustError::File {
            path: sig_path.clone(),
            reason: format!("a signature is required: {e}"),
        })?;
        let signature = decode::<64>(text.trim()).map(|b| Signature::from_bytes(&b)).ok_or_else(|| {
            TrustError::File { path: sig_path.clone(), reason: "not a signature (128 hex digits)".to_owned() }
        })?;
        if self.signed_by_trusted_key(&digest, &signature) {
            Ok(())
        } else {
            Err(TrustError::BadSignature { path: sig_path })
        }
    }

    /// Whether a trusted key signed this component's sha256 (`verify_strict`, strong keys only).
    pub fn signed_by_trusted_key(&self, digest: &[u8; 32], signature: &Signature) -> bool {
        self.any_key_verifies(&signed_message(digest), signature)
    }

    /// Whether a trusted key signed this manifest's sha256 for `repository`, as
    /// [`sign_manifest`] does.
    pub fn manifest_signed_by_trusted_key(
        &self,
        manifest_digest: &[u8; 32],
        repository: &str,
        signature: &Signature,
    ) -> bool {
        self.any_key_verifies(&manifest_message(manifest_digest, repository), signature)
    }

    /// Whether any signing key is trusted.
    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    fn any_key_verifies(&self, message: &[u8], signature: &Signature) -> bool {
        self.keys.iter().any(|key| !key.is_weak() && key.verify_strict(message, signature).is_ok())
    }
}

/// `FILE.sig` for `FILE`.
pub fn signature_path(component: &Path) -> PathBuf {
    let mut name = component.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

fn signed_message(digest: &[u8; 32]) -> Vec<u8> {
    [CONTEXT, digest].concat()
}

/// Makes a key pair; writes `NAME.key` (mode 0600) and `NAME.pub`.
pub fn keygen(name: &Path) -> Result<(PathBuf, PathBuf), TrustError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| TrustError::File { path: name.to_owned(), reason: format!("no randomness for a key: {e}") })?;
    let key = SigningKey::from_bytes(&seed);
    let secret = name.with_extension("key");
    let public = name.with_extension("pub");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options
        .open(&secret)
        .and_then(|mut f| f.write_all(format!("{}\n", hex(&seed)).as_bytes()))
        .map_err(|e| file_error(&secret, e))?;
    std::fs::write(&public, format!("{}\n", hex(key.verifying_key().as_bytes())))
        .map_err(|e| file_error(&public, e))?;
    Ok((secret, public))
}

/// Reads a secret key file (`NAME.key`, the 32-byte seed in hex).
pub fn read_secret_key(key: &Path) -> Result<SigningKey, TrustError> {
    let text = std::fs::read_to_string(key).map_err(|e| file_error(key, e))?;
    let seed = decode::<32>(text.trim()).ok_or_else(|| TrustError::File {
        path: key.to_owned(),
        reason: "not a secret key (64 hex digits)".to_owned(),
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Signs an artifact manifest's sha256 for `repository` (its name in the registry, without
/// the registry's host, so that a mirror verifies), for
/// [`Trust::manifest_signed_by_trusted_key`].
pub fn sign_manifest(key: &SigningKey, manifest_digest: &[u8; 32], repository: &str) -> Signature {
    key.sign(&manifest_message(manifest_digest, repository))
}

/// Signs the component at `path` with the secret key file `key`; writes `FILE.sig`.
pub fn sign(key: &Path, path: &Path) -> Result<PathBuf, TrustError> {
    let key = read_secret_key(key)?;
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let signature = key.sign(&signed_message(&digest));
    let sig_path = signature_path(path);
    std::fs::write(&sig_path, format!("{}\n", hex(&signature.to_bytes()))).map_err(|e| file_error(&sig_path, e))?;
    Ok(sig_path)
}

fn file_error(path: &Path, error: std::io::Error) -> TrustError {
    TrustError::File { path: path.to_owned(), reason: error.to_string() }
}

/// Reads a public key file; a weak key is refused.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, TrustError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    let bytes = decode::<32>(text.trim()).ok_or_else(|| TrustError::File {
        path: path.to_owned(),
        reason: "not a public key (64 hex digits)".to_owned(),
    })?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|e| TrustError::File { path: path.to_owned(), reason: format!("not an ed25519 public key: {e}") })?;
    if key.is_weak() {
        return Err(TrustError::WeakKey { path: path.to_owned() });
    }
    Ok(key)
}

use crate::identity::{from_hex as decode, hex};

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("route-policy-trust-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The identity point as a "trusted key", with the degenerate signature (R = identity,
    /// s = 0), verifies every message under `verify`; it must never be trusted.
    #[test]
    fn the_identity_key_and_a_degenerate_signature_are_refused() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let key = VerifyingKey::from_bytes(&identity).unwrap();
        assert!(key.is_weak());
        assert!(matches!(Trust::none().trust_key(key), Err(TrustError::WeakKey { .. })));
        let dir = dir("weak");
        std::fs::write(dir.join("weak.pub"), format!("{}\n", hex(&identity))).unwrap();
        assert!(matches!(read_public_key(&dir.join("weak.pub")), Err(TrustError::WeakKey { .. })));
        // Even a Trust built around it (as older code did) refuses the forged signature.
        let mut degenerate = [0u8; 64];
        degenerate[0] = 1;
        let forged = Signature::from_bytes(&degenerate);
        use ed25519_dalek::Verifier;
        assert!(key.verify(&signed_message(&[7; 32]), &forged).is_ok(), "the attack works on plain verify");
        let trust = Trust { pin: None, keys: vec![key] };
        assert!(!trust.signed_by_trusted_key(&[7; 32], &forged));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_real_signature_verifies_and_a_tampered_one_does_not() {
        let dir = dir("real");
        let (secret, public) = keygen(&dir.join("k")).unwrap();
        let component = dir.join("p.wasm");
        std::fs::write(&component, b"bytes").unwrap();
        sign(&secret, &component).unwrap();
        let trust = Trust::none().trust_key(read_public_key(&public).unwrap()).unwrap();
        trust.verify(b"bytes", Some(&component)).unwrap();
        assert!(matches!(trust.verify(b"other", Some(&component)), Err(TrustError::BadSignature { .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
