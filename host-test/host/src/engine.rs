//! The wasmtime engine every policy runs on: its limits, its pooling allocator, the epoch
//! ticker that enforces deadlines, the egress guard's allowlist and the compiled-code cache.
//!
//! One [`Engine`] is built once per process with [`Engine::builder`] and shared (it is cheap to
//! clone). Each policy call gets a fresh instance from the pool, bounded by [`Limits`].

use crate::cache::Cache;
use crate::error::EngineError;
use crate::limits::Limits;
use crate::store::StoreState;
use route_policy_contract::guard::Guard;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Builds an [`Engine`].
///
/// Defaults: the [`Limits`] defaults (a 50 ms deadline checked every 1 ms, 16 MiB of memory,
/// 1 MiB of stack, 64 pooled instances, 1 MiB of input); the egress guard lets each
/// provider's credentials reach only its official hosts and the hosts named in each request's
/// own config for that provider; no compiled-code cache.
#[derive(Clone, Debug, Default)]
pub struct EngineBuilder {
    limits: Limits,
    allowed_hosts: Vec<(String, String)>,
    cache_dir: Option<PathBuf>,
}

impl EngineBuilder {
    /// Sets all limits at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the per-call deadline.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.limits.deadline = deadline;
        self
    }

    /// Sets the per-instance memory cap, in bytes.
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.limits.memory = bytes;
        self
    }

    /// Lets `provider`'s credentials also go to `host` (a proxy the operator runs for that
    /// provider), besides its official hosts and the hosts a request's own config for that
    /// provider names. `host` is a name (https, default port), `host:port`, or an origin
    /// (`http://127.0.0.1:4000`; plain http only to loopback). Checked by [`Self::build`].
    pub fn allow_host(mut self, provider: impl Into<String>, host: impl Into<String>) -> Self {
        self.allowed_hosts.push((provider.into(), host.into()));
        self
    }

    /// Caches compiled policies in `dir`, so that a restart does not recompile. The directory,
    /// its key and its entries must belong to this process's effective uid and be open to no
    /// one else; otherwise the cache is not used (see [`Engine::cache_warning`]).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Builds the engine and starts its epoch ticker.
    pub fn build(self) -> Result<Engine, EngineError> {
        let limits = self.limits;
        if limits.tick.is_zero() || limits.deadline < limits.tick {
            return Err(EngineError::Deadline { deadline: limits.deadline, tick: limits.tick });
        }
        let mut guard = Guard::new();
        for (provider, host) in &self.allowed_hosts {
            guard = guard.allow(provider, host)?;
        }
        let mut pool = PoolingAllocationConfig::new();
        // A wasip2 component holds a few core instances (the program and wit-component's
        // shims), with one memory and a few tables between them.
        pool.total_component_instances(limits.instances)
            .total_core_instances(limits.instances * 8)
            .total_memories(limits.instances * 2)
            .total_tables(limits.instances * 8)
            .total_stacks(limits.instances)
            .max_memory_size(limits.memory)
            // Pages a slot keeps resident between instances: instantiation skips the
            // page faults of a fresh memory.
            .linear_memory_keep_resident(256 << 10)
            .table_keep_resident(16 << 10);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits.stack)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = wasmtime::Engine::new(&config)
            .map_err(|e| EngineError::Wasmtime { what: "engine configuration", message: e.to_string() })?;
        let linker = crate::imports::linker(&engine)
            .map_err(|e| EngineError::Wasmtime { what: "sandbox's WASI interfaces", message: e.to_string() })?;
        // A cache that fails its checks is not an error: the engine compiles without one,
        // and says so once (`Engine::cache_warning`).
        let (cache, cache_refusal) = match self.cache_dir {
            Some(dir) => match Cache::open(dir, &engine) {
                Ok(cache) => (Some(cache), None),
                Err(refusal) => (None, Some(refusal)),
            },
            None => (None, None),
        };
        start_ticker(&engine, limits.tick);
        Ok(Engine {
            inner: Arc::new(Inner {
                engine,
                linker,
                limits,
                guard,
                cache,
                cache_refusal,
                cache_warned: AtomicBool::new(false),
            }),
        })
    }
}

/// The engine, linker, limits and guard shared by every policy. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    engine: wasmtime::Engine,
    linker: Linker<StoreState>,
    limits: Limits,
    guard: Guard,
    cache: Option<Cache>,
    /// Why the cache directory was refused, if it was.
    cache_refusal: Option<String>,
    /// Whether [`Engine::cache_warning`] has said it.
    cache_warned: AtomicBool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("limits", &self.inner.limits).finish_non_exhaustive()
    }
}

impl Engine {
    /// A builder with the documented defaults.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The credential-egress guard.
    pub fn guard(&self) -> &Guard {
        &self.inner.guard
    }

    /// Why the compiled-code cache (or one of its entries) was refused, the first time it is
    /// asked after that happened; `None` afterwards, and when the cache is sound. A refused
    /// cache is not an error: policies are compiled without it. A host prints this once.
    pub fn cache_warning(&self) -> Option<String> {
        let refusal = self.inner.cache_refusal.as_deref().or_else(|| self.inner.cache.as_ref()?.refusal())?;
        (!self.inner.cache_warned.swap(true, Ordering::Relaxed)).then(|| refusal.to_owned())
    }

    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.engine
    }

    pub(crate) fn linker(&self) -> &Linker<StoreState> {
        &self.inner.linker
    }

    /// Compiles a component, or loads it from the cache when the cache holds code it wrote for
    /// these exact bytes and this exact engine. Returns whether the cache served it.
    pub(crate) fn compile(&self, bytes: &[u8], sha256: &[u8; 32]) -> Result<(Component, bool), String> {
        if let Some(cache) = &self.inner.cache
            && let Some(component) = cache.load(&self.inner.engine, sha256)
        {
            return Ok((component, true));
        }
        let component = Component::new(&self.inner.engine, bytes).map_err(|e| format!("{e:#}"))?;
        if let Some(cache) = &self.inner.cache {
            cache.store(&component, sha256);
        }
        Ok((component, false))
    }
}

/// Advances the engine's epoch every `tick` until the engine is dropped. Each call's store sets
/// its deadline in ticks; wasmtime checks the epoch at function entries and loop headers, and
/// past the deadline the store's callback reads the thread's CPU clock at every tick, so a
/// runaway loop traps within a tick of using its grace.
fn start_ticker(engine: &wasmtime::Engine, tick: Duration) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("route-policy-epoch".to_owned())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        })
        .expect("spawning the epoch ticker thread");
}
