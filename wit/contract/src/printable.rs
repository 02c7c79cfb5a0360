//! Text a host prints that came from a policy or an operator (a revision, a path, a reason):
//! escaped, so that it prints on one line and means what it shows. Every host names a policy
//! the same way, [`policy_name`].

/// The longest run of a policy's own text a host prints, in characters.
pub const PRINTABLE_CHARS: usize = 80;

/// Text from a policy (or a path) as a host prints it: control characters (newlines, ANSI
/// escapes, bidi overrides) escaped as Rust writes them, cut to 80 characters with `…`.
pub fn printable(text: &str) -> String {
    match text.char_indices().nth(PRINTABLE_CHARS) {
        Some((cut, _)) => format!("{}…", escaped(&text[..cut])),
        None => escaped(text),
    }
}

/// Text with its control characters (and the bidi overrides that reorder a terminal line)
/// escaped, so that it prints on one line and means what it shows.
pub fn escaped(text: &str) -> String {
    let hidden = |c: char| {
        c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(hidden) {
        return text.to_owned();
    }
    text.chars().fold(String::with_capacity(text.len() + 8), |mut shown, c| {
        if hidden(c) {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
        shown
    })
}

/// How a host names a policy in messages and logs: `REVISION (sha256 FIRST12, SOURCE)`, or
/// `SOURCE (sha256 FIRST12)` before the policy has said its revision.
pub fn policy_name(revision: &str, sha256: &str, source: &str) -> String {
    let short = sha256.get(..12).unwrap_or(sha256);
    if revision.is_empty() {
        return format!("{} (sha256 {short})", printable(source));
    }
    format!("{} (sha256 {short}, {})", printable(revision), printable(source))
}
