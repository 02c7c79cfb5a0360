//! Serving with verified hot swap: a [`PolicyHost`] serves one policy and replaces it only with
//! one that passed every check, while calls in flight finish on the policy they started with.
//!
//! [`PolicyHost::reload`] runs, in order:
//! 1. read the file;
//! 2. check the sha256 pin and the ed25519 signature, when [`Trust`] requires them;
//! 3. compile, check the imports, type-check the world, check `policy-info.contract`;
//! 4. run the canary vectors: safety invariants any policy must keep;
//! 5. refuse a revision that is not newer than the serving one's (a rollback), unless it is the
//!    same revision or the operator allows rollbacks;
//! 6. swap atomically.
//!
//! Any failure leaves the old policy serving, and the [`LoadError`] says which step refused
//! and why. Every answer from [`PolicyHost::answer`] names the policy that produced it.

use crate::canary::Canary;
use crate::decision_log::DecisionLog;
use crate::error::{Error, FileError, LoadError, Step};
use crate::identity::sha256_hex;
use crate::router::Router;
use crate::trust::Trust;
use crate::{Engine, Policy};
use arc_swap::ArcSwap;
use route_policy_contract::types::{
    CallState, Endpoint, EndpointRequest, FallbackPlan, FallbackRequest, Next, PolicyIdentity, ProviderFailure, Verdict,
};
use route_policy_contract::wire::{Answer, Call};
use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What a [`PolicyHost`] requires of every policy it serves.
#[derive(Clone)]
pub struct ReloadOptions {
    /// The sha256 pin and trusted signing keys.
    pub trust: Trust,
    /// The vectors a policy must pass.
    pub canary: Canary,
    /// Whether a policy whose revision is lower than the serving one's may replace it. Off by
    /// default: an older signed policy is a valid signature over rules that were fixed since,
    /// and re-activating it silently would undo the fix.
    pub allow_rollback: bool,
}

impl Default for ReloadOptions {
    /// No pin, no signature, the shipped canary, no rollback.
    fn default() -> Self {
        ReloadOptions { trust: Trust::none(), canary: Canary::builtin(), allow_rollback: false }
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
        let policy = load_verified(&engine, &options, path)?;
        canary(&options, &policy)?;
        Ok(PolicyHost { engine, current: ArcSwap::from_pointee(policy), options, log: None })
    }

    /// Records every decision in `log`.
    pub fn with_decision_log(mut self, log: DecisionLog) -> PolicyHost {
        self.log = Some(log);
        self
    }

    /// The engine every candidate is compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// What this host requires of every policy.
    pub fn options(&self) -> &ReloadOptions {
        &self.options
    }

    /// The policy serving now. A caller holding it keeps it alive across a swap.
    pub fn current(&self) -> Arc<Policy> {
        self.current.load_full()
    }

    /// Replaces the policy with the one at `path`, if it passes every check; otherwise the
    /// current policy keeps serving and the error says which step refused.
    pub fn reload(&self, path: &Path) -> Result<Arc<Policy>, LoadError> {
        self.offer(load_verified(&self.engine, &self.options, path)?)
    }

    /// Replaces the policy with `candidate`, loaded by the caller from bytes whose provenance
    /// it has checked (a registry pull verifies the digest and the signature itself), if it
    /// passes steps 4 to 6: the canary, the rollback check, the swap.
    pub fn offer(&self, candidate: Policy) -> Result<Arc<Policy>, LoadError> {
        canary(&self.options, &candidate)?;
        let serving = self.current();
        if !self.options.allow_rollback
            && revision_order(&candidate.id().revision, &serving.id().revision) != Some(Ordering::Greater)
            && candidate.id().revision != serving.id().revision
        {
            return Err(LoadError {
                source: candidate.id().source.clone(),
                sha256: Some(candidate.id().sha256.clone()),
                step: Step::Rollback,
                reason: format!(
                    "its revision {} is not newer than the serving {}; a rollback must be allowed explicitly",
                    crate::identity::printable(&candidate.id().revision),
                    crate::identity::printable(&serving.id().revision)
                ),
            });
        }
        let policy = Arc::new(candidate);
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

    /// Watches `path` and reloads when the bytes it names change, reporting each outcome to
    /// `report`; changes are debounced for `settle`.
    ///
    /// The directory is watched rather than the file, and every event in it re-reads the path
    /// (following links): an editor's or a deploy's rename-into-place, and a Kubernetes
    /// ConfigMap or Secret volume, which swaps a `..data` link and never touches the file's own
    /// name, are both seen. Bytes equal to the serving policy's are not reloaded.
    pub fn watch(
        self: &Arc<Self>,
        path: PathBuf,
        settle: Duration,
        report: impl Fn(Result<Arc<Policy>, LoadError>) + Send + 'static,
    ) -> Result<Watcher, FileError> {
        use notify::{EventKind, RecursiveMode, Watcher as _};
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let fail = |source: std::io::Error| FileError { what: "watching", path: dir.clone(), source };
        let (events, incoming) = std::sync::mpsc::channel();
        let mut watcher = notify::recommended_watcher(events).map_err(|e| fail(std::io::Error::other(e)))?;
        watcher.watch(&dir, RecursiveMode::NonRecursive).map_err(|e| fail(std::io::Error::other(e)))?;
        let host = Arc::clone(self);
        std::thread::Builder::new()
            .name("route-policy-watch".to_owned())
            .spawn(move || {
                // Ends when the watcher is dropped and the channel closes.
                while let Ok(event) = incoming.recv() {
                    if !event.is_ok_and(|e| !matches!(e.kind, EventKind::Access(_))) {
                        continue;
                    }
                    // Let the writer finish, and fold the burst of events into one reload.
                    std::thread::sleep(settle);
                    while incoming.try_recv().is_ok() {}
                    let unchanged =
                        std::fs::read(&path).is_ok_and(|bytes| sha256_hex(&bytes) == host.current().id().sha256);
                    if !unchanged {
                        report(host.reload(&path));
                    }
                }
            })
            .map_err(fail)?;
        Ok(Watcher { _watcher: watcher })
    }
}

impl Router for PolicyHost {
    crate::router::forward_router!(self => self.current());

    fn call(&self, call: &Call) -> Result<Answer, Error> {
        self.answer(call).answer
    }

    fn guard(&self) -> route_policy_contract::guard::Guard {
        self.engine().guard().clone()
    }
}

/// Keeps a [`PolicyHost::watch`] running; dropping it stops the watch.
pub struct Watcher {
    _watcher: notify::RecommendedWatcher,
}

/// Steps 1 to 3 of a reload: read, verify, load.
fn load_verified(engine: &Engine, options: &ReloadOptions, path: &Path) -> Result<Policy, LoadError> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| LoadError {
        source: source.clone(),
        sha256: None,
        step: Step::Read,
        reason: e.to_string(),
    })?;
    options.trust.verify(&bytes, Some(path)).map_err(|e| LoadError {
        source: source.clone(),
        sha256: Some(sha256_hex(&bytes)),
        step: Step::Verify,
        reason: e.to_string(),
    })?;
    Policy::from_bytes(engine, &bytes, source)
}

fn canary(options: &ReloadOptions, policy: &Policy) -> Result<(), LoadError> {
    options.canary.check(policy).map_err(|e| LoadError {
        source: policy.id().source.clone(),
        sha256: Some(policy.id().sha256.clone()),
        step: Step::Canary,
        reason: e.to_string(),
    })
}

/// How two revisions order: piece by piece (split at `.`, `-`, `+` and `_`), numbers as
/// numbers, words as words (`2026.11.21` < `2026.11.21.1` < `2026.12.1`). `None` when a piece
/// is a number on one side and a word on the other: such revisions cannot be ordered, and a
/// host treats that as "not newer".
pub fn revision_order(a: &str, b: &str) -> Option<Ordering> {
    let pieces = |r: &str| r.split(['.', '-', '+', '_']).map(str::to_owned).collect::<Vec<_>>();
    let (a, b) = (pieces(a), pieces(b));
    for (x, y) in a.iter().zip(&b) {
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Err(_), Err(_)) => x.cmp(y),
            _ => return None,
        };
        if order != Ordering::Equal {
            return Some(order);
        }
    }
    Some(a.len().cmp(&b.len()))
}

#[cfg(test)]
mod tests {
    use super::revision_order;
    use std::cmp::Ordering::*;

    #[test]
    fn revisions_order_piece_by_piece() {
        assert_eq!(revision_order("2026.11.21", "2026.11.20"), Some(Greater));
        assert_eq!(revision_order("2026.11.21", "2026.11.21.1"), Some(Less));
        assert_eq!(revision_order("2026.12.1", "2026.11.30"), Some(Greater));
        assert_eq!(revision_order("r10", "r9"), Some(Less), "words compare as words");
        assert_eq!(revision_order("2026.11.21", "2026.11.21"), Some(Equal));
        assert_eq!(revision_order("2026.x", "2026.1"), None);
    }
}
