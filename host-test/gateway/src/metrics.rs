//! The gateway's `/metrics`, in the OpenMetrics text format: what the loop did, per attempt
//! and per call, which fallbacks served, the circuits open, and which policy serves.
//!
//! Label values are bounded: outcomes and results are the contract's words, and models are the
//! configured refs (anything else is counted as `other`), so a client cannot grow the series.
//!
//! Label values are escaped ([`Label`]): a policy's revision is the policy's own words, and
//! prometheus-client writes a value as it is given, so a revision holding `"` or a newline could
//! otherwise close its series and write others.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::Mutex;

/// A label value, written escaped as OpenMetrics requires: `\\`, `\"` and `\n` for a
/// backslash, a double quote and a newline, the only characters that could end the value or
/// the line. Every other character is written as it is (OpenMetrics allows any UTF-8).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Label(String);

impl From<&str> for Label {
    fn from(value: &str) -> Label {
        Label(value.to_owned())
    }
}

impl EncodeLabelValue for Label {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        let mut rest = self.0.as_str();
        while let Some(at) = rest.find(['\\', '"', '\n']) {
            encoder.write_str(&rest[..at])?;
            encoder.write_str(match rest.as_bytes()[at] {
                b'\\' => "\\\\",
                b'"' => "\\\"",
                _ => "\\n",
            })?;
            rest = &rest[at + 1..];
        }
        encoder.write_str(rest)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Result_ {
    result: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Fallback {
    requested: Label,
    effective: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Origin {
    origin: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Serving {
    revision: Label,
    sha256: Label,
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
    skipped_events: Counter,
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
        let skipped_events = Counter::default();
        registry.register(
            "stream_events_skipped",
            "Stream events that were not JSON, skipped as clients skip them",
            skipped_events.clone(),
        );
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
            skipped_events,
        }
    }

    /// Stream events that were not JSON were skipped.
    pub fn skipped(&self, events: u32) {
        if events > 0 {
            self.skipped_events.inc_by(u64::from(events));
        }
    }

    fn bounded(&self, model: &str) -> Label {
        Label::from(if self.known.contains(model) { model } else { "other" })
    }

    /// One attempt ended this way (`success`, `http-error`, `network`, `timeout`, `stream-fault`).
    pub fn attempt(&self, outcome: &str) {
        self.attempts.get_or_create(&Outcome { outcome: outcome.into() }).inc();
    }

    /// One call ended this way.
    pub fn call(&self, result: &str) {
        self.calls.get_or_create(&Result_ { result: result.into() }).inc();
    }

    /// A fallback served `requested`.
    pub fn fallback(&self, requested: &str, effective: &str) {
        let labels = Fallback { requested: self.bounded(requested), effective: self.bounded(effective) };
        self.fallbacks.get_or_create(&labels).inc();
    }

    /// A request was refused before any attempt.
    pub fn rejected(&self, reason: &str) {
        self.rejected.get_or_create(&Reason { reason: reason.into() }).inc();
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
        self.activations.get_or_create(&Origin { origin: origin.into() }).inc();
        let now = Serving { revision: revision.into(), sha256: sha256.into() };
        let mut serving = self.serving.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(before) = serving.replace(now.clone()) {
            self.policy.remove(&before);
        }
        self.policy.get_or_create(&now).set(1);
    }

    /// A policy update was refused; `reason` is the step (`canary`, `rollback`, `verify`…) or
    /// the registry check (`manifest-digest`, `blob-digest`, `unsigned`…) that refused it.
    pub fn refused(&self, reason: &str) {
        self.refusals.get_or_create(&Reason { reason: reason.into() }).inc();
    }

    /// Everything, as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line of OpenMetrics text, checked: a `# HELP`, `# TYPE`, `# UNIT` or `# EOF` line, or
    /// a sample `name{label="value",…} number`. Returns the sample's name and its labels, with
    /// their values unescaped.
    fn sample(line: &str) -> Option<(String, Vec<(String, String)>)> {
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap();
            assert!(["HELP", "TYPE", "UNIT", "EOF"].contains(&kind), "not an OpenMetrics line: {line:?}");
            return None;
        }
        let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
        let name_end = line.find(|c| !is_name(c)).unwrap_or(line.len());
        assert!(name_end > 0, "a sample starts with its name: {line:?}");
        let (name, mut rest) = line.split_at(name_end);
        let mut labels = Vec::new();
        if let Some(inside) = rest.strip_prefix('{') {
            rest = inside;
            while !rest.starts_with('}') {
                if !labels.is_empty() {
                    rest = rest.strip_prefix(',').unwrap_or_else(|| panic!("labels are set apart by `,`: {line:?}"));
                }
                let (key, value) =
                    rest.split_once("=\"").unwrap_or_else(|| panic!("a label is key=\"value\": {line:?}"));
                assert!(!key.is_empty() && key.chars().all(is_name), "label name {key:?} in {line:?}");
                let mut chars = value.char_indices();
                let mut unescaped = String::new();
                let end = loop {
                    match chars.next() {
                        Some((at, '"')) => break at,
                        Some((_, '\\')) => unescaped.push(match chars.next() {
                            Some((_, '\\')) => '\\',
                            Some((_, '"')) => '"',
                            Some((_, 'n')) => '\n',
                            other => panic!("an escape OpenMetrics does not know ({other:?}) in {line:?}"),
                        }),
                        Some((_, c)) => unescaped.push(c),
                        None => panic!("a label value that does not end: {line:?}"),
                    }
                };
                labels.push((key.to_owned(), unescaped));
                rest = &value[end + 1..];
            }
            rest = rest.strip_prefix('}').unwrap_or_else(|| panic!("labels end with `}}`: {line:?}"));
        }
        let value = rest.strip_prefix(' ').unwrap_or_else(|| panic!("a space before the value: {line:?}"));
        assert!(value.parse::<f64>().is_ok(), "a sample's value is a number: {line:?}");
        Some((name.to_owned(), labels))
    }

    #[test]
    fn a_revision_cannot_write_series_of_its_own() {
        let metrics = Metrics::new(["gpt-5.5".to_owned()]);
        let forged = "x\"} 1\nroute_policy_forged 1\n#";
        metrics.activated("file", forged, "ab\\cd");
        metrics.refused("canary\"\n");
        let text = metrics.encode();
        assert!(text.ends_with("# EOF\n"), "{text}");
        let samples: Vec<_> = text.lines().filter_map(sample).collect();
        assert!(samples.iter().all(|(name, _)| !name.contains("forged")), "{text}");
        // The revision is one label value, whole.
        let info = samples.iter().find(|(name, _)| name == "route_policy_policy_info").expect("the policy's series");
        assert_eq!(info.1, [("revision".to_owned(), forged.to_owned()), ("sha256".to_owned(), "ab\\cd".to_owned())]);
        assert!(samples.iter().any(|(_, labels)| labels == &[("reason".to_owned(), "canary\"\n".to_owned())]));
    }

    #[test]
    fn plain_values_are_written_as_they_are() {
        let metrics = Metrics::new(["openai/gpt-5.5".to_owned()]);
        metrics.activated("registry", "2026.05.01-1 (été)", "0123abcd");
        metrics.fallback("openai/gpt-5.5", "gpt-4.1");
        let text = metrics.encode();
        assert!(
            text.contains(r#"route_policy_policy_info{revision="2026.05.01-1 (été)",sha256="0123abcd"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"{requested="openai/gpt-5.5",effective="other"}"#), "{text}");
    }
}
