//! Integration tests: the real component, loaded through wasmtime as an agent runtime would.
//!
//! One test binary, one module per feature, so that the component is compiled once.

mod bad_input;
mod cache;
mod common;
mod conformance;
mod eval;
mod gateway_cli;
mod layout;
mod live_loop;
mod load;
mod oneshot;
mod registry;
mod reload;
mod sandbox;
mod seeds;
mod serve;
