//! The distribution API over HTTP, with three things a registry does not decide for the host:
//!
//! - **How much is read.** Every body is read chunk by chunk against a limit, and a
//!   `Content-Length` above the limit is refused before any of it is read: a manifest or an
//!   index at most [`MAX_MANIFEST_BYTES`], a token answer [`MAX_TOKEN_BYTES`], a blob no more
//!   than its descriptor declares (the caller's limit: a component at most 32 MiB, a signature
//!   payload 4 KiB), an error's body only its first [`MAX_ERROR_BYTES`], for the message. Past
//!   a limit the connection is dropped, unread.
//! - **Where requests go.** Plain http only to a loopback registry's own host; anywhere else,
//!   https. A read follows at most [`MAX_REDIRECTS`] redirects (registries serve blobs from a
//!   storage origin), each under the same rule; a write follows none.
//! - **Who gets the credentials.** The registry's credentials and bearer tokens go only to its
//!   own origin (scheme, host, port), never along a redirect or an upload location elsewhere.
//!   The Basic credentials go to a token realm (the `Bearer realm=…` of a `401`) only on the
//!   registry's own host, over https (plain http for a loopback registry); a realm elsewhere
//!   is asked for an anonymous token, and a `401` that follows says the credentials were
//!   withheld.
//!
//! oci-client's types (manifests, descriptors, indexes) serve here; its client does not: it
//! reads bodies whole and follows redirects to any origin, plain http included.

use crate::reference::OciRef;
use crate::registry::Credentials;
use reqwest::header::{ACCEPT, CONTENT_TYPE, IF_NONE_MATCH, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode, Url};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The largest manifest or index read (a policy's manifest is under 1 KiB; a referrers index
/// lists one small entry per signature).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// The largest answer of a token realm.
pub const MAX_TOKEN_BYTES: usize = 64 << 10;
/// How much of an error's body is read, for its message.
pub const MAX_ERROR_BYTES: usize = 4 << 10;
/// How many redirects a read follows.
pub const MAX_REDIRECTS: usize = 5;

/// The longest a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a response may keep the host waiting for its next bytes.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest any request but a blob's transfer may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a request is for: the scope of the token it needs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Access {
    /// Reading.
    Pull,
    /// Writing (and reading).
    Push,
}

/// Why a request gave nothing usable.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The registry (or a host it named) could not be reached, was refused, or answered an error.
    Failed(String),
    /// A body longer than its limit (not read further).
    TooLarge(String),
}

impl Failure {
    /// What happened, in a sentence.
    pub(crate) fn message(self) -> String {
        match self {
            Failure::Failed(message) | Failure::TooLarge(message) => message,
        }
    }
}

/// What goes with a request besides its method and URL.
#[derive(Default)]
pub(crate) struct Ask<'a> {
    /// `Accept`.
    pub accept: Option<&'a str>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// The body and its `Content-Type`.
    pub body: Option<(&'a [u8], &'a str)>,
    /// A blob's transfer: bounded by the read timeout and its size, not by [`REQUEST_TIMEOUT`].
    pub transfer: bool,
}

/// One registry's HTTP side.
pub(crate) struct Wire {
    /// `HOST[:PORT]`.
    registry: String,
    /// `SCHEME://HOST[:PORT]/`, if the registry's name makes a URL (a parsed reference's does).
    origin: Option<Url>,
    loopback: bool,
    http: reqwest::Client,
    credentials: Option<Credentials>,
    /// Bearer tokens by scope (`repository:NAME:pull`).
    tokens: Mutex<HashMap<String, String>>,
    /// Set once the registry asked for Basic credentials itself.
    basic: AtomicBool,
    /// A token realm the credentials were withheld from, for the message of a `401`.
    withheld: Mutex<Option<String>>,
}

impl Wire {
    /// The HTTP side of `reference`'s registry.
    pub(crate) fn new(reference: &OciRef, credentials: Option<Credentials>) -> Wire {
        let origin = Url::parse(&format!("{}://{}/", reference.scheme(), reference.registry))
            .ok()
            .filter(|url| url.host_str().is_some());
        // Redirects are followed here, one by one, under the rules above; reqwest follows none.
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .https_only(!reference.is_loopback())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("route-policy/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a plain client builds");
        Wire {
            registry: reference.registry.clone(),
            origin,
            loopback: reference.is_loopback(),
            http,
            credentials,
            tokens: Mutex::new(HashMap::new()),
            basic: AtomicBool::new(false),
            withheld: Mutex::new(None),
        }
    }

    /// The registry's URL for `path` (`/v2/…`).
    pub(crate) fn url(&self, path: &str) -> Result<Url, Failure> {
        let origin = self
            .origin
            .as_ref()
            .ok_or_else(|| Failure::Failed(format!("`{}` is not a host[:port]", self.registry.escape_default())))?;
        origin.join(path).map_err(|e| Failure::Failed(format!("{path}: {e}")))
    }

    /// Sends a request to the registry, authenticated for `access` to `repository` (a `401`
    /// is answered once, with the token or credentials it asks for), following redirects if it
    /// is a read.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        access: Access,
        repository: &str,
        ask: &Ask<'_>,
    ) -> Result<Response, Failure> {
        let actions = match access {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        };
        let scope = format!("repository:{repository}:{actions}");
        let mut answered = false;
        loop {
            let response = self.follow(&method, url.clone(), &scope, ask).await?;
            if response.status() == StatusCode::UNAUTHORIZED && !answered {
                answered = true;
                if self.answer(&response, &scope).await? {
                    continue;
                }
            }
            return Ok(response);
        }
    }

    /// One request, and the redirects of a read: each target must be reachable (see
    /// [`Wire::reachable`]), and only the registry's own origin gets its credentials.
    async fn follow(&self, method: &Method, mut url: Url, scope: &str, ask: &Ask<'_>) -> Result<Response, Failure> {
        let read = *method == Method::GET || *method == Method::HEAD;
        for _ in 0..=MAX_REDIRECTS {
            self.reachable(&url).map_err(|why| Failure::Failed(format!("{method} {}: {why}", shown(&url))))?;
            let mut request = self.http.request(method.clone(), url.clone());
            if let Some(accept) = ask.accept {
                request = request.header(ACCEPT, accept);
            }
            if let Some(etag) = ask.if_none_match {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some((body, content_type)) = ask.body {
                request = request.header(CONTENT_TYPE, content_type).body(body.to_vec());
            }
            if !ask.transfer {
                request = request.timeout(REQUEST_TIMEOUT);
            }
            if self.is_registry(&url) {
                request = self.authorize(request, scope);
            }
            let response = request.send().await.map_err(|e| self.unreachable(method, &url, e))?;
            let status = response.status();
            let redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            if !(read && redirect) {
                return Ok(response);
            }
            let location = response.headers().get(LOCATION).and_then(|value| value.to_str().ok()).ok_or_else(|| {
                Failure::Failed(format!("{method} {}: the registry answered {status} and no Location", shown(&url)))
            })?;
            let next = url.join(location).map_err(|e| {
                Failure::Failed(format!("{method} {}: a redirect to `{}`: {e}", shown(&url), location.escape_default()))
            })?;
            self.reachable(&next).map_err(|why| {
                Failure::Failed(format!("{method} {}: the redirect to {} is refused: {why}", shown(&url), shown(&next)))
            })?;
            url = next;
        }
        Err(Failure::Failed(format!("{method} {}: more than {MAX_REDIRECTS} redirects", shown(&url))))
    }

    /// Whether the host may send a request to `url` at all: https, or plain http to the
    /// loopback registry's own host.
    fn reachable(&self, url: &Url) -> Result<(), String> {
        let own_host = self.origin.as_ref().is_some_and(|origin| origin.host_str() == url.host_str());
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.loopback && own_host => Ok(()),
            "http" => {
                Err("plain http is used only for a loopback registry's own host; anywhere else, https".to_owned())
            }
            other => Err(format!("`{other}` is not https")),
        }
    }

    /// Whether `url` is the registry's own origin, where its credentials and tokens may go.
    fn is_registry(&self, url: &Url) -> bool {
        self.origin.as_ref().is_some_and(|origin| {
            origin.scheme() == url.scheme()
                && origin.host_str() == url.host_str()
                && origin.port_or_known_default() == url.port_or_known_default()
        })
    }

    /// Whether a token realm at `realm` may have the registry's Basic credentials: on the
    /// registry's own host, over https (or a loopback registry's plain http).
    fn realm_takes_credentials(&self, realm: &Url) -> bool {
        let own_host = self.origin.as_ref().is_some_and(|origin| origin.host_str() == realm.host_str());
        own_host && (realm.scheme() == "https" || self.loopback)
    }

    fn authorize(&self, request: reqwest::RequestBuilder, scope: &str) -> reqwest::RequestBuilder {
        if let Some(token) = self.tokens.lock().expect("not poisoned").get(scope) {
            return request.bearer_auth(token);
        }
        match &self.credentials {
            Some(c) if self.basic.load(Ordering::Relaxed) => request.basic_auth(&c.username, Some(&c.password)),
            _ => request,
        }
    }

    /// Answers a `401`'s challenge: a bearer token from its realm, or (once) the Basic
    /// credentials. `false`: nothing to answer with.
    async fn answer(&self, response: &Response, scope: &str) -> Result<bool, Failure> {
        let challenges: Vec<Challenge> = response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(Challenge::parse)
            .collect();
        if let Some(bearer) = challenges.iter().find(|c| c.scheme.eq_ignore_ascii_case("bearer")) {
            let token = self.token(bearer, scope).await?;
            self.tokens.lock().expect("not poisoned").insert(scope.to_owned(), token);
            return Ok(true);
        }
        let basic = challenges.iter().any(|c| c.scheme.eq_ignore_ascii_case("basic"));
        Ok(basic && self.credentials.is_some() && !self.basic.swap(true, Ordering::Relaxed))
    }

    /// A bearer token for `scope` from the challenge's realm.
    async fn token(&self, challenge: &Challenge, scope: &str) -> Result<String, Failure> {
        let realm =
            challenge.param("realm").ok_or_else(|| Failure::Failed("a Bearer challenge names no realm".into()))?;
        let mut url = Url::parse(realm)
            .map_err(|e| Failure::Failed(format!("the token realm `{}`: {e}", realm.escape_default())))?;
        let named = shown(&url);
        self.reachable(&url).map_err(|why| Failure::Failed(format!("the token realm {named} is refused: {why}")))?;
        url.query_pairs_mut().append_pair("scope", scope);
        if let Some(service) = challenge.param("service") {
            url.query_pairs_mut().append_pair("service", service);
        }
        let mut request = self.http.get(url.clone()).timeout(REQUEST_TIMEOUT);
        match &self.credentials {
            Some(c) if self.realm_takes_credentials(&url) => {
                request = request.basic_auth(&c.username, Some(&c.password));
            }
            Some(_) => *self.withheld.lock().expect("not poisoned") = Some(named.clone()),
            None => {}
        }
        let what = format!("the token realm {named}");
        let response = request.send().await.map_err(|e| self.unreachable(&Method::GET, &url, e))?;
        if response.status() != StatusCode::OK {
            return Err(self.failure(response, &what).await);
        }
        let body = read(response, MAX_TOKEN_BYTES, &format!("the answer of {what}")).await?;
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|e| Failure::Failed(format!("{what} answered something else than a token: {e}")))?;
        answer
            .token
            .or(answer.access_token)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| Failure::Failed(format!("{what} gave no token")))
    }

    /// The failure of a response whose status is not the one expected: `who` (`oci://…: the
    /// registry`, say) answered the status, and the first [`MAX_ERROR_BYTES`] of its body (the
    /// registry's error codes, or its text) say why.
    pub(crate) async fn failure(&self, response: Response, who: &str) -> Failure {
        let status = response.status();
        let mut message = format!("{who} answered {status}");
        let words = explain(&read_cut(response, MAX_ERROR_BYTES).await);
        if !words.is_empty() {
            message = format!("{message}: {words}");
        }
        if status == StatusCode::UNAUTHORIZED
            && let Some(realm) = self.withheld.lock().expect("not poisoned").as_ref()
        {
            message = format!(
                "{message} (the registry's credentials were not sent to the token realm {realm}: it is not on the \
                 registry's host, over https)"
            );
        }
        Failure::Failed(message)
    }

    /// Uploads `bytes` as a blob of `repository` (a monolithic upload: `POST`, then `PUT` with
    /// the digest).
    pub(crate) async fn push_blob(&self, repository: &str, bytes: &[u8], digest: &str) -> Result<(), Failure> {
        let start = self.url(&format!("/v2/{repository}/blobs/uploads/"))?;
        let ask = Ask { body: Some((&[], "application/octet-stream")), ..Ask::default() };
        let response = self.send(Method::POST, start.clone(), Access::Push, repository, &ask).await?;
        let what = format!("uploading {digest} to {repository}: the registry");
        if response.status() != StatusCode::ACCEPTED {
            return Err(self.failure(response, &what).await);
        }
        let location = response.headers().get(LOCATION).and_then(|value| value.to_str().ok());
        let location = location.ok_or_else(|| Failure::Failed(format!("{what} gave no upload location")))?;
        let mut upload = start.join(location).map_err(|e| {
            Failure::Failed(format!("{what} gave the upload location `{}`: {e}", location.escape_default()))
        })?;
        upload.query_pairs_mut().append_pair("digest", digest);
        let ask = Ask { body: Some((bytes, "application/octet-stream")), transfer: true, ..Ask::default() };
        let response = self.send(Method::PUT, upload, Access::Push, repository, &ask).await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.failure(response, &what).await);
        }
        Ok(())
    }

    /// Puts a manifest (or an index) under `reference`, a tag or a digest.
    pub(crate) async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), Failure> {
        let url = self.url(&format!("/v2/{repository}/manifests/{reference}"))?;
        let ask = Ask { body: Some((bytes, media_type)), ..Ask::default() };
        let response = self.send(Method::PUT, url, Access::Push, repository, &ask).await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.failure(response, &format!("putting {repository}:{reference}: the registry")).await);
        }
        Ok(())
    }

    fn unreachable(&self, method: &Method, url: &Url, error: reqwest::Error) -> Failure {
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        Failure::Failed(format!("{method} {}: {message}", shown(url)))
    }
}

/// Reads a body of at most `limit` bytes: a larger declared length is refused before any of
/// it is read, and a longer body as soon as it passes the limit.
pub(crate) async fn read(mut response: Response, limit: usize, what: &str) -> Result<Vec<u8>, Failure> {
    if let Some(declared) = response.content_length()
        && declared > limit as u64
    {
        return Err(Failure::TooLarge(format!(
            "{what} declares {declared} bytes, more than the limit of {}",
            size(limit)
        )));
    }
    let mut body = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
    while let Some(chunk) =
        response.chunk().await.map_err(|e| Failure::Failed(format!("{what}: {}", e.without_url())))?
    {
        if body.len() + chunk.len() > limit {
            return Err(Failure::TooLarge(format!(
                "{what} is longer than the limit of {}; it was not read further",
                size(limit)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The first `limit` bytes of a body (an error's, for its message); the rest is not read.
async fn read_cut(mut response: Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
            _ => break,
        }
    }
    body
}

/// An error body in words: the distribution API's `{"errors": [{"code", "message"}]}`, or
/// the text itself.
fn explain(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        code: Option<String>,
        message: Option<String>,
    }
    if let Ok(envelope) = serde_json::from_slice::<Envelope>(body) {
        let entries = envelope
            .errors
            .into_iter()
            .map(|e| [e.code, e.message].into_iter().flatten().collect::<Vec<_>>().join(": "));
        return entries.collect::<Vec<_>>().join("; ");
    }
    String::from_utf8_lossy(body).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A limit in words: `4 MiB (4194304 bytes)`.
pub(crate) fn size(bytes: usize) -> String {
    match bytes {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB ({n} bytes)", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB ({n} bytes)", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// A URL as messages show it: without its query (a storage URL's query can hold a signature).
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// One `WWW-Authenticate` challenge: `SCHEME key="value", key=value…`.
#[derive(Debug, PartialEq, Eq)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn parse(text: &str) -> Option<Challenge> {
        let text = text.trim();
        let (scheme, mut rest) = text.split_once(' ').unwrap_or((text, ""));
        if scheme.is_empty() {
            return None;
        }
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start_matches([' ', ',']);
            if rest.is_empty() {
                break;
            }
            let (key, after) = rest.split_once('=')?;
            let after = after.trim_start();
            let (value, next) = match after.strip_prefix('"') {
                Some(quoted) => {
                    let mut value = String::new();
                    let mut chars = quoted.char_indices();
                    let end = loop {
                        match chars.next()? {
                            (i, '"') => break i,
                            (_, '\\') => value.push(chars.next()?.1),
                            (_, c) => value.push(c),
                        }
                    };
                    (value, &quoted[end + 1..])
                }
                None => {
                    let end = after.find(',').unwrap_or(after.len());
                    (after[..end].trim().to_owned(), &after[end..])
                }
            };
            params.push((key.trim().to_ascii_lowercase(), value));
            rest = next;
        }
        Some(Challenge { scheme: scheme.to_owned(), params })
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reference: &str) -> Wire {
        let credentials = Credentials { username: "fleet".into(), password: "s3cret".into() };
        Wire::new(&OciRef::parse(reference).unwrap(), Some(credentials))
    }

    /// The Basic credentials go to a token realm only over https on the registry's own host
    /// (any port); a realm elsewhere is asked anonymously, and plain http off loopback is not
    /// asked at all. The registry's origin is scheme, host and port.
    #[test]
    fn credentials_stay_on_the_registry_host_and_tokens_on_its_origin() {
        let remote = wire("oci://registry.example.com/policies/route:stable");
        let url = |text: &str| Url::parse(text).unwrap();
        assert!(remote.realm_takes_credentials(&url("https://registry.example.com/token")));
        assert!(remote.realm_takes_credentials(&url("https://registry.example.com:8443/v2/token")));
        assert!(!remote.realm_takes_credentials(&url("https://auth.example.com/token")));
        assert!(!remote.realm_takes_credentials(&url("https://example.com/token")));
        assert!(remote.reachable(&url("https://auth.example.com/token")).is_ok(), "asked, anonymously");
        let plain = remote.reachable(&url("http://registry.example.com/token")).unwrap_err();
        assert!(plain.contains("plain http"), "{plain}");
        assert!(remote.reachable(&url("ftp://registry.example.com/token")).is_err());

        let local = wire("oci://127.0.0.1:5000/policies/route:stable");
        assert!(local.realm_takes_credentials(&url("http://127.0.0.1:5001/token")));
        assert!(!local.realm_takes_credentials(&url("http://127.0.0.2:5001/token")));
        assert!(local.reachable(&url("http://127.0.0.2:5001/token")).is_err(), "another host, plain http");

        // Tokens (and credentials the registry asks for itself) go to its origin only: scheme,
        // host and port.
        assert!(remote.is_registry(&url("https://registry.example.com/v2/x/blobs/uploads/1")));
        assert!(remote.is_registry(&url("https://registry.example.com:443/v2/")));
        assert!(!remote.is_registry(&url("https://registry.example.com:8443/v2/")));
        assert!(!remote.is_registry(&url("http://registry.example.com/v2/")));
        assert!(!remote.is_registry(&url("https://storage.example.com/blob")));
    }

    #[test]
    fn challenges_parse_with_quotes_escapes_and_bare_values() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example.com/token",service="reg\"istry", scope=repository:a:pull"#,
        )
        .unwrap();
        assert_eq!(c.scheme, "Bearer");
        assert_eq!(c.param("realm"), Some("https://auth.example.com/token"));
        assert_eq!(c.param("service"), Some("reg\"istry"));
        assert_eq!(c.param("scope"), Some("repository:a:pull"));
        assert_eq!(Challenge::parse(r#"Basic realm="x""#).unwrap().param("realm"), Some("x"));
        assert_eq!(Challenge::parse(r#"Bearer realm="unterminated"#), None);
        assert_eq!(size(4 << 20), "4 MiB (4194304 bytes)");
        assert_eq!(size(64 << 10), "64 KiB (65536 bytes)");
        assert_eq!(size(67), "67 bytes");
    }
}
