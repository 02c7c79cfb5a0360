//! `route-policy loop`: the failover loop's defaults, as the built-in policy's rule data
//! (`guest/rules/loop.toml`, `errors.toml`'s `[retry]`) sets them: retries and backoff, the
//! call's budget, timeouts by capability, first-token budgets by model class, circuits. A
//! policy loaded from a file may set others; these are what this binary ships.

use crate::cli::CliResult;
use route_policy_guest::rules::{ERRORS, LOOP};
use std::process::ExitCode;

/// Prints the defaults as a readable list.
pub fn run() -> CliResult<ExitCode> {
    print!("{}", render());
    Ok(ExitCode::SUCCESS)
}

/// Milliseconds, as a person reads them.
fn ms(value: u64) -> String {
    match value {
        v if v >= 60_000 && v % 60_000 == 0 => format!("{} min", v / 60_000),
        v if v >= 1_000 && v % 1_000 == 0 => format!("{} s", v / 1_000),
        v if v >= 1_000 => format!("{:.1} s", v as f64 / 1000.0),
        v => format!("{v} ms"),
    }
}

fn render() -> String {
    let retry = &ERRORS.retry;
    let circuit = &LOOP.circuit;
    let mut out = String::new();
    out += &format!("retries (errors.toml [retry], policy revision {}):\n", route_policy_guest::rules::POLICY.revision);
    out += &format!(
        "  {} attempts per candidate; backoff {} doubling to {}; at least {} even when told \"now\"\n",
        retry.attempt_cap.value,
        ms(retry.backoff_base_ms),
        ms(retry.backoff_max_ms),
        ms(retry.min_delay_ms)
    );
    out += &format!(
        "  a Retry-After longer than {} moves on; jitter {}% of a wait, at most {}\n",
        ms(retry.delay_cap.value),
        LOOP.jitter.percent,
        ms(LOOP.jitter.max_ms)
    );
    out += &format!("  a refresh, rotation or re-resolve is done {} time(s) at most\n", retry.repeat_cap.value - 1);
    out += &format!("call budget: {} attempts, {}\n", LOOP.budget.max_attempts, ms(LOOP.budget.total_ms));
    out += "timeouts (connect / first byte / first token / idle / total):\n";
    for rule in LOOP.timeouts {
        let capabilities: Vec<&str> = rule.capabilities.iter().map(|c| c.as_str()).collect();
        out += &format!(
            "  {}: {} / {} / {} / {} / {}\n",
            capabilities.join(", "),
            ms(rule.connect_ms.into()),
            ms(rule.first_byte_ms.into()),
            ms(rule.first_token_ms.into()),
            ms(rule.idle_ms.into()),
            ms(rule.total_ms.into())
        );
    }
    out += "first-token budget by model class (first match of the model id):\n";
    for class in LOOP.first_token {
        out += &format!("  {} ({}): {}\n", class.id, class.globs.join(" "), ms(class.first_token_ms.into()));
    }
    out += &format!(
        "circuit: opens after {} failures in a row; open {} less up to {}%, {} after {} openings in a row; a failed probe moves on at once\n",
        circuit.failures,
        ms(circuit.open_ms),
        circuit.jitter_percent,
        ms(circuit.long_open_ms),
        circuit.long_after_opens
    );
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_defaults_are_the_rule_data() {
        let text = super::render();
        assert!(text.contains("3 attempts per candidate"), "{text}");
        assert!(text.contains("chat: 5 s / 30 s / 30 s / 30 s / 5 min"), "{text}");
        assert!(text.contains("loop.first-token.reasoning"), "{text}");
        assert!(text.contains("open 4 s less up to 25%, 1 min after 150 openings"), "{text}");
    }
}
