//! route-policy's host: loads routing-policy components into a wasmtime sandbox and asks them
//! where to send a request, which fallbacks can serve, and what a failure means.
//!
//! An agent runtime builds one [`Engine`] (limits, guard, cache), loads a [`Policy`] (or keeps a
//! hot-swappable one in a [`PolicyHost`]), and calls it through the [`Router`] trait:
//!
//! ```no_run
//! use route_policy::{Engine, Policy, Router};
//! use route_policy::types::{Capability, EndpointRequest};
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
//! Modules mirror the host's jobs: [`engine`] (wasmtime, limits, cache), [`sandbox`] (what a
//! policy may import and use), [`reload`] (verified hot swap), [`guard`] (credential egress),
//! and [`cli`] (the `route-policy` command).
#![deny(missing_docs)]

pub mod bench;
mod bindings;
mod cache;
pub mod cli;
pub mod decision_log;
pub mod engine;
mod error;
pub mod guard;
mod policy;
pub mod reload;
pub mod sandbox;
pub mod trust;

pub use decision_log::DecisionLog;
pub use engine::{Engine, EngineBuilder, Limits};
pub use error::{Error, LoadError, Step};
pub use policy::{BUILTIN, BUILTIN_SOURCE, Native, Policy, PolicyId, Router, Session, sha256_hex};
pub use reload::{Canary, PolicyHost, ReloadOptions, Tagged, Watcher};
pub use trust::Trust;

/// The contract's vocabulary (the WIT types as plain Rust, with their JSON form).
pub use route_policy_guest::types;
/// Conformance vectors.
pub use route_policy_guest::vectors;
/// The JSON Lines envelope (`route-policy eval`).
pub use route_policy_guest::wire;
