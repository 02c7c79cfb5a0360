//! Keeps secrets out of answers: every value taken from an input passes through here before it
//! appears in a message, a note or an echoed URL.
//!
//! A secret is recognised by its shape (`rules/redact.toml`): an API-key prefix (`sk-…`), a JWT,
//! the value after `Bearer`, the value of a secret-named header, JSON key or query parameter, or
//! a long opaque token (base64 that `/` cuts into words included). Each is replaced by
//! `[redacted]`. The rules err on the side of hiding, but leave words, model ids, dates, paths
//! and official URLs as they are.

use std::borrow::Cow;
use std::ops::Range;

/// `guest/rules/redact.toml`: the shapes of secrets that never appear in an answer.
pub struct RedactRules {
    /// Token prefixes of API keys (`sk-`, …); a token that starts with one is a secret.
    pub key_prefixes: &'static [&'static str],
    /// Words that introduce a credential (`bearer`, …); it takes 8 characters or more.
    pub auth_schemes: &'static [&'static str],
    /// Auth schemes after which a credential of any length is one (`Bearer x`).
    pub any_length_schemes: &'static [&'static str],
    /// Words that follow a scheme in prose (`bearer or basic authentication`): no credential.
    pub scheme_prose_words: &'static [&'static str],
    /// Header, JSON key and query names whose values are secrets (lowercase).
    pub secret_names: &'static [&'static str],
    /// A run of token characters at least this long, with letters and digits, is a secret; so
    /// is a run of base64 this long that `/` cuts into words, when it looks random.
    pub min_opaque_token: u32,
    /// A run of letters and digits alone at least this long, mixing both, is a secret.
    pub min_alphanumeric_token: u32,
}

include!(concat!(env!("OUT_DIR"), "/redact.rs"));

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Longest echo of an input value in a message, in characters.
const SHORT_CHARS: usize = 120;

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Whether a byte continues a key after its prefix: a token byte, `*` and `.` (a masked key),
/// and the `/` and `+` of base64, so that `sk-proj-abc/def…` is one key, not a short one and a
/// rest left in view.
fn is_prefixed_key_byte(b: u8) -> bool {
    is_key_byte(b) || b"*./+".contains(&b)
}

/// Whether a byte is one of standard base64's 64 (its `=` padding aside).
fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
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
    let plain = value.len() <= SHORT_CHARS && !value.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control());
    if plain && secret_spans(value, Context::FreeText).is_empty() {
        return value.to_owned();
    }
    excerpt(value, SHORT_CHARS)
}

/// The provider's own words for a message: whitespace collapsed, redacted, cut near
/// `max_chars`, with ` …` when cut. The result is final: redacting it again changes nothing
/// (the property the host's second redaction relies on).
///
/// The text is cut at a word boundary before redaction, so a cut never splits a secret; a
/// first word longer than the limit is redacted whole and then shortened, which can only
/// remove secret shapes, never make one (a marker it cuts through is completed).
pub fn excerpt(value: &str, max_chars: usize) -> String {
    // Look at a bounded prefix, extended to the end of the token it ends in.
    let mut end = value.len().min(max_chars.saturating_mul(4).max(64));
    while end < value.len() && end < max_chars * 4 + 1024 && !value.as_bytes()[end].is_ascii_whitespace() {
        end += 1;
    }
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let mut collapsed = String::with_capacity(end);
    for c in value[..end].chars() {
        let c = if c.is_whitespace() || c.is_control() { ' ' } else { c };
        if !(c == ' ' && (collapsed.is_empty() || collapsed.ends_with(' '))) {
            collapsed.push(c);
        }
    }
    let collapsed = collapsed.trim_end();
    let mut cut = end < value.len();
    // Where `max_chars` falls, as a byte index.
    let limit = collapsed.char_indices().nth(max_chars).map(|(at, _)| at);
    let part = match limit {
        None => collapsed,
        Some(limit) => {
            cut = true;
            if collapsed[limit..].starts_with(' ') {
                &collapsed[..limit]
            } else {
                match collapsed[..limit].rfind(' ') {
                    Some(space) => &collapsed[..space],
                    None => collapsed.split(' ').next().unwrap_or(""),
                }
            }
        }
    };
    let mut out = text(part).into_owned();
    if let Some((at, _)) = out.char_indices().nth(max_chars) {
        // A first word longer than the limit: shorten it, completing a marker it cuts.
        let marker =
            out[..at].rfind('[').filter(|&m| REDACTED.starts_with(&out[m..at]) && out[m..].starts_with(REDACTED));
        out.truncate(marker.map_or(at, |m| m + REDACTED.len()));
        cut = true;
    }
    if cut {
        out.push_str(" …");
    }
    out
}

/// A URL for a message: no user info, no query values, secrets redacted, cut short.
pub fn url(raw: &str) -> String {
    match url::Url::parse(raw.trim()) {
        Ok(parsed) => parsed_url(&parsed),
        Err(_) => short(raw),
    }
}

/// [`url`] for a URL already parsed.
pub fn parsed_url(parsed: &url::Url) -> String {
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

/// The byte ranges of every secret in `text`, sorted and merged.
///
/// One pass over the text, token by token (a token is a run of letters, digits, `-` and `_`),
/// without allocating when there is nothing to hide: most values hold no secret, and this runs
/// on every value an answer echoes.
///
/// Linear in the text, whatever its shape. A secret's extent is a run that reaches past its
/// token (`sk-1.sk-1.…`, `a+a+…`, `key=key=…`, `Bearer:Bearer:…`), and scanning it again from
/// each token inside it would take quadratic time; so each kind of run is scanned once
/// ([`Run`]) and the tokens inside it reuse its end, and its verdict.
fn secret_spans(text: &str, context: Context) -> Vec<Range<usize>> {
    let mut scan = Scan {
        bytes: text.as_bytes(),
        free_text: context == Context::FreeText,
        spans: Vec::new(),
        key_run: Run::default(),
        opaque_run: Run::default(),
        base64_run: Run::default(),
        jwt_run: Run::default(),
        escaped_run: Run::default(),
        auth_run: Run::default(),
        value_run: Run::default(),
        line_run: Run::default(),
    };
    let bytes = scan.bytes;
    let mut at = 0;
    while at < bytes.len() {
        if !is_key_byte(bytes[at]) {
            // A percent-escape (`%20`) separates tokens as the character it encodes would: a
            // URL shows `a%20sk-proj-…` for `a sk-proj-…`. One that encodes a token character
            // may start a key written escaped (`%73k-proj-…`).
            let (decoded, width) = decoded_at(bytes, at);
            if width == 3 && is_key_byte(decoded) && (at == 0 || !is_key_byte(bytes[at - 1])) {
                scan.escaped_key(at);
            }
            at += width;
            continue;
        }
        // A token starts here (the byte before it, if any, is not a key byte).
        let end = run_end(bytes, at, is_key_byte);
        // First: its span may start one byte before the token.
        scan.slashed_base64(at);
        scan.key_prefix(at, end);
        scan.opaque_token(at);
        scan.alphanumeric_words(at, end);
        scan.jwt(at, end);
        scan.user_info(at);
        scan.after_name(at, end);
        at = end;
    }
    merged(scan.spans)
}

/// Spans pushed in order of their starts (a token's own spans start at or after it, its
/// value's after it, and the next token after both), merged in one pass.
fn merged(spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        debug_assert!(merged.last().is_none_or(|last| last.start <= span.start));
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// One pass of [`secret_spans`]: the text, the spans found so far, and the last run of each
/// kind (see [`Run`]). Each method is one rule of `redact.toml`, applied to the token at `at`.
struct Scan<'t> {
    bytes: &'t [u8],
    free_text: bool,
    spans: Vec<Range<usize>>,
    key_run: Run,
    opaque_run: Run,
    base64_run: Run,
    jwt_run: Run,
    escaped_run: Run,
    auth_run: Run,
    value_run: Run,
    line_run: Run,
}

impl Scan<'_> {
    /// An API key by its prefix: `sk-proj-…`, `sk_live_…`, `AKIA…` (see
    /// [`is_prefixed_key_byte`] for where it ends). A token inside a run already judged adds
    /// nothing: the run's first prefixed token either covered it, or the run was too short for
    /// it as well.
    fn key_prefix(&mut self, at: usize, end: usize) {
        let bytes = self.bytes;
        let token = &bytes[at..end];
        if let Some(prefix) = REDACT.key_prefixes.iter().find(|p| has_prefix(token, p.as_bytes()))
            && let Some(key_end) = self.key_run.fresh_end(at, || run_end(bytes, at, is_prefixed_key_byte))
            && key_end >= at + prefix.len() + 4
        {
            self.spans.push(at..key_end);
        }
    }

    /// A long opaque token mixing letters and digits (base64 adds `+` and `=`). A suffix of a
    /// run already judged is shorter, and lacks whatever the run lacked.
    fn opaque_token(&mut self, at: usize) {
        let bytes = self.bytes;
        if let Some(opaque_end) =
            self.opaque_run.fresh_end(at, || run_end(bytes, at, |b| is_key_byte(b) || b == b'+' || b == b'='))
            && opaque_end - at >= REDACT.min_opaque_token as usize
        {
            let run = &bytes[at..opaque_end];
            if run.iter().any(u8::is_ascii_digit) && run.iter().any(u8::is_ascii_alphabetic) {
                self.spans.push(at..opaque_end);
            }
        }
    }

    /// Standard base64 that `/` cuts into words too short for the other rules: an AWS secret
    /// access key is 40 of `[A-Za-z0-9+/]` (`wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`). The run
    /// is read whole, from the token at `at` (or from a `/` or `+` just before it, after a
    /// quote or `=`), to the end of its `=` padding.
    ///
    /// Paths and URLs are base64 too, so the run must stand apart and look random: it starts
    /// after a space, a quote or `=:,;([{<>|` and never after `/`, `.` or `~` (a URL's or an
    /// absolute path's segments), is not glued to a `-` or `_` after it (`gpt-image-1/images`),
    /// and passes [`looks_random`]. A token that does not stand apart (one after `/` or `+`)
    /// starts no scan, and one inside the last run scanned takes its verdict: linear.
    fn slashed_base64(&mut self, at: usize) {
        let bytes = self.bytes;
        let start =
            if at >= 2 && b"/+".contains(&bytes[at - 1]) && b"\"'=".contains(&bytes[at - 2]) { at - 1 } else { at };
        let stands_apart =
            start == 0 || bytes[start - 1].is_ascii_whitespace() || b"\"'=:,;([{<>|`".contains(&bytes[start - 1]);
        if !stands_apart {
            return;
        }
        let Some(end) = self.base64_run.fresh_end(start, || {
            let body = run_end(bytes, start, is_base64_byte);
            run_end(bytes, body, |b| b == b'=')
        }) else {
            return;
        };
        let run = &bytes[start..end];
        if run.len() >= REDACT.min_opaque_token as usize
            && !bytes.get(end).is_some_and(|b| is_key_byte(*b))
            && looks_random(run)
        {
            self.spans.push(start..end);
        }
    }

    /// A bare key: a word of the token (between `-` and `_`) of 32 or more letters and digits,
    /// mixing both. The words of a token are disjoint, so this is linear.
    fn alphanumeric_words(&mut self, at: usize, end: usize) {
        let min = REDACT.min_alphanumeric_token as usize;
        if end - at < min {
            return;
        }
        let mut word = at;
        while word < end {
            let word_end = run_end(self.bytes, word, |b| b.is_ascii_alphanumeric()).min(end);
            let run = &self.bytes[word..word_end];
            if run.len() >= min && run.iter().any(u8::is_ascii_digit) && run.iter().any(u8::is_ascii_alphabetic) {
                self.spans.push(word..word_end);
            }
            word = word_end + 1;
        }
    }

    /// A key written with percent-escapes (`%73k-proj-…` for `sk-proj-…`): the token that starts
    /// with the escape at `at`, decoded, is judged by its prefix. Within one run of token
    /// characters only its start begins a token, so a run is decoded once.
    fn escaped_key(&mut self, at: usize) {
        let bytes = self.bytes;
        let Some(end) = self.escaped_run.fresh_end(at, || run_end_decoded(bytes, at, is_prefixed_key_byte)) else {
            return;
        };
        let mut decoded = Vec::with_capacity(32);
        let mut i = at;
        while i < end && decoded.len() < 32 {
            let (byte, width) = decoded_at(bytes, i);
            decoded.push(byte);
            i += width;
        }
        let characters = {
            let (mut count, mut i) = (0, at);
            while i < end {
                i += decoded_at(bytes, i).1;
                count += 1;
            }
            count
        };
        if let Some(prefix) = REDACT.key_prefixes.iter().find(|p| has_prefix(&decoded, p.as_bytes()))
            && characters >= prefix.len() + 4
        {
            self.spans.push(at..end);
        }
    }

    /// A JWT: `eyJ` (`{"`) and two more dot-separated segments, glued to a word or not.
    fn jwt(&mut self, at: usize, end: usize) {
        let bytes = self.bytes;
        let Some(jwt) = bytes[at..end].windows(3).position(|w| w == b"eyJ") else { return };
        let start = at + jwt;
        if let Some(jwt_end) = self.jwt_run.fresh_end(start, || run_end(bytes, start, |b| is_key_byte(b) || b == b'.'))
            && bytes[start..jwt_end].iter().filter(|b| **b == b'.').count() >= 2
        {
            self.spans.push(start..jwt_end);
        }
    }

    /// User info after `//`: `https://user:password@host`, and the same smuggled into a path
    /// (`https:oa//user:password@host` is the host `oa` to WHATWG). The run stops at `/`, so no
    /// two of these overlap.
    fn user_info(&mut self, at: usize) {
        let bytes = self.bytes;
        if at >= 2 && &bytes[at - 2..at] == b"//" {
            let info_end = run_end(bytes, at, |b| !b"/?#@".contains(&b) && !b.is_ascii_whitespace());
            if bytes.get(info_end) == Some(&b'@') {
                self.spans.push(at..info_end);
            }
        }
    }

    /// The credential after an auth scheme (`Bearer eyJ…`), and the value after a secret name
    /// (a header, JSON key or query parameter). A scheme or a name is followed by a separator;
    /// most tokens are not. In an identifier only the unmistakable forms count (`Bearer …`,
    /// `api_key=…`), so that `openai:api-key:work` stays a name.
    fn after_name(&mut self, at: usize, end: usize) {
        let bytes = self.bytes;
        let token = &bytes[at..end];
        let free_text = self.free_text;
        let next = (end < bytes.len()).then(|| decoded_at(bytes, end).0);
        let separated =
            next.is_some_and(|next| if free_text { b" \t:=\"'".contains(&next) } else { b" =".contains(&next) });
        if !separated {
            return;
        }
        let scheme_separator: &[u8] = if free_text { b" \t:=" } else { b" " };
        if REDACT.auth_schemes.iter().any(|s| token.eq_ignore_ascii_case(s.as_bytes()))
            && next.is_some_and(|next| scheme_separator.contains(&next))
        {
            let start = run_end_decoded(bytes, end, |b| scheme_separator.contains(&b));
            let value_end = self
                .auth_run
                .end(start, || run_end_decoded(bytes, start, |b| !b.is_ascii_whitespace() && !b"\"'<>,;".contains(&b)));
            let value = &bytes[start..value_end];
            // `Bearer x` is a credential, however short; `token is expired` is prose.
            let any_length = REDACT.any_length_schemes.iter().any(|s| token.eq_ignore_ascii_case(s.as_bytes()));
            let after_space = run_end_decoded(bytes, end, |b| b == b' ' || b == b'\t') == start;
            if value.len() >= if any_length { 1 } else { 8 }
                && !is_marker(value)
                && !(after_space && is_prose_word(value))
            {
                self.spans.push(start..value_end);
            }
        }
        if let Some(name) = REDACT.secret_names.iter().find(|n| token.eq_ignore_ascii_case(n.as_bytes()))
            && let Some(value) = named_value(bytes, end, name, &mut self.value_run, &mut self.line_run)
            && (free_text || (next == Some(b'=') && value.len() >= 8))
        {
            self.spans.push(value);
        }
    }
}

/// Whether a run of base64 (see [`Scan::slashed_base64`]) looks like random bytes rather than a
/// path. It holds a `/` (without one, the opaque-token rule judges it) but no more than one in
/// ten characters (random base64 has one in 64; a path one in five to ten), mixes upper and
/// lower case, and its letters and digits change between upper case, lower case and digit at
/// least once every four characters: random base64 does about every other character, and
/// fails these checks about once in a thousand keys; `Users/John2/Documents/Projects/MyApp2/Src`
/// changes every fourth character but has too many `/`, `CoreLib2/Components/Button2/Index`
/// changes every fifth.
fn looks_random(run: &[u8]) -> bool {
    let class = |b: u8| {
        if b.is_ascii_digit() {
            Some(0)
        } else if b.is_ascii_uppercase() {
            Some(1)
        } else if b.is_ascii_lowercase() {
            Some(2)
        } else {
            None
        }
    };
    let slashes = run.iter().filter(|b| **b == b'/').count();
    let alphanumeric = run.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    let changes = run.windows(2).filter(|w| matches!((class(w[0]), class(w[1])), (Some(a), Some(b)) if a != b)).count();
    slashes > 0
        && slashes * 10 <= run.len()
        && run.iter().any(u8::is_ascii_uppercase)
        && run.iter().any(u8::is_ascii_lowercase)
        && changes * 4 >= alphanumeric
}

/// Whether the word after an auth scheme is prose (`bearer or basic authentication`), its
/// closing punctuation aside.
fn is_prose_word(value: &[u8]) -> bool {
    let word = value.strip_suffix(b".").or_else(|| value.strip_suffix(b")")).unwrap_or(value);
    word.len() <= 16 && REDACT.scheme_prose_words.iter().any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}

/// The last run of one kind that was scanned: `start..end`, every byte of which the run's
/// predicate keeps, and `end` the first it does not. A scan from any point inside it ends at
/// the same `end` (for decoded runs too: the hex digits of an escape are kept by every value
/// predicate, so a scan from inside an escape rejoins the same steps).
#[derive(Default)]
struct Run {
    start: usize,
    end: usize,
}

impl Run {
    /// The end of the run from `from`, scanning only when `from` is outside the last run.
    fn end(&mut self, from: usize, scan: impl FnOnce() -> usize) -> usize {
        self.fresh_end(from, scan).unwrap_or(self.end)
    }

    /// The end of the run from `from`, or `None` when `from` lies inside the last run scanned
    /// (whose verdict stands for every token inside it).
    fn fresh_end(&mut self, from: usize, scan: impl FnOnce() -> usize) -> Option<usize> {
        if self.start <= from && from < self.end {
            return None;
        }
        *self = Run { start: from, end: scan() };
        Some(self.end)
    }
}

/// Whether a byte continues a credential's value: anything but whitespace, quotes and the
/// punctuation that closes a value in headers, JSON and query strings.
fn is_value_byte(b: u8) -> bool {
    !b.is_ascii_whitespace() && !b"\"'&,;}])<>".contains(&b)
}

/// Whether `token` starts with an API-key prefix; a lowercase prefix matches any case.
fn has_prefix(token: &[u8], prefix: &[u8]) -> bool {
    token.len() > prefix.len()
        && token[0].eq_ignore_ascii_case(&prefix[0])
        && if prefix.iter().any(u8::is_ascii_uppercase) {
            token.starts_with(prefix)
        } else {
            token[..prefix.len()].eq_ignore_ascii_case(prefix)
        }
}

/// The value after a secret name ending at `after`: an optional closing quote, spaces, then
/// `:` or `=`, spaces or an opening quote, and the value.
fn named_value(
    bytes: &[u8],
    after: usize,
    name: &str,
    value_run: &mut Run,
    line_run: &mut Run,
) -> Option<Range<usize>> {
    let whole_line = matches!(name, "authorization" | "proxy-authorization" | "cookie" | "set-cookie");
    let mut i = run_end_decoded(bytes, after, |b| b == b'"' || b == b'\'');
    i = run_end_decoded(bytes, i, |b| b == b' ' || b == b'\t');
    if i >= bytes.len() || !matches!(decoded_at(bytes, i).0, b':' | b'=') {
        return None;
    }
    let start = run_end_decoded(bytes, i + decoded_at(bytes, i).1, |b| matches!(b, b' ' | b'\t' | b'"' | b'\''));
    let end = if whole_line {
        line_run.end(start, || run_end_decoded(bytes, start, |b| !matches!(b, b'\n' | b'\r' | b'"' | b'\'' | b'<')))
    } else {
        value_run.end(start, || run_end_decoded(bytes, start, is_value_byte))
    };
    (end > start && !is_marker(&bytes[start..end])).then_some(start..end)
}

/// Whether a value is one of the policy's own markers (`[redacted]`, or the `…` of a cut),
/// which a second redaction must leave as it is.
fn is_marker(value: &[u8]) -> bool {
    // `]` ends a value, so a marker may be read without its closing bracket.
    value.starts_with(&REDACTED.as_bytes()[..REDACTED.len() - 1]) || value == "…".as_bytes()
}

/// The byte at `i` as a URL means it, a percent-escape (`%20`) decoded, and its width in the
/// text: secrets in URLs are set apart by escaped spaces, `=` and `:`.
fn decoded_at(bytes: &[u8], i: usize) -> (u8, usize) {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    match bytes.get(i..i + 3) {
        Some([b'%', hi, lo]) => match (hex(*hi), hex(*lo)) {
            (Some(hi), Some(lo)) => (hi << 4 | lo, 3),
            _ => (b'%', 1),
        },
        _ => (bytes[i], 1),
    }
}

/// [`run_end`] over the text as a URL means it (see [`decoded_at`]).
fn run_end_decoded(bytes: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    let mut i = from.min(bytes.len());
    while i < bytes.len() {
        let (byte, width) = decoded_at(bytes, i);
        if !keep(byte) {
            break;
        }
        i += width;
    }
    i
}

/// The first index at or after `from` where `keep` stops holding.
fn run_end(bytes: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    let from = from.min(bytes.len());
    from + bytes[from..].iter().take_while(|b| keep(**b)).count()
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
    fn url_user_info_and_escapes() {
        hides("see https://user:hunter2pw@proxy.example.com/v1", "hunter2pw");
        hides("https://oa//user:hunter2pw@chatgpt.com/backend-api", "hunter2pw");
        hides("7777&https://sk-proj-abcdefgh@x.example", "abcdefgh");
        // A URL escapes the spaces and `=` that set a secret apart.
        hides("https://x.example/v1/a%20sk-proj-abcdefghijkl%20b", "abcdefghijkl");
        hides("https://x.example/v1/responses%20Bearer%20PLANTEDtoken99%20?x", "PLANTEDtoken99");
        hides("https://x.example/v1?q=1&api_key%3Dhunter2hunter2", "hunter2hunter2");
        assert_eq!(text("https://x.example/a%20b/c%2Fd"), "https://x.example/a%20b/c%2Fd");
        assert_eq!(text("https://[redacted]@x.example"), "https://[redacted]@x.example");
    }

    #[test]
    fn identifiers_hide_only_unmistakable_forms() {
        for secret in ["api_key=hunter2hunter2", "k api_key=hunter2hunter2 x", "Bearer hunter2hunter2"] {
            assert!(has_secret_token(secret), "{secret}");
        }
        for name in ["openai:api-key:work", "anthropic:token:default", "key=prod", "bearer"] {
            assert!(!has_secret_token(name), "{name}");
        }
    }

    #[test]
    fn opaque_tokens() {
        hides("session 0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d", "0a1b2c3d4e5f");
    }

    #[test]
    fn bare_keys_of_32_letters_and_digits() {
        // An Azure OpenAI key (32 hex digits), and a 32-character alphanumeric key.
        hides("api-key header was 0123456789abcdef0123456789ABCDEF, rejected", "0123456789abcdef");
        hides("Access denied due to invalid subscription key 9f86d081884c7d659a2feaa0c55ad015", "9f86d081884c");
        hides("key-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6", "A1b2C3d4E5f6");
        // Names with dates or versions are words between `-`: each is short.
        for keep in
            ["gpt-5-mini-2026-01-01-preview", "claude-3-5-sonnet-20241022", "abcdefghijklmnopqrstuvwxyzabcdefgh"]
        {
            assert_eq!(text(keep), keep);
        }
    }

    #[test]
    fn keys_written_with_percent_escapes() {
        hides("https://proxy.example/v1?q=%73k-proj-4fJ9xQ2mZ7kL1pR8tW3v", "4fJ9xQ2mZ7kL1pR8tW3v");
        hides("/v1/%73%6B-proj-abcdefghij/x", "abcdefghij");
        assert!(has_secret_token("%73k-proj-4fJ9xQ2mZ7kL1pR8"));
        // An escape that is no key stays: `%41BC` is not a prefix.
        assert_eq!(text("https://x.example/%41BC/d"), "https://x.example/%41BC/d");
    }

    #[test]
    fn ordinary_words_model_ids_dates_paths_and_urls_survive() {
        for keep in [
            "The 'gpt-5.5-pro' model is not supported when using Codex with a ChatGPT account.",
            "Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000. Please try again in 2s.",
            "Provided authentication token is expired. Please try signing in again.",
            "https://chatgpt.com/backend-api/codex/responses",
            "/openai/deployments/gpt-image-1/images/generations",
            "Missing scopes: api.responses.write",
            "task-force sketch risk-free asked-for",
            // Model ids, dates, official URLs and file paths: none is a secret.
            "gpt-5.5-pro",
            "openai/gpt-4.1",
            "openrouter/anthropic/claude-sonnet-4.5",
            "meta-llama/Llama-3.3-70B-Instruct",
            "2026-04-30T12:34:56Z and 2026-04-30 and 2026/04/30",
            "https://api.openai.com/v1/chat/completions",
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent",
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet/invoke",
            "could not read /Users/JaneDoe2/Library/Application/Support/OpenClaw3/config.json",
            "open /home/user/projects/route-policy/guest/contract/src/redact.rs: no such file",
            "see packages/CoreLib2/Components/Button2/Index and Users/John2/Documents/Projects/MyApp2/Src",
            r#"C:\Users\JaneDoe\AppData\Roaming\OpenClaw\config.json"#,
            "~/Library/Caches/OpenClaw/Models/Gpt4oMini/Versions/2024/East2",
            "Asia/Tokyo and ASIA/TOKYO",
            "sk_live_ and rt_ alone",
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
        assert_eq!(excerpt("ab cdef ghij", 6), "ab …");
        assert_eq!(excerpt("abcdefghij", 4), "abcd …");
        assert_eq!(excerpt("abcdefghij klm", 4), "abcd …");
        let key = format!("x{KEY}");
        let shown = excerpt(&format!("pre-{KEY}-post"), 12);
        assert!(!shown.contains("4fJ9"), "{shown}");
        assert_eq!(text(&shown), shown);
        assert!(!excerpt(&key, 12).contains("4fJ9"));
        let long = format!("{} {KEY}", "word ".repeat(20));
        let cut = excerpt(&long, 110);
        assert!(!cut.contains("sk-proj"), "{cut}");
        assert!(excerpt(&"é ".repeat(1000), 5).starts_with("é é é"));
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        for input in [
            "request had Cookie: a=b123456789; c=d\napi-key: 0123456789abcdef",
            "Bearer\nabcdefgh12345678 and token: zyxwvutsrqponm",
            "Authorization: Bearer abcdefghijklmnop\nx-api-key: 0123abcd",
        ] {
            let once = excerpt(input, 240);
            assert_eq!(text(&once), once, "{input:?}");
            assert_eq!(text(&text(input)), text(input), "{input:?}");
        }
    }

    #[test]
    fn stripe_aws_and_refresh_token_prefixes() {
        // Stripe's documented test key, and live and restricted keys of the same shape.
        hides("No such customer; key sk_test_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc");
        hides("Invalid API Key provided: sk_live_51H8abcdEFGH1234", "51H8abcdEFGH1234");
        hides("restricted key rk_live_51H8abcdEFGH1234 lacks a permission", "51H8abcdEFGH1234");
        hides("restricted key RK_TEST_51H8abcdEFGH1234", "51H8abcdEFGH1234");
        // An AWS access key id (AKIA and 16 of [0-9A-Z]; ASIA for a session's).
        hides("The AWS Access Key Id AKIAIOSFODNN7EXAMPLE does not exist", "IOSFODNN7EXAMPLE");
        hides("aws_access_key_id=ASIAY34FZKBOKMUTVV7A", "Y34FZKBOKMUTVV7A");
        // An OpenAI/Codex sign-in's refresh token, even where no `refresh_token` names it.
        hides("could not refresh with rt_3fKq9ZbW0x", "3fKq9ZbW0x");
    }

    #[test]
    fn aws_secret_access_keys() {
        const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        // Named, the way `~/.aws/credentials`, the environment and STS write it.
        for named in [
            format!("aws_secret_access_key = {SECRET}"),
            format!("AWS_SECRET_ACCESS_KEY={SECRET}"),
            format!(r#"{{"SecretAccessKey": "{SECRET}", "SessionToken": "IQoJb3JpZ2luX2Vj"}}"#),
            "aws_session_token=IQoJb3JpZ2luX2Vj".to_owned(),
        ] {
            let out = text(&named);
            for piece in ["wJalrXUtnFEMI", "K7MDENG", "bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2Vj"] {
                assert!(!out.contains(piece), "{piece} survived in {out}");
            }
        }
        // Unnamed: after its key id, or alone; `/` no longer cuts it into short words.
        for bare in [
            format!("credentials AKIAIOSFODNN7EXAMPLE {SECRET} were rejected"),
            format!("AKIAIOSFODNN7EXAMPLE:{SECRET}"),
            format!("signing with '{SECRET}'"),
            "got 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 back".to_owned(),
            r#"{"k":"/9dQqI4b+Ew1mZ7RtYzXk2Lv8hNcOe3PpUa5Sj0=="}"#.to_owned(),
        ] {
            let out = text(&bare);
            assert!(out.contains(REDACTED), "{out}");
            for piece in ["wJalrXUtnFEMI", "K7MDENG", "bPxRfiCYEXAMPLEKEY", "9dQ", "8hNcOe3PpUa5Sj0"] {
                assert!(!out.contains(piece), "{piece} survived in {out}");
            }
        }
    }

    #[test]
    fn a_prefixed_key_goes_on_over_slashes() {
        hides("key sk-proj-abc/defGHIjklMNOpqrSTU0123456789 invalid", "defGHIjkl");
        hides("sk-ant-api03-ab+cd/efghijklmnop", "efghijklmnop");
        assert_eq!(text("sk-proj-abc/def"), REDACTED);
        assert!(has_secret_token("profile-x sk-proj-ab/cdefgh"));
    }

    #[test]
    fn any_bearer_value_however_short() {
        assert_eq!(text("sent Bearer x to the proxy"), "sent Bearer [redacted] to the proxy");
        assert_eq!(text("bearer:ab12"), "bearer:[redacted]");
        assert_eq!(text("Authorization: Bearer x"), "Authorization: [redacted]");
        assert!(has_secret_token("Bearer x"));
        // After a space, a word of prose is no credential; after `=` it is.
        for keep in [
            "Missing bearer or basic authentication in header",
            "You need to provide your API key in an Authorization header using Bearer auth (i.e.",
            "a Bearer token.",
            "Provided authentication token is expired.",
        ] {
            assert_eq!(text(keep), keep);
        }
        assert_eq!(text("bearer=auth"), "bearer=[redacted]");
        // Other schemes still take 8 characters: `token is expired` stays prose.
        assert_eq!(text("token abc1"), "token abc1");
    }

    #[test]
    fn urls_lose_user_info_and_query_values() {
        let shown = url("https://user:pw@proxy.example.com:8443/v1?key=abc#frag");
        assert_eq!(shown, "https://proxy.example.com:8443/v1?…");
    }
}
