//! The rule data of `guest/rules/*.toml`, compiled in as statics by `build.rs`.
//!
//! Nothing is parsed at run time: a fresh component instance reads these tables as they are.
//! The matchers every rule uses (globs, message patterns) live here too, so that a rule's
//! meaning is defined next to its data.

use crate::types::{
    Action, BaseUrlClass, Capability, CredentialKind, FailureReason, Plan, PolicyIdentity, StreamFaultKind,
    TimeoutKind, Transport,
};
use serde::Serialize;

type Str = &'static str;
type List<T> = &'static [T];

macro_rules! schema {
    ($($item:item)*) => { $( #[derive(Debug, Serialize)] $item )* };
}

include!("../rules/schema.rs");
include!(concat!(env!("OUT_DIR"), "/rules.rs"));

/// `policy-info`: which policy this is.
pub fn policy_info() -> PolicyIdentity {
    PolicyIdentity {
        contract: route_policy_contract::CONTRACT.to_owned(),
        revision: POLICY.revision.to_owned(),
        rules_digest: RULES_DIGEST.to_owned(),
    }
}

/// Whether `text` matches `glob` (lowercase, `*` for any run), ignoring ASCII case in `text`.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let (glob, text) = (glob.as_bytes(), text.as_bytes());
    // Most globs start with a letter that most texts do not: decide those on one byte.
    if let (Some(&g), Some(&t)) = (glob.first(), text.first())
        && g != b'*'
        && g != t.to_ascii_lowercase()
    {
        return false;
    }
    let Some(star) = glob.iter().position(|&b| b == b'*') else {
        return glob.eq_ignore_ascii_case(text);
    };
    if !starts_with_ignore_case(text, &glob[..star]) {
        return false;
    }
    // Every piece after the first star but the last must appear in order; the last must end
    // the text.
    let (mut at, mut rest) = (star, &glob[star + 1..]);
    while let Some(next) = rest.iter().position(|&b| b == b'*') {
        let piece = &rest[..next];
        match find_ignore_case(&text[at..], piece) {
            Some(found) => at += found + piece.len(),
            None => return false,
        }
        rest = &rest[next + 1..];
    }
    text.len() >= at + rest.len() && text[text.len() - rest.len()..].eq_ignore_ascii_case(rest)
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

/// A message pattern's match: where it matched, and its `{model}` capture if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternMatch {
    /// The byte range of the `{model}` capture in the searched text.
    pub capture: Option<(usize, usize)>,
}

/// Finds `pattern` (lowercase pieces joined by `*`, at most one `{model}`) in `lower`, a text
/// already ASCII-lowercased. The pieces must appear in order; `{model}` captures a run of
/// model-id characters.
pub fn find_pattern(pattern: &str, lower: &str) -> Option<PatternMatch> {
    let hay = lower.as_bytes();
    let mut start_from = 0;
    // Try each occurrence of the first literal piece as an anchor.
    loop {
        let matched = match_from(pattern, hay, start_from)?;
        match matched {
            Ok(m) => return Some(m),
            Err(next_anchor) => start_from = next_anchor,
        }
    }
}

/// Matches `pattern` with its first piece found at or after `from`. `Ok` on a match,
/// `Err(next)` to retry from a later anchor, `None` when no anchor is left.
fn match_from(pattern: &str, hay: &[u8], from: usize) -> Option<Result<PatternMatch, usize>> {
    let mut capture = None;
    let mut at = from;
    let mut anchor = None;
    for (index, piece) in pattern.split('*').enumerate() {
        let (before, capture_after) = match piece.split_once("{model}") {
            Some((before, after)) => (before, Some(after)),
            None => (piece, None),
        };
        let found = memfind(&hay[at..], before.as_bytes())? + at;
        if index == 0 {
            anchor = Some(found);
        }
        at = found + before.len();
        if let Some(after) = capture_after {
            let run = hay[at..].iter().take_while(|b| is_model_byte(**b)).count();
            if run == 0 || !hay[at + run..].starts_with(after.as_bytes()) {
                return Some(Err(anchor.unwrap_or(at) + 1));
            }
            capture = Some((at, at + run));
            at += run + after.len();
        }
    }
    Some(Ok(PatternMatch { capture }))
}

fn memfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    // Both sides are ASCII-lowercased UTF-8 text cut at piece boundaries of ASCII patterns, so
    // they stay valid UTF-8 and std's two-way search applies.
    let haystack = std::str::from_utf8(haystack).ok()?;
    let needle = std::str::from_utf8(needle).ok()?;
    haystack.find(needle)
}

/// Characters a model id may contain.
pub fn is_model_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._:-/@+".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_prefixes_suffixes_and_middles() {
        assert!(glob_matches("gpt-image-*", "gpt-image-2"));
        assert!(glob_matches("gpt-image-*", "GPT-Image-2"));
        assert!(!glob_matches("gpt-image-*", "gpt-5.5"));
        assert!(glob_matches("*-pro", "gpt-5.5-pro"));
        assert!(!glob_matches("*-pro", "gpt-5.5-pro-max"));
        assert!(glob_matches("*-image-*", "gpt-5.4-image-2"));
        assert!(glob_matches("*-image", "gemini-2.5-flash-image"));
        assert!(glob_matches("flux*", "flux"));
        assert!(!glob_matches("image-*", "image"));
        assert!(glob_matches("*", ""));
    }

    #[test]
    fn patterns_capture_the_model() {
        let text = "the 'gpt-5.5-pro' model is not supported when using codex with a chatgpt account.";
        let m = find_pattern("the '{model}' model is not supported when using codex*", text).unwrap();
        let (a, b) = m.capture.unwrap();
        assert_eq!(&text[a..b], "gpt-5.5-pro");
    }

    #[test]
    fn patterns_need_their_pieces_in_order() {
        let text = "the input token count (1091639) exceeds the maximum number of tokens allowed";
        assert!(find_pattern("input token count*exceeds the maximum", text).is_some());
        assert!(find_pattern("exceeds the maximum*input token count", text).is_none());
    }

    #[test]
    fn a_capture_retries_later_anchors() {
        let text = "the '' model; the 'o3-pro' model is not supported when using codex";
        let m = find_pattern("the '{model}' model is not supported", text).unwrap();
        let (a, b) = m.capture.unwrap();
        assert_eq!(&text[a..b], "o3-pro");
    }

    #[test]
    fn every_rule_file_is_in_the_digest() {
        assert_eq!(RULES_DIGEST.len(), 64);
        assert!(RULES_DIGEST.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(policy_info().contract, route_policy_contract::CONTRACT);
    }
}
