//! Fuzzes `filter-fallbacks` with arbitrary chains: every ref is a candidate or dropped exactly
//! once, each candidate routes as `resolve-endpoint` does, no planted secret is shown.

#![no_main]

use libfuzzer_sys::fuzz_target;
use route_policy_fuzz::fallback_request;
use route_policy_contract::invariants;
use route_policy_guest::{consistency, filter_fallbacks};

fuzz_target!(|data: &[u8]| {
    let fuzzed = fallback_request(data);
    let request = &fuzzed.input;
    let answer = filter_fallbacks(request);
    invariants::plan(request, &answer).unwrap();
    consistency::plan(request, &answer).unwrap();
    if fuzzed.check_secret {
        invariants::no_secret(&answer).unwrap();
    }
    assert_eq!(answer, filter_fallbacks(request), "the same chain, another plan");
});
