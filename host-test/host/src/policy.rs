//! A loaded policy: the load steps, and the calls of one instance.
//!
//! [`Policy::load`] runs the load steps in order (read, compile, check imports, type-check the
//! world, check the contract) and refuses the policy at the first step that fails, saying which.
//! Each call then runs in a fresh instance from the engine's pool (Spin's model): nothing a call
//! does can leak into the next, and a trap costs only that call. A [`Session`] keeps one
//! instance warm instead, for batch use and benchmarks.

use crate::Engine;
use crate::bindings::{Instance, Pre};
use crate::error::{Error, LoadError, Step};
use crate::identity::{PolicyId, hex};
use crate::router::Router;
use crate::store::{self, StoreState};
use route_policy_contract::bounds;
use route_policy_contract::guard::{Guard, Violation};
use route_policy_contract::types::{
    CallState, Endpoint, EndpointRequest, FallbackPlan, FallbackRequest, Next, PolicyError, PolicyIdentity,
    ProviderFailure, Verdict,
};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use wasmtime::Store;

/// The component built from `guest/` when this host was built.
pub const BUILTIN: &[u8] = include_bytes!(env!("ROUTE_POLICY_GUEST_WASM"));

/// The source name of [`BUILTIN`].
pub const BUILTIN_SOURCE: &str = "built-in";

/// A policy that passed every load step, ready to answer.
pub struct Policy {
    engine: Engine,
    pre: Pre,
    id: Arc<PolicyId>,
    from_cache: bool,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Policy {
    /// Loads the policy at `path`.
    pub fn load(engine: &Engine, path: impl AsRef<Path>) -> Result<Policy, LoadError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        Policy::from_bytes(engine, &bytes, path.display().to_string())
    }

    /// Loads the policy built from `guest/` with this host.
    pub fn builtin(engine: &Engine) -> Result<Policy, LoadError> {
        Policy::from_bytes(engine, BUILTIN, BUILTIN_SOURCE.to_owned())
    }

    /// Loads a policy from its bytes; `source` names it in errors and logs.
    pub fn from_bytes(engine: &Engine, bytes: &[u8], source: String) -> Result<Policy, LoadError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let sha256 = hex(&digest);
        let refuse =
            |step, reason: String| LoadError { source: source.clone(), sha256: Some(sha256.clone()), step, reason };

        // Compile (or take the cache's copy), then check what the component asks of the host.
        let (component, from_cache) = engine
            .compile(bytes, &digest)
            .map_err(|e| refuse(Step::Compile, format!("not a loadable WebAssembly component: {e}")))?;
        crate::imports::check(engine.wasmtime(), &component).map_err(|e| refuse(Step::Imports, e))?;
        let instance_pre =
            engine.linker().instantiate_pre(&component).map_err(|e| refuse(Step::World, format!("{e:#}")))?;
        // The newest contract version whose interface it exports (an older policy keeps
        // serving under a newer host).
        let pre = Pre::new(instance_pre).map_err(|e| refuse(Step::World, e))?;

        // Ask it who it is, in the sandbox, and check it speaks this host's contract.
        let mut policy = Policy {
            engine: engine.clone(),
            pre,
            id: Arc::new(PolicyId {
                source: source.clone(),
                sha256: sha256.clone(),
                revision: String::new(),
                contract: String::new(),
                rules_digest: String::new(),
            }),
            from_cache,
        };
        let info = policy.policy_info().map_err(|e| refuse(Step::Contract, format!("policy-info failed: {e}")))?;
        // It must say the version whose interface it exports.
        let exported = policy.pre.contract();
        if !compatible(&info.contract, exported) {
            return Err(refuse(
                Step::Contract,
                format!(
                    "it says it implements contract {}, but exports the interface of {exported}; this host loads {}",
                    crate::identity::printable(&info.contract),
                    crate::bindings::VERSIONS.join(" and ")
                ),
            ));
        }
        let id = Arc::make_mut(&mut policy.id);
        id.revision = info.revision;
        id.contract = info.contract;
        id.rules_digest = info.rules_digest;
        Ok(policy)
    }

    /// Which policy this is.
    pub fn id(&self) -> &PolicyId {
        &self.id
    }

    /// Whether the compiled code came from the engine's cache.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// The engine the policy runs on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A session that keeps one instance warm for many calls.
    pub fn session(&self) -> Session<'_> {
        Session { policy: self, warm: RefCell::new(None) }
    }

    /// Creates one pooled instance in a fresh store, and drops it: the fixed cost of a fresh
    /// call, for measurements.
    pub fn instantiate_only(&self) -> Result<(), Error> {
        let mut store = store::store(self.engine.wasmtime(), self.engine.limits());
        self.instantiate(&mut store).map(drop)
    }

    /// Runs `f` on a fresh instance in a fresh store.
    fn fresh<R>(&self, f: impl FnOnce(&mut Store<StoreState>, &Instance) -> wasmtime::Result<R>) -> Result<R, Error> {
        let mut store = store::store(self.engine.wasmtime(), self.engine.limits());
        let instance = self.instantiate(&mut store)?;
        f(&mut store, &instance).map_err(|e| store::call_error(e, &store, &self.id, self.engine.limits()))
    }

    fn instantiate(&self, store: &mut Store<StoreState>) -> Result<Instance, Error> {
        self.pre.instantiate(&mut *store).map_err(|e| {
            if e.downcast_ref::<wasmtime::Trap>().is_some() {
                store::call_error(e, store, &self.id, self.engine.limits())
            } else {
                Error::Host { policy: self.id.clone(), message: format!("instantiation failed: {e:#}") }
            }
        })
    }
}

/// Whether a policy's contract version serves a host: the same major version, and for 0.x the
/// same minor (0.x minors may break).
fn compatible(policy: &str, host: &str) -> bool {
    let key = |v: &str| {
        let mut parts = v.split('.');
        let major = parts.next().unwrap_or("");
        let minor = parts.next().unwrap_or("");
        if major == "0" { format!("0.{minor}") } else { major.to_owned() }
    };
    !policy.is_empty() && key(policy) == key(host)
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|e| LoadError {
        source: path.display().to_string(),
        sha256: None,
        step: Step::Read,
        reason: e.to_string(),
    })
}

/// The calls of one instance, however it was obtained: bound, call, guard, in that order.
macro_rules! router_calls {
    ($self:ident, $run:ident) => {
        fn resolve_endpoint(&$self, request: &EndpointRequest) -> Result<Endpoint, Error> {
            bounds::check(request, $self.policy().engine.limits().input).map_err(Error::Input)?;
            let endpoint = $self.$run(|store, policy| policy.resolve_endpoint(store, request))??;
            $self.policy().guard(|guard| guard.check_endpoint(request, &endpoint))?;
            Ok(endpoint)
        }

        fn filter_fallbacks(&$self, request: &FallbackRequest) -> Result<FallbackPlan, Error> {
            bounds::check(request, $self.policy().engine.limits().input).map_err(Error::Input)?;
            let plan = $self.$run(|store, policy| policy.filter_fallbacks(store, request))??;
            $self.policy().guard(|guard| guard.check_plan(request, &plan))?;
            Ok(plan)
        }

        fn classify_error(&$self, failure: &ProviderFailure) -> Result<Verdict, Error> {
            let bounded = bounds::bounded_failure(failure, $self.policy().engine.limits().input).map_err(Error::Input)?;
            let mut verdict = $self.$run(|store, policy| policy.classify_error(store, &bounded))?;
            $self.policy().engine.guard().check_verdict(failure, &mut verdict);
            Ok(verdict)
        }

        fn policy_info(&$self) -> Result<PolicyIdentity, Error> {
            $self.$run(|store, policy| policy.policy_info(store))
        }

        fn next_step(&$self, call: &CallState) -> Result<Next, Error> {
            bounds::check(call, $self.policy().engine.limits().input).map_err(Error::Input)?;
            let answer: Option<Result<Next, PolicyError>> = $self.$run(|store, policy| policy.next_step(store, call))?;
            let Some(answer) = answer else {
                let policy = $self.policy();
                let message = format!(
                    "it implements contract {}, which has no next-step (since 0.2); serve this call with a policy built for 0.2 or later",
                    crate::identity::printable(&policy.id.contract)
                );
                return Err(Error::Host { policy: policy.id.clone(), message });
            };
            let mut next = answer?;
            $self.policy().guard(|guard| guard.check_next(call, &mut next))?;
            Ok(next)
        }
    };
}

impl Policy {
    fn policy(&self) -> &Policy {
        self
    }

    /// Checks an answer with the engine's guard, naming this policy on refusal.
    fn guard(&self, check: impl FnOnce(&Guard) -> Result<(), Violation>) -> Result<(), Error> {
        check(self.engine.guard()).map_err(|violation| Error::Guard { policy: self.id.clone(), violation })
    }
}

impl Router for Policy {
    router_calls!(self, fresh);

    fn guard(&self) -> Guard {
        self.engine.guard().clone()
    }
}

/// One warm instance, reused call after call. After a failed call the instance is dropped and
/// the next call gets a fresh one.
pub struct Session<'a> {
    policy: &'a Policy,
    warm: RefCell<Option<(Store<StoreState>, Instance)>>,
}

impl Session<'_> {
    fn policy(&self) -> &Policy {
        self.policy
    }

    fn warm<R>(&self, f: impl FnOnce(&mut Store<StoreState>, &Instance) -> wasmtime::Result<R>) -> Result<R, Error> {
        let policy = self.policy;
        let mut slot = self.warm.borrow_mut();
        let (store, instance) = match slot.take() {
            Some(mut warm) => {
                store::rearm(&mut warm.0, policy.engine.limits());
                warm
            }
            None => {
                let mut store = store::store(policy.engine.wasmtime(), policy.engine.limits());
                let instance = policy.instantiate(&mut store)?;
                (store, instance)
            }
        };
        let mut store = store;
        match f(&mut store, &instance) {
            Ok(value) => {
                *slot = Some((store, instance));
                Ok(value)
            }
            Err(e) => Err(store::call_error(e, &store, &policy.id, policy.engine.limits())),
        }
    }
}

impl Router for Session<'_> {
    router_calls!(self, warm);

    fn guard(&self) -> Guard {
        self.policy.engine.guard().clone()
    }
}

/// What `route-policy inspect` reports of a component, whether or not it would load.
pub struct Inspection {
    /// How long compiling took (or loading from the cache).
    pub compile: std::time::Duration,
    /// Each import, and whether the sandbox grants it.
    pub imports: Vec<(String, bool)>,
}

/// Compiles a component and lists its imports, without the load checks; `source` names it in
/// the error.
pub fn inspect(engine: &Engine, bytes: &[u8], source: &str) -> Result<Inspection, LoadError> {
    let digest: [u8; 32] = Sha256::digest(bytes).into();
    let started = std::time::Instant::now();
    let (component, _) = engine.compile(bytes, &digest).map_err(|reason| LoadError {
        source: source.to_owned(),
        sha256: Some(hex(&digest)),
        step: Step::Compile,
        reason,
    })?;
    Ok(Inspection { compile: started.elapsed(), imports: crate::imports::list(engine.wasmtime(), &component) })
}

#[cfg(test)]
mod tests {
    use super::compatible;

    #[test]
    fn contract_versions() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.3", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("2.0.0", "1.0.0"));
        assert!(!compatible("", "0.1.0"));
    }
}
