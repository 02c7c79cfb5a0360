//! `next-step`: the policy drives a whole model call (CONTRACT.md, "next-step").
//!
//! The host passes the call as it stands: the chain, every attempt so far with what the host
//! observed, the route health it stored, its clock and a seed. The answer is pure, in steps:
//! 1. plan the chain (`filter-fallbacks`), in the plan's order;
//! 2. replay the attempts: each failure gets a verdict, from `errors.toml` (an HTTP status, a
//!    network error, an error event) or from `loop.toml` (a timeout, a broken stream); a
//!    retry stays on its candidate, anything else moves past it, a surface ends the call;
//! 3. account the newest attempt to its route's health (a success closes its circuit; failures
//!    that say the route is sick open it, for longer at each reopening);
//! 4. decide: finish (served, with the sentence that says a fallback answered and why; or
//!    failed, naming the first real failure), or send (the same candidate after the retry's
//!    delay and jitter, or the next candidate whose circuit is closed or due a probe).

use crate::classify_error;
use crate::fallbacks::filter_fallbacks;
use crate::model::ModelRef;
use crate::redact;
use crate::resolve::resolve_endpoint;
use crate::rules::{self, ERRORS, LOOP, MODELS, OutcomeRule};
use crate::types::{
    Action, Attempt, CallFailure, CallState, Candidate, FailureReason, FallbackPlan, Finished, NetworkKind, Next,
    Outcome, PolicyError, ProviderFailure, Rejection, RouteHealth, Sending, Served, Step, StreamFaultKind, Timeouts,
    Verdict,
};
use std::collections::{BTreeMap, BTreeSet};

/// `next-step`.
pub fn next_step(call: &CallState) -> Result<Next, PolicyError> {
    let plan = filter_fallbacks(&call.chain)?;
    let replay = Replay::of(call, &plan);
    let mut rules = replay.rules.clone();
    let health = replay.health_update(call);
    let step = decide(call, &plan, &replay, &health, &mut rules)?;
    if let Step::Send(send) = &step {
        rules.extend(send.endpoint.rules.iter().cloned());
    }
    Ok(Next { step, health: health.into_values().collect(), learned: replay.learned, plan, rules })
}

/// A route's key in the health the host stores: `MODEL@CREDENTIAL`.
pub fn route_of(model: &str, credential: &str) -> String {
    format!("{model}@{credential}")
}

fn route(candidate: &Candidate) -> String {
    route_of(&candidate.model, &candidate.credential)
}

/// What the attempts so far add up to.
struct Replay {
    /// Attempts per route, so far.
    tries: BTreeMap<String, u32>,
    /// Routes the call moved past.
    done: BTreeSet<String>,
    /// The first failure, with its route: the real cause when later ones only followed.
    first: Option<(String, Verdict)>,
    /// The newest attempt, and its verdict (`None` for a success).
    last: Option<(String, Option<Verdict>)>,
    /// The rejection the newest attempt taught, if it taught one.
    learned: Vec<Rejection>,
    rules: Vec<String>,
}

impl Replay {
    fn of(call: &CallState, plan: &FallbackPlan) -> Replay {
        let mut replay = Replay {
            tries: BTreeMap::new(),
            done: BTreeSet::new(),
            first: None,
            last: None,
            learned: Vec::new(),
            rules: Vec::new(),
        };
        for attempt in &call.attempts {
            let route = route_of(&attempt.model, &attempt.credential);
            let tries = {
                let tries = replay.tries.entry(route.clone()).or_default();
                *tries += 1;
                *tries
            };
            if let Outcome::Success(_) = attempt.outcome {
                replay.last = Some((route, None));
                replay.learned.clear();
                continue;
            }
            let verdict = judge(attempt, tries, call, plan, &replay.done);
            replay.rules.push(verdict.rule.clone());
            if verdict.rule == LOOP.context.id {
                // Past a context overflow, only a larger window can help: candidates whose
                // window is known to be no larger are skipped; an unknown one may be tried.
                let window = context_window(&attempt.model);
                for candidate in &plan.candidates {
                    if !may_fit(context_window(&candidate.model), window) {
                        replay.done.insert(self::route(candidate));
                    }
                }
                replay.done.insert(route.clone());
            }
            if replay.first.is_none() {
                replay.first = Some((attempt.model.clone(), verdict.clone()));
            }
            if !stays(verdict.action) {
                replay.done.insert(route.clone());
            }
            // What the newest attempt taught (earlier steps already said what earlier ones did).
            replay.learned = verdict.remember.iter().cloned().collect();
            replay.last = Some((route, Some(verdict)));
        }
        replay
    }

    /// The newest attempt's effect on its route's health, over what the host stored. Only the
    /// newest: the host stores each step's update, so earlier attempts are already in it.
    fn health_update(&self, call: &CallState) -> BTreeMap<String, RouteHealth> {
        let mut updates = BTreeMap::new();
        let (Some(attempt), Some((route, verdict))) = (call.attempts.last(), &self.last) else { return updates };
        let stored = call.health.iter().find(|h| &h.route == route).cloned();
        let mut health =
            stored.clone().unwrap_or_else(|| RouteHealth { route: route.clone(), ..RouteHealth::default() });
        match verdict {
            None => health = RouteHealth { route: route.clone(), failures: 0, open_until_ms: None, opened: 0 },
            // A stated wait longer than the call can spend (a quota's reset, a long Retry-After):
            // the route rests until then, across calls, and is never tried early.
            Some(verdict) if verdict.retry_after_ms.is_some_and(|ms| ms > ERRORS.retry.delay_cap.value) => {
                let until = attempt.ended_ms.saturating_add(verdict.retry_after_ms.unwrap_or(0));
                health.open_until_ms = Some(health.open_until_ms.map_or(until, |open| open.max(until)));
                health.opened = health.opened.saturating_add(1);
                health.failures = 0;
            }
            Some(verdict) if LOOP.circuit.reasons.contains(&verdict.reason) => {
                // A failed probe reopens at once; otherwise the failures in a row count up.
                let probe = health.open_until_ms.is_some_and(|until| until <= attempt.started_ms);
                health.failures += 1;
                if probe || health.failures >= LOOP.circuit.failures {
                    health.opened = health.opened.saturating_add(1);
                    health.open_until_ms = Some(attempt.ended_ms.saturating_add(open_window(health.opened, call)));
                    health.failures = 0;
                }
            }
            Some(_) => return updates,
        }
        if Some(&health) != stored.as_ref() {
            updates.insert(route.clone(), health);
        }
        updates
    }
}

/// How long a circuit stays open at its `opened`-th opening in a row: short, less some jitter
/// from the host's seed, while the outage is young; long once it has lasted.
fn open_window(opened: u32, call: &CallState) -> u64 {
    let circuit = &LOOP.circuit;
    if opened > circuit.long_after_opens {
        return circuit.long_open_ms;
    }
    let spread = circuit.open_ms * circuit.jitter_percent / 100;
    let less = if spread == 0 { 0 } else { mix(call.jitter_seed ^ u64::from(opened)) % (spread + 1) };
    circuit.open_ms - less
}

/// Whether an action keeps the call on its candidate.
fn stays(action: Action) -> bool {
    matches!(action, Action::Retry | Action::RefreshCredential | Action::ReResolveEndpoint)
}

/// The verdict on one failed attempt.
fn judge(attempt: &Attempt, tries: u32, call: &CallState, plan: &FallbackPlan, done: &BTreeSet<String>) -> Verdict {
    let credential = call.chain.credentials.iter().find(|c| c.profile_id == attempt.credential);
    let failure = |status, headers, body, network_error| ProviderFailure {
        status,
        headers,
        body,
        network_error,
        request_url: Some(attempt.request_url.clone()),
        model: Some(attempt.model.clone()),
        credential_kind: credential.map(|c| c.kind),
        plan: credential.map(|c| c.plan),
        capability: Some(call.chain.capability),
        attempt: tries,
        now_ms: Some(attempt.ended_ms),
    };
    let verdict = match &attempt.outcome {
        Outcome::Success(_) => unreachable!("a success has no verdict"),
        Outcome::HttpError(response) => {
            classify_error(&failure(Some(response.status), response.headers.clone(), response.body.clone(), None))
        }
        Outcome::Network(network) => {
            classify_error(&failure(None, Vec::new(), String::new(), Some(network_code(network.kind, &network.detail))))
        }
        Outcome::StreamFault(fault) if fault.kind == StreamFaultKind::ErrorEvent => {
            classify_error(&failure(None, Vec::new(), fault.detail.clone(), None))
        }
        Outcome::Timeout(kind) => outcome_verdict(|o| o.timeout == Some(*kind), &attempt.model, 0),
        Outcome::StreamFault(fault) => {
            outcome_verdict(|o| o.stream_fault == Some(fault.kind), &attempt.model, fault.events)
        }
    };
    context_failover(verdict, attempt, plan, done)
}

/// The network error code `errors.toml` reads for a kind of connection failure.
fn network_code(kind: NetworkKind, detail: &str) -> String {
    match kind {
        NetworkKind::Refused => "ECONNREFUSED".to_owned(),
        NetworkKind::Reset => "ECONNRESET".to_owned(),
        NetworkKind::Dns => "ENOTFOUND".to_owned(),
        NetworkKind::Tls => "ERR_TLS_HANDSHAKE".to_owned(),
        NetworkKind::Other => redact::short(detail),
    }
}

/// The verdict of the `loop.toml` rule an outcome matches (the build checks that one does).
fn outcome_verdict(matches: impl Fn(&OutcomeRule) -> bool, model: &str, events: u32) -> Verdict {
    let rule = LOOP.outcomes.iter().find(|o| matches(o)).expect("loop.toml covers every timeout and stream fault");
    Verdict {
        reason: rule.reason,
        action: rule.action,
        retry_after_ms: None,
        user_message: fill(rule.message, &[("model", &redact::short(model)), ("events", &events.to_string())]),
        remember: None,
        rule: rule.id.to_owned(),
    }
}

/// Whether a candidate's context window may hold what overflowed `overflowed`'s: it is larger,
/// or one of the two is unknown.
fn may_fit(candidate: Option<u64>, overflowed: Option<u64>) -> bool {
    match (candidate, overflowed) {
        (Some(theirs), Some(ours)) => theirs > ours,
        _ => true,
    }
}

/// A context overflow is surfaced, unless a later candidate of the plan may fit it: one whose
/// window is known to be larger, or unknown. The call then moves there (never resending the
/// same prompt to the same route).
fn context_failover(verdict: Verdict, attempt: &Attempt, plan: &FallbackPlan, done: &BTreeSet<String>) -> Verdict {
    if verdict.reason != FailureReason::ContextOverflow || verdict.action != Action::Surface {
        return verdict;
    }
    let window = context_window(&attempt.model);
    let current = plan.candidates.iter().position(|c| c.model == attempt.model && c.credential == attempt.credential);
    let larger = plan
        .candidates
        .iter()
        .skip(current.map_or(0, |at| at + 1))
        .filter(|c| !done.contains(&route(c)))
        .any(|c| may_fit(context_window(&c.model), window));
    if !larger {
        return verdict;
    }
    Verdict {
        action: Action::NextCandidate,
        user_message: fill(LOOP.context.message, &[("model", &redact::short(&attempt.model))]),
        rule: LOOP.context.id.to_owned(),
        ..verdict
    }
}

/// A model's context window in tokens, if rule data knows its family.
fn context_window(model: &str) -> Option<u64> {
    let leaf = ModelRef::parse(model).ok()?.leaf();
    MODELS.context_windows.iter().find(|w| w.globs.iter().any(|g| rules::glob_matches(g, leaf))).map(|w| w.tokens)
}

/// The step after the replay.
fn decide(
    call: &CallState,
    plan: &FallbackPlan,
    replay: &Replay,
    health: &BTreeMap<String, RouteHealth>,
    rules: &mut Vec<String>,
) -> Result<Step, PolicyError> {
    // The newest attempt succeeded: the call is served.
    if let Some((route, None)) = &replay.last {
        let candidate = plan.candidates.iter().find(|c| &self::route(c) == route).cloned();
        let candidate = candidate.unwrap_or_else(|| attempted_candidate(call, route));
        return Ok(Step::Finish(Finished::Served(served(call, plan, replay, health, candidate))));
    }
    // The newest attempt's verdict ends the call.
    if let Some((_, Some(verdict))) = &replay.last
        && verdict.action == Action::Surface
    {
        return Ok(failed(replay, None));
    }
    if plan.candidates.is_empty() {
        let why = plan.dropped.iter().map(|d| format!("{}: {}", d.model, d.detail)).collect::<Vec<_>>().join("; ");
        return Ok(failed(replay, Some(fill(LOOP.notices.no_candidate, &[("why", &why)]))));
    }
    let spent = call.now_ms.saturating_sub(call.started_ms);
    if call.attempts.len() as u32 >= LOOP.budget.max_attempts || spent >= LOOP.budget.total_ms {
        rules.push(LOOP.budget.id.to_owned());
        let why = format!("{} attempts, {} s", call.attempts.len(), spent / 1000);
        let first = replay.first.as_ref().map_or(String::new(), |(_, v)| settled(&v.user_message));
        return Ok(failed(replay, Some(fill(LOOP.notices.budget, &[("why", &why), ("first", &first)]))));
    }
    // Again on the same candidate (a retry, a refresh, a re-resolve), unless the newest
    // attempt opened its circuit (a failed probe, or the failure that opened it): then the call
    // moves on at once, and the route waits for its window.
    let opened_now =
        |route: &String| health.get(route).and_then(|h| h.open_until_ms).is_some_and(|until| until > call.now_ms);
    if let Some((route, Some(verdict))) = &replay.last
        && stays(verdict.action)
        && opened_now(route)
    {
        rules.push(LOOP.circuit.opened_id.to_owned());
    }
    if let Some((route, Some(verdict))) = &replay.last
        && stays(verdict.action)
        && !opened_now(route)
        && let Some(candidate) = plan.candidates.iter().find(|c| &self::route(c) == route)
    {
        // A refresh or a re-resolve resends too: after the shortest wait any resend keeps.
        let delay = match verdict.action {
            Action::Retry => with_jitter(verdict.retry_after_ms.unwrap_or(0), call),
            _ => ERRORS.retry.min_delay_ms,
        };
        let refresh = verdict.action == Action::RefreshCredential;
        return sending(call, candidate, delay, false, refresh, spent).map(Step::Send);
    }
    // The next candidate whose circuit is closed, or due a probe.
    let mut paused = false;
    for candidate in plan.candidates.iter().filter(|c| !replay.done.contains(&route(c))) {
        let open_until = health
            .get(&route(candidate))
            .or_else(|| call.health.iter().find(|h| h.route == route(candidate)))
            .and_then(|h| h.open_until_ms);
        match open_until {
            Some(until) if until > call.now_ms => paused = true,
            Some(_) => {
                rules.push(LOOP.circuit.probe_id.to_owned());
                return sending(call, candidate, 0, true, false, spent).map(Step::Send);
            }
            None => return sending(call, candidate, 0, false, false, spent).map(Step::Send),
        }
    }
    if paused {
        rules.push(LOOP.circuit.id.to_owned());
        let first = replay.first.as_ref().map_or(String::new(), |(_, v)| settled(&v.user_message));
        return Ok(failed(replay, Some(fill(LOOP.notices.all_open, &[("first", &first)]))));
    }
    Ok(failed(replay, None))
}

/// A candidate that is no longer in the plan (a rejection learned since): rebuilt from the
/// attempt, so that the served answer still names it.
fn attempted_candidate(call: &CallState, route: &str) -> Candidate {
    let attempt = call.attempts.iter().rev().find(|a| route_of(&a.model, &a.credential) == route);
    let (model, credential) =
        attempt.map_or((route.to_owned(), String::new()), |a| (a.model.clone(), a.credential.clone()));
    Candidate { requested: model.clone(), model, credential, transport: crate::types::Transport::Custom }
}

/// Send `candidate`: its endpoint as `resolve-endpoint` gives it, and its timeouts, the total
/// cut to what is left of the call's budget.
fn sending(
    call: &CallState,
    candidate: &Candidate,
    delay_ms: u64,
    probe: bool,
    refresh_credential: bool,
    spent_ms: u64,
) -> Result<Sending, PolicyError> {
    let endpoint = resolve_endpoint(&call.chain.endpoint_request(&candidate.requested))?;
    let rule = LOOP
        .timeouts
        .iter()
        .find(|t| t.capabilities.contains(&call.chain.capability))
        .expect("loop.toml has timeouts for every capability");
    let left = LOOP.budget.total_ms.saturating_sub(spent_ms).saturating_sub(delay_ms);
    // The model's class sets how long its first token may take.
    let leaf = ModelRef::parse(&candidate.model).map(|m| m.leaf().to_ascii_lowercase()).unwrap_or_default();
    let class = LOOP.first_token.iter().find(|f| f.globs.iter().any(|g| rules::glob_matches(g, &leaf)));
    let timeouts = Timeouts {
        connect_ms: rule.connect_ms,
        first_byte_ms: rule.first_byte_ms,
        first_token_ms: class.map_or(rule.first_token_ms, |c| c.first_token_ms),
        idle_ms: rule.idle_ms,
        total_ms: rule.total_ms.min(u32::try_from(left).unwrap_or(u32::MAX)).max(1),
    };
    Ok(Sending { candidate: candidate.clone(), endpoint, delay_ms, timeouts, probe, refresh_credential })
}

/// A retry's delay with jitter from the host's seed: up to `jitter.percent` of it, at most
/// `jitter.max-ms`, never less than the delay itself.
fn with_jitter(delay_ms: u64, call: &CallState) -> u64 {
    let span = (delay_ms.saturating_mul(u64::from(LOOP.jitter.percent)) / 100).min(LOOP.jitter.max_ms);
    if span == 0 {
        return delay_ms;
    }
    delay_ms + mix(call.jitter_seed ^ call.attempts.len() as u64) % (span + 1)
}

/// SplitMix64: a well-spread number from the seed (the policy has no randomness of its own).
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A served call: whether a fallback answered, and the sentence that says so and why.
fn served(
    call: &CallState,
    plan: &FallbackPlan,
    replay: &Replay,
    health: &BTreeMap<String, RouteHealth>,
    candidate: Candidate,
) -> Served {
    let requested = call.chain.explicit_override.clone().unwrap_or_else(|| call.chain.primary.clone());
    let first_choice = plan.candidates.first();
    let fallback = first_choice.is_none_or(|first| route(first) != route(&candidate) || first.requested != requested);
    if !fallback {
        return Served { candidate, fallback, notice: None };
    }
    let served_model = redact::short(&candidate.model);
    let requested_shown = redact::short(&requested);
    let dropped = plan.dropped.iter().find(|d| d.model == crate::redact::text(&requested));
    let primary_route = first_choice.filter(|c| c.requested == requested).map(route);
    let primary_paused = primary_route.as_ref().is_some_and(|r| {
        !replay.tries.contains_key(r)
            && health
                .get(r)
                .or_else(|| call.health.iter().find(|h| &h.route == r))
                .is_some_and(|h| h.open_until_ms.is_some())
    });
    let notice = if let Some(dropped) = dropped {
        fill(
            LOOP.notices.dropped_primary,
            &[("served", &served_model), ("requested", &requested_shown), ("why", &dropped.detail)],
        )
    } else if primary_paused {
        fill(LOOP.notices.circuit_open, &[("served", &served_model), ("requested", &requested_shown)])
    } else {
        let why =
            replay.first.as_ref().map_or_else(|| "it could not answer.".to_owned(), |(_, v)| settled(&v.user_message));
        // The attempts on the route that failed first: the first choice, as a rule.
        let tries = replay
            .first
            .as_ref()
            .and_then(|(model, _)| call.attempts.iter().find(|a| &a.model == model))
            .map_or(0, |a| call.attempts.iter().filter(|b| b.model == a.model && b.credential == a.credential).count());
        let tries = if tries == 1 { "1 attempt".to_owned() } else { format!("{tries} attempts") };
        fill(
            LOOP.notices.fallback,
            &[("served", &served_model), ("requested", &requested_shown), ("tries", &tries), ("why", &why)],
        )
    };
    Served { candidate, fallback, notice: Some(notice) }
}

/// A failed call: the first real failure's verdict, and a message naming it (and the last,
/// when it differs), unless `message` says more.
fn failed(replay: &Replay, message: Option<String>) -> Step {
    let last = replay.last.as_ref().and_then(|(_, v)| v.clone());
    let verdict = replay.first.as_ref().map(|(_, v)| v.clone()).or(last.clone()).unwrap_or_else(|| Verdict {
        reason: FailureReason::Unknown,
        action: Action::Surface,
        retry_after_ms: None,
        user_message: "No candidate was tried.".to_owned(),
        remember: None,
        rule: ERRORS.fallback.id.to_owned(),
    });
    let message = message.unwrap_or_else(|| {
        let last = last.filter(|l| settled(&l.user_message) != settled(&verdict.user_message));
        let last = last
            .map_or(String::new(), |l| format!(" The last candidate then failed too: {}", settled(&l.user_message)));
        fill(LOOP.notices.failed, &[("first", &settled(&verdict.user_message)), ("last", &last)])
    });
    Step::Finish(Finished::Failed(CallFailure { verdict, message }))
}

/// A verdict's sentence as a notice tells how the call ended: without the clauses that say what
/// the loop does next (`loop.toml`'s `action-clauses`), which are no longer true once it moved
/// on or gave up. "The provider is overloaded (HTTP 503); retrying after 1 s." settles as "The
/// provider is overloaded (HTTP 503)."
pub fn settled(message: &str) -> String {
    let mut out = message.trim().to_owned();
    for clause in LOOP.notices.action_clauses {
        let Some(at) = out.find(clause) else { continue };
        // The clause runs to the end of its sentence.
        let end = out[at + 1..].find(". ").map_or(out.len(), |e| at + 1 + e + 1);
        out.replace_range(at..end, if clause.starts_with(';') { "." } else { "" });
    }
    out.trim_end().to_owned()
}

/// A sentence of the rule data with its placeholders filled (values already redacted).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod notice_tests {
    use super::settled;
    use crate::rules::{ERRORS, LOOP};

    #[test]
    fn a_settled_sentence_says_what_happened_and_not_what_comes_next() {
        assert_eq!(
            settled("The provider is overloaded (HTTP 503); retrying after 1 s."),
            "The provider is overloaded (HTTP 503)."
        );
        assert_eq!(
            settled("The provider refused this account (HTTP 403). Trying the next candidate."),
            "The provider refused this account (HTTP 403)."
        );
        assert_eq!(
            settled("Gave up on openai/gpt-5.5 after 3 attempts; trying the next candidate. Check the key."),
            "Gave up on openai/gpt-5.5 after 3 attempts. Check the key."
        );
    }

    #[test]
    fn no_rules_sentence_settles_into_a_promise_of_more() {
        let sentences = ERRORS.rules.iter().chain([&ERRORS.fallback]).map(|r| r.message).chain([
            ERRORS.retry.attempt_cap.message,
            ERRORS.retry.delay_cap.message,
            ERRORS.retry.repeat_cap.message,
        ]);
        for sentence in sentences.chain(LOOP.outcomes.iter().map(|o| o.message)) {
            let settled = settled(sentence).to_lowercase();
            for promise in ["retrying after", "retrying.", "next candidate.", "trying the next", "using the next"] {
                assert!(!settled.contains(promise), "{sentence:?} settles as {settled:?}");
            }
        }
    }
}
