//! Errors: a refused policy load or reload ([`LoadError`]), and a failed call ([`Error`]).
//!
//! Every error says which policy it concerns (source, revision, sha256), so that a host running
//! several policies, or swapping them, can tell which one misbehaved.

use crate::guard::Violation;
use crate::policy::PolicyId;
use route_policy_guest::types::PolicyError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The step of loading (or reloading) a policy that refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Reading the file.
    Read,
    /// Checking the sha256 pin or the ed25519 signature.
    Verify,
    /// Compiling (or loading the compiled code from the cache).
    Compile,
    /// Checking the component's imports against the sandbox.
    Imports,
    /// Type-checking the component against the `route-policy` world.
    World,
    /// Checking `policy-info.contract` against the host's WIT version.
    Contract,
    /// Running the canary vectors.
    Canary,
}

impl Step {
    /// The step's name in messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Read => "read",
            Step::Verify => "verify",
            Step::Compile => "compile",
            Step::Imports => "imports",
            Step::World => "world",
            Step::Contract => "contract",
            Step::Canary => "canary",
        }
    }
}

/// A policy was refused; when reloading, the previous policy keeps serving.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// Where the policy came from (a path, or `built-in`).
    pub source: String,
    /// The sha256 of the component, once it was read.
    pub sha256: Option<String>,
    /// Which step refused it.
    pub step: Step,
    /// Why, in a sentence.
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy {}", self.source)?;
        if let Some(sha) = &self.sha256 {
            write!(f, " (sha256 {})", &sha[..12.min(sha.len())])?;
        }
        write!(f, " refused at {}: {}", self.step.as_str(), self.reason)
    }
}

impl std::error::Error for LoadError {}

/// A call that produced no answer from the policy.
#[derive(Debug, Clone)]
pub enum Error {
    /// The policy answered with its own error (a `policy-error` of the WIT).
    Policy(PolicyError),
    /// The request is too large to hand to the sandbox.
    Input(String),
    /// The call ran past its deadline and was interrupted.
    Deadline {
        /// The policy that ran too long.
        policy: Arc<PolicyId>,
        /// The deadline it ran past.
        limit: Duration,
    },
    /// The policy tried to grow its memory past the cap.
    Memory {
        /// The policy that wanted more.
        policy: Arc<PolicyId>,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The policy trapped (a panic, `unreachable`, an exit).
    Trap {
        /// The policy that trapped.
        policy: Arc<PolicyId>,
        /// The trap, and what the policy printed to stderr (redacted, bounded).
        message: String,
    },
    /// The answer broke the credential-egress guard and was withheld.
    Guard {
        /// The policy that answered unsafely.
        policy: Arc<PolicyId>,
        /// What was unsafe.
        violation: Violation,
    },
    /// The host could not run the call (e.g. every pool slot is busy).
    Host {
        /// The policy that could not run.
        policy: Arc<PolicyId>,
        /// Why.
        message: String,
    },
}

impl Error {
    /// The error's code in JSON answers: a `policy-error-code` of the WIT for the policy's own
    /// errors and for bad input, a host code otherwise.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Policy(e) => e.code.as_str(),
            Error::Input(_) => "invalid-input",
            Error::Deadline { .. } => "deadline-exceeded",
            Error::Memory { .. } => "memory-exceeded",
            Error::Trap { .. } => "policy-trap",
            Error::Guard { .. } => "guard-refused",
            Error::Host { .. } => "host-error",
        }
    }

    /// The error as `{"err": {"code", "message"}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let message = match self {
            Error::Policy(e) => e.message.clone(),
            other => other.to_string(),
        };
        route_policy_guest::wire::err(self.code(), &message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Policy(e) => write!(f, "{e}"),
            Error::Input(message) => f.write_str(message),
            Error::Deadline { policy, limit } => {
                write!(f, "policy {policy} ran past its {} ms deadline and was stopped", limit.as_millis())
            }
            Error::Memory { policy, limit } => {
                write!(f, "policy {policy} tried to use more than its {} MiB of memory and was stopped", limit >> 20)
            }
            Error::Trap { policy, message } => write!(f, "policy {policy} trapped: {message}"),
            Error::Guard { policy, violation } => {
                write!(f, "policy {policy} answered unsafely and was refused: {violation}")
            }
            Error::Host { policy, message } => write!(f, "policy {policy} could not run: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<PolicyError> for Error {
    fn from(error: PolicyError) -> Self {
        Error::Policy(error)
    }
}
