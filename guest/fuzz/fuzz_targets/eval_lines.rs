//! Fuzzes the JSON Lines decoder of `route-policy eval` (`wire::stream`): one answer per line,
//! in order, each a JSON object that is the line's own answer or an error naming its line; the
//! answers keep the verbs' invariants, and a planted secret is echoed only inside an `id`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use route_policy_contract::invariants::{self, PLANTED_CORE};
use route_policy_contract::wire::{self, Answer, Call, Line};
use serde_json::Value;

/// Small, so that fuzz inputs reach the over-long-line path.
const MAX_LINE: usize = 512;

fuzz_target!(|data: &[u8]| {
    let (input, planted) = route_policy_fuzz::stream(data);
    let mut output = Vec::new();
    let answer = |call: &Call| call.answer(&route_policy_guest::Native).to_json();
    let answered = wire::stream(&answer, &input[..], &mut output, MAX_LINE).unwrap();

    // Lines are split at `\n`; a last line without one counts.
    let mut lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    assert_eq!(answered as usize, lines.len(), "lines answered");
    let answers: Vec<&[u8]> = output.strip_suffix(b"\n").map_or(Vec::new(), |o| o.split(|b| *b == b'\n').collect());
    assert_eq!(answers.len(), lines.len(), "one answer line per input line");

    for (number, (line, answer)) in lines.iter().zip(&answers).enumerate() {
        let shown: Value = serde_json::from_slice(answer).expect("each answer is JSON");
        let fields = shown.as_object().expect("each answer is an object");
        assert!(fields.contains_key("ok") != fields.contains_key("err"), "ok or err: {shown}");
        assert!(fields.keys().all(|k| ["id", "ok", "err"].contains(&k.as_str())), "{shown}");
        let text = line.strip_suffix(b"\r").unwrap_or(line);
        let parsed = (line.len() <= MAX_LINE).then(|| Line::parse(text));
        match parsed {
            Some(Ok(parsed)) => {
                // The answer is the line's own, in its place.
                let native = parsed.call.answer(&route_policy_guest::Native);
                assert_eq!(shown, wire::with_id(native.to_json(), parsed.id.as_ref()), "line {}", number + 1);
                check(&parsed.call, &native);
                let echoed = parsed.id.as_ref().is_some_and(|id| id.to_string().contains(PLANTED_CORE));
                if planted == Some(number) && !echoed {
                    assert!(!String::from_utf8_lossy(answer).contains(PLANTED_CORE), "a secret in {shown}");
                }
            }
            refused => {
                if let Some(Err(refused)) = refused {
                    assert_eq!(fields.get("id"), refused.id.as_ref(), "a refusal keeps the line's id: {shown}");
                }
                assert_eq!(shown["err"]["code"], "invalid-input", "{shown}");
                let message = shown["err"]["message"].as_str().unwrap();
                assert!(message.starts_with(&format!("line {} ", number + 1)) || message.starts_with(&format!("line {}:", number + 1)), "{message}");
                if planted == Some(number) {
                    assert!(!message.contains(PLANTED_CORE), "a secret in {message}");
                }
            }
        }
    }
});

/// The verbs' invariants, for a line that decoded.
fn check(call: &Call, answer: &Answer) {
    match (call, answer) {
        (Call::ResolveEndpoint(request), Answer::Endpoint(endpoint)) => invariants::endpoint(request, endpoint).unwrap(),
        (Call::FilterFallbacks(request), Answer::Plan(plan)) => { invariants::plan(request, plan).unwrap(); route_policy_guest::consistency::plan(request, plan).unwrap() }
        (Call::ClassifyError(failure), Answer::Verdict(verdict)) => { invariants::verdict(failure, verdict).unwrap(); route_policy_guest::consistency::verdict(failure, verdict).unwrap() }
        (Call::PolicyInfo, Answer::Info(_)) => {}
        other => panic!("an answer of another verb: {other:?}"),
    }
}
