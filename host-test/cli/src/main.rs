//! The `route-policy` command: JSON Lines evaluation, the seed demo, one-shot questions,
//! conformance checks, and the host runtime's operations, on top of `route_policy_host`.

fn main() -> std::process::ExitCode {
    route_policy::main()
}
