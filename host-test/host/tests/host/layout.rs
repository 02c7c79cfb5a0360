//! The component links the policy and its bindings, nothing a host needs: the contract crate's
//! `host` half (the envelope, decoder, vectors, guard) and the hosts' number parsing stay out.

use std::process::Command;

/// The features cargo resolves for `package` built alone for the component target, by crate.
fn component_features(package: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["tree", "--locked", "--offline", "-p", package, "--target", "wasm32-wasip2", "-e", "normal"])
        .args(["--prefix", "none", "-f", "{p} [{f}]"])
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("cargo tree prints UTF-8")
}

fn line_of<'a>(tree: &'a str, name: &str) -> &'a str {
    tree.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name} not in:\n{tree}"))
}

#[test]
fn the_policy_component_links_no_host_code() {
    let policy = component_features("route-policy-guest");
    let contract = line_of(&policy, "route-policy-contract");
    assert!(contract.ends_with("[]"), "the policy links the contract's host half: {contract}");
    let json = line_of(&policy, "serde_json");
    assert!(!json.contains("float_roundtrip"), "the policy links the hosts' number parsing: {json}");
    // The check can fail: the toolkit, built alone, does link the host half.
    let toolkit = component_features("route-policy-toolkit");
    assert!(line_of(&toolkit, "route-policy-contract").contains("host"), "{toolkit}");
}
