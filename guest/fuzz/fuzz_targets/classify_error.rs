//! Fuzzes `classify-error` with arbitrary status, headers and body: every verdict can be acted
//! on, no planted secret reaches it, and it is the same twice and through JSON.

#![no_main]

use libfuzzer_sys::fuzz_target;
use route_policy_fuzz::failure;
use route_policy_contract::types::Verdict;
use route_policy_contract::invariants;
use route_policy_guest::{classify_error, consistency};

fuzz_target!(|data: &[u8]| {
    let fuzzed = failure(data);
    let failure = &fuzzed.input;
    let verdict = classify_error(failure);
    invariants::verdict(failure, &verdict).unwrap();
    consistency::verdict(failure, &verdict).unwrap();
    if fuzzed.check_secret {
        invariants::no_secret(&verdict).unwrap();
    }
    assert_eq!(verdict, classify_error(failure), "the same failure, another verdict");
    let json = serde_json::to_value(&verdict).unwrap();
    assert_eq!(serde_json::from_value::<Verdict>(json).unwrap(), verdict, "the verdict does not survive JSON");
});
