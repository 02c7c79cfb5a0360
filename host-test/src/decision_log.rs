//! The decision log: one JSON line per answer, for audits. It records when, which operation,
//! which policy (revision and sha256), which rules decided, the answer, and a digest of the
//! input; every string is redacted first, and the input itself is never written.

use crate::PolicyId;
use crate::error::Error;
use route_policy_guest::redact;
use route_policy_guest::wire::{Answer, Call};
use serde_json::{Value, json};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

/// A JSON Lines file of decisions, opened for appending (mode 0600: answers can name accounts).
pub struct DecisionLog {
    out: Mutex<BufWriter<std::fs::File>>,
}

impl DecisionLog {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> Result<DecisionLog, String> {
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|e| format!("decision log {}: {e}", path.display()))?;
        Ok(DecisionLog { out: Mutex::new(BufWriter::new(file)) })
    }

    /// Records one decision. A log that cannot be written does not stop answers.
    pub fn record(&self, call: &Call, answer: &Result<Answer, Error>, policy: &PolicyId) {
        let line = entry(call, answer, policy);
        let Ok(mut out) = self.out.lock() else { return };
        let _ = serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from).and_then(|()| {
            out.write_all(b"\n")?;
            out.flush()
        });
    }
}

/// The log line of one decision.
pub fn entry(call: &Call, answer: &Result<Answer, Error>, policy: &PolicyId) -> Value {
    let time_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let mut input = call.input();
    redacted(&mut input);
    let input_sha256 = crate::sha256_hex(input.to_string().as_bytes());
    let (mut shown, rules) = match answer {
        Ok(answer) => (answer.to_json(), rules_of(answer)),
        Err(error) => (error.to_json(), vec![error.code().to_owned()]),
    };
    redacted(&mut shown);
    json!({
        "time-ms": time_ms,
        "op": call.op(),
        "policy": crate::reload::policy_tag(policy),
        "rules": rules,
        "answer": shown,
        "input-sha256": input_sha256,
    })
}

/// The rule ids an answer names (for a plan, its drop reasons).
fn rules_of(answer: &Answer) -> Vec<String> {
    match answer {
        Answer::Endpoint(Ok(endpoint)) => endpoint.rules.clone(),
        Answer::Plan(Ok(plan)) => plan.dropped.iter().map(|d| format!("drop:{}", d.reason)).collect(),
        Answer::Endpoint(Err(e)) | Answer::Plan(Err(e)) => vec![e.code.as_str().to_owned()],
        Answer::Verdict(verdict) => vec![verdict.rule.clone()],
        Answer::Info(_) => vec![],
    }
}

/// Redacts every string of a JSON value in place.
fn redacted(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(clean) = redact::text(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redacted),
        Value::Object(fields) => fields.values_mut().for_each(redacted),
        _ => {}
    }
}
