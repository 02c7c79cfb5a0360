//! How much of a request a host hands to a policy. A request's strings are weighed, and a
//! request heavier than the host's limit is refused before the sandbox; a `classify-error`
//! body is cut to fit instead (the policy reads a bounded prefix anyway), so a multi-MiB body
//! costs no more than a small one. Every host bounds requests here, in the same words.

/// The default limit, in bytes: 1 MiB.
pub const DEFAULT_MAX_INPUT: usize = 1 << 20;

/// What each item of a list weighs beyond its strings: lowering a list into the sandbox costs
/// per item, so a list of empty strings is not free.
pub const ITEM_BYTES: usize = 8;

/// The bytes a request carries into the sandbox (its strings; the structure is small).
pub trait Weigh {
    /// The bytes of its strings.
    fn weigh(&self) -> usize;
}

fn weigh_credentials(credentials: &[crate::types::Credential]) -> usize {
    credentials.iter().map(|c| c.profile_id.len() + c.provider.len() + ITEM_BYTES).sum()
}

fn weigh_providers(providers: &[crate::types::ProviderConfig]) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    providers.iter().map(|p| p.id.len() + opt(&p.base_url) + opt(&p.api) + opt(&p.deployment) + ITEM_BYTES).sum()
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
            + self.fallbacks.iter().map(|f| f.len() + ITEM_BYTES).sum::<usize>()
            + self.explicit_override.as_ref().map_or(0, String::len)
            + weigh_credentials(&self.credentials)
            + self.rejections.iter().map(|r| r.model.len() + ITEM_BYTES).sum::<usize>()
            + weigh_providers(&self.providers)
            + self.env_base_url.as_ref().map_or(0, String::len)
    }
}

impl Weigh for crate::types::CallState {
    fn weigh(&self) -> usize {
        let attempts = self.attempts.iter().map(|a| {
            let outcome = match &a.outcome {
                crate::types::Outcome::HttpError(r) => {
                    r.body.len() + r.headers.iter().map(|(n, v)| n.len() + v.len() + ITEM_BYTES).sum::<usize>()
                }
                crate::types::Outcome::Network(n) => n.detail.len(),
                crate::types::Outcome::StreamFault(f) => f.detail.len(),
                _ => 0,
            };
            a.model.len() + a.credential.len() + a.request_url.len() + outcome + ITEM_BYTES
        });
        self.chain.weigh()
            + attempts.sum::<usize>()
            + self.health.iter().map(|h| h.route.len() + ITEM_BYTES).sum::<usize>()
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
    // Each header costs its strings and its place in the list: a million empty headers are a
    // heavy request, not a light one.
    let rest = failure.headers.iter().map(|(n, v)| n.len() + v.len() + ITEM_BYTES).sum::<usize>()
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

/// A whole call as the sandbox may receive it (the toolkit's `bound`): refused when heavier
/// than `limit`, a `classify-error` body cut to fit.
pub fn bound_call(call: crate::wire::Call, limit: usize) -> Result<crate::wire::Call, String> {
    use crate::wire::Call;
    match call {
        Call::ResolveEndpoint(r) => check(&r, limit).map(|()| Call::ResolveEndpoint(r)),
        Call::FilterFallbacks(r) => check(&r, limit).map(|()| Call::FilterFallbacks(r)),
        Call::ClassifyError(f) => bounded_failure(&f, limit).map(Call::ClassifyError),
        Call::PolicyInfo => Ok(Call::PolicyInfo),
        Call::NextStep(c) => check(&c, limit).map(|()| Call::NextStep(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ProviderFailure;

    #[test]
    fn a_million_empty_headers_are_refused_by_weight() {
        let failure =
            ProviderFailure { headers: vec![(String::new(), String::new()); 1_000_000], ..ProviderFailure::default() };
        let refused = bounded_failure(&failure, DEFAULT_MAX_INPUT).unwrap_err();
        assert!(refused.contains("headers and fields carry 8000000 bytes"), "{refused}");
    }

    #[test]
    fn a_huge_body_is_cut_at_a_character_boundary() {
        let failure = ProviderFailure { body: "é".repeat(DEFAULT_MAX_INPUT), ..ProviderFailure::default() };
        let bounded = bounded_failure(&failure, DEFAULT_MAX_INPUT).unwrap();
        assert!(bounded.body.len() <= DEFAULT_MAX_INPUT && bounded.body.len() > DEFAULT_MAX_INPUT - 2);
    }
}
