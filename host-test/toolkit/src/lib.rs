//! The toolkit component: `route-policy-contract`'s host half behind `wit/v0.2/toolkit.wit`, so that
//! a host in another language (the Node host) decodes, bounds, guards and matches with the very
//! code the wasmtime host links, instead of a port of it.
//!
//! Natively this crate is only the mapping between the toolkit's WIT values and the contract's
//! types ([`Toolkit`]), which the host library's tests hold to the wasmtime host's answers.

use route_policy_contract::guard::{self, Guard};
use route_policy_contract::types::{PolicyError, PolicyErrorCode};
use route_policy_contract::wire::{self, Answer, Call, Line};
use route_policy_contract::{bounds, vectors};

/// The toolkit's operations on the contract's own types: what the component exports, before
/// the WIT mapping.
pub struct Toolkit;

/// The host's settings, as the contract's types take them.
pub struct Settings {
    /// `(provider, host)` pairs the operator allows.
    pub allowed_hosts: Vec<(String, String)>,
    /// The largest request handed to the sandbox, in bytes.
    pub max_input_bytes: usize,
}

impl Toolkit {
    /// Parses one request line; a refusal carries the line's `id` as JSON text.
    pub fn parse_line(line: &[u8]) -> Result<(Call, Option<String>), (PolicyError, Option<String>)> {
        match Line::parse(line) {
            Ok(line) => Ok((line.call, line.id.map(|id| id.to_string()))),
            Err(refused) => Err((refused.error, refused.id.map(|id| id.to_string()))),
        }
    }

    /// Decodes a call from an op and the JSON text of its input.
    pub fn decode_call(op: &str, input: &str) -> Result<Call, PolicyError> {
        if input.trim().is_empty() { Call::new(op, None) } else { Call::from_text(op, input) }
    }

    /// The call as the sandbox may receive it.
    pub fn bound(call: Call, settings: &Settings) -> Result<Call, String> {
        bounds::bound_call(call, settings.max_input_bytes)
    }

    /// The guard the settings describe, or why they cannot describe one.
    pub fn guard(settings: &Settings) -> Result<Guard, String> {
        let mut guard = Guard::new();
        for (provider, host) in &settings.allowed_hosts {
            guard = guard.allow(provider, host).map_err(|e| e.to_string())?;
        }
        Ok(guard)
    }

    /// Guards the answer and writes it as JSON.
    pub fn check_answer(call: &Call, answer: Answer, settings: &Settings, policy: &str) -> String {
        let guard = match Toolkit::guard(settings) {
            Ok(guard) => guard,
            Err(e) => return wire::err("host-error", &e).to_string(),
        };
        let checked = guard.check_answer(call, answer);
        match checked {
            Ok(answer) => answer.to_json().to_string(),
            Err(violation) => wire::err("guard-refused", &guard::refusal(policy, &violation)).to_string(),
        }
    }

    /// Whether a host may keep a rejection: `taught` is JSON text
    /// `{"rejection", "attempt", "credential"}`, `sent` the attempt's request body.
    pub fn learnable(taught: &str, sent: &[u8]) -> Result<(), String> {
        use route_policy_contract::types::{Attempt, Credential, Rejection};
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Taught {
            rejection: Rejection,
            attempt: Attempt,
            credential: Credential,
        }
        let taught: Taught = serde_json::from_str(taught).map_err(|e| format!("not a taught rejection: {e}"))?;
        route_policy_contract::learning::learnable(&taught.rejection, &taught.attempt, &taught.credential, sent)
            .map_err(|why| why.to_string())
    }

    /// An answer line with the caller's `id` added; an `id` that is not JSON is left out.
    pub fn with_id(answer: &str, id: Option<&str>) -> String {
        let Ok(answer) = serde_json::from_str(answer) else { return answer.to_owned() };
        let id = id.and_then(|id| serde_json::from_str(id).ok());
        wire::with_id(answer, id.as_ref()).to_string()
    }

    /// Checks an answer against a vector case's `expect` and `never`.
    pub fn check_case(expect: &str, never: &[String], answer: &str) -> Result<(), String> {
        let expect = serde_json::from_str(expect).map_err(|e| format!("the case's expect is not JSON: {e}"))?;
        let answer = serde_json::from_str(answer).map_err(|e| format!("the answer is not JSON: {e}"))?;
        vectors::check(&expect, never, &answer)
    }
}

/// An `invalid-input` error.
pub fn invalid(message: String) -> PolicyError {
    PolicyError::new(PolicyErrorCode::InvalidInput, message)
}

#[cfg(target_arch = "wasm32")]
mod component {
    use super::{Settings, Toolkit};
    use route_policy_contract::types::{Convert, PolicyError};
    use route_policy_contract::wire;

    wit_bindgen::generate!({ path: "../../wit/v0.2", world: "host-toolkit" });
    use agent::route_policy::router as wit;
    use exports::agent::route_policy::toolkit::{self as exported, Guest};

    route_policy_contract::convert_vocabulary!(agent::route_policy::router);

    struct Component;

    fn call_in(call: exported::Call) -> wire::Call {
        match call {
            exported::Call::ResolveEndpoint(r) => wire::Call::ResolveEndpoint(r.convert()),
            exported::Call::FilterFallbacks(r) => wire::Call::FilterFallbacks(r.convert()),
            exported::Call::ClassifyError(f) => wire::Call::ClassifyError(f.convert()),
            exported::Call::PolicyInfo => wire::Call::PolicyInfo,
            exported::Call::NextStep(c) => wire::Call::NextStep(c.convert()),
        }
    }

    fn call_out(call: wire::Call) -> exported::Call {
        match call {
            wire::Call::ResolveEndpoint(r) => exported::Call::ResolveEndpoint(r.convert()),
            wire::Call::FilterFallbacks(r) => exported::Call::FilterFallbacks(r.convert()),
            wire::Call::ClassifyError(f) => exported::Call::ClassifyError(f.convert()),
            wire::Call::PolicyInfo => exported::Call::PolicyInfo,
            wire::Call::NextStep(c) => exported::Call::NextStep(c.convert()),
        }
    }

    fn answer_in(answer: exported::Answer) -> wire::Answer {
        match answer {
            exported::Answer::Endpoint(r) => wire::Answer::Endpoint(r.convert()),
            exported::Answer::Plan(r) => wire::Answer::Plan(r.convert()),
            exported::Answer::Verdict(v) => wire::Answer::Verdict(v.convert()),
            exported::Answer::Info(i) => wire::Answer::Info(i.convert()),
            exported::Answer::Next(r) => wire::Answer::Next(r.convert()),
        }
    }

    fn settings(settings: exported::HostSettings) -> Settings {
        Settings { allowed_hosts: settings.allowed_hosts, max_input_bytes: settings.max_input_bytes as usize }
    }

    impl Guest for Component {
        fn parse_line(line: Vec<u8>) -> Result<exported::Line, exported::Refusal> {
            match Toolkit::parse_line(&line) {
                Ok((call, id)) => Ok(exported::Line { call: call_out(call), id }),
                Err((error, id)) => Err(exported::Refusal { error: error.convert(), id }),
            }
        }

        fn decode_call(op: String, input: String) -> Result<exported::Call, wit::PolicyError> {
            Toolkit::decode_call(&op, &input).map(call_out).map_err(|e: PolicyError| e.convert())
        }

        fn bound(call: exported::Call, settings_: exported::HostSettings) -> Result<exported::Call, String> {
            Toolkit::bound(call_in(call), &settings(settings_)).map(call_out)
        }

        fn check_answer(
            call: exported::Call,
            answer: exported::Answer,
            settings_: exported::HostSettings,
            policy: String,
        ) -> String {
            Toolkit::check_answer(&call_in(call), answer_in(answer), &settings(settings_), &policy)
        }

        fn check_settings(settings_: exported::HostSettings) -> Result<(), String> {
            Toolkit::guard(&settings(settings_)).map(drop)
        }

        fn policy_name(revision: String, sha256: String, source: String) -> String {
            route_policy_contract::printable::policy_name(&revision, &sha256, &source)
        }

        fn error_json(code: String, message: String) -> String {
            wire::err(&code, &message).to_string()
        }

        fn with_id(answer: String, id: Option<String>) -> String {
            Toolkit::with_id(&answer, id.as_deref())
        }

        fn check_case(expect: String, never: Vec<String>, answer: String) -> Result<(), String> {
            Toolkit::check_case(&expect, &never, &answer)
        }

        fn contract() -> String {
            route_policy_contract::CONTRACT.to_owned()
        }

        fn learnable(taught: String, sent: Vec<u8>) -> Result<(), String> {
            Toolkit::learnable(&taught, &sent)
        }
    }

    export!(Component);
}
