//! How much of a request a host hands to a policy. A request's strings are weighed, and a
//! request heavier than the host's limit is refused before the sandbox; a `classify-error`
//! body is cut to fit instead (the policy reads a bounded prefix anyway), so a multi-MiB body
//! costs no more than a small one. Every host bounds requests here, in the same words.

/// The default limit, in bytes: 1 MiB.
pub const DEFAULT_MAX_INPUT: usize = 1 << 20;

/// The bytes a request carries into the sandbox (its strings; the structure is small).
pub trait Weigh {
    /// The bytes of its strings.
    fn weigh(&self) -> usize;
}

fn weigh_credentials(credentials: &[crate::types::Credential]) -> usize {
    credentials.iter().map(|c| c.profile_id.len() + c.provider.len() + 8).sum()
}

fn weigh_providers(providers: &[crate::types::ProviderConfig]) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    providers.iter().map(|p| p.id.len() + opt(&p.base_url) + opt(&p.api) + opt(&p.deployment) + 8).sum()
}

impl Weigh for crate::types::EndpointRequest {
    fn weigh(&self) -> usize {
        self.model.len()
            + weigh_providers(&self.providers)
            + weigh_credentials(&self.credentials)
            + self.env_base_url.as_ref().map_or(0, String::len)
    }
}

impl Weigh for crate::types::FallbackRequest {
    fn weigh(&self) -> usize {
        self.primary.len()
            + self.fallbacks.iter().map(|f| f.len() + 8).sum::<usize>()
            + self.explicit_override.as_ref().map_or(0, String::len)
            + weigh_credentials(&self.credentials)
            + self.rejections.iter().map(|r| r.model.len() + 8).sum::<usize>()
            + weigh_providers(&self.providers)
            + self.env_base_url.as_ref().map_or(0, String::len)
    }
}

/// Refuses a request too large to hand to the sandbox (`limit` bytes); the refusal is a
/// sentence for an `invalid-input` answer.
pub fn check(request: &impl Weigh, limit: usize) -> Result<(), String> {
    let bytes = request.weigh();
    if bytes > limit {
        return Err(format!("the request carries {bytes} bytes; at most {limit} go into the policy sandbox"));
    }
    Ok(())
}

/// A failure with its body cut to the input limit (at a character boundary): the policy reads
/// only a prefix, so a multi-MiB body costs no more than a small one. Other fields beyond the
/// limit are refused.
pub fn bounded_failure(
    failure: &crate::types::ProviderFailure,
    limit: usize,
) -> Result<crate::types::ProviderFailure, String> {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let rest = failure.headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>()
        + opt(&failure.network_error)
        + opt(&failure.request_url)
        + opt(&failure.model);
    if rest > limit {
        return Err(format!(
            "the failure's headers and fields carry {rest} bytes; at most {limit} go into the policy sandbox"
        ));
    }
    let budget = limit - rest;
    let mut end = failure.body.len().min(budget);
    while !failure.body.is_char_boundary(end) {
        end -= 1;
    }
    let mut bounded = crate::types::ProviderFailure { body: String::new(), ..failure.clone() };
    bounded.body.push_str(&failure.body[..end]);
    Ok(bounded)
}
