//! `route-policy eval`: JSON Lines in, one JSON answer per line out, in order.
//!
//! Every input line gets exactly one output line, whatever it holds: a malformed line, a
//! non-UTF-8 line or an over-long line is answered with an `invalid-input` error, and the stream
//! goes on. The loop is [`wire::stream`], shared with the fuzz target that holds it to that.

use crate::cli::CliResult;
use route_policy_contract::wire;
use route_policy_host::Router;
use std::process::ExitCode;

/// Runs the loop on stdin and stdout.
pub fn run(router: &dyn Router) -> CliResult<ExitCode> {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    wire::stream(&|call| router.call_json(call), stdin, stdout, wire::MAX_LINE_BYTES)
        .map_err(|e| format!("eval: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
