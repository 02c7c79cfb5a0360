//! The route-policy contract in Rust: the vocabulary of `wit/v0.2/route-policy.wit` and the rules
//! of `wit/CONTRACT.md` that do not depend on any one policy.
//!
//! Two halves:
//! - always: [`types`] (the WIT's records and enums as plain Rust, with their JSON form),
//!   [`redact`] (the shapes of secrets, kept out of every value an answer or a log shows) and
//!   [`accounting`] (how a plan shows each ref exactly once), [`model_key`] (how
//!   rules compare model ids). The policy component links these.
//! - with the `host` feature (the default): what every host needs to speak the contract and to
//!   distrust a policy. [`wire`] is the JSON Lines envelope and [`decode`] its strict decoder;
//!   [`vectors`] the conformance-vector format and its matcher; [`invariants`] what every
//!   answer keeps; [`bounds`] how much of a request enters the sandbox; [`printable`] how a
//!   host prints a policy's words; [`guard`] the credential-egress guard. The
//!   wasmtime host, the Node host (through the toolkit component), the native tests and the
//!   fuzz targets all use these, so that no host re-implements them. The policy component never
//!   links them (the host library's tests check it).

pub mod accounting;
pub mod model_key;
pub mod redact;
pub mod types;

#[cfg(feature = "host")]
pub mod bounds;
#[cfg(feature = "host")]
pub mod decode;
#[cfg(feature = "host")]
pub mod guard;
#[cfg(feature = "host")]
pub mod invariants;
#[cfg(feature = "host")]
pub mod learning;
#[cfg(feature = "host")]
pub mod printable;
#[cfg(feature = "host")]
pub mod vectors;
#[cfg(feature = "host")]
pub mod wire;

#[allow(dead_code)] // the shapes serve `decode`, which only hosts build
mod wit {
    include!(concat!(env!("OUT_DIR"), "/wit.rs"));
}

/// The contract's version: the WIT package's (`agent:route-policy@…`).
pub const CONTRACT: &str = wit::CONTRACT;
