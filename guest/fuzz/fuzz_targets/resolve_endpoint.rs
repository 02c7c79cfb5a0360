//! Fuzzes `resolve-endpoint` with arbitrary URLs and refs: an OAuth credential never meets a
//! platform URL, no host is made up, no planted secret reaches the answer or the error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use route_policy_fuzz::endpoint_request;
use route_policy_contract::invariants;
use route_policy_guest::resolve_endpoint;

fuzz_target!(|data: &[u8]| {
    let fuzzed = endpoint_request(data);
    let request = &fuzzed.input;
    let answer = resolve_endpoint(request);
    invariants::endpoint(request, &answer).unwrap();
    if fuzzed.check_secret {
        invariants::no_secret(&answer).unwrap();
    }
    assert_eq!(answer, resolve_endpoint(request), "the same request, another answer");
});
