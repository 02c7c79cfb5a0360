//! Verified hot swap: a [`PolicyHost`] serves one policy and replaces it only with one that
//! passed every check, while calls in flight finish on the policy they started with.
//!
//! [`PolicyHost::reload`] runs, in order:
//! 1. read the file;
//! 2. check the sha256 pin and the ed25519 signature, when [`Trust`] requires them;
//! 3. compile, check the imports, type-check the world, check `policy-info.contract`;
//! 4. run the canary vectors: safety invariants any policy must keep;
//! 5. swap atomically.
//!
//! Any failure leaves the old policy serving, and the [`LoadError`] says which step refused
//! and why. Every answer from [`PolicyHost::answer`] names the policy that produced it.

use crate::decision_log::DecisionLog;
use crate::error::{Error, LoadError, Step};
use crate::trust::Trust;
use crate::{Engine, Policy, PolicyId, Router};
use arc_swap::ArcSwap;
use route_policy_guest::vectors::{self, VectorFile};
use route_policy_guest::wire::{Answer, Call};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The canary shipped with the host.
const DEFAULT_CANARY: &str = include_str!("../canary/default.json");

/// Vectors a policy must pass before it is swapped in.
pub struct Canary {
    file: VectorFile,
    source: String,
}

impl Canary {
    /// The canary shipped with the host (`host-test/canary/default.json`).
    pub fn builtin() -> Canary {
        let file = serde_json::from_str(DEFAULT_CANARY).expect("the shipped canary parses");
        Canary { file, source: "built-in canary".to_owned() }
    }

    /// A canary vector file of the operator's.
    pub fn load(path: &Path) -> Result<Canary, String> {
        Ok(Canary { file: vectors::load(path)?, source: path.display().to_string() })
    }

    /// No canary. A host that swaps policies should keep one; this is for tests of the other
    /// steps.
    pub fn none() -> Canary {
        Canary {
            file: VectorFile { op: None, about: String::new(), cases: Vec::new() },
            source: "no canary".to_owned(),
        }
    }

    /// Runs the canary against `policy`; the error lists the failing cases.
    pub fn check(&self, policy: &Policy) -> Result<(), String> {
        let failures = vectors::run(&self.file, |call| policy.call_json(call));
        if failures.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{} of {} {} cases failed: {}",
            failures.len(),
            self.file.cases.len(),
            self.source,
            failures.join("; ")
        ))
    }
}

/// What a [`PolicyHost`] requires of every policy it serves.
pub struct ReloadOptions {
    /// The sha256 pin and trusted signing keys.
    pub trust: Trust,
    /// The vectors a policy must pass.
    pub canary: Canary,
}

impl Default for ReloadOptions {
    /// No pin, no signature, the shipped canary.
    fn default() -> Self {
        ReloadOptions { trust: Trust::none(), canary: Canary::builtin() }
    }
}

/// An answer, and the policy that produced it.
pub struct Tagged {
    /// The answer (or the host's error).
    pub answer: Result<Answer, Error>,
    /// Which policy answered.
    pub policy: Arc<Policy>,
}

/// Serves one policy at a time and swaps in verified updates.
pub struct PolicyHost {
    engine: Engine,
    current: ArcSwap<Policy>,
    options: ReloadOptions,
    log: Option<DecisionLog>,
}

impl PolicyHost {
    /// Serves `policy` (loaded by the caller, e.g. the built-in one) after the canary passes.
    pub fn new(engine: Engine, policy: Policy, options: ReloadOptions) -> Result<PolicyHost, LoadError> {
        canary(&options, &policy)?;
        Ok(PolicyHost { engine, current: ArcSwap::from_pointee(policy), options, log: None })
    }

    /// Serves the policy at `path`, after every check.
    pub fn open(engine: Engine, path: &Path, options: ReloadOptions) -> Result<PolicyHost, LoadError> {
        let policy = verify_and_load(&engine, &options, path)?;
        Ok(PolicyHost { engine, current: ArcSwap::from_pointee(policy), options, log: None })
    }

    /// Records every decision in `log`.
    pub fn with_decision_log(mut self, log: DecisionLog) -> PolicyHost {
        self.log = Some(log);
        self
    }

    /// The policy serving now. A caller holding it keeps it alive across a swap.
    pub fn current(&self) -> Arc<Policy> {
        self.current.load_full()
    }

    /// Replaces the policy with the one at `path`, if it passes every check; otherwise the
    /// current policy keeps serving and the error says which step refused.
    pub fn reload(&self, path: &Path) -> Result<Arc<Policy>, LoadError> {
        let policy = Arc::new(verify_and_load(&self.engine, &self.options, path)?);
        self.current.store(policy.clone());
        Ok(policy)
    }

    /// Answers one call with the current policy, says which policy it was, and records the
    /// decision when a log is set.
    pub fn answer(&self, call: &Call) -> Tagged {
        let policy = self.current();
        let answer = policy.call(call);
        if let Some(log) = &self.log {
            log.record(call, &answer, policy.id());
        }
        Tagged { answer, policy }
    }

    /// Watches `path` and reloads when it changes, reporting each outcome to `report`. The
    /// directory is watched rather than the file, so that an editor's or a deploy's
    /// rename-into-place is seen; changes are debounced for `settle`.
    pub fn watch(
        self: &Arc<Self>,
        path: PathBuf,
        settle: Duration,
        report: impl Fn(Result<Arc<Policy>, LoadError>) + Send + 'static,
    ) -> Result<Watcher, String> {
        use notify::{EventKind, RecursiveMode, Watcher as _};
        let name = path.file_name().ok_or_else(|| format!("{} names no file", path.display()))?.to_owned();
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (events, incoming) = std::sync::mpsc::channel();
        let mut watcher =
            notify::recommended_watcher(events).map_err(|e| format!("watching {}: {e}", dir.display()))?;
        watcher.watch(&dir, RecursiveMode::NonRecursive).map_err(|e| format!("watching {}: {e}", dir.display()))?;
        let host = Arc::clone(self);
        let relevant = move |event: &notify::Event| {
            matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_))
                && event.paths.iter().any(|p| p.file_name() == Some(&name))
        };
        std::thread::Builder::new()
            .name("route-policy-watch".to_owned())
            .spawn(move || {
                // Ends when the watcher is dropped and the channel closes.
                while let Ok(event) = incoming.recv() {
                    if !event.as_ref().is_ok_and(&relevant) {
                        continue;
                    }
                    // Let the writer finish, and fold the burst of events into one reload.
                    std::thread::sleep(settle);
                    while incoming.try_recv().is_ok() {}
                    report(host.reload(&path));
                }
            })
            .map_err(|e| format!("starting the watch thread: {e}"))?;
        Ok(Watcher { _watcher: watcher })
    }
}

impl Router for PolicyHost {
    fn resolve_endpoint(
        &self,
        request: &route_policy_guest::types::EndpointRequest,
    ) -> Result<route_policy_guest::types::Endpoint, Error> {
        self.current().resolve_endpoint(request)
    }

    fn filter_fallbacks(
        &self,
        request: &route_policy_guest::types::FallbackRequest,
    ) -> Result<route_policy_guest::types::FallbackPlan, Error> {
        self.current().filter_fallbacks(request)
    }

    fn classify_error(
        &self,
        failure: &route_policy_guest::types::ProviderFailure,
    ) -> Result<route_policy_guest::types::Verdict, Error> {
        self.current().classify_error(failure)
    }

    fn policy_info(&self) -> Result<route_policy_guest::types::PolicyIdentity, Error> {
        self.current().policy_info()
    }

    fn call(&self, call: &Call) -> Result<Answer, Error> {
        self.answer(call).answer
    }
}

/// Keeps a [`PolicyHost::watch`] running; dropping it stops the watch.
pub struct Watcher {
    _watcher: notify::RecommendedWatcher,
}

/// Steps 1 to 4 of a reload.
fn verify_and_load(engine: &Engine, options: &ReloadOptions, path: &Path) -> Result<Policy, LoadError> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| LoadError {
        source: source.clone(),
        sha256: None,
        step: Step::Read,
        reason: e.to_string(),
    })?;
    options.trust.verify(&bytes, Some(path)).map_err(|reason| LoadError {
        source: source.clone(),
        sha256: Some(crate::sha256_hex(&bytes)),
        step: Step::Verify,
        reason,
    })?;
    let policy = Policy::from_bytes(engine, &bytes, source)?;
    canary(options, &policy)?;
    Ok(policy)
}

fn canary(options: &ReloadOptions, policy: &Policy) -> Result<(), LoadError> {
    options.canary.check(policy).map_err(|reason| LoadError {
        source: policy.id().source.clone(),
        sha256: Some(policy.id().sha256.clone()),
        step: Step::Canary,
        reason,
    })
}

/// Which policy answered, for an output line: `{"revision", "sha256"}`.
pub fn policy_tag(id: &PolicyId) -> serde_json::Value {
    serde_json::json!({ "revision": id.revision, "sha256": id.sha256 })
}
