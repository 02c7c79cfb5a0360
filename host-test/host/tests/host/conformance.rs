//! Every conformance vector, through the real component; and the same answers as natively.

use route_policy_contract::vectors;
use route_policy_guest::Native;
use route_policy_host::Router;
use route_policy_testkit::{POLICY, vectors_dir};

#[test]
fn every_vector_holds_through_wasmtime() {
    let (mut cases, mut failures) = (0, Vec::new());
    for path in vectors::files(&vectors_dir()).unwrap() {
        let file = vectors::load(&path).unwrap();
        cases += file.cases.len();
        for failure in vectors::run(&file, |call| POLICY.call_json(call)) {
            failures.push(format!("{}: {failure}", path.display()));
        }
    }
    assert!(cases > 0);
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_component_answers_exactly_as_the_native_policy() {
    let mut compared = 0;
    for path in vectors::files(&vectors_dir()).unwrap() {
        let file = vectors::load(&path).unwrap();
        for case in &file.cases {
            // Inputs that do not decode never reach a policy; `every_vector_holds` checks them.
            let Ok(call) = case.call(&file).unwrap() else { continue };
            assert_eq!(POLICY.call_json(&call), Native.call_json(&call), "{}: {}", path.display(), case.name);
            compared += 1;
        }
    }
    assert!(compared > 0);
}
