//! The calling thread's CPU clock: how the host tells a looping policy from one that only
//! waited for a core.

use std::time::Duration;

/// The CPU time the calling thread has used: the clock of an overdue call's grace (a call
/// runs on the thread that made it, start to end). A syscall, so read only for overdue calls.
#[cfg(unix)]
pub fn thread_cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Without a portable thread CPU clock, the grace is wall-clock time.
#[cfg(not(unix))]
pub fn thread_cpu_time() -> Duration {
    static START: std::sync::LazyLock<std::time::Instant> = std::sync::LazyLock::new(std::time::Instant::now);
    START.elapsed()
}
