//! route-policy's executor: a thin host for `next-step` (contract 0.2). It runs a model call
//! the way the policy says (where to send, after how long, with which timeouts, when to fall
//! back and when to stop) against real upstreams, and reports back only facts.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use route_policy_executor::{Executor, HttpTransport, ModelCall, Secret, StaticCredentials};
//! use route_policy_host::{Engine, Policy};
//! use std::sync::Arc;
//!
//! let engine = Engine::builder().build()?;
//! let policy = Arc::new(Policy::builtin(&engine)?);
//! let secrets = StaticCredentials::new().with("key", Secret::new(std::env::var("OPENAI_API_KEY")?));
//! let executor = Executor::new(policy, HttpTransport::new(), Arc::new(secrets));
//! let call = ModelCall {
//!     chain: serde_json::from_value(serde_json::json!({
//!         "capability": "chat", "primary": "openai/gpt-5.5", "fallbacks": ["openai/gpt-4.1"],
//!         "credentials": [{"profile-id": "key", "provider": "openai", "kind": "api-key", "plan": "api"}],
//!     }))?,
//!     body: serde_json::json!({"input": "Say hello."}),
//! };
//! let outcome = executor.run(&call).await;
//! println!("{}", serde_json::to_string(&outcome.receipt)?);
//! # Ok(()) }
//! ```
//!
//! Modules follow the executor's jobs: `executor` (the loop and its receipt), `transport` (the
//! trait and what an attempt reports), `http` (the real transport), `sse` (reading a stream
//! and its faults), `clock` (waits and timeouts on one scale), `credentials` (secrets, attached
//! only after the guard), `health` (route health between calls), `learned` (rejections
//! between calls).
#![deny(missing_docs)]

mod clock;
mod credentials;
mod executor;
mod health;
mod http;
mod learned;
mod signin;
mod sse;
mod transport;

pub use clock::Clock;
pub use credentials::{Credentials, Secret, StaticCredentials};
pub use executor::{AttemptRecord, CallResult, Executor, Failed, HostCode, ModelCall, Receipt, Served, Serving};
pub use health::{HealthStore, MAX_ROUTES};
pub use http::{ERROR_BODY_BYTES, HttpTransport, RouteError};
pub use learned::{Learned, LearnedStore};
pub use route_policy_contract::learning::{LEARNED_TTL_MS, MAX_LEARNED};
pub use signin::{CODEX_CLIENT_ID, CodexAuthFile, TOKEN_URL, claims};
pub use transport::{Answer, Api, Deadlines, Outgoing, Sent, Translation, Transport};
