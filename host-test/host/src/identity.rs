//! Which policy answered: where it came from, its bytes' sha256, and what it says of itself.
//! Errors, log lines and tagged answers all name a policy this way.

pub(crate) use route_policy_contract::printable::{self, escaped, printable};
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
    /// `REVISION (sha256 FIRST12, SOURCE)`, as every host names a policy
    /// ([`printable::policy_name`]): the revision is the policy's own words, shown escaped, so
    /// a hostile one cannot forge a log line or send terminal escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&printable::policy_name(&self.revision, &self.sha256, &self.source))
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

/// Bytes in lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Exactly `N` bytes from `2N` hex digits; `None` for anything else.
pub fn from_hex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != N * 2 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_revision_cannot_forge_a_line_or_an_escape() {
        let id = PolicyId {
            source: "p.wasm".into(),
            sha256: "ab".repeat(32),
            revision: "1\nactivated 9999 (sha256 000000000000, trusted.wasm)\u{1b}[2J\u{202e}".into(),
            contract: "0.1.0".into(),
            rules_digest: String::new(),
        };
        let shown = id.to_string();
        assert!(!shown.contains('\n') && !shown.contains('\u{1b}') && !shown.contains('\u{202e}'), "{shown:?}");
        assert!(shown.contains("\\u{a}activated"), "{shown}");
        assert!(printable(&"x".repeat(500)).chars().count() <= printable::PRINTABLE_CHARS + 1);
    }
}
