//! Builds the policy component from `guest/` so that the host always embeds a fresh one, and
//! the toolkit component from `host-test/toolkit/` beside it (for the Node host and its tests).
//!
//! The story, in order:
//! 1. make sure the toolchain has the `wasm32-wasip2` target, adding it with rustup if not;
//! 2. run `cargo build -p route-policy-guest --target wasm32-wasip2 --profile guest` in a
//!    target directory of its own (a nested cargo must not wait on the outer one's lock), then
//!    the same for `route-policy-toolkit`. They are two builds on purpose: in one, cargo would
//!    unify the contract crate's features, and the toolkit's `host` half would be compiled
//!    into the policy component too;
//! 3. hand the components' paths to the crate as `ROUTE_POLICY_GUEST_WASM` and
//!    `ROUTE_POLICY_TOOLKIT_WASM`.
//!
//! Cargo reruns this script whenever the guest's sources, rules, the WIT or the lock file
//! change, and the nested cargo rebuilds only what changed: a stale `.wasm` cannot be embedded.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const GUEST: &str = "route-policy-guest";
const TOOLKIT: &str = "route-policy-toolkit";
const PROFILE: &str = "guest";

/// Environment that the outer cargo sets for this script and that must not leak into the
/// nested build: host compiler flags (sanitizers, coverage, `-C target-cpu=native`) would break
/// a wasm build, and the outer target directory would deadlock it.
const SCRUB: [&str; 9] = [
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_LLVM_COV",
    "LLVM_PROFILE_FILE",
    "CARGO_PROFILE_RELEASE_LTO",
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest.join("../..").canonicalize().expect("host-test/host sits in the workspace");
    for watched in [
        "guest/src",
        "guest/rules",
        "guest/build",
        "guest/build.rs",
        "guest/Cargo.toml",
        "wit/contract/src",
        "wit/contract/build",
        "wit/contract/build.rs",
        "wit/contract/Cargo.toml",
        "host-test/toolkit/src",
        "host-test/toolkit/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    ensure_target(&rustc);

    // 2. The nested build, in its own target directory beside the outer one.
    let target_dir = outer_target_dir(&workspace).join("guest-wasm");
    for package in [GUEST, TOOLKIT] {
        build_component(&cargo, &workspace, &target_dir, package);
    }

    // 3. Where the component is.
    let wasm =
        |package: &str| target_dir.join(TARGET).join(PROFILE).join(format!("{}.wasm", package.replace('-', "_")));
    for (package, name) in [(GUEST, "ROUTE_POLICY_GUEST_WASM"), (TOOLKIT, "ROUTE_POLICY_TOOLKIT_WASM")] {
        let path = wasm(package);
        assert!(path.is_file(), "the {package} build succeeded but {} is missing", path.display());
        println!("cargo:rustc-env={name}={}", path.display());
    }
    println!("cargo:rustc-env=ROUTE_POLICY_GUEST_TARGET_DIR={}", target_dir.display());
}

/// `cargo build -p PACKAGE --target wasm32-wasip2 --profile guest` into `target_dir`.
fn build_component(cargo: &str, workspace: &Path, target_dir: &Path, package: &str) {
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace)
        .args(["build", "--locked", "-p", package, "--target", TARGET, "--profile", PROFILE, "--target-dir"])
        .arg(target_dir);
    for name in SCRUB {
        build.env_remove(name);
    }
    let output = build.output().unwrap_or_else(|e| panic!("could not run {cargo}: {e}"));
    if !output.status.success() {
        panic!("building {package} failed ({}):\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    }
}

/// Adds the wasm target to the active toolchain when its standard library is missing.
fn ensure_target(rustc: &str) {
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| panic!("`{rustc} --print sysroot` failed"));
    if sysroot.join("lib/rustlib").join(TARGET).is_dir() {
        return;
    }
    let toolchain = env::var("RUSTUP_TOOLCHAIN")
        .ok()
        .or_else(|| sysroot.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| {
            panic!("the {TARGET} target is missing and the toolchain is unknown: run `rustup target add {TARGET}`")
        });
    println!("cargo:warning=adding the {TARGET} target to toolchain {toolchain}");
    let status =
        Command::new("rustup").args(["target", "add", TARGET, "--toolchain", &toolchain]).status().unwrap_or_else(
            |e| panic!("the {TARGET} target is missing and rustup could not run ({e}): install the target"),
        );
    assert!(status.success(), "`rustup target add {TARGET} --toolchain {toolchain}` failed");
}

/// The outer build's target directory: `CARGO_TARGET_DIR`, else `<workspace>/target`.
fn outer_target_dir(workspace: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}
