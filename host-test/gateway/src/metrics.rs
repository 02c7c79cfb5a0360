//! The gateway's `/metrics`, in the OpenMetrics text format: what the loop did, per attempt
//! and per call, which fallbacks served, the circuits open, and which policy serves.
//!
//! Label values are bounded: outcomes and results are the contract's words, and models are the
//! configured refs (anything else is counted as `other`), so a client cannot grow the series.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::BTreeSet;
use std::sync::Mutex;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Result_ {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Fallback {
    requested: String,
    effective: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Origin {
    origin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Serving {
    revision: String,
    sha256: String,
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    known: BTreeSet<String>,
    attempts: Family<Outcome, Counter>,
    calls: Family<Result_, Counter>,
    fallbacks: Family<Fallback, Counter>,
    rejected: Family<Reason, Counter>,
    circuits_open: Gauge,
    activations: Family<Origin, Counter>,
    refusals: Family<Reason, Counter>,
    policy: Family<Serving, Gauge>,
    serving: Mutex<Option<Serving>>,
    step_seconds: Histogram,
}

impl Metrics {
    /// Metrics whose model labels are limited to `known` refs.
    pub fn new(known: impl IntoIterator<Item = String>) -> Metrics {
        let mut registry = Registry::with_prefix("route_policy");
        let attempts = Family::<Outcome, Counter>::default();
        registry.register("attempts", "Upstream attempts, by outcome", attempts.clone());
        let calls = Family::<Result_, Counter>::default();
        registry.register("calls", "Calls, by how they ended", calls.clone());
        let fallbacks = Family::<Fallback, Counter>::default();
        registry.register(
            "fallbacks",
            "Calls a fallback served: the model asked for, the model that answered",
            fallbacks.clone(),
        );
        let rejected = Family::<Reason, Counter>::default();
        registry.register("requests_rejected", "Requests refused before any attempt, by reason", rejected.clone());
        let circuits_open = Gauge::default();
        registry.register("circuits_open", "Routes whose circuit is open now", circuits_open.clone());
        let activations = Family::<Origin, Counter>::default();
        registry.register(
            "policy_activations",
            "Policies that passed every check and began serving, by origin (file, built-in, registry, last-good)",
            activations.clone(),
        );
        let refusals = Family::<Reason, Counter>::default();
        registry.register(
            "policy_refusals",
            "Policy updates refused (the previous one kept serving), by the step or check that refused",
            refusals.clone(),
        );
        let policy = Family::<Serving, Gauge>::default();
        registry.register("policy_info", "The serving policy (value 1)", policy.clone());
        // From 10 µs to ~5 ms: a next-step is tens of microseconds when warm.
        let step_seconds = Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(1e-5, 2.0, 10));
        registry.register("step_seconds", "Time to answer one next-step (sandbox and guard)", step_seconds.clone());
        Metrics {
            registry,
            known: known.into_iter().collect(),
            attempts,
            calls,
            fallbacks,
            rejected,
            circuits_open,
            activations,
            refusals,
            policy,
            serving: Mutex::new(None),
            step_seconds,
        }
    }

    fn bounded(&self, model: &str) -> String {
        if self.known.contains(model) { model.to_owned() } else { "other".to_owned() }
    }

    /// One attempt ended this way (`success`, `http-error`, `network`, `timeout`, `stream-fault`).
    pub fn attempt(&self, outcome: &str) {
        self.attempts.get_or_create(&Outcome { outcome: outcome.to_owned() }).inc();
    }

    /// One call ended this way.
    pub fn call(&self, result: &str) {
        self.calls.get_or_create(&Result_ { result: result.to_owned() }).inc();
    }

    /// A fallback served `requested`.
    pub fn fallback(&self, requested: &str, effective: &str) {
        let labels = Fallback { requested: self.bounded(requested), effective: self.bounded(effective) };
        self.fallbacks.get_or_create(&labels).inc();
    }

    /// A request was refused before any attempt.
    pub fn rejected(&self, reason: &str) {
        self.rejected.get_or_create(&Reason { reason: reason.to_owned() }).inc();
    }

    /// One next-step took this long.
    pub fn step(&self, micros: u64) {
        self.step_seconds.observe(micros as f64 / 1e6);
    }

    /// This many circuits are open now.
    pub fn circuits(&self, open: usize) {
        self.circuits_open.set(open as i64);
    }

    /// A policy began serving; `origin` is `file`, `built-in`, `registry` or `last-good`.
    pub fn activated(&self, origin: &str, revision: &str, sha256: &str) {
        self.activations.get_or_create(&Origin { origin: origin.to_owned() }).inc();
        let now = Serving { revision: revision.to_owned(), sha256: sha256.to_owned() };
        let mut serving = self.serving.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(before) = serving.replace(now.clone()) {
            self.policy.remove(&before);
        }
        self.policy.get_or_create(&now).set(1);
    }

    /// A policy update was refused; `reason` is the step (`canary`, `rollback`, `verify`…) or
    /// the registry check (`manifest-digest`, `blob-digest`, `unsigned`…) that refused it.
    pub fn refused(&self, reason: &str) {
        self.refusals.get_or_create(&Reason { reason: reason.to_owned() }).inc();
    }

    /// Everything, as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
