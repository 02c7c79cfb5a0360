//! The `route-policy` command; see `route_policy::cli`.

fn main() -> std::process::ExitCode {
    route_policy::cli::main()
}
