//! route-policy's policy: provider-routing rules as plain Rust, exported as a WebAssembly
//! component through `wit/route-policy.wit`.
//!
//! The logic lives in one module per verb and is unit-tested natively; this file only binds the
//! WIT world to it (on `wasm32`) and re-exports the entry points.

pub mod classify;
pub mod decode;
pub mod fallbacks;
#[cfg(not(target_arch = "wasm32"))]
pub mod invariants;
pub mod redact;
pub mod resolve;
pub mod rules;
pub mod types;
pub mod url;
#[cfg(not(target_arch = "wasm32"))]
pub mod vectors;
pub mod wire;

pub use classify::classify_error;
pub use fallbacks::filter_fallbacks;
pub use resolve::resolve_endpoint;
pub use rules::policy_info;

#[cfg(target_arch = "wasm32")]
mod component {
    use crate::types::{self, Convert};

    wit_bindgen::generate!({ path: "../wit", world: "route-policy" });
    use exports::agent::route_policy::router::{
        Endpoint, EndpointRequest, FallbackPlan, FallbackRequest, Guest, PolicyError, PolicyIdentity, ProviderFailure,
        Verdict,
    };

    crate::convert_vocabulary!(exports::agent::route_policy::router);

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
    }

    export!(Policy);
}
