//! A plan's accounting: every ref of a `filter-fallbacks` request appears in the plan exactly
//! once, as a candidate (as written) or as a drop (as [`shown_dropped`] shows it). The policy
//! writes its drops with [`shown_dropped`]; the host's guard, the invariants of the property
//! tests and the fuzz targets all hold a plan to [`check`].

use crate::redact;
use crate::types::{FallbackPlan, FallbackRequest};
use std::collections::BTreeMap;

/// How a plan shows a dropped ref: [`redact::text`] of it, since the plan ends up in the host's
/// logs. A candidate's `requested` is the ref exactly as written (it passed the identifier
/// checks of a model ref), so that the host can match it to its configuration.
pub fn shown_dropped(written: &str) -> String {
    redact::text(written).into_owned()
}

/// A ref a plan does not account for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unaccounted {
    /// An answered ref that is no ref of the request (or one too many times).
    Invented(String),
    /// A ref of the request that is neither a candidate nor dropped.
    Lost(String),
}

/// Whether every ref of the request is a candidate (as written) or dropped (as
/// [`shown_dropped`]), exactly once: each ref is counted, then taken, in O(n log n) (a `BTreeMap`,
/// which needs no random seed, so the toolkit component imports no randomness).
pub fn check(request: &FallbackRequest, plan: &FallbackPlan) -> Result<(), Unaccounted> {
    let refs: Vec<&str> = std::iter::once(request.primary.as_str())
        .chain(request.fallbacks.iter().map(String::as_str))
        .chain(request.explicit_override.as_deref())
        .collect();
    let mut written: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &refs {
        *written.entry(r).or_default() += 1;
    }
    // Candidates first: they match exactly, so a drop of an equal ref cannot take their place.
    for candidate in &plan.candidates {
        match written.get_mut(candidate.requested.as_str()) {
            Some(left) if *left > 0 => *left -= 1,
            _ => return Err(Unaccounted::Invented(candidate.requested.clone())),
        }
    }
    // What is left, as a drop shows it.
    let mut shown: BTreeMap<String, usize> = BTreeMap::new();
    for r in &refs {
        if let Some(left) = written.get_mut(r)
            && *left > 0
        {
            *left -= 1;
            *shown.entry(shown_dropped(r)).or_default() += 1;
        }
    }
    for dropped in &plan.dropped {
        match shown.get_mut(&dropped.model) {
            Some(left) if *left > 0 => *left -= 1,
            _ => return Err(Unaccounted::Invented(dropped.model.clone())),
        }
    }
    // The first ref of the request still unaccounted for, in the request's order.
    for r in &refs {
        if let Some(left) = shown.get_mut(&shown_dropped(r))
            && *left > 0
        {
            return Err(Unaccounted::Lost(shown_dropped(r)));
        }
    }
    Ok(())
}
