//! The canary: conformance vectors a policy must pass before a host serves it. The shipped one
//! (`host-test/host/canary/default.json`) holds safety invariants any policy must keep (the seeds'
//! three failures, credentials kept off the wrong hosts); an operator may give their own.

use crate::Policy;
use crate::error::CanaryError;
use crate::router::Router;
use route_policy_contract::vectors::{self, VectorFile};
use std::path::Path;

/// The canary shipped with the host.
const DEFAULT_CANARY: &str = include_str!("../canary/default.json");

/// Vectors a policy must pass before it is swapped in.
#[derive(Clone)]
pub struct Canary {
    file: VectorFile,
    source: String,
}

impl Canary {
    /// The canary shipped with the host (`host-test/host/canary/default.json`).
    pub fn builtin() -> Canary {
        let file = serde_json::from_str(DEFAULT_CANARY).expect("the shipped canary parses");
        Canary { file, source: "built-in canary".to_owned() }
    }

    /// A canary vector file of the operator's.
    pub fn load(path: &Path) -> Result<Canary, CanaryError> {
        Ok(Canary { file: vectors::load(path).map_err(CanaryError::Load)?, source: path.display().to_string() })
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
    pub fn check(&self, policy: &Policy) -> Result<(), CanaryError> {
        let failures = vectors::run(&self.file, |call| policy.call_json(call));
        if failures.is_empty() {
            return Ok(());
        }
        Err(CanaryError::Failed { canary: self.source.clone(), total: self.file.cases.len(), failures })
    }
}
