//! The gateway's doors: who may send it a request at all, before any key or body is read.
//!
//! A gateway on loopback with no client key is reachable by more than the local user's own
//! programs. A web page in the user's browser can send it a "simple" cross-origin POST (a
//! `text/plain` or form body needs no preflight), and a page whose name is rebound to
//! 127.0.0.1 (DNS rebinding) can even read the answers. So every request passes three checks:
//!
//! - **`Host`** must name the listening address: on loopback, `localhost`, `127.0.0.1` or
//!   `[::1]` with the listening port (without one when it is 80), or a configured
//!   `allowed-hosts` name. A rebound page's requests carry its own name, and are refused.
//!   Off loopback the client key guards the door; `allowed-hosts`, when set, still applies.
//! - **`Origin`**, which browsers add to cross-origin requests, must be a configured
//!   `allowed-origins` entry; a request without one (every non-browser client) passes.
//! - **A model call's body is `application/json`**, which a browser sends cross-origin only
//!   after a preflight that an unlisted origin fails.
//!
//! Each refusal names what to change.

use std::net::{IpAddr, SocketAddr};

/// Whether `ip` is a loopback address, an IPv4-mapped one (`::ffff:127.0.0.1`) included.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Checks an `allowed-origins` entry: `scheme://host[:port]`, nothing else.
pub(crate) fn check_origin_entry(origin: &str) -> Result<(), String> {
    let valid = origin.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.contains(['/', '?', '#', '@', ' '])
            && rest.bytes().all(|b| b.is_ascii_graphic())
    });
    if valid {
        Ok(())
    } else {
        Err(format!("`{}` is not an origin (write `https://app.example.com`, no path)", quoted(origin)))
    }
}

/// Checks an `allowed-hosts` entry: a host name or address, with an optional port.
pub(crate) fn check_host_entry(host: &str) -> Result<(), String> {
    if split_host(host).is_some() {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a host name (write `gateway.example.com` or `gateway.example.com:8080`)",
            quoted(host)
        ))
    }
}

/// A `Host` value's name (lowercase) and port, if it is well formed.
fn split_host(value: &str) -> Option<(String, Option<u16>)> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) || value.contains(['/', '@', '?', '#']) {
        return None;
    }
    let (name, port) = if let Some(rest) = value.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?.parse().ok()?),
        };
        (format!("[{inside}]"), port)
    } else {
        match value.rsplit_once(':') {
            Some((name, port)) => (name.to_owned(), Some(port.parse().ok()?)),
            None => (value.to_owned(), None),
        }
    };
    if name.is_empty() || name == "[]" {
        return None;
    }
    Some((name.to_ascii_lowercase(), port))
}

/// The configured doors, and the address the gateway listens on.
#[derive(Clone, Debug)]
pub(crate) struct Doors {
    local: SocketAddr,
    hosts: Vec<(String, Option<u16>)>,
    origins: Vec<String>,
}

/// Why a request was turned away at the door.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The `Host` does not name this gateway.
    Host(String),
    /// A browser page of an origin not configured.
    Origin(String),
}

impl Refusal {
    /// The error code clients get.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Refusal::Host(_) => "host_not_allowed",
            Refusal::Origin(_) => "origin_not_allowed",
        }
    }

    /// The sentence clients get.
    pub(crate) fn message(&self) -> String {
        match self {
            Refusal::Host(host) => format!(
                "this gateway does not answer to the name `{host}`: reach it as localhost or its address, or add the name to allowed-hosts"
            ),
            Refusal::Origin(origin) => format!(
                "web pages of {origin} may not call this gateway; the operator can add the origin to allowed-origins"
            ),
        }
    }
}

impl Doors {
    /// Doors for a gateway listening on `local`, with the configured names and origins (each
    /// already checked by the configuration).
    pub(crate) fn new(local: SocketAddr, hosts: &[String], origins: &[String]) -> Doors {
        Doors {
            local,
            hosts: hosts.iter().filter_map(|h| split_host(h)).collect(),
            origins: origins.iter().map(|o| o.to_ascii_lowercase()).collect(),
        }
    }

    /// Checks a request's `Host` and `Origin` headers (`None` when absent or not text).
    pub(crate) fn admit(&self, host: Option<&str>, origin: Option<&str>) -> Result<Option<String>, Refusal> {
        if let Some(host) = host
            && !self.host_allowed(host)
        {
            return Err(Refusal::Host(quoted(host)));
        }
        match origin {
            None => Ok(None),
            Some(origin) if self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin)) => Ok(Some(origin.to_owned())),
            Some(origin) => Err(Refusal::Origin(quoted(origin))),
        }
    }

    fn host_allowed(&self, value: &str) -> bool {
        let Some((name, port)) = split_host(value) else { return false };
        let configured = self.hosts.iter().any(|(n, p)| *n == name && (p.is_none() || *p == port));
        if configured {
            return true;
        }
        let this_port = port.unwrap_or(80) == self.local.port();
        if is_loopback(self.local.ip()) {
            return this_port && matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]");
        }
        // Off loopback the client key guards the door; a configured list narrows it.
        self.hosts.is_empty()
    }
}

/// Whether a `Content-Type` value is JSON (`application/json`, any parameters).
pub(crate) fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|value| {
        value.split(';').next().is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// Visible ASCII only: for a header value or an SSE comment line, and for quoting a client's
/// header back to it.
pub(crate) fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect()
}

/// A client's header, quoted back to it: printable, and no longer than 200 characters.
fn quoted(text: &str) -> String {
    printable(&text.chars().take(200).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> Doors {
        Doors::new("127.0.0.1:8080".parse().unwrap(), &[], &[])
    }

    #[test]
    fn loopback_answers_only_to_its_own_names_and_port() {
        let doors = loopback();
        for ok in ["localhost:8080", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST:8080"] {
            assert_eq!(doors.admit(Some(ok), None), Ok(None), "{ok}");
        }
        for refused in
            ["evil.example:8080", "localhost:9090", "localhost", "127.0.0.2:8080", "", "a b", "x@localhost:8080"]
        {
            assert!(matches!(doors.admit(Some(refused), None), Err(Refusal::Host(_))), "{refused}");
        }
        // No Host at all (HTTP/1.0) is no browser's request.
        assert_eq!(doors.admit(None, None), Ok(None));
    }

    #[test]
    fn configured_names_and_origins_are_let_in() {
        let doors = Doors::new(
            "127.0.0.1:80".parse().unwrap(),
            &["gw.example.com".to_owned(), "other.example:9000".to_owned()],
            &["https://app.example.com".to_owned()],
        );
        assert!(doors.admit(Some("localhost"), None).is_ok(), "port 80 needs no port in Host");
        assert!(doors.admit(Some("GW.example.com:443"), None).is_ok());
        assert!(doors.admit(Some("other.example:9000"), None).is_ok());
        assert!(doors.admit(Some("other.example:9001"), None).is_err());
        assert_eq!(
            doors.admit(Some("localhost"), Some("https://app.example.com")),
            Ok(Some("https://app.example.com".to_owned()))
        );
        assert!(matches!(doors.admit(Some("localhost"), Some("https://evil.example")), Err(Refusal::Origin(_))));
        assert!(matches!(doors.admit(Some("localhost"), Some("null")), Err(Refusal::Origin(_))));
    }

    #[test]
    fn off_loopback_the_key_guards_unless_names_are_listed() {
        let open = Doors::new("0.0.0.0:8080".parse().unwrap(), &[], &[]);
        assert!(open.admit(Some("gw.internal:8080"), None).is_ok());
        let listed = Doors::new("0.0.0.0:8080".parse().unwrap(), &["gw.internal".to_owned()], &[]);
        assert!(listed.admit(Some("gw.internal:8080"), None).is_ok());
        assert!(listed.admit(Some("rebound.example:8080"), None).is_err());
    }

    #[test]
    fn mapped_loopback_is_loopback_and_unspecified_is_not() {
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(is_loopback("::1".parse().unwrap()));
        assert!(!is_loopback("0.0.0.0".parse().unwrap()));
        assert!(!is_loopback("::".parse().unwrap()));
        assert!(!is_loopback("::ffff:10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn only_json_is_a_model_call() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        for no in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonp"),
        ] {
            assert!(!is_json(no), "{no:?}");
        }
    }

    #[test]
    fn entries_are_checked() {
        assert!(check_origin_entry("https://app.example.com").is_ok());
        assert!(check_origin_entry("http://localhost:3000").is_ok());
        assert!(check_origin_entry("https://app.example.com/").is_err());
        assert!(check_origin_entry("app.example.com").is_err());
        assert!(check_host_entry("gw.example.com:8080").is_ok());
        assert!(check_host_entry("gw.example.com:x").is_err());
        assert!(check_host_entry("https://gw").is_err());
    }
}
