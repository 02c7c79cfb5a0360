//! `oci://REGISTRY/REPOSITORY:TAG` and `oci://REGISTRY/REPOSITORY@sha256:HEX`: what an operator
//! writes, checked before anything is fetched.
//!
//! The registry must be named (no silent `docker.io`), a digest must be a sha256, and plain
//! http is used only for a registry on a loopback address; every other registry is reached
//! over https.

use crate::error::Error;
use std::fmt;

/// A policy's place in a registry: a tag to watch, a digest to pin, or both.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OciRef {
    /// `HOST[:PORT]`.
    pub registry: String,
    /// `NAME[/NAME…]`, lowercase.
    pub repository: String,
    /// The tag, when one was written.
    pub tag: Option<String>,
    /// `sha256:HEX`, when one was written.
    pub digest: Option<String>,
}

impl OciRef {
    /// Parses `oci://REGISTRY/REPOSITORY[:TAG][@sha256:HEX]`; the error names what is wrong.
    pub fn parse(text: &str) -> Result<OciRef, Error> {
        let bad = |why: &str| Error::Reference { reference: text.to_owned(), reason: why.to_owned() };
        let rest = text.strip_prefix("oci://").ok_or_else(|| bad("it must start with oci://"))?;
        let (registry, path) = rest.split_once('/').ok_or_else(|| bad("it names no repository after the registry"))?;
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(bad("name the registry host (with a dot or a port); there is no default registry"));
        }
        let url = reqwest::Url::parse(&format!("https://{registry}/"));
        if registry.chars().any(|c| !(c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
            || !url.is_ok_and(|url| url.host_str().is_some())
        {
            return Err(bad("the registry is not a host[:port]"));
        }
        let (path, digest) = match path.split_once('@') {
            Some((path, digest)) => (path, Some(digest)),
            None => (path, None),
        };
        if let Some(digest) = digest {
            let hex = digest.strip_prefix("sha256:").ok_or_else(|| bad("a digest must be sha256:HEX"))?;
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(bad("a sha256 digest has 64 lowercase hex digits"));
            }
        }
        // A tag follows the last `:` of the last path segment (the registry's port is gone).
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
            _ => (path, None),
        };
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        };
        if !repository.split('/').all(segment_ok) {
            return Err(bad("a repository is lowercase letters, digits, `.`, `_` and `-`, in `/`-separated parts"));
        }
        if let Some(tag) = tag
            && (tag.is_empty()
                || tag.len() > 128
                || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                || tag.starts_with(['.', '-']))
        {
            return Err(bad("a tag is up to 128 letters, digits, `.`, `_` and `-`"));
        }
        if tag.is_none() && digest.is_none() {
            return Err(bad("it names neither a tag (:TAG) nor a digest (@sha256:…)"));
        }
        Ok(OciRef {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }

    /// The same repository at `digest`, without a tag.
    pub fn at(&self, digest: &str) -> OciRef {
        OciRef { tag: None, digest: Some(digest.to_owned()), ..self.clone() }
    }

    /// The same repository under `tag`.
    pub fn tagged(&self, tag: &str) -> OciRef {
        OciRef { tag: Some(tag.to_owned()), digest: None, ..self.clone() }
    }

    /// Whether the registry is this machine (`localhost`, `127.0.0.0/8`, `[::1]`): the only
    /// registries reached over plain http.
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => &self.registry,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// `http` for a loopback registry, else `https`.
    pub fn scheme(&self) -> &'static str {
        if self.is_loopback() { "http" } else { "https" }
    }
}

impl fmt::Display for OciRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci://{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::OciRef;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn tags_digests_and_ports_are_told_apart() {
        let r = OciRef::parse("oci://127.0.0.1:5000/policies/route:stable").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("127.0.0.1:5000", "policies/route"));
        assert_eq!((r.tag.as_deref(), r.digest.as_deref()), (Some("stable"), None));
        assert!(r.is_loopback() && r.scheme() == "http");
        let r = OciRef::parse(&format!("oci://registry.example.com/route@{DIGEST}")).unwrap();
        assert_eq!((r.tag.as_deref(), r.digest.as_deref()), (None, Some(DIGEST)));
        assert!(!r.is_loopback());
        let r = OciRef::parse(&format!("oci://[::1]:5000/route:v1@{DIGEST}")).unwrap();
        assert!(r.is_loopback());
        assert_eq!(r.to_string(), format!("oci://[::1]:5000/route:v1@{DIGEST}"));
        assert!(OciRef::parse("oci://localhost:5000/a:b").unwrap().is_loopback());
        assert!(!OciRef::parse("oci://localhost.example.com/a:b").unwrap().is_loopback());
    }

    #[test]
    fn each_malformed_reference_says_what_is_wrong() {
        for (text, words) in [
            ("docker://r.io/a:b", "oci://"),
            ("oci://r.io", "no repository"),
            ("oci://library/route:v1", "registry host"),
            ("oci://r.io/Route:v1", "lowercase"),
            ("oci://r.io/route", "neither a tag"),
            ("oci://r.io/route@sha512:00", "sha256:HEX"),
            ("oci://r.io/route@sha256:ABC", "64 lowercase"),
            ("oci://r.io/route:-x", "a tag"),
            ("oci://r.io//route:v1", "lowercase"),
            ("oci://r.io:port/route:v1", "host[:port]"),
            ("oci://[::1/route:v1", "host[:port]"),
        ] {
            let error = OciRef::parse(text).unwrap_err().to_string();
            assert!(error.contains(words), "{text}: {error}");
        }
    }
}
