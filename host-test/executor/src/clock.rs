//! The executor's clock: Unix milliseconds for the policy, and the waits and timeouts it asks
//! for, on one scale.
//!
//! A test (or a demo) runs the loop faster with a `scale` below 1: the policy still reasons in
//! its own milliseconds (a `Retry-After: 2` is 2000), and the executor waits 2000 × scale real
//! milliseconds. The policy's clock runs 1/scale times faster than the wall clock, so circuit
//! spacings, budgets and waits stay consistent with each other.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The clock of one executor. Defaults to real time (`scale` 1).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    scale: f64,
    origin: Instant,
    origin_ms: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::scaled(1.0)
    }
}

impl Clock {
    /// A clock whose waits and timeouts take `scale` times as long as the policy says (and
    /// whose milliseconds pass 1/scale times as fast). `scale` is clamped to (0, 1].
    pub fn scaled(scale: f64) -> Clock {
        let scale = if scale.is_finite() && scale > 0.0 { scale.min(1.0) } else { 1.0 };
        let origin_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        Clock { scale, origin: Instant::now(), origin_ms }
    }

    /// The scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Now, in the policy's Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.origin_ms + (self.origin.elapsed().as_secs_f64() * 1000.0 / self.scale) as u64
    }

    /// A duration the policy gave in its milliseconds, as real time.
    pub fn real(&self, policy_ms: u64) -> Duration {
        Duration::from_secs_f64(policy_ms as f64 * self.scale / 1000.0)
    }

    /// Waits `policy_ms` of the policy's milliseconds.
    pub async fn sleep(&self, policy_ms: u64) {
        if policy_ms > 0 {
            tokio::time::sleep(self.real(policy_ms)).await;
        }
    }
}
