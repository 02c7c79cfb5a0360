//! The `route-policy` command, run as a user runs it: one module per command family. The
//! libraries' own tests live beside each crate (`host-test/*/tests/`).

mod bad_input;
mod eval;
mod gateway_cli;
mod oneshot;
mod registry;
mod serve;

/// The `route-policy` binary of this build.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_route-policy")
}
