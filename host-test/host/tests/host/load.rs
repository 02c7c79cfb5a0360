//! A load failure names the file and the step that refused it.

use route_policy_host::{Policy, Step};
use route_policy_testkit::ENGINE;

/// The smallest valid component: magic, version 13, layer 1, no sections.
const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";
/// The smallest valid core module: not a component.
const CORE_MODULE: &[u8] = b"\0asm\x01\0\0\0";

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let error = Policy::load(&ENGINE, "/nonexistent/policy.wasm").unwrap_err();
    assert_eq!(error.step, Step::Read);
    assert!(error.to_string().contains("/nonexistent/policy.wasm"), "{error}");
}

#[test]
fn bytes_that_are_not_a_component_are_refused_at_compile() {
    for (bytes, what) in [(&b"not wasm at all"[..], "garbage"), (CORE_MODULE, "a core module")] {
        let error = Policy::from_bytes(&ENGINE, bytes, format!("{what}.wasm")).unwrap_err();
        assert_eq!(error.step, Step::Compile, "{what}: {error}");
        assert!(error.to_string().contains(&format!("{what}.wasm")), "{error}");
    }
}

#[test]
fn a_component_of_another_world_is_refused_at_world() {
    let error = Policy::from_bytes(&ENGINE, EMPTY_COMPONENT, "empty.wasm".into()).unwrap_err();
    assert_eq!(error.step, Step::World, "{error}");
    assert!(error.reason.contains("agent:route-policy/router"), "{error}");
}
