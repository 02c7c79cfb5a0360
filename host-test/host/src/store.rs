//! The store each call runs in: no capabilities, the memory cap, the deadline, and the
//! mapping of what went wrong inside it to the host's typed [`Error`].
//!
//! A call's deadline is counted in epoch ticks (wall-clock time). Past it, the call is overdue,
//! and from then on the thread's CPU clock ([`crate::cpu_clock`]) is read at every tick: once
//! the call has used a fifth of the deadline in CPU time it is looping, and is stopped. A call
//! that only waited for a core on a busy machine finishes well within that grace.

use crate::cpu_clock::thread_cpu_time;
use crate::error::Error;
use crate::identity::PolicyId;
use crate::limits::Limits;
use route_policy_contract::redact;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::cli::{WasiCliCtx, WasiCliCtxView, WasiCliView};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// How much of a policy's stderr is kept for error messages (a panic message fits).
const STDERR_BYTES: usize = 4096;

/// The data of one call's store.
pub struct StoreState {
    cli: WasiCliCtx,
    pub(crate) table: ResourceTable,
    limiter: Limiter,
    stderr: MemoryOutputPipe,
    /// The calling thread's CPU clock when the current call passed its deadline, if it has.
    overdue_at: Option<Duration>,
}

impl WasiCliView for StoreState {
    fn cli(&mut self) -> WasiCliCtxView<'_> {
        WasiCliCtxView { ctx: &mut self.cli, table: &mut self.table }
    }
}

/// A fresh store for one call: no capabilities, the memory cap, and the deadline armed.
pub(crate) fn store(engine: &wasmtime::Engine, limits: &Limits) -> Store<StoreState> {
    let stderr = MemoryOutputPipe::new(STDERR_BYTES);
    // Only the cli part of a WASI context is kept: its defaults grant nothing (no environment,
    // no arguments, a closed stdin, a sink for stdout); stderr goes to the bounded pipe.
    let cli = std::mem::take(wasmtime_wasi::WasiCtx::builder().stderr(stderr.clone()).build().cli());
    let state = StoreState {
        cli,
        table: ResourceTable::new(),
        limiter: Limiter {
            limits: StoreLimitsBuilder::new().memory_size(limits.memory).build(),
            denied: false,
            cap: limits.memory,
        },
        stderr,
        overdue_at: None,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    // Past its deadline (epoch ticks, wall-clock time), a call is overdue, and from then on the
    // thread's CPU clock is read at every tick: once the call has used the grace in CPU time,
    // it is looping, and is stopped. A call that was only waiting for a core finishes well
    // within the grace. The clock is never read on the fast path: a call that ends before its
    // deadline costs nothing more.
    let grace = limits.overdue_grace();
    store.epoch_deadline_callback(move |mut store| {
        let now = thread_cpu_time();
        let since = *store.data_mut().overdue_at.get_or_insert(now);
        if now.saturating_sub(since) >= grace {
            return Err(wasmtime::Trap::Interrupt.into());
        }
        Ok(UpdateDeadline::Continue(1))
    });
    rearm(&mut store, limits);
    store
}

/// Arms the deadline for the next call on `store` (each call of a warm session re-arms it).
pub(crate) fn rearm(store: &mut Store<StoreState>, limits: &Limits) {
    store.data_mut().overdue_at = None;
    store.set_epoch_deadline(limits.deadline_ticks());
}

/// Turns a wasmtime failure of a call into the typed error the host reports.
pub(crate) fn call_error(
    error: wasmtime::Error,
    store: &Store<StoreState>,
    policy: &Arc<PolicyId>,
    limits: &Limits,
) -> Error {
    let policy = policy.clone();
    if store.data().limiter.denied {
        return Error::Memory { policy, limit: store.data().limiter.cap };
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => Error::Deadline { policy, limit: limits.deadline },
        Some(trap) => {
            let printed = String::from_utf8_lossy(&store.data().stderr.contents()).trim().to_owned();
            let message = if printed.is_empty() { trap.to_string() } else { format!("{trap}; it printed: {printed}") };
            Error::Trap { policy, message: redact::excerpt(&message, 1024) }
        }
        None => Error::Trap { policy, message: redact::excerpt(&format!("{error:#}"), 1024) },
    }
}

/// The store's memory limiter, which also remembers that it refused a growth: the guest then
/// aborts, and the host reports the cap rather than a bare trap.
struct Limiter {
    limits: StoreLimits,
    denied: bool,
    cap: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.denied |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
