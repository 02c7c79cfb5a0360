//! The bounds of every policy call, and the epoch ticks that measure its deadline.

use std::time::Duration;

/// The bounds of every policy call.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall-clock time one call may take. A decision takes microseconds; a policy still running
    /// after this is overdue, and is stopped once it has also used a fifth of this in CPU time
    /// (wall-clock time off Unix). A loop burns that grace in a fifth of the deadline; a call
    /// that was only waiting for a core on a busy machine finishes well within it.
    pub deadline: Duration,
    /// The epoch tick: how often the ticker thread advances the engine's epoch, and so how
    /// often an overdue call's CPU time is checked.
    pub tick: Duration,
    /// Linear memory one instance may use, in bytes. The policy needs about 1 MiB; more than
    /// the cap is a memory bomb, and the instance traps instead of taking the host's memory.
    pub memory: usize,
    /// WebAssembly stack one instance may use, in bytes.
    pub stack: usize,
    /// Instances that may be alive at once (the pool's size). Calls past it fail fast with a
    /// host error instead of queueing.
    pub instances: u32,
    /// The largest request handed to the sandbox, in bytes. A `classify-error` body beyond it
    /// is cut (the policy reads a 16 KiB prefix anyway); other requests beyond it are refused.
    pub input: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_millis(50),
            tick: Duration::from_millis(1),
            memory: 16 << 20,
            stack: 1 << 20,
            instances: 64,
            input: route_policy_contract::bounds::DEFAULT_MAX_INPUT,
        }
    }
}

impl Limits {
    /// The deadline in epoch ticks (at least one).
    pub(crate) fn deadline_ticks(&self) -> u64 {
        self.deadline.as_nanos().div_ceil(self.tick.as_nanos().max(1)).max(1) as u64
    }

    /// The CPU time an overdue call may still use before it is stopped: a fifth of the
    /// deadline, and at least a tick.
    pub(crate) fn overdue_grace(&self) -> Duration {
        (self.deadline / 5).max(self.tick)
    }
}
