//! The WIT world as wasmtime types, converted to and from the vocabulary of `route_policy_contract`.
#![allow(missing_docs)]

wasmtime::component::bindgen!({ path: "../../wit/v0.2", world: "route-policy" });

route_policy_contract::convert_vocabulary!(exports::agent::route_policy::router);
