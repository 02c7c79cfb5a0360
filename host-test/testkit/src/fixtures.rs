//! The hostile fixtures (`host-test/fixtures/`) and variants of the built-in policy, each built
//! for `wasm32-wasip2` once per test binary, in the guest's own target directory.

use crate::workspace;
use std::path::PathBuf;
use std::sync::LazyLock;

/// The hostile-guest components, built once per test binary (see `host-test/fixtures/`).
pub struct Fixtures {
    /// Misbehaves on request; otherwise answers like the naive pre-fix host.
    pub hostile: Vec<u8>,
    /// Imports filesystem, sockets, clocks and randomness.
    pub imports: Vec<u8>,
    /// Reports contract 0.0.9.
    pub old_contract: Vec<u8>,
    /// Built for contract 0.1 (`wit/v0.1`): no `next-step`.
    pub v0_1: Vec<u8>,
}

pub static FIXTURES: LazyLock<Fixtures> = LazyLock::new(|| {
    // The guest's own target dir: wit-bindgen and std are already built there.
    let target_dir = PathBuf::from(route_policy_host::COMPONENT_TARGET_DIR);
    let workspace = workspace();
    let names = ["fixture-hostile", "fixture-imports", "fixture-old-contract", "fixture-v0-1"];
    let mut build = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    build.current_dir(&workspace).args([
        "build",
        "--locked",
        "--target",
        "wasm32-wasip2",
        "--profile",
        "guest",
        "--target-dir",
    ]);
    build.arg(&target_dir);
    for name in names {
        build.args(["-p", name]);
    }
    for scrub in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "LLVM_PROFILE_FILE"]
    {
        build.env_remove(scrub);
    }
    let output = build.output().expect("cargo runs");
    assert!(output.status.success(), "building the fixtures failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let read = |name: &str| {
        let path = target_dir.join("wasm32-wasip2/guest").join(format!("{}.wasm", name.replace('-', "_")));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    Fixtures { hostile: read(names[0]), imports: read(names[1]), old_contract: read(names[2]), v0_1: read(names[3]) }
});

/// A variant of the built-in policy whose rule data `edit` changed (revision `revision`),
/// compiled once per name into its own target directory: what an operator ships as a rule fix.
/// Built once per test binary and name.
pub fn policy_variant(name: &str, revision: &str, edit: impl Fn(&str, String) -> String) -> Vec<u8> {
    static BUILT: std::sync::Mutex<Vec<(String, Vec<u8>)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, bytes)) = built.iter().find(|(n, _)| n == name) {
        return bytes.clone();
    }
    let bytes = build_variant(name, revision, edit);
    built.push((name.to_owned(), bytes.clone()));
    bytes
}

/// The variant whose attempt cap is 1 (revision [`crate::newer_revision`]): newer than the
/// built-in, and it passes the canary.
pub fn one_attempt_variant() -> Vec<u8> {
    policy_variant("one-attempt", &crate::newer_revision(), |file, text| {
        if file != "errors.toml" {
            return text;
        }
        let cap = text.find("[retry.attempt-cap]").expect("the attempt cap");
        let value = cap + text[cap..].find("value = 3").expect("its value");
        let mut text = text;
        text.replace_range(value..value + "value = 3".len(), "value = 1");
        text
    })
}

fn build_variant(name: &str, revision: &str, edit: impl Fn(&str, String) -> String) -> Vec<u8> {
    let workspace = workspace();
    let rules = std::env::temp_dir().join(format!("route-policy-rules-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&rules);
    std::fs::create_dir_all(&rules).unwrap();
    for entry in std::fs::read_dir(workspace.join("guest/rules")).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if file == "policy.toml" {
            let start = text.find("revision = ").expect("a revision");
            let end = start + text[start..].find('\n').unwrap();
            text.replace_range(start..end, &format!("revision = {revision:?}"));
        }
        std::fs::write(rules.join(&file), edit(&file, text)).unwrap();
    }
    let target_dir =
        PathBuf::from(route_policy_host::COMPONENT_TARGET_DIR).with_file_name(format!("guest-wasm-{name}"));
    let mut build = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    build.current_dir(&workspace).args([
        "build",
        "--locked",
        "-p",
        "route-policy-guest",
        "--target",
        "wasm32-wasip2",
        "--profile",
        "guest",
        "--target-dir",
    ]);
    build.arg(&target_dir).env("ROUTE_POLICY_RULES_DIR", &rules);
    for scrub in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "LLVM_PROFILE_FILE"]
    {
        build.env_remove(scrub);
    }
    let output = build.output().expect("cargo runs");
    let _ = std::fs::remove_dir_all(&rules);
    assert!(output.status.success(), "building the variant failed:\n{}", String::from_utf8_lossy(&output.stderr));
    std::fs::read(target_dir.join("wasm32-wasip2/guest/route_policy_guest.wasm")).unwrap()
}
