//! Base-URL classification and the one canonicalizer every transport uses.
//!
//! A configured base URL is parsed as WHATWG does (the `url` crate), then classified by the
//! table in `rules/urls.toml`. Official hosts accept only the exact shapes they serve: a clear
//! error beats an HTML 403. The classifier also uses [`check_request_url`] to tell whether a
//! failed request went to its route's canonical URL.

use crate::redact;
use crate::rules::{AccountPath, OfficialHost, POLICY, ROUTES, URLS};
use crate::types::BaseUrlClass;
use std::borrow::Cow;
use std::ops::Range;
use url::{Host, Url};

/// A classified base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaseUrl {
    /// Blank or absent: the route's default applies.
    Unresolved,
    /// Usable, with its canonical form.
    Valid {
        class: BaseUrlClass,
        canonical: String,
        /// The rule that classified it.
        rule: &'static str,
        /// The input was a legacy spelling of an official base.
        legacy: bool,
    },
    /// Unusable. `reason` says why and what to use instead; it names no secret.
    Invalid { rule: &'static str, reason: String },
}

impl BaseUrl {
    /// The class, for `endpoint.base-url-class`.
    pub fn class(&self) -> BaseUrlClass {
        match self {
            BaseUrl::Unresolved => BaseUrlClass::Unresolved,
            BaseUrl::Valid { class, .. } => *class,
            BaseUrl::Invalid { .. } => BaseUrlClass::Invalid,
        }
    }
}

/// Rule ids of the invalid cases that no data row owns.
pub const RULE_TOO_LONG: &str = "url.too-long";
pub const RULE_CONTROL: &str = "url.control-character";
pub const RULE_AMBIGUOUS: &str = "url.ambiguous-character";
pub const RULE_UNPARSEABLE: &str = "url.unparseable";
pub const RULE_SCHEME: &str = "url.scheme";
pub const RULE_USERINFO: &str = "url.userinfo";
pub const RULE_SECRET: &str = "url.secret";
pub const RULE_EMPTY_LABEL: &str = "url.empty-label";

/// Classifies a configured base URL (CONTRACT.md, "Base-URL classes"), in steps: the raw text,
/// the parse, the way it is written, the host, and then the class of that host.
pub fn classify(raw: Option<&str>) -> BaseUrl {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return BaseUrl::Unresolved;
    };
    match classify_text(raw) {
        Ok(answer) | Err(answer) => answer,
    }
}

/// An invalid base URL, for `?` in the steps of [`classify`].
fn invalid(rule: &'static str, reason: String) -> BaseUrl {
    BaseUrl::Invalid { rule, reason }
}

fn classify_text(raw: &str) -> Result<BaseUrl, BaseUrl> {
    check_text(raw)?;
    let url = parse(raw)?;
    check_written_form(raw, &url)?;
    let host = url.host().ok_or_else(|| invalid(RULE_UNPARSEABLE, "has no host".to_owned()))?;
    let name = host_name(&host)?;
    if let Some(official) = URLS.official.iter().find(|o| o.host == name) {
        return Ok(classify_official(official, &url));
    }
    if let Some(not_api) = URLS.not_api.iter().find(|n| n.host == name) {
        return Err(invalid(not_api.id, format!("is {}, which serves no API; use {}", not_api.host, not_api.suggest)));
    }
    let url = plain_url(&url, &host, name)?;
    if !name.is_empty() && URLS.azure.host_suffixes.iter().any(|s| name.len() > s.len() && name.ends_with(s)) {
        return classify_azure(&url, name);
    }
    classify_custom(&url, &host)
}

/// The raw text: its length, and characters URL parsers read differently or drop.
fn check_text(raw: &str) -> Result<(), BaseUrl> {
    let limit = POLICY.limits.max_url_bytes as usize;
    if raw.len() > limit {
        return Err(invalid(RULE_TOO_LONG, format!("is {} bytes long; a base URL has at most {limit}", raw.len())));
    }
    // WHATWG parsing silently drops tabs and newlines inside a URL; in a config value they are
    // a mistake or a trick, so they are refused instead.
    if let Some(at) = raw.find(|c: char| c.is_control()) {
        return Err(invalid(RULE_CONTROL, format!("contains a control character at byte {at}")));
    }
    // A backslash is read as `/` by WHATWG parsers and as part of the user info or path by
    // others, so `https://evil.example\@chatgpt.com/` means different hosts to different
    // clients; a space is never part of a URL. Both are refused rather than guessed at.
    if let Some(at) = raw.find(['\\', ' ']) {
        let what = if raw[at..].starts_with(' ') { "a space" } else { "a backslash" };
        return Err(invalid(
            RULE_AMBIGUOUS,
            format!("contains {what} at byte {at}; URL parsers disagree on what it means, so write it without"),
        ));
    }
    Ok(())
}

/// The WHATWG parse, with the parser's errors in words a user can act on.
fn parse(raw: &str) -> Result<Url, BaseUrl> {
    Url::parse(raw).map_err(|error| match error {
        url::ParseError::RelativeUrlWithoutBase => {
            invalid(RULE_UNPARSEABLE, "is not an absolute URL; write it with https://".to_owned())
        }
        url::ParseError::IdnaError if !raw.is_ascii() => {
            invalid(RULE_UNPARSEABLE, "has a non-ASCII host; write it in its ASCII (punycode, xn--) form".to_owned())
        }
        error => invalid(RULE_UNPARSEABLE, format!("does not parse as a URL ({error})")),
    })
}

/// The scheme, written out in full, and no user info.
fn check_written_form(raw: &str, url: &Url) -> Result<(), BaseUrl> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            RULE_SCHEME,
            format!(
                "uses the scheme `{}:`; only https (or http to a loopback host) is allowed",
                redact::short(url.scheme())
            ),
        ));
    }
    // WHATWG repairs `https:chatgpt.com` and `https:///chatgpt.com`, and reads `https:oa://
    // chatgpt.com` as the host `oa`: what a reader sees is not where the credential goes. A base
    // URL is written out in full, `scheme://host`, or refused.
    if !raw[url.scheme().len()..].starts_with("://") || raw[url.scheme().len() + 3..].starts_with('/') {
        return Err(invalid(
            RULE_SCHEME,
            format!("is not written as {}://host/…; write the scheme, then // and the host", url.scheme()),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            RULE_USERINFO,
            "carries user info before the host; credentials never go in URLs, remove it".to_owned(),
        ));
    }
    Ok(())
}

/// A domain without its root dot (empty for an IP address). One trailing dot is the DNS root
/// (`api.openai.com.` is api.openai.com); a second one, or `a..b`, is an empty label that
/// resolvers refuse or read differently.
fn host_name<'h>(host: &Host<&'h str>) -> Result<&'h str, BaseUrl> {
    let Host::Domain(domain) = *host else { return Ok("") };
    let name = domain.strip_suffix('.').unwrap_or(domain);
    if name.is_empty() || name.ends_with('.') || name.contains("..") {
        return Err(invalid(
            RULE_EMPTY_LABEL,
            "has an empty label in its host (extra dots); write the host name with single dots".to_owned(),
        ));
    }
    Ok(name)
}

/// The URL as a request URL is built from it: the host's root dot dropped, so that the host a
/// request goes to is written one way only, and an empty `?` or `#` dropped, so that a path
/// joined to it stays a path (`…/v1?` + `/responses` would be a query).
fn plain_url(url: &Url, host: &Host<&str>, name: &str) -> Result<Url, BaseUrl> {
    let mut plain = url.clone();
    if matches!(host, Host::Domain(d) if d.ends_with('.')) && plain.set_host(Some(name)).is_err() {
        return Err(invalid(RULE_UNPARSEABLE, "has a host that does not parse without its trailing dot".to_owned()));
    }
    if plain.query() == Some("") {
        plain.set_query(None);
    }
    if plain.fragment() == Some("") {
        plain.set_fragment(None);
    }
    Ok(plain)
}

fn has_query_or_fragment(url: &Url) -> bool {
    url.query().is_some_and(|q| !q.is_empty()) || url.fragment().is_some_and(|f| !f.is_empty())
}

/// An Azure OpenAI resource: https, no query, and no path beyond the API's own suffixes.
fn classify_azure(url: &Url, name: &str) -> Result<BaseUrl, BaseUrl> {
    let rule = URLS.azure.id;
    if url.scheme() != "https" {
        return Err(invalid(rule, "is an Azure OpenAI host over plain http; use https".to_owned()));
    }
    if has_query_or_fragment(url) {
        return Err(invalid(
            rule,
            "has a query or fragment; an Azure base URL is the resource URL (remove `?…`: the route chooses api-version itself)"
                .to_owned(),
        ));
    }
    // Repeated slashes are one (`https://r.openai.azure.com///`, `…//openai//v1/`).
    let mut collapsed = String::with_capacity(url.path().len());
    for c in url.path().chars() {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    let path = collapsed.strip_suffix('/').unwrap_or(&collapsed);
    let rest = URLS.azure.strip_suffixes.iter().find_map(|s| path.strip_suffix(s)).unwrap_or(path);
    if !rest.is_empty() {
        return Err(invalid(
            rule,
            format!(
                "has the path `{}`; an Azure base URL is the resource URL, e.g. https://{name}/openai/v1",
                redact::short(path)
            ),
        ));
    }
    Ok(BaseUrl::Valid { class: BaseUrlClass::Azure, canonical: origin(url), rule, legacy: false })
}

/// Any other host: an operator's proxy or another OpenAI-compatible server.
fn classify_custom(url: &Url, host: &Host<&str>) -> Result<BaseUrl, BaseUrl> {
    let rule = URLS.custom.id;
    if url.scheme() != "https" && !is_loopback(host) {
        return Err(invalid(
            rule,
            format!(
                "uses plain http to {}, which is not a loopback host; use https",
                redact::short(name_or_ip(host).as_str())
            ),
        ));
    }
    if has_query_or_fragment(url) {
        return Err(invalid(
            rule,
            "has a query or fragment; a base URL carries none (proxy parameters belong in headers)".to_owned(),
        ));
    }
    let serialized = url.as_str();
    if redact::contains_secret(&without_account_id(url)) {
        return Err(invalid(
            RULE_SECRET,
            "appears to contain a credential; credentials are described, never put in URLs".to_owned(),
        ));
    }
    let canonical = serialized.strip_suffix('/').unwrap_or(serialized).to_owned();
    Ok(BaseUrl::Valid { class: BaseUrlClass::Custom, canonical, rule, legacy: false })
}

/// The documented place of an account id in a gateway's path (`urls.toml` [[account-paths]]):
/// the rule and the segment's byte range in `path`, when `host` is that gateway's and the
/// segment there is the account id's length in hex digits.
fn account_segment(host: &str, path: &str) -> Option<(&'static AccountPath, Range<usize>)> {
    let rule = URLS.account_paths.iter().find(|a| a.host == host)?;
    let mut rest = path.strip_prefix('/')?;
    let mut at = 1;
    for before in rule.before {
        let (segment, tail) = rest.split_once('/')?;
        if segment != *before {
            return None;
        }
        at += segment.len() + 1;
        rest = tail;
    }
    let len = rest.find('/').unwrap_or(rest.len());
    let id = &rest[..len];
    (id.len() == rule.hex_digits as usize && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some((rule, at..at + len))
}

/// A URL's serialization without a documented account id (replaced by `account-id`), for the
/// secret check: everything else in it is still checked, and the same digits anywhere else are
/// still a credential.
fn without_account_id(url: &Url) -> Cow<'_, str> {
    let serialized = url.as_str();
    let (Some(host), path) = (url.host_str(), url.path()) else { return Cow::Borrowed(serialized) };
    let Some((_, range)) = account_segment(host, path) else { return Cow::Borrowed(serialized) };
    // The path is the serialization's tail: a custom base URL has no query or fragment here.
    let Some(offset) = serialized.len().checked_sub(path.len()).filter(|o| serialized[*o..] == *path) else {
        return Cow::Borrowed(serialized);
    };
    let mut masked = serialized.to_owned();
    masked.replace_range(offset + range.start..offset + range.end, "account-id");
    Cow::Owned(masked)
}

/// A base URL for a note: redacted as every echoed URL is, except a documented account id,
/// which is shown (it names the operator's gateway, and is no credential).
pub fn shown(raw: &str) -> String {
    let Ok(url) = Url::parse(raw.trim()) else { return redact::url(raw) };
    let Some((_, range)) = url.host_str().and_then(|host| account_segment(host, url.path())) else {
        return redact::url(raw);
    };
    let id = &url.path()[range];
    let masked = without_account_id(&url);
    let shown = redact::url(&masked);
    match shown.find("/account-id") {
        Some(at) => format!("{}/{id}{}", &shown[..at], &shown[at + "/account-id".len()..]),
        None => shown,
    }
}

fn classify_official(official: &'static OfficialHost, url: &Url) -> BaseUrl {
    let invalid = |what: String| BaseUrl::Invalid {
        rule: official.id,
        reason: format!(
            "{what}; {} serves only {} (the canonical base is {})",
            official.host,
            accepted(official),
            official.canonical
        ),
    };
    if url.scheme() != "https" {
        return invalid("uses plain http".to_owned());
    }
    if let Some(port) = url.port() {
        return invalid(format!("names port {port}"));
    }
    if url.query().is_some_and(|q| !q.is_empty()) || url.fragment().is_some_and(|f| !f.is_empty()) {
        return invalid("has a query or fragment".to_owned());
    }
    let path = url.path();
    let path = path.strip_suffix('/').unwrap_or(path);
    if official.paths.contains(&path) {
        return BaseUrl::Valid {
            class: official.class,
            canonical: official.canonical.to_owned(),
            rule: official.id,
            legacy: false,
        };
    }
    if official.legacy_paths.contains(&path) {
        return BaseUrl::Valid {
            class: official.class,
            canonical: official.canonical.to_owned(),
            rule: official.id,
            legacy: true,
        };
    }
    invalid(format!("has the path `{}`", redact::short(url.path())))
}

/// The accepted paths of an official host, for messages.
fn accepted(official: &OfficialHost) -> String {
    let paths: Vec<&str> =
        official.paths.iter().chain(official.legacy_paths).map(|p| if p.is_empty() { "/" } else { p }).collect();
    paths.join(", ")
}

/// One path segment, percent-encoded: every byte but RFC 3986's unreserved characters
/// (letters, digits, `-`, `.`, `_`, `~`).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://host[:port]`, the canonical base of an Azure resource.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn name_or_ip(host: &Host<&str>) -> String {
    match host {
        Host::Domain(d) => (*d).to_owned(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => format!("[{ip}]"),
    }
}

/// Plain http may reach only these hosts: 127.0.0.0/8, ::1, `localhost` and `*.localhost`.
pub fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(domain) => {
            let domain = domain.strip_suffix('.').unwrap_or(domain);
            URLS.custom.loopback_hosts.contains(&domain) || domain.ends_with(".localhost")
        }
    }
}

/// Joins a canonical base and a transport path. Every transport builds its URL here.
pub fn join(base: &str, path: &str) -> String {
    let mut url = String::with_capacity(base.len() + path.len());
    url.push_str(base);
    url.push_str(path);
    url
}

/// What a failed request's URL says about its route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestUrl {
    /// No URL was given, or it does not parse.
    Unknown,
    /// The URL is on an official host, with the route's canonical URL for comparison.
    Official { class: BaseUrlClass, canonical: String, is_canonical: bool, url: Box<Url> },
    /// An Azure or custom host: the policy cannot tell its canonical form.
    Other { class: BaseUrlClass, url: Box<Url> },
}

impl RequestUrl {
    /// The class of the URL's host (for routing scope errors).
    pub fn class(&self) -> BaseUrlClass {
        match self {
            RequestUrl::Unknown => BaseUrlClass::Unresolved,
            RequestUrl::Official { class, .. } | RequestUrl::Other { class, .. } => *class,
        }
    }

    /// The URL for a message (no user info, no query values, redacted), if it parsed.
    pub fn shown(&self) -> Option<String> {
        match self {
            RequestUrl::Unknown => None,
            RequestUrl::Official { url, .. } | RequestUrl::Other { url, .. } => Some(redact::parsed_url(url)),
        }
    }
}

/// Checks a request URL against the canonical URL of its route.
pub fn check_request_url(raw: Option<&str>) -> RequestUrl {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty() && s.len() <= POLICY.limits.max_url_bytes as usize)
    else {
        return RequestUrl::Unknown;
    };
    let Ok(url) = Url::parse(raw) else { return RequestUrl::Unknown };
    let url = Box::new(url);
    let name = match url.host() {
        Some(Host::Domain(domain)) => domain.strip_suffix('.').unwrap_or(domain).to_owned(),
        _ => return RequestUrl::Other { class: BaseUrlClass::Custom, url },
    };
    let name = name.as_str();
    if let Some(not_api) = URLS.not_api.iter().find(|n| n.host == name) {
        let class =
            if not_api.suggest.contains("chatgpt.com") { BaseUrlClass::Chatgpt } else { BaseUrlClass::Platform };
        return RequestUrl::Official { class, canonical: not_api.suggest.to_owned(), is_canonical: false, url };
    }
    let Some(official) = URLS.official.iter().find(|o| o.host == name) else {
        let azure = URLS.azure.host_suffixes.iter().any(|s| name.ends_with(s));
        return RequestUrl::Other { class: if azure { BaseUrlClass::Azure } else { BaseUrlClass::Custom }, url };
    };

    // The transport path is the longest known suffix; what is left is the base.
    let path = url.path();
    let transport_path = if official.class == BaseUrlClass::Chatgpt {
        Some(ROUTES.codex.path).filter(|p| path.ends_with(p))
    } else {
        ROUTES.platform.paths.iter().map(|p| p.path).filter(|p| path.ends_with(p)).max_by_key(|p| p.len())
    };
    let canonical_path = match official.class {
        BaseUrlClass::Chatgpt => ROUTES.codex.path,
        _ => transport_path.unwrap_or(""),
    };
    let canonical = join(official.canonical, canonical_path);
    // The canonical URL is `https://{host}{path}`; compare without building the given one.
    let is_canonical = transport_path.is_some()
        && url.scheme() == "https"
        && url.port().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && canonical.strip_prefix("https://").and_then(|rest| rest.strip_prefix(official.host)) == Some(path);
    RequestUrl::Official { class: official.class, canonical, is_canonical, url }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(raw: &str) -> (BaseUrlClass, String, bool) {
        match classify(Some(raw)) {
            BaseUrl::Valid { class, canonical, legacy, .. } => (class, canonical, legacy),
            other => panic!("{raw} classified as {other:?}"),
        }
    }

    fn invalid(raw: &str) -> String {
        match classify(Some(raw)) {
            BaseUrl::Invalid { reason, .. } => reason,
            other => panic!("{raw} classified as {other:?}"),
        }
    }

    #[test]
    fn blank_is_unresolved() {
        assert_eq!(classify(None), BaseUrl::Unresolved);
        assert_eq!(classify(Some(" \t ")), BaseUrl::Unresolved);
    }

    #[test]
    fn platform_forms_become_one_canonical_base() {
        for raw in [
            "https://api.openai.com",
            "https://api.openai.com/",
            "https://api.openai.com/v1",
            "https://api.openai.com/v1/",
            "HTTPS://API.OPENAI.COM/v1",
            "https://api.openai.com.:443/v1",
            "  https://api.openai.com/v1  ",
        ] {
            assert_eq!(valid(raw), (BaseUrlClass::Platform, "https://api.openai.com/v1".to_owned(), false), "{raw}");
        }
    }

    #[test]
    fn chatgpt_forms_become_the_codex_base() {
        for (raw, legacy) in [
            ("https://chatgpt.com/backend-api", true),
            ("https://chatgpt.com/backend-api/", true),
            ("https://chatgpt.com/backend-api/v1", true),
            ("https://chatgpt.com/backend-api/codex", false),
            ("https://chatgpt.com/backend-api/codex/", false),
            ("https://chatgpt.com/backend-api/codex/v1", false),
            ("https://chatgpt.com/backend-api/codex/responses", false),
            ("https://ChatGPT.com./backend-api/codex/responses/", false),
        ] {
            assert_eq!(
                valid(raw),
                (BaseUrlClass::Chatgpt, "https://chatgpt.com/backend-api/codex".to_owned(), legacy),
                "{raw}"
            );
        }
    }

    #[test]
    fn official_hosts_refuse_other_shapes() {
        assert!(invalid("http://api.openai.com/v1").contains("plain http"));
        assert!(invalid("https://api.openai.com:8443/v1").contains("port 8443"));
        assert!(invalid("https://api.openai.com/v1?x=1").contains("query"));
        assert!(invalid("https://api.openai.com/v1#top").contains("query or fragment"));
        assert!(invalid("https://api.openai.com/v2").contains("`/v2`"));
        assert!(invalid("https://chatgpt.com/backend-api/responses").contains("https://chatgpt.com/backend-api/codex"));
        assert!(invalid("https://chatgpt.com").contains("/backend-api/codex"));
        assert!(invalid("https://chatgpt.com/backend-api//codex").contains("path"));
        assert!(invalid("https://chat.openai.com/backend-api").contains("https://chatgpt.com/backend-api/codex"));
    }

    #[test]
    fn lookalikes_are_never_official() {
        // User info before an official-looking name: the host is `evil`.
        assert!(invalid("https://chatgpt.com%2F@evil/backend-api").contains("user info"));
        assert!(invalid("https://user:pass@api.openai.com/v1").contains("user info"));
        assert_eq!(valid("https://chatgpt.com.evil.example/backend-api").0, BaseUrlClass::Custom);
        assert_eq!(valid("https://api.openai.com.evil.example/v1").0, BaseUrlClass::Custom);
        // Cyrillic "а" in chаtgpt, and fullwidth letters: non-ASCII hosts are refused.
        assert!(invalid("https://ch\u{0430}tgpt.com/backend-api").contains("punycode"));
        assert!(invalid("https://\u{ff43}hatgpt.com/backend-api").contains("punycode"));
        assert_eq!(valid("https://xn--chtgpt-8nf.com/backend-api").0, BaseUrlClass::Custom);
        assert!(invalid("https://api.openai.com..evil/v1").contains("empty label"));
        assert!(invalid("https://chatgpt.com../backend-api/codex").contains("empty label"));
        // The root dot is dropped from any host's canonical form, and so is an empty query or
        // fragment: a path joined to `…/v1?` would be a query.
        assert_eq!(valid("https://proxy.example./v1").1, "https://proxy.example/v1");
        assert_eq!(valid("https://proxy.example/v1?").1, "https://proxy.example/v1");
        assert_eq!(valid("https://proxy.example/v1#").1, "https://proxy.example/v1");
        assert_eq!(valid("https://proxy.example/v1/?#").1, "https://proxy.example/v1");
        // A backslash is `/` to WHATWG (host evil.example) but user info to other parsers (host
        // chatgpt.com): refused, as is every other way of hiding the host.
        assert!(invalid("https://evil.example\\@chatgpt.com/backend-api/codex").contains("backslash at byte 20"));
        assert!(invalid("https:\\\\chatgpt.com\\backend-api").contains("backslash"));
        assert!(invalid("https://chatgpt.com@evil.example/backend-api/codex").contains("user info"));
        assert!(invalid("https://evil.example#@chatgpt.com/backend-api/codex").contains("fragment"));
        assert!(invalid("https://evil.example?@chatgpt.com/backend-api/codex").contains("query"));
        // WHATWG's repairs of a missing or extra `/`, and `https:oa://chatgpt.com` (the host `oa`).
        for raw in [
            "https:chatgpt.com/backend-api/codex",
            "https:///chatgpt.com/backend-api/codex",
            "https:oa://chatgpt.com/backend-api/codex",
            "https:/chatgpt.com/backend-api",
        ] {
            assert!(invalid(raw).contains("write the scheme, then // and the host"), "{raw}");
        }
    }

    #[test]
    fn azure_keeps_the_resource_origin() {
        for raw in [
            "https://res.openai.azure.com",
            "https://res.openai.azure.com/openai/v1/",
            "https://res.openai.azure.com/v1",
        ] {
            assert_eq!(valid(raw), (BaseUrlClass::Azure, "https://res.openai.azure.com".to_owned(), false), "{raw}");
        }
        assert!(invalid("http://res.openai.azure.com/openai/v1").contains("https"));
        assert!(invalid("https://res.openai.azure.com/openai/deployments/x").contains("resource URL"));
    }

    #[test]
    fn custom_hosts_need_https_unless_loopback() {
        assert_eq!(
            valid("https://proxy.example.com/v1/"),
            (BaseUrlClass::Custom, "https://proxy.example.com/v1".to_owned(), false)
        );
        assert_eq!(valid("http://localhost:11434/v1").1, "http://localhost:11434/v1");
        assert_eq!(valid("http://127.0.0.2:8080").1, "http://127.0.0.2:8080");
        assert_eq!(valid("http://[::1]:8080/v1").1, "http://[::1]:8080/v1");
        assert_eq!(valid("http://api.localhost/v1").0, BaseUrlClass::Custom);
        assert!(invalid("http://10.0.0.5/v1").contains("not a loopback host"));
        assert!(invalid("https://proxy.example.com/v1?key=abc").contains("query"));
        assert!(!invalid("https://proxy.example.com/v1?key=abc").contains("abc"));
    }

    #[test]
    fn garbage_is_invalid_with_a_reason() {
        assert!(invalid("chatgpt.com/backend-api").contains("https://"));
        assert!(invalid("ftp://api.openai.com/v1").contains("scheme"));
        assert!(invalid("https://exa mple.com").contains("a space at byte 11"));
        assert!(invalid("https://[::1/x").contains("does not parse"));
        assert!(invalid("https://chat\ngpt.com/backend-api").contains("control character"));
        assert!(invalid(&format!("https://example.com/{}", "a".repeat(10_000))).contains("at most"));
        assert!(invalid("https://proxy.example.com/sk-proj-abcdefghijklmnopqrstuvwx/v1").contains("credential"));
    }

    #[test]
    fn a_documented_account_id_is_no_credential_but_the_same_digits_elsewhere_are() {
        let account = "023e105f4ecef8ad9ca31a8372d0c353";
        for base in [
            format!("https://gateway.ai.cloudflare.com/v1/{account}/my-gateway/openai"),
            format!("https://gateway.ai.cloudflare.com/v1/{account}/my-gateway/compat/"),
            format!("https://api.cloudflare.com/client/v4/accounts/{account}/ai/v1"),
        ] {
            let (class, canonical, _) = valid(&base);
            assert_eq!((class, canonical.as_str()), (BaseUrlClass::Custom, base.trim_end_matches('/')), "{base}");
            assert!(shown(&base).contains(account), "{}", shown(&base));
        }
        // Not at the documented place, not that gateway's host, or a key beside the account id.
        for base in [
            format!("https://gateway.ai.cloudflare.com/v2/{account}/my-gateway/openai"),
            format!("https://gateway.ai.cloudflare.com/v1/my-gateway/{account}/openai"),
            format!("https://proxy.example.com/v1/{account}/my-gateway/openai"),
            format!("https://gateway.ai.cloudflare.com.evil.example/v1/{account}/g/openai"),
            format!("https://gateway.ai.cloudflare.com/v1/{account}/{account}/openai"),
            "https://gateway.ai.cloudflare.com/v1/sk-proj-abcdefghijklmnopqrstuvwx/g/openai".to_owned(),
        ] {
            assert!(invalid(&base).contains("credential"), "{base}");
        }
        assert!(!shown(&format!("https://proxy.example.com/{account}/v1")).contains(account));
    }

    #[test]
    fn request_urls_are_checked_against_their_route() {
        let check = |raw| check_request_url(Some(raw));
        assert_eq!(
            check("https://chatgpt.com/backend-api/responses"),
            RequestUrl::Official {
                class: BaseUrlClass::Chatgpt,
                canonical: "https://chatgpt.com/backend-api/codex/responses".to_owned(),
                is_canonical: false,
                url: Box::new(Url::parse("https://chatgpt.com/backend-api/responses").unwrap()),
            }
        );
        assert!(matches!(
            check("https://chatgpt.com/backend-api/codex/responses"),
            RequestUrl::Official { is_canonical: true, .. }
        ));
        assert!(matches!(
            check("https://api.openai.com/v1/images/generations"),
            RequestUrl::Official { is_canonical: true, class: BaseUrlClass::Platform, .. }
        ));
        assert!(matches!(
            check("https://api.openai.com/images/generations"),
            RequestUrl::Official { is_canonical: false, .. }
        ));
        assert_eq!(check("https://proxy.example.com/v1/responses").class(), BaseUrlClass::Custom);
        assert_eq!(check("https://r.openai.azure.com/openai/v1/responses").class(), BaseUrlClass::Azure);
        assert_eq!(check_request_url(None), RequestUrl::Unknown);
    }
}
