//! The WIT worlds as wasmtime types, one module per released contract version (`wit/v0.X`, as
//! Zed's extension host keeps `since_v0_X`), and the small layer over them that the rest of the
//! host uses: [`Pre`] (a component prepared for the version it was built for) and [`Instance`]
//! (one instance of it), whose calls take and give the contract's current types.
//!
//! A component says which version it implements by the interface it exports
//! (`agent:route-policy/router@0.2.0`). The newest version is tried first. An older policy
//! keeps serving the verbs its version has; a verb added later (0.1 has no `next-step`) is
//! answered with a host error that names both versions. When a version changes a type, its
//! module converts it here, so deployed policies are never stranded by a contract change.
#![allow(missing_docs)]

use crate::store::StoreState;
use route_policy_contract::types::{
    CallState, Convert, Endpoint, EndpointRequest, FallbackPlan, FallbackRequest, Next, PolicyError, PolicyIdentity,
    ProviderFailure, Verdict,
};
use wasmtime::Store;
use wasmtime::component::InstancePre;

/// Contract 0.2: `next-step` and the loop's types.
pub mod v0_2 {
    wasmtime::component::bindgen!({ path: "../../wit/v0.2", world: "route-policy" });
    route_policy_contract::convert_vocabulary!(exports::agent::route_policy::router);
}

/// Contract 0.1: `resolve-endpoint`, `filter-fallbacks`, `classify-error`, `policy-info`.
pub mod v0_1 {
    wasmtime::component::bindgen!({ path: "../../wit/v0.1", world: "route-policy" });
    route_policy_contract::convert_vocabulary!(@v0_1 exports::agent::route_policy::router);
}

/// The contract versions this host loads, newest first (`major.minor`).
pub const VERSIONS: [&str; 2] = ["0.2", "0.1"];

/// A component prepared for instantiation, by the contract version it was built for.
pub enum Pre {
    V0_2(v0_2::RoutePolicyPre<StoreState>),
    V0_1(v0_1::RoutePolicyPre<StoreState>),
}

/// One instance of a policy.
pub enum Instance {
    V0_2(v0_2::RoutePolicy),
    V0_1(v0_1::RoutePolicy),
}

impl Pre {
    /// The newest version whose `router` interface the component exports; the reasons each
    /// version refused it otherwise.
    pub fn new(pre: InstancePre<StoreState>) -> Result<Pre, String> {
        let newest = match v0_2::RoutePolicyPre::new(pre.clone()) {
            Ok(pre) => return Ok(Pre::V0_2(pre)),
            Err(e) => e,
        };
        match v0_1::RoutePolicyPre::new(pre) {
            Ok(pre) => Ok(Pre::V0_1(pre)),
            Err(oldest) => Err(format!(
                "it exports no `agent:route-policy/router` interface this host loads (contract {}): {newest:#}; {oldest:#}",
                VERSIONS.join(" or ")
            )),
        }
    }

    /// The contract version it was built for (`major.minor`).
    pub fn contract(&self) -> &'static str {
        match self {
            Pre::V0_2(_) => "0.2",
            Pre::V0_1(_) => "0.1",
        }
    }

    /// A new instance in `store`.
    pub fn instantiate(&self, store: &mut Store<StoreState>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_2(pre) => Instance::V0_2(pre.instantiate(store)?),
            Pre::V0_1(pre) => Instance::V0_1(pre.instantiate(store)?),
        })
    }
}

/// A call into an instance, in the current contract's types.
macro_rules! call {
    ($self:ident, $store:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            Instance::V0_2(i) => i.agent_route_policy_router().$method($store, $(&$arg.clone().convert()),*).map(Convert::convert),
            Instance::V0_1(i) => i.agent_route_policy_router().$method($store, $(&$arg.clone().convert()),*).map(Convert::convert),
        }
    };
}

impl Instance {
    pub fn resolve_endpoint(
        &self,
        store: &mut Store<StoreState>,
        request: &EndpointRequest,
    ) -> wasmtime::Result<Result<Endpoint, PolicyError>> {
        call!(self, store, call_resolve_endpoint(request))
    }

    pub fn filter_fallbacks(
        &self,
        store: &mut Store<StoreState>,
        request: &FallbackRequest,
    ) -> wasmtime::Result<Result<FallbackPlan, PolicyError>> {
        call!(self, store, call_filter_fallbacks(request))
    }

    pub fn classify_error(
        &self,
        store: &mut Store<StoreState>,
        failure: &ProviderFailure,
    ) -> wasmtime::Result<Verdict> {
        call!(self, store, call_classify_error(failure))
    }

    pub fn policy_info(&self, store: &mut Store<StoreState>) -> wasmtime::Result<PolicyIdentity> {
        call!(self, store, call_policy_info())
    }

    /// `next-step`, or `None` when the policy's contract predates it.
    pub fn next_step(
        &self,
        store: &mut Store<StoreState>,
        call: &CallState,
    ) -> wasmtime::Result<Option<Result<Next, PolicyError>>> {
        match self {
            Instance::V0_2(i) => {
                i.agent_route_policy_router().call_next_step(store, &call.clone().convert()).map(|n| Some(n.convert()))
            }
            Instance::V0_1(_) => Ok(None),
        }
    }
}
