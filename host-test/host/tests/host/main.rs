//! The host library with the real component, loaded through wasmtime as an agent runtime
//! would: one test binary, one module per job of the host, so that the component is compiled
//! once.

mod cache;
mod conformance;
mod layout;
mod load;
mod reload;
mod sandbox;
mod seeds;
mod versions;
