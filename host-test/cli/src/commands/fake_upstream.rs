//! `route-policy fake-upstream`: the tests' fake OpenAI/ChatGPT upstream as a process, for the
//! Node and OpenClaw tests. It prints its origin on the first line of stdout, and serves until
//! its stdin closes (the test that started it ends), so it never outlives its test.

use crate::cli::CliResult;
use route_policy_fake_upstream::FakeUpstream;
use std::io::Read;
use std::process::ExitCode;

/// Runs the fake until stdin closes.
pub fn run(scale: f64) -> CliResult<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let fake = runtime.block_on(FakeUpstream::start(scale))?;
    println!("{}", fake.origin());
    // Waits for the parent to close stdin (or to exit).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(fake);
    Ok(ExitCode::SUCCESS)
}
