//! route-policy's policy: provider-routing rules as plain Rust, exported as a WebAssembly
//! component through `wit/v0.2/route-policy.wit`.
//!
//! The logic lives in one module per verb (`resolve`, `fallbacks`, `classify`), over the words
//! they share (`model`, `url`) and the rule data (`rules`); all of it is unit-tested natively.
//! This file only binds the WIT world to it (on `wasm32`) and re-exports the entry points. The
//! contract's vocabulary and redaction come from `route-policy-contract`, without its host
//! half: the component links the policy and its bindings, nothing a host needs.

pub mod classify;
#[cfg(not(target_arch = "wasm32"))]
pub mod consistency;
pub mod fallbacks;
pub mod model;
pub mod next_step;
pub mod resolve;
pub mod rules;
pub mod url;

pub use classify::classify_error;
pub use fallbacks::filter_fallbacks;
pub use next_step::next_step;
pub use resolve::resolve_endpoint;
pub use route_policy_contract::{redact, types};
pub use rules::policy_info;

/// This policy called in-process, through the contract's [`types::Verbs`]: the baseline of the
/// hosts' parity tests and benchmarks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Native;

impl types::Verbs for Native {
    fn resolve_endpoint(&self, request: &types::EndpointRequest) -> Result<types::Endpoint, types::PolicyError> {
        resolve_endpoint(request)
    }

    fn filter_fallbacks(&self, request: &types::FallbackRequest) -> Result<types::FallbackPlan, types::PolicyError> {
        filter_fallbacks(request)
    }

    fn classify_error(&self, failure: &types::ProviderFailure) -> types::Verdict {
        classify_error(failure)
    }

    fn policy_info(&self) -> types::PolicyIdentity {
        policy_info()
    }

    fn next_step(&self, call: &types::CallState) -> Result<types::Next, types::PolicyError> {
        next_step(call)
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    use crate::types::{self, Convert};

    wit_bindgen::generate!({ path: "../wit/v0.2", world: "route-policy" });
    use exports::agent::route_policy::router::{
        CallState, Endpoint, EndpointRequest, FallbackPlan, FallbackRequest, Guest, Next, PolicyError, PolicyIdentity,
        ProviderFailure, Verdict,
    };

    route_policy_contract::convert_vocabulary!(exports::agent::route_policy::router);

    struct Policy;

    impl Guest for Policy {
        fn resolve_endpoint(request: EndpointRequest) -> Result<Endpoint, PolicyError> {
            let request: types::EndpointRequest = request.convert();
            crate::resolve_endpoint(&request).convert()
        }

        fn filter_fallbacks(request: FallbackRequest) -> Result<FallbackPlan, PolicyError> {
            let request: types::FallbackRequest = request.convert();
            crate::filter_fallbacks(&request).convert()
        }

        fn classify_error(failure: ProviderFailure) -> Verdict {
            let failure: types::ProviderFailure = failure.convert();
            crate::classify_error(&failure).convert()
        }

        fn policy_info() -> PolicyIdentity {
            crate::policy_info().convert()
        }

        fn next_step(call: CallState) -> Result<Next, PolicyError> {
            let call: types::CallState = call.convert();
            crate::next_step(&call).convert()
        }
    }

    export!(Policy);
}
