//! The decision log: one JSON line per answer, for audits. It records when, which operation,
//! which policy (revision and sha256), which rules decided, the answer, and a digest of the
//! input; every string is redacted first, and the input itself is never written.

use crate::error::{Error, FileError};
use crate::identity::{PolicyId, sha256_hex};
use route_policy_contract::redact;
use route_policy_contract::wire::{Answer, Call};
use serde_json::{Value, json};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

/// A JSON Lines file of decisions, opened for appending (mode 0600: answers can name accounts).
pub struct DecisionLog {
    out: Mutex<BufWriter<std::fs::File>>,
}

impl DecisionLog {
    /// Opens (creating) `path` for appending. A symbolic link is refused rather than followed:
    /// a link planted where the log goes would otherwise make the host append to its target.
    pub fn open(path: &Path) -> Result<DecisionLog, FileError> {
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        }
        let file = options.open(path).map_err(|source| {
            let source = if source.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                std::io::Error::other("it is a symbolic link; the log is written only to a file of its own")
            } else {
                source
            };
            FileError { what: "decision log", path: path.to_owned(), source }
        })?;
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

/// The largest input whose digest the log records, in bytes of its JSON. The digest is taken
/// over the redacted input (a digest of a secret would let anyone confirm a guess of it), and
/// redaction costs time in proportion to its input, outside any deadline; an input past this
/// was refused for its size anyway (the engine's default `Limits::input`), and is
/// logged by its length alone.
pub const MAX_DIGESTED_INPUT: usize = 1 << 20;

impl DecisionLog {
    /// Records a model call's receipt (the executor's): every string redacted first.
    pub fn record_receipt(&self, receipt: &Value) {
        let mut receipt = receipt.clone();
        redacted(&mut receipt);
        let time_ms =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let line = json!({ "time-ms": time_ms, "op": "call", "receipt": receipt });
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
    let input_bytes = input.to_string().len();
    let input_sha256 = (input_bytes <= MAX_DIGESTED_INPUT).then(|| {
        redacted(&mut input);
        sha256_hex(input.to_string().as_bytes())
    });
    let (mut shown, rules) = match answer {
        Ok(answer) => (answer.to_json(), rules_of(answer)),
        Err(error) => (error.to_json(), vec![error.code().to_owned()]),
    };
    redacted(&mut shown);
    json!({
        "time-ms": time_ms,
        "op": call.op(),
        "policy": policy.tag(),
        "rules": rules,
        "answer": shown,
        "input-sha256": input_sha256,
        "input-bytes": input_bytes,
    })
}

/// The rule ids an answer names (for a plan, its drop reasons).
fn rules_of(answer: &Answer) -> Vec<String> {
    match answer {
        Answer::Endpoint(Ok(endpoint)) => endpoint.rules.clone(),
        Answer::Plan(Ok(plan)) => plan.dropped.iter().map(|d| format!("drop:{}", d.reason)).collect(),
        Answer::Next(Ok(next)) => next.rules.clone(),
        Answer::Endpoint(Err(e)) | Answer::Plan(Err(e)) | Answer::Next(Err(e)) => vec![e.code.as_str().to_owned()],
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

#[cfg(test)]
mod tests {
    use super::*;
    use route_policy_contract::types::ProviderFailure;

    fn policy() -> PolicyId {
        PolicyId {
            source: "test".into(),
            sha256: "0".repeat(64),
            revision: "r1".into(),
            contract: "0.1.0".into(),
            rules_digest: "0".repeat(64),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_where_the_log_goes_is_refused() {
        let dir = std::env::temp_dir().join(format!("route-policy-log-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("victim");
        std::fs::write(&target, "untouched\n").unwrap();
        std::os::unix::fs::symlink(&target, dir.join("decisions.jsonl")).unwrap();
        let error = DecisionLog::open(&dir.join("decisions.jsonl")).err().expect("a link is refused");
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_input_past_the_bound_is_logged_by_its_length_alone() {
        let body = "a+".repeat(MAX_DIGESTED_INPUT);
        let call = Call::ClassifyError(ProviderFailure { body, ..Default::default() });
        let line = entry(&call, &Err(Error::Input("too large".into())), &policy());
        assert_eq!(line["input-sha256"], Value::Null);
        assert!(line["input-bytes"].as_u64().unwrap() > MAX_DIGESTED_INPUT as u64);
    }

    #[test]
    fn an_input_within_the_bound_is_digested_after_redaction() {
        let secret = "sk-proj-PLANTEDsecretPLANTED99";
        let with = |body: &str| {
            let call = Call::ClassifyError(ProviderFailure { body: body.into(), ..Default::default() });
            entry(&call, &Err(Error::Input("x".into())), &policy())
        };
        let line = with(&format!("key {secret}"));
        assert!(!line.to_string().contains("PLANTED"));
        // Two different secrets digest alike: the digest cannot confirm a guess.
        assert_eq!(line["input-sha256"], with("key sk-proj-OTHERsecretOTHERsecret77")["input-sha256"]);
    }
}
