//! Which policy answered: where it came from, its bytes' sha256, and what it says of itself.
//! Errors, log lines and tagged answers all name a policy this way.

use sha2::{Digest, Sha256};
use std::fmt;

/// Which policy answered: where it came from, its bytes' sha256, and what it says of itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyId {
    /// The path it was loaded from, or `built-in`.
    pub source: String,
    /// The sha256 of the component's bytes, in hex.
    pub sha256: String,
    /// `policy-info.revision`.
    pub revision: String,
    /// `policy-info.contract`.
    pub contract: String,
    /// `policy-info.rules-digest`.
    pub rules_digest: String,
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (sha256 {}, {})", self.revision, &self.sha256[..12.min(self.sha256.len())], self.source)
    }
}

impl PolicyId {
    /// The policy as an output line names it: `{"revision", "sha256"}`.
    pub fn tag(&self) -> serde_json::Value {
        serde_json::json!({ "revision": self.revision, "sha256": self.sha256 })
    }
}

/// The sha256 of some bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
