//! Shared fixtures: one engine and one loaded policy per test binary.

use route_policy::{Engine, Policy};
use std::path::PathBuf;
use std::sync::LazyLock;

pub static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::builder().build().expect("the default engine builds"));

pub static POLICY: LazyLock<Policy> = LazyLock::new(|| Policy::builtin(&ENGINE).expect("the built-in policy loads"));

/// The conformance vectors shared with the native tests.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../guest/vectors")
}

/// The `route-policy` binary of this build.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_route-policy")
}
