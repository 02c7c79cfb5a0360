//! Policies for a fleet, from an OCI registry: push a policy as a signed wasm artifact, pull it
//! by digest, watch a tag, and keep the last good one on disk.
//!
//! - [`Artifact`]: the CNCF wasm layout (config `application/vnd.wasm.config.v0+json`, one
//!   `application/wasm` layer) with the policy's revision and rules digest as annotations.
//! - [`Registry`]: push, [`Registry::sign`] (an ed25519 signature artifact that refers to the
//!   manifest, with the referrers tag-schema fallback), a tag's state by `If-None-Match`, and a
//!   pull that checks digests and the signature before anything is loaded.
//! - [`RegistrySource`]: what `serve` and the gateway run: the first policy (from the registry,
//!   or the last good one when it is unreachable), then polls that activate a new digest only
//!   after the digest check, a trusted signature, the canary and the rollback check, with a
//!   [`Status`] that says what serves and what was refused.
//!
//! Modules mirror the jobs: `reference` (what an operator writes), `artifact`, `signature`,
//! `registry`, `wire` (the HTTP side: every read bounded, redirects and credentials held to
//! the registry's own host), `store` (the last good on disk), `source`, `local` (a registry
//! process on this machine, for tests and trials), and `error`; and for tests, `fake` (a
//! registry that misbehaves on purpose) and `hostile` (what it cannot make a host do).
#![deny(missing_docs)]

mod artifact;
mod error;
#[cfg(test)]
mod fake;
#[cfg(test)]
mod hostile;
mod local;
mod reference;
mod registry;
mod signature;
mod source;
mod store;
mod wire;

pub use artifact::{
    Artifact, CONFIG_MEDIA_TYPE, CONTRACT, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, REVISION, RULES_DIGEST, digest_of,
};
pub use error::{Error, Reason, Refusal};
pub use local::{LocalRegistry, REGISTRY_BIN_ENV};
pub use reference::OciRef;
pub use registry::{Credentials, Pulled, Registry, TagState};
pub use signature::{ARTIFACT_TYPE as SIGNATURE_ARTIFACT_TYPE, Payload as SignaturePayload};
pub use source::{
    Active, DEFAULT_POLL_INTERVAL, Event, Origin, Poll, RefusalRecord, RegistrySource, Status, Watching,
    default_data_dir, poll_interval,
};
pub use store::{Record, Store};
