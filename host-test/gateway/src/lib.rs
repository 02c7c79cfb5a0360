//! route-policy's gateway: an OpenAI-compatible HTTP server whose every model call runs the
//! policy's failover loop, for any client that speaks Chat Completions or Responses.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use route_policy_gateway::{Config, Gateway};
//! let config = Config::load("gateway.toml".as_ref())?;
//! let listen = config.listen;
//! let engine = route_policy_host::Engine::builder().build()?;
//! let gateway = std::sync::Arc::new(Gateway::start(config, engine, Default::default())?);
//! gateway.serve(tokio::net::TcpListener::bind(listen).await?).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod budget;
mod config;
mod connections;
mod doors;
mod metrics;
mod server;

pub use budget::MAX_JSON_VALUES;
pub use config::{Config, ConfigError, CredentialEntry, ModelEntry, PolicySource, RouteEntry, ServerLimits};
pub use doors::is_loopback;
pub use metrics::Metrics;
pub use route_policy_executor::MAX_LEARNED;
pub use server::{Gateway, GatewayError, MAX_REQUEST_BYTES, MAX_REQUEST_FALLBACKS};
