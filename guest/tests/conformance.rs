//! Runs every conformance vector in `guest/vectors/` against the policy, natively.
//!
//! The wasmtime integration tests and the Node host run the same files through the compiled
//! component; this run is the reference they must agree with.

use route_policy_contract::vectors;
use std::path::Path;

#[test]
fn every_vector_holds_natively() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let (mut cases, mut failures) = (0, Vec::new());
    for path in vectors::files(&dir).expect("the vector folder reads") {
        let file = vectors::load(&path).unwrap_or_else(|e| panic!("{e}"));
        cases += file.cases.len();
        for failure in vectors::run(&file, |call| call.answer(&route_policy_guest::Native).to_json()) {
            failures.push(format!("{}: {failure}", path.strip_prefix(&dir).unwrap_or(&path).display()));
        }
    }
    assert!(cases > 0, "no vectors found in {}", dir.display());
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// Beyond what each vector expects, every answer keeps its verb's invariants (the ones the
/// property tests and fuzz targets check).
#[test]
fn every_vector_answer_keeps_the_invariants() {
    use route_policy_contract::invariants;
    use route_policy_contract::wire::{Answer, Call};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut checked = 0;
    for path in vectors::files(&dir).unwrap() {
        let file = vectors::load(&path).unwrap();
        for case in &file.cases {
            let Ok(Ok(call)) = case.call(&file) else { continue };
            let outcome = match (&call, call.answer(&route_policy_guest::Native)) {
                (Call::ResolveEndpoint(request), Answer::Endpoint(answer)) => invariants::endpoint(request, &answer),
                (Call::FilterFallbacks(request), Answer::Plan(answer)) => invariants::plan(request, &answer)
                    .and_then(|()| route_policy_guest::consistency::plan(request, &answer)),
                (Call::ClassifyError(failure), Answer::Verdict(verdict)) => invariants::verdict(failure, &verdict)
                    .and_then(|()| route_policy_guest::consistency::verdict(failure, &verdict)),
                _ => Ok(()),
            };
            outcome.unwrap_or_else(|broken| panic!("{}: {}: {broken}", path.display(), case.name));
            checked += 1;
        }
    }
    assert!(checked > 250, "only {checked} answers checked");
}
