//! Whether a policy file may be loaded at all: a sha256 pin, and ed25519 signatures from keys
//! the operator trusts.
//!
//! A signature covers `route-policy component v1\0` followed by the component's sha256, so a
//! key used for route-policy signs nothing else by accident. It is stored beside the component
//! as `FILE.sig` (hex, 64 bytes); keys are hex files, `NAME.pub` (32 bytes) and `NAME.key` (the
//! 32-byte secret seed, mode 0600).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What a signature signs: a fixed context, then the component's sha256.
const CONTEXT: &[u8] = b"route-policy component v1\0";

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
    pub fn pin_sha256(mut self, hex: &str) -> Result<Trust, String> {
        self.pin = Some(decode::<32>(hex.trim()).ok_or_else(|| format!("`{hex}` is not a sha256 (64 hex digits)"))?);
        Ok(self)
    }

    /// Requires a signature by `key` (or by any other trusted key).
    pub fn trust_key(mut self, key: VerifyingKey) -> Trust {
        self.keys.push(key);
        self
    }

    /// Whether anything is required.
    pub fn is_required(&self) -> bool {
        self.pin.is_some() || !self.keys.is_empty()
    }

    /// Checks the component's bytes, reading `FILE.sig` beside `path` when signatures are
    /// required. The error says what failed.
    pub fn verify(&self, bytes: &[u8], path: Option<&Path>) -> Result<(), String> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(pin) = self.pin
            && pin != digest
        {
            return Err(format!("its sha256 is {}, not the pinned {}", hex(&digest), hex(&pin)));
        }
        if self.keys.is_empty() {
            return Ok(());
        }
        let Some(path) = path else {
            return Err("a signature is required, and this policy has no file to sign".to_owned());
        };
        let sig_path = signature_path(path);
        let text = std::fs::read_to_string(&sig_path)
            .map_err(|e| format!("a signature is required: {}: {e}", sig_path.display()))?;
        let signature = decode::<64>(text.trim())
            .map(|b| Signature::from_bytes(&b))
            .ok_or_else(|| format!("{} does not hold a signature (128 hex digits)", sig_path.display()))?;
        let message = signed_message(&digest);
        if self.keys.iter().any(|key| key.verify(&message, &signature).is_ok()) {
            Ok(())
        } else {
            Err(format!("{} is not a valid signature of this component by a trusted key", sig_path.display()))
        }
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
pub fn keygen(name: &Path) -> Result<(PathBuf, PathBuf), String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness for a key: {e}"))?;
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
        .map_err(|e| format!("{}: {e}", secret.display()))?;
    std::fs::write(&public, format!("{}\n", hex(key.verifying_key().as_bytes())))
        .map_err(|e| format!("{}: {e}", public.display()))?;
    Ok((secret, public))
}

/// Signs the component at `path` with the secret key file `key`; writes `FILE.sig`.
pub fn sign(key: &Path, path: &Path) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let seed = decode::<32>(text.trim())
        .ok_or_else(|| format!("{} does not hold a secret key (64 hex digits)", key.display()))?;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let signature = SigningKey::from_bytes(&seed).sign(&signed_message(&digest));
    let sig_path = signature_path(path);
    std::fs::write(&sig_path, format!("{}\n", hex(&signature.to_bytes())))
        .map_err(|e| format!("{}: {e}", sig_path.display()))?;
    Ok(sig_path)
}

/// Reads a public key file.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = decode::<32>(text.trim())
        .ok_or_else(|| format!("{} does not hold a public key (64 hex digits)", path.display()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("{}: not an ed25519 public key: {e}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    crate::policy::hex(bytes)
}

fn decode<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != N * 2 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}
