//! Errors: a refused policy load or reload ([`LoadError`]), a failed call ([`Error`]), and the
//! setup errors of the engine, trust, canary, decision log and watcher.
//!
//! Every call and load error says which policy it concerns (source, revision, sha256), so that
//! a host running several policies, or swapping them, can tell which one misbehaved.

use crate::identity::PolicyId;
use route_policy_contract::guard::{AllowError, Violation};
use route_policy_contract::types::PolicyError;
use std::fmt;
use std::path::PathBuf;
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
    /// Refusing a lower revision than the serving one (a rollback the operator did not allow).
    Rollback,
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
            Step::Rollback => "rollback",
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
        // The source is a path and the reason may quote the policy: both printed escaped.
        write!(f, "policy {}", crate::identity::printable(&self.source))?;
        if let Some(sha) = &self.sha256 {
            write!(f, " (sha256 {})", &sha[..12.min(sha.len())])?;
        }
        write!(f, " refused at {}: {}", self.step.as_str(), crate::identity::escaped(&self.reason))
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
        route_policy_contract::wire::err(self.code(), &message)
    }
}

impl Error {
    /// The error for someone outside the host (an HTTP client, an agent's user): the policy is
    /// named by its revision and sha256, never by where the host keeps it.
    pub fn public_message(&self) -> String {
        self.render(&|policy: &PolicyId| {
            let short = policy.sha256.get(..12).unwrap_or(&policy.sha256);
            match policy.revision.as_str() {
                "" => format!("sha256 {short}"),
                revision => format!("{} (sha256 {short})", route_policy_contract::printable::printable(revision)),
            }
        })
    }

    /// The sentence, with the policy named by `name`.
    fn render(&self, name: &dyn Fn(&PolicyId) -> String) -> String {
        match self {
            Error::Policy(e) => e.to_string(),
            Error::Input(message) => message.clone(),
            Error::Deadline { policy, limit } => {
                format!("policy {} ran past its {} ms deadline and was stopped", name(policy), limit.as_millis())
            }
            Error::Memory { policy, limit } => format!(
                "policy {} tried to use more than its {} MiB of memory and was stopped",
                name(policy),
                limit >> 20
            ),
            Error::Trap { policy, message } => format!("policy {} trapped: {message}", name(policy)),
            Error::Guard { policy, violation } => route_policy_contract::guard::refusal(&name(policy), violation),
            Error::Host { policy, message } => format!("policy {} could not run: {message}", name(policy)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&|policy: &PolicyId| policy.to_string()))
    }
}

impl std::error::Error for Error {}

impl From<PolicyError> for Error {
    fn from(error: PolicyError) -> Self {
        Error::Policy(error)
    }
}

/// The engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The deadline is shorter than the epoch tick that measures it.
    #[error("the deadline ({deadline:?}) must be at least one tick ({tick:?})")]
    Deadline {
        /// The deadline asked for.
        deadline: Duration,
        /// The tick.
        tick: Duration,
    },
    /// An allowed host the guard cannot use.
    #[error(transparent)]
    AllowedHost(#[from] AllowError),
    /// wasmtime refused the configuration or the sandbox's linker.
    #[error("wasmtime refused the {what}: {message}")]
    Wasmtime {
        /// What it refused.
        what: &'static str,
        /// Its reason.
        message: String,
    },
}

/// A trust setting, key or signature file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A pin that is not a sha256.
    #[error("`{0}` is not a sha256 (64 hex digits)")]
    BadPin(String),
    /// The component's sha256 is not the pinned one.
    #[error("its sha256 is {actual}, not the pinned {pinned}")]
    PinMismatch {
        /// The component's sha256.
        actual: String,
        /// The pin.
        pinned: String,
    },
    /// A signature is required and the policy has no file beside which one could be.
    #[error("a signature is required, and this policy has no file to sign")]
    NoFile,
    /// A key or signature file is missing, unreadable or malformed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A public key that cannot stand for anyone: a small-order point, which with a crafted
    /// signature "verifies" any message.
    #[error("{path}: a weak ed25519 public key (a point of small order); it would accept forged signatures")]
    WeakKey {
        /// The key file.
        path: PathBuf,
    },
    /// The signature does not verify with any trusted key.
    #[error("{path} is not a valid signature of this component by a trusted key")]
    BadSignature {
        /// The signature file.
        path: PathBuf,
    },
}

/// A canary vector file that cannot be used, or a policy that failed it.
#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    /// The file does not read or parse.
    #[error("canary {0}")]
    Load(String),
    /// The policy failed cases.
    #[error("{} of {total} {canary} cases failed: {}", failures.len(), failures.join("; "))]
    Failed {
        /// The canary's name.
        canary: String,
        /// How many cases it has.
        total: usize,
        /// Each failing case, and why.
        failures: Vec<String>,
    },
}

/// A file the host writes or watches could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{what} {}: {source}", path.display())]
pub struct FileError {
    /// What the file is for (`decision log`, `watching`).
    pub what: &'static str,
    /// The file.
    pub path: PathBuf,
    /// The failure.
    #[source]
    pub source: std::io::Error,
}
