//! route-policy's host: loads routing-policy components into a wasmtime sandbox and asks them
//! where to send a request, which fallbacks can serve, and what a failure means.
//!
//! An agent runtime builds one [`Engine`] (limits, guard, cache), loads a [`Policy`] (or keeps a
//! hot-swappable one in a [`PolicyHost`]), and calls it through the [`Router`] trait:
//!
//! ```no_run
//! use route_policy_contract::types::{Capability, EndpointRequest};
//! use route_policy_host::{Engine, Policy, Router};
//!
//! let engine = Engine::builder().build()?;
//! let policy = Policy::builtin(&engine)?;
//! let endpoint = policy.resolve_endpoint(&EndpointRequest {
//!     model: "openai/gpt-5.5".into(),
//!     capability: Capability::Chat,
//!     providers: vec![],
//!     credentials: vec![],
//!     env_base_url: None,
//! });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules mirror the host's jobs: `engine` (wasmtime, the epoch ticker), `limits`, `imports`
//! (what a policy may import), `store` (each call's store, memory cap and deadline),
//! `cpu_clock`, `cache` (compiled code), `policy` (loading and calling), `router` (the
//! questions), `identity` (which policy answered), `trust` (pins and signatures), `canary`,
//! `policy_host` (serving with verified hot swap), `private_dir` (files only this uid may
//! touch), `decision_log`, and `error`. The contract's vocabulary, envelope and guard are
//! `route-policy-contract`'s, imported from there by every crate: one path for each type.
#![deny(missing_docs)]

mod bindings;
mod cache;
mod canary;
mod cpu_clock;
mod decision_log;
mod engine;
mod error;
mod identity;
mod imports;
mod limits;
mod policy;
mod policy_host;
#[cfg(unix)]
mod private_dir;
mod router;
mod store;
mod trust;

pub use canary::Canary;
pub use cpu_clock::thread_cpu_time;
pub use decision_log::{DecisionLog, MAX_DIGESTED_INPUT};
pub use engine::{Engine, EngineBuilder};
pub use error::{CanaryError, EngineError, Error, FileError, LoadError, Step, TrustError};
pub use identity::{PolicyId, from_hex, hex, sha256_hex};
pub use imports::ALLOWED_IMPORTS;
pub use limits::Limits;
pub use policy::{BUILTIN, BUILTIN_SOURCE, Inspection, Policy, Session, inspect};
pub use policy_host::{PolicyHost, ReloadOptions, Tagged, Watcher, revision_order};
#[cfg(unix)]
pub use private_dir::{DirLock, PrivateDir};
pub use router::Router;
pub use trust::{Trust, keygen, read_public_key, read_secret_key, sign, sign_manifest, signature_path};

/// Where this build put the components it built, for tests that build more beside them.
#[doc(hidden)]
pub const COMPONENT_TARGET_DIR: &str = env!("ROUTE_POLICY_GUEST_TARGET_DIR");
