//! What requests in flight may cost in memory.
//!
//! A request's body is bounded ([`crate::MAX_REQUEST_BYTES`]), but its parsed form is not the
//! same size: ten MiB of `0,0,0,…` parse into five million JSON values, about 180 MiB. So
//! before a body is parsed its values are counted (a linear scan that allocates nothing), a
//! body of more than [`MAX_JSON_VALUES`] is refused with a 413, and each request holds a share
//! of one budget (`limits.in-flight-mib`) for its body and its parsed form until its call
//! ends. A request that does not fit is answered 503 with `Retry-After`, never queued.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most JSON values a request body may hold (strings, numbers, arrays, objects, …). A
/// chat of a thousand messages with their tools holds a few tens of thousands.
pub const MAX_JSON_VALUES: usize = 200_000;

/// What one parsed JSON value costs, in bytes, counted generously (a `serde_json::Value` is 32
/// bytes, an object entry or an array slot more).
const VALUE_BYTES: usize = 96;

/// The budget is kept in units of this many bytes.
const UNIT: usize = 1024;

/// The memory budget of the requests in flight.
#[derive(Clone)]
pub(crate) struct Budget {
    units: Arc<Semaphore>,
    total: usize,
}

/// A request's share of the budget, returned when dropped.
pub(crate) struct Share(Option<OwnedSemaphorePermit>);

impl Budget {
    /// A budget of `mib` MiB.
    pub(crate) fn new(mib: usize) -> Budget {
        let total = mib.saturating_mul(1024 * 1024 / UNIT).min(Semaphore::MAX_PERMITS);
        Budget { units: Arc::new(Semaphore::new(total)), total }
    }

    /// An empty share, to grow.
    pub(crate) fn empty() -> Share {
        Share(None)
    }

    /// Grows `share` to cover `bytes` more, if the budget has room.
    pub(crate) fn grow(&self, share: &mut Share, bytes: usize) -> bool {
        let units = bytes.div_ceil(UNIT);
        if units == 0 {
            return true;
        }
        if units > self.total {
            return false;
        }
        let Ok(units) = u32::try_from(units) else { return false };
        match Arc::clone(&self.units).try_acquire_many_owned(units) {
            Ok(permit) => {
                match &mut share.0 {
                    Some(held) => held.merge(permit),
                    None => share.0 = Some(permit),
                }
                true
            }
            Err(_) => false,
        }
    }
}

/// What parsing `body` will cost, in bytes, beyond the body itself: `None` if it holds more
/// than [`MAX_JSON_VALUES`] values. Counts the separators and openings outside strings, which
/// is at least the number of values less one.
pub(crate) fn parse_cost(body: &[u8]) -> Option<usize> {
    let mut values = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' | b'[' | b'{' | b':' => {
                values += 1;
                if values > MAX_JSON_VALUES {
                    return None;
                }
            }
            _ => {}
        }
    }
    // The parsed values, and the body as it is serialized again for each attempt.
    Some(values * VALUE_BYTES + body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_counted_outside_strings() {
        assert!(parse_cost(br#"{"a": "x,y,[z]:{", "b": [1, 2]}"#).is_some_and(|c| c < 10 * VALUE_BYTES + 100));
        let flood: Vec<u8> = b"[".iter().chain(b"0,".repeat(MAX_JSON_VALUES).iter()).copied().collect();
        assert_eq!(parse_cost(&flood), None);
        let text = format!("{{\"input\": \"{}\"}}", ",".repeat(1_000_000));
        assert!(parse_cost(text.as_bytes()).is_some(), "commas inside a string are text");
    }

    #[test]
    fn the_budget_is_shared_and_returned() {
        let budget = Budget::new(1);
        let mut a = Budget::empty();
        assert!(budget.grow(&mut a, 600 * 1024));
        let mut b = Budget::empty();
        assert!(!budget.grow(&mut b, 600 * 1024), "two do not fit in one MiB");
        assert!(budget.grow(&mut b, 300 * 1024));
        drop(a);
        assert!(budget.grow(&mut b, 600 * 1024), "a finished request's share comes back");
        assert!(!budget.grow(&mut Budget::empty(), 2 << 20), "more than the whole budget never fits");
    }
}
