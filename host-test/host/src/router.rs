//! The [`Router`] trait: how a host asks a policy the questions of the WIT `router` interface,
//! whether the policy is sandboxed ([`crate::Policy`], [`crate::Session`],
//! [`crate::PolicyHost`]) or called in-process: any implementation of the contract's [`Verbs`]
//! is a `Router` (the policy's own `route_policy_guest::Native`, the baseline of benchmarks and
//! parity tests, which this library does not link).

use crate::error::Error;
use route_policy_contract::guard::Guard;
use route_policy_contract::types::{
    CallState, Endpoint, EndpointRequest, FallbackPlan, FallbackRequest, Next, PolicyError, PolicyIdentity,
    ProviderFailure, Verbs, Verdict,
};
use route_policy_contract::wire::{Answer, Call};

/// Asks a policy the questions of the WIT `router` interface.
pub trait Router {
    /// `resolve-endpoint`.
    fn resolve_endpoint(&self, request: &EndpointRequest) -> Result<Endpoint, Error>;
    /// `filter-fallbacks`.
    fn filter_fallbacks(&self, request: &FallbackRequest) -> Result<FallbackPlan, Error>;
    /// `classify-error`.
    fn classify_error(&self, failure: &ProviderFailure) -> Result<Verdict, Error>;
    /// `policy-info`.
    fn policy_info(&self) -> Result<PolicyIdentity, Error>;
    /// `next-step` (contract 0.2): the next step of a model call. The executor
    /// ([`crate::Executor`]) asks it once per attempt.
    fn next_step(&self, call: &CallState) -> Result<Next, Error>;

    /// The egress guard this router's answers pass: a sandboxed policy's is its engine's, with
    /// the operator's allowed hosts. An executor checks each request with it again before it
    /// attaches a secret, so both checks agree on what the operator allowed.
    fn guard(&self) -> Guard {
        Guard::new()
    }

    /// Runs one call of the JSON envelope. The policy's own errors become answers; only host
    /// errors (a trap, a deadline, a guard refusal) are `Err`.
    fn call(&self, call: &Call) -> Result<Answer, Error> {
        fn answer<T>(result: Result<T, Error>) -> Result<Result<T, PolicyError>, Error> {
            match result {
                Ok(value) => Ok(Ok(value)),
                Err(Error::Policy(error)) => Ok(Err(error)),
                Err(other) => Err(other),
            }
        }
        Ok(match call {
            Call::ResolveEndpoint(r) => Answer::Endpoint(answer(self.resolve_endpoint(r))?),
            Call::FilterFallbacks(r) => Answer::Plan(answer(self.filter_fallbacks(r))?),
            Call::ClassifyError(f) => Answer::Verdict(self.classify_error(f)?),
            Call::PolicyInfo => Answer::Info(self.policy_info()?),
            Call::NextStep(c) => Answer::Next(answer(self.next_step(c))?),
        })
    }

    /// Runs one call and writes its JSON answer (`{"ok"}` or `{"err"}`), host errors included.
    fn call_json(&self, call: &Call) -> serde_json::Value {
        match self.call(call) {
            Ok(answer) => answer.to_json(),
            Err(error) => error.to_json(),
        }
    }
}

/// The verbs of a [`Router`] that answers with another router, `$get` (evaluated per call, so
/// a hot swap takes over at the next call): one list of the verbs for every forwarding router.
macro_rules! forward_router {
    ($this:ident => $get:expr) => {
        fn resolve_endpoint(&$this, request: &EndpointRequest) -> Result<Endpoint, Error> {
            $get.resolve_endpoint(request)
        }

        fn filter_fallbacks(&$this, request: &FallbackRequest) -> Result<FallbackPlan, Error> {
            $get.filter_fallbacks(request)
        }

        fn classify_error(&$this, failure: &ProviderFailure) -> Result<Verdict, Error> {
            $get.classify_error(failure)
        }

        fn policy_info(&$this) -> Result<PolicyIdentity, Error> {
            $get.policy_info()
        }

        fn next_step(&$this, call: &CallState) -> Result<Next, Error> {
            $get.next_step(call)
        }
    };
}
pub(crate) use forward_router;

/// A policy's logic called in-process, without a sandbox or a guard: it is trusted.
impl<V: Verbs> Router for V {
    fn resolve_endpoint(&self, request: &EndpointRequest) -> Result<Endpoint, Error> {
        Ok(Verbs::resolve_endpoint(self, request)?)
    }

    fn filter_fallbacks(&self, request: &FallbackRequest) -> Result<FallbackPlan, Error> {
        Ok(Verbs::filter_fallbacks(self, request)?)
    }

    fn classify_error(&self, failure: &ProviderFailure) -> Result<Verdict, Error> {
        Ok(Verbs::classify_error(self, failure))
    }

    fn policy_info(&self) -> Result<PolicyIdentity, Error> {
        Ok(Verbs::policy_info(self))
    }

    fn next_step(&self, call: &CallState) -> Result<Next, Error> {
        Ok(Verbs::next_step(self, call)?)
    }
}
