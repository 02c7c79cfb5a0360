//! Runs every conformance vector in `guest/vectors/` against the policy, natively.
//!
//! The wasmtime integration tests and the Node host run the same files through the compiled
//! component; this run is the reference they must agree with.

use route_policy_guest::vectors;
use std::path::Path;

#[test]
fn every_vector_holds_natively() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let (mut cases, mut failures) = (0, Vec::new());
    for path in vectors::files(&dir).expect("the vector folder reads") {
        let file = vectors::load(&path).unwrap_or_else(|e| panic!("{e}"));
        cases += file.cases.len();
        for failure in vectors::run(&file, |call| call.run_native().to_json()) {
            failures.push(format!("{}: {failure}", path.strip_prefix(&dir).unwrap_or(&path).display()));
        }
    }
    assert!(cases > 0, "no vectors found in {}", dir.display());
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));
}
