//! `route-policy resolve|filter|classify`: one request, a readable answer.
//!
//! Every string in a readable answer was written by the policy, often from a provider's words
//! (a message, a model, a URL), so each is printed escaped ([`shown`]): a control character
//! (an ANSI escape, a carriage return, a bell) or a bidi override in it could otherwise rewrite
//! what the terminal shows. The JSON output escapes them as JSON does.

use crate::cli::CliResult;
use crate::cli::OneShot;
use route_policy_contract::printable::escaped as shown;
use route_policy_contract::types::{Endpoint, FallbackPlan, Finished, Next, Step, Verdict};
use route_policy_contract::wire::{Answer, Call};
use route_policy_host::Router;
use std::io::Read;
use std::process::ExitCode;

/// Runs one request of `op`.
pub fn run(router: &dyn Router, op: &str, args: OneShot) -> CliResult<ExitCode> {
    let text = match args.json {
        Some(text) => text,
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| format!("reading stdin: {e}"))?;
            text
        }
    };
    let call = Call::from_text(op, &text).map_err(|e| e.message)?;
    let answer = router.call(&call);
    if args.json_output {
        let json = match &answer {
            Ok(answer) => answer.to_json(),
            Err(error) => error.to_json(),
        };
        println!("{}", serde_json::to_string_pretty(&json).expect("JSON values print"));
    } else {
        match &answer {
            Ok(answer) => print!("{}", readable(answer)),
            Err(error) => println!("error ({}): {}", error.code(), shown(&error.to_string())),
        }
    }
    let ok = matches!(
        answer,
        Ok(Answer::Endpoint(Ok(_)) | Answer::Plan(Ok(_)) | Answer::Verdict(_) | Answer::Info(_) | Answer::Next(Ok(_)))
    );
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// An answer as indented lines for a person.
pub fn readable(answer: &Answer) -> String {
    match answer {
        Answer::Endpoint(Ok(e)) => endpoint(e),
        Answer::Plan(Ok(p)) => plan(p),
        Answer::Next(Ok(n)) => next(n),
        Answer::Endpoint(Err(e)) | Answer::Plan(Err(e)) | Answer::Next(Err(e)) => {
            format!("policy error {}: {}\n", e.code, shown(&e.message))
        }
        Answer::Verdict(v) => verdict(v),
        Answer::Info(i) => {
            format!(
                "contract {}\nrevision {}\nrules-digest {}\n",
                shown(&i.contract),
                shown(&i.revision),
                shown(&i.rules_digest)
            )
        }
    }
}

fn endpoint(e: &Endpoint) -> String {
    let mut out = String::new();
    let mut row = |k: &str, v: &str| out.push_str(&format!("  {k:<15} {}\n", shown(v)));
    row("transport", e.transport.as_str());
    row("request-url", &e.request_url);
    row("base-url", &e.base_url);
    row("base-url-class", e.base_url_class.as_str());
    row("credential", &e.credential);
    row("auth-header", e.auth_header.as_str());
    row("upstream-model", &e.upstream_model);
    if let Some(tool) = &e.tool {
        row("tool", &format!("{tool} ({})", e.tool_model.as_deref().unwrap_or("-")));
    }
    row("rules", &e.rules.join(", "));
    for note in &e.notes {
        out.push_str(&format!("  note: {}\n", shown(note)));
    }
    out
}

fn plan(p: &FallbackPlan) -> String {
    let mut out = String::from("  candidates:\n");
    if p.candidates.is_empty() {
        out.push_str("    (none)\n");
    }
    for (i, c) in p.candidates.iter().enumerate() {
        out.push_str(&format!(
            "    {}. {} via {} with `{}` (as written: {})\n",
            i + 1,
            shown(&c.model),
            c.transport,
            shown(&c.credential),
            shown(&c.requested)
        ));
    }
    out.push_str("  dropped:\n");
    if p.dropped.is_empty() {
        out.push_str("    (none)\n");
    }
    for d in &p.dropped {
        out.push_str(&format!("    - {} [{}]: {}\n", shown(&d.model), d.reason, shown(&d.detail)));
    }
    out
}

fn next(n: &Next) -> String {
    let mut out = match &n.step {
        Step::Send(s) => format!(
            "  send    {} to {} after {} ms{}\n  timeouts connect {} / first byte {} / first token {} / idle {} / total {} ms\n",
            shown(&s.candidate.model),
            shown(&s.endpoint.request_url),
            s.delay_ms,
            if s.probe { " (probing its circuit)" } else { "" },
            s.timeouts.connect_ms,
            s.timeouts.first_byte_ms,
            s.timeouts.first_token_ms,
            s.timeouts.idle_ms,
            s.timeouts.total_ms
        ),
        Step::Finish(Finished::Served(s)) => format!(
            "  served  by {}{}\n",
            shown(&s.candidate.model),
            s.notice.as_ref().map_or(String::new(), |n| format!(" (fallback: {})", shown(n)))
        ),
        Step::Finish(Finished::Failed(f)) => format!("  failed  {}\n{}", shown(&f.message), verdict(&f.verdict)),
    };
    for h in &n.health {
        out.push_str(&format!(
            "  health  {}: {} failures, open until {}\n",
            shown(&h.route),
            h.failures,
            h.open_until_ms.map_or("-".to_owned(), |t| t.to_string())
        ));
    }
    out.push_str(&format!("  rules   {}\n", shown(&n.rules.join(", "))));
    out
}

fn verdict(v: &Verdict) -> String {
    let mut out = format!("  reason  {}\n  action  {}\n", v.reason, v.action);
    if let Some(ms) = v.retry_after_ms {
        out.push_str(&format!("  wait    {ms} ms\n"));
    }
    if let Some(r) = &v.remember {
        out.push_str(&format!("  remember {} for plan {} ({})\n", shown(&r.model), r.plan, r.reason));
    }
    out.push_str(&format!("  rule    {}\n  message {}\n", shown(&v.rule), shown(&v.user_message)));
    out
}
