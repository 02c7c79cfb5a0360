//! What can go wrong between an operator's reference and a serving policy, each error naming
//! the reference, the digest and the step.

use route_policy_host::{LoadError, Step};
use std::fmt;

/// Why a candidate artifact was not activated. Its [`Reason`] is the metrics label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// What failed, as a bounded word.
    pub reason: Reason,
    /// The artifact refused (`oci://…@sha256:…`), or the tag when no digest was reached.
    pub artifact: String,
    /// What exactly was wrong.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused {} ({}): {}", self.artifact, self.reason.as_str(), self.message)
    }
}

/// The reasons a candidate is refused: the label values of the refusal metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The manifest's bytes do not hash to the digest asked for (or the registry said).
    ManifestDigest,
    /// A blob's bytes do not hash to the digest its manifest names.
    BlobDigest,
    /// The manifest is not a route-policy wasm artifact (media types, layer count, size).
    Artifact,
    /// No signature artifact refers to the manifest.
    Unsigned,
    /// Signatures refer to it, but none is by a trusted key.
    UntrustedSignature,
    /// The artifact's annotations disagree with what the component says of itself.
    Annotation,
    /// Loading, the canary or the rollback check refused the component.
    Load(Step),
    /// The last good copy on disk cannot be read (its directory or a file is not this uid's
    /// alone, or is malformed).
    Store,
}

impl Reason {
    /// The reason's word, as metrics and status name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ManifestDigest => "manifest-digest",
            Reason::BlobDigest => "blob-digest",
            Reason::Artifact => "artifact",
            Reason::Unsigned => "unsigned",
            Reason::UntrustedSignature => "untrusted-signature",
            Reason::Annotation => "annotation",
            Reason::Load(step) => step.as_str(),
            Reason::Store => "store",
        }
    }
}

/// An error of the registry side.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reference is malformed.
    #[error("{reference}: {reason}")]
    Reference {
        /// What was written.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The registry could not be reached or answered with an error (not a verdict on an
    /// artifact: the serving policy is not in question).
    #[error("registry {registry}: {message}")]
    Registry {
        /// `HOST[:PORT]`.
        registry: String,
        /// What happened.
        message: String,
    },
    /// A candidate was refused.
    #[error("{0}")]
    Refused(Refusal),
    /// The data directory (last-good store) cannot be used.
    #[error("data directory {path}: {reason}")]
    Store {
        /// The directory.
        path: String,
        /// Why.
        reason: String,
    },
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Error {
        Error::Refused(refusal)
    }
}

impl Refusal {
    /// A loading step's refusal (compile, canary, rollback…), for the artifact it came from.
    pub fn load(artifact: &str, error: LoadError) -> Refusal {
        Refusal { reason: Reason::Load(error.step), artifact: artifact.to_owned(), message: error.reason }
    }
}
