//! The sandbox: what a policy may import, what each import grants (nothing), and the store each
//! call runs in, with its memory cap and deadline.
//!
//! A Rust `std` component on `wasm32-wasip2` imports thirteen `wasi:cli` and `wasi:io`
//! interfaces (environment, exit, the stdio streams and their terminal queries). Only those are
//! linked, and each grants nothing: no environment variables or arguments, a closed stdin,
//! stdout thrown away, no terminals, stderr kept (bounded) so that a panic message can be
//! reported. A component importing anything else (filesystem, sockets, clocks, random, http)
//! is refused at load, naming the import.

use crate::error::Error;
use crate::policy::PolicyId;
use route_policy_guest::redact;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, HasData, Linker, ResourceTable};
use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::cli::{WasiCli, WasiCliCtx, WasiCliCtxView, WasiCliView};
use wasmtime_wasi::p2::bindings::sync::{cli, io};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// The interfaces a policy may import (any 0.2 version of each): exactly what Rust's `std`
/// links on `wasm32-wasip2`. Everything else is refused.
pub const ALLOWED_IMPORTS: [&str; 13] = [
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
];

/// How much of a policy's stderr is kept for error messages (a panic message fits).
const STDERR_BYTES: usize = 4096;

/// The data of one call's store.
pub struct StoreState {
    cli: WasiCliCtx,
    table: ResourceTable,
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

struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// A linker with exactly [`ALLOWED_IMPORTS`].
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    let l = &mut linker;
    cli::environment::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::exit::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stdin::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stdout::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stderr::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_input::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_output::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stdin::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stdout::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stderr::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    io::error::add_to_linker::<StoreState, HasIo>(l, |s| &mut s.table)?;
    io::poll::add_to_linker::<StoreState, HasIo>(l, |s| &mut s.table)?;
    io::streams::add_to_linker::<StoreState, HasIo>(l, |s| &mut s.table)?;
    Ok(linker)
}

/// The component's imports, as `(interface, allowed)`.
pub fn imports(engine: &wasmtime::Engine, component: &Component) -> Vec<(String, bool)> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| {
            let interface = name.split('@').next().unwrap_or(name);
            (name.to_owned(), ALLOWED_IMPORTS.contains(&interface))
        })
        .collect()
}

/// Refuses a component that imports anything beyond [`ALLOWED_IMPORTS`], naming the first.
pub(crate) fn check_imports(engine: &wasmtime::Engine, component: &Component) -> Result<(), String> {
    let refused: Vec<String> =
        imports(engine, component).into_iter().filter(|(_, ok)| !ok).map(|(name, _)| name).collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(format!(
        "it imports {}, which the sandbox does not grant (a policy may import only {})",
        refused.join(", "),
        ALLOWED_IMPORTS.join(", ")
    ))
}

/// A fresh store for one call: no capabilities, the memory cap, and the deadline armed.
pub(crate) fn store(engine: &crate::Engine) -> Store<StoreState> {
    let limits = engine.limits();
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
    let mut store = Store::new(engine.wasmtime(), state);
    store.limiter(|state| &mut state.limiter);
    // Past its deadline (epoch ticks, wall-clock time), a call is overdue, and from then on the
    // thread's CPU clock is read at every tick: once the call has used the grace in CPU time,
    // it is looping, and is stopped. A call that was only waiting for a core finishes well
    // within the grace. The clock is never read on the fast path: a call that ends before its
    // deadline costs nothing more.
    let grace = overdue_grace(limits);
    store.epoch_deadline_callback(move |mut store| {
        let now = thread_cpu_time();
        let since = *store.data_mut().overdue_at.get_or_insert(now);
        if now.saturating_sub(since) >= grace {
            return Err(wasmtime::Trap::Interrupt.into());
        }
        Ok(UpdateDeadline::Continue(1))
    });
    rearm(&mut store, engine);
    store
}

/// Arms the deadline for the next call on `store` (each call of a warm session re-arms it).
pub(crate) fn rearm(store: &mut Store<StoreState>, engine: &crate::Engine) {
    store.data_mut().overdue_at = None;
    store.set_epoch_deadline(engine.deadline_ticks());
}

/// The CPU time an overdue call may still use before it is stopped: a fifth of the deadline,
/// and at least a tick.
fn overdue_grace(limits: &crate::Limits) -> Duration {
    (limits.deadline / 5).max(limits.tick)
}

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

/// Turns a wasmtime failure of a call into the typed error the host reports.
pub(crate) fn call_error(
    error: wasmtime::Error,
    store: &Store<StoreState>,
    policy: &Arc<PolicyId>,
    engine: &crate::Engine,
) -> Error {
    let policy = policy.clone();
    if store.data().limiter.denied {
        return Error::Memory { policy, limit: store.data().limiter.cap };
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => Error::Deadline { policy, limit: engine.limits().deadline },
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

/// The bytes a request carries into the sandbox (its strings; the structure is small).
pub(crate) trait Weigh {
    fn weigh(&self) -> usize;
}

fn weigh_credentials(credentials: &[route_policy_guest::types::Credential]) -> usize {
    credentials.iter().map(|c| c.profile_id.len() + c.provider.len() + 8).sum()
}

fn weigh_providers(providers: &[route_policy_guest::types::ProviderConfig]) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    providers.iter().map(|p| p.id.len() + opt(&p.base_url) + opt(&p.api) + opt(&p.deployment) + 8).sum()
}

impl Weigh for route_policy_guest::types::EndpointRequest {
    fn weigh(&self) -> usize {
        self.model.len()
            + weigh_providers(&self.providers)
            + weigh_credentials(&self.credentials)
            + self.env_base_url.as_ref().map_or(0, String::len)
    }
}

impl Weigh for route_policy_guest::types::FallbackRequest {
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

/// Refuses a request too large to hand to the sandbox.
pub(crate) fn check_input(request: &impl Weigh, limits: &crate::Limits) -> Result<(), Error> {
    let bytes = request.weigh();
    if bytes > limits.input {
        return Err(Error::Input(format!(
            "the request carries {bytes} bytes; at most {} go into the policy sandbox",
            limits.input
        )));
    }
    Ok(())
}

/// A failure with its body cut to the input limit (at a character boundary): the policy reads
/// only a prefix, so a multi-MiB body costs no more than a small one. Other fields beyond the
/// limit are refused.
pub(crate) fn bounded_failure(
    failure: &route_policy_guest::types::ProviderFailure,
    limits: &crate::Limits,
) -> Result<route_policy_guest::types::ProviderFailure, Error> {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let rest = failure.headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>()
        + opt(&failure.network_error)
        + opt(&failure.request_url)
        + opt(&failure.model);
    if rest > limits.input {
        return Err(Error::Input(format!(
            "the failure's headers and fields carry {rest} bytes; at most {} go into the policy sandbox",
            limits.input
        )));
    }
    let budget = limits.input - rest;
    let mut end = failure.body.len().min(budget);
    while !failure.body.is_char_boundary(end) {
        end -= 1;
    }
    let mut bounded = route_policy_guest::types::ProviderFailure { body: String::new(), ..failure.clone() };
    bounded.body.push_str(&failure.body[..end]);
    Ok(bounded)
}
