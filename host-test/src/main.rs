//! The `route-policy` command: JSON Lines evaluation, the seed demo, one-shot questions,
//! conformance checks, and the host runtime's operations, on top of `route_policy_host`.

mod bench;
mod cli;
mod commands;

fn main() -> std::process::ExitCode {
    cli::main()
}
