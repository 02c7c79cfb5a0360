//! Keeps secrets out of answers: every value taken from an input passes through here before it
//! appears in a message, a note or an echoed URL.
//!
//! A secret is recognised by its shape (`rules/redact.toml`): an API-key prefix (`sk-…`), a JWT,
//! the value after `Bearer`, the value of a secret-named header, JSON key or query parameter, or
//! a long opaque token. Each is replaced by `[redacted]`. The rules err on the side of hiding.

use crate::rules::REDACT;
use std::borrow::Cow;
use std::ops::Range;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Longest echo of an input value in a message, in characters.
const SHORT_CHARS: usize = 120;

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `text` with every secret replaced by `[redacted]`.
pub fn text(text: &str) -> Cow<'_, str> {
    let spans = secret_spans(text, Context::FreeText);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        out.push_str(&text[at..span.start]);
        out.push_str(REDACTED);
        at = span.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Whether free text (a message, a body, a URL) holds anything shaped like a secret.
pub fn contains_secret(text: &str) -> bool {
    !secret_spans(text, Context::FreeText).is_empty()
}

/// Whether an identifier (a profile id, a model ref) holds a token shaped like a secret: a key
/// prefix, a JWT or a long opaque token. The `name: value` rules of free text do not apply, so
/// a profile id such as `anthropic:api-key:work` is not mistaken for a header.
pub fn has_secret_token(identifier: &str) -> bool {
    !secret_spans(identifier, Context::Identifier).is_empty()
}

/// Where a value comes from, which decides the rules that apply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    FreeText,
    Identifier,
}

/// A value for a message: redacted, with control characters shown as spaces, and cut to a
/// readable length.
pub fn short(value: &str) -> String {
    excerpt(value, SHORT_CHARS)
}

/// The provider's own words for a message: whitespace collapsed, redacted, cut to `max_chars`.
/// The cut comes after redaction, so that it cannot split a secret into a shape that no longer
/// looks like one.
pub fn excerpt(value: &str, max_chars: usize) -> String {
    // Look at a bounded prefix, extended to the end of the token it ends in.
    let mut end = value.len().min(max_chars.saturating_mul(4).max(64));
    while end < value.len() && end < max_chars * 4 + 1024 && !value.as_bytes()[end].is_ascii_whitespace() {
        end += 1;
    }
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let redacted = text(&value[..end]);
    let mut out = String::with_capacity(max_chars.min(redacted.len()) + 3);
    let mut chars = 0;
    let mut last_space = true;
    for c in redacted.chars() {
        let c = if c.is_whitespace() || c.is_control() { ' ' } else { c };
        if c == ' ' && last_space {
            continue;
        }
        if chars == max_chars {
            out.truncate(out.trim_end().len());
            out.push('…');
            return out;
        }
        last_space = c == ' ';
        out.push(c);
        chars += 1;
    }
    if end < value.len() {
        out.truncate(out.trim_end().len());
        out.push('…');
    } else {
        out.truncate(out.trim_end().len());
    }
    out
}

/// A URL for a message: no user info, no query values, secrets redacted, cut short.
pub fn url(raw: &str) -> String {
    match url::Url::parse(raw.trim()) {
        Ok(parsed) => {
            let mut shown = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or(""));
            if let Some(port) = parsed.port() {
                shown.push_str(&format!(":{port}"));
            }
            shown.push_str(parsed.path());
            if parsed.query().is_some() {
                shown.push_str("?…");
            }
            short(&shown)
        }
        Err(_) => short(raw),
    }
}

/// The byte ranges of every secret in `text`, sorted and merged.
fn secret_spans(text: &str, context: Context) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let lower = lower.as_bytes();
    let mut spans: Vec<Range<usize>> = Vec::new();
    let boundary = |at: usize| at == 0 || !is_key_byte(bytes[at - 1]);

    // API keys by prefix: `sk-proj-…`, `AIza…`. Lowercase prefixes match any case.
    for prefix in REDACT.key_prefixes {
        let fold = prefix.bytes().all(|b| !b.is_ascii_uppercase());
        let (hay, needle) = if fold { (lower, prefix.as_bytes()) } else { (bytes, prefix.as_bytes()) };
        for at in find_all(hay, needle) {
            if !boundary(at) {
                continue;
            }
            let end = run_end(bytes, at + needle.len(), |b| is_key_byte(b) || b == b'*' || b == b'.');
            if end >= at + needle.len() + 4 {
                spans.push(at..end);
            }
        }
    }
    // JWTs: three base64url segments, the first starting `eyJ` (`{"`), glued to a word or not.
    for at in find_all(bytes, b"eyJ") {
        let end = run_end(bytes, at, |b| is_key_byte(b) || b == b'.');
        if bytes[at..end].iter().filter(|b| **b == b'.').count() >= 2 {
            spans.push(at..end);
        }
    }
    // The credential after an auth scheme: `Bearer eyJ…`, `Basic dXNlcjpw…`.
    let schemes = if context == Context::FreeText { REDACT.auth_schemes } else { &[] };
    for scheme in schemes {
        for at in find_all(lower, scheme.as_bytes()) {
            let after = at + scheme.len();
            if !boundary(at) || after >= bytes.len() || !matches!(bytes[after], b' ' | b'\t' | b':' | b'=') {
                continue;
            }
            let start = run_end(bytes, after, |b| matches!(b, b' ' | b'\t' | b':' | b'='));
            let end = run_end(bytes, start, |b| !b.is_ascii_whitespace() && !b"\"'<>,;".contains(&b));
            if end >= start + 8 {
                spans.push(start..end);
            }
        }
    }
    // The value of a secret-named header, JSON key or query parameter.
    let names = if context == Context::FreeText { REDACT.secret_names } else { &[] };
    for name in names {
        let whole_line = matches!(*name, "authorization" | "proxy-authorization" | "cookie" | "set-cookie");
        for at in find_all(lower, name.as_bytes()) {
            let after = at + name.len();
            if !boundary(at) || (after < bytes.len() && is_key_byte(bytes[after])) {
                continue;
            }
            // name, an optional closing quote, spaces, then `:` or `=`.
            let mut i = run_end(bytes, after, |b| b == b'"' || b == b'\'');
            i = run_end(bytes, i, |b| b == b' ' || b == b'\t');
            if i >= bytes.len() || !matches!(bytes[i], b':' | b'=') {
                continue;
            }
            let start = run_end(bytes, i + 1, |b| matches!(b, b' ' | b'\t' | b'"' | b'\''));
            let end = if whole_line {
                run_end(bytes, start, |b| !matches!(b, b'\n' | b'\r' | b'"' | b'\'' | b'<'))
            } else {
                run_end(bytes, start, |b| !b.is_ascii_whitespace() && !b"\"'&,;}])<>".contains(&b))
            };
            if end > start {
                spans.push(start..end);
            }
        }
    }
    // Long opaque tokens mixing letters and digits.
    let min = REDACT.min_opaque_token as usize;
    let mut at = 0;
    while at < bytes.len() {
        let end = run_end(bytes, at, |b| is_key_byte(b) || b == b'+' || b == b'=');
        if end - at >= min {
            let run = &bytes[at..end];
            if run.iter().any(u8::is_ascii_digit) && run.iter().any(u8::is_ascii_alphabetic) {
                spans.push(at..end);
            }
        }
        at = end + 1;
    }

    spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// The first index at or after `from` where `keep` stops holding.
fn run_end(bytes: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    let from = from.min(bytes.len());
    from + bytes[from..].iter().take_while(|b| keep(**b)).count()
}

fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        if needle.is_empty() || from + needle.len() > hay.len() {
            return None;
        }
        let found = hay[from..].windows(needle.len()).position(|w| w == needle)? + from;
        from = found + 1;
        Some(found)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-proj-4fJ9xQ2mZ7kL1pR8tW3vY6bN0cH5dG2s";
    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLWJ5dGVz";

    fn hides(input: &str, secret: &str) {
        let out = text(input);
        assert!(!out.contains(secret), "{secret} survived in {out}");
        assert!(out.contains(REDACTED), "{out}");
    }

    #[test]
    fn api_keys_by_prefix() {
        hides(&format!("Incorrect API key provided: {KEY}."), KEY);
        hides("Incorrect API key provided: sk-abc1***********************xyz9.", "abc1");
        hides("key AIzaSyA-1234567890abcdefghijklmnopqrs", "AIzaSyA-1234567890");
        hides("github ghp_0123456789abcdefghijABCDEFGHIJ012345", "ghp_0123456789");
    }

    #[test]
    fn jwts_and_bearer_tokens() {
        hides(&format!("token {JWT}"), JWT);
        hides("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop");
        hides("bearer=zyxwvutsrqponmlk", "zyxwvutsrqponmlk");
    }

    #[test]
    fn secret_named_values() {
        hides("Cookie: __Secure-next-auth.session-token=abc; cf_clearance=def", "cf_clearance=def");
        hides(r#"{"api_key": "hunter2hunter2", "model": "gpt-5.5"}"#, "hunter2hunter2");
        hides("https://proxy.example/v1?key=s3cr3tv4lue&x=1", "s3cr3tv4lue");
        hides("api-key: 0123abcd", "0123abcd");
        hides("x-api-key: 0123abcd", "0123abcd");
        hides(r#"{"refresh_token":"rt_abcdef"}"#, "rt_abcdef");
    }

    #[test]
    fn opaque_tokens() {
        hides("session 0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d", "0a1b2c3d4e5f");
    }

    #[test]
    fn ordinary_words_survive() {
        for keep in [
            "The 'gpt-5.5-pro' model is not supported when using Codex with a ChatGPT account.",
            "Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000. Please try again in 2s.",
            "Provided authentication token is expired. Please try signing in again.",
            "https://chatgpt.com/backend-api/codex/responses",
            "/openai/deployments/gpt-image-1/images/generations",
            "Missing scopes: api.responses.write",
            "task-force sketch risk-free asked-for",
        ] {
            assert_eq!(text(keep), keep);
        }
    }

    #[test]
    fn identifiers_are_judged_by_their_tokens() {
        assert!(!has_secret_token("anthropic:api-key:enterprise"));
        assert!(!has_secret_token("openai-codex:me@example.com"));
        assert!(has_secret_token(KEY));
        assert!(has_secret_token(&format!("profile-{JWT}")));
        assert!(contains_secret("api-key: enterprise"));
    }

    #[test]
    fn excerpts_collapse_and_cut_after_redacting() {
        assert_eq!(excerpt("  a\n\tb  ", 10), "a b");
        assert_eq!(excerpt("abcdefghij", 4), "abcd…");
        let long = format!("{} {KEY}", "word ".repeat(20));
        let cut = excerpt(&long, 110);
        assert!(!cut.contains("sk-proj"), "{cut}");
        assert!(excerpt(&"é".repeat(1000), 5).starts_with("ééééé"));
    }

    #[test]
    fn urls_lose_user_info_and_query_values() {
        let shown = url("https://user:pw@proxy.example.com:8443/v1?key=abc#frag");
        assert_eq!(shown, "https://proxy.example.com:8443/v1?…");
    }
}
