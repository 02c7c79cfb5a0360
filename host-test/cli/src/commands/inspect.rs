//! `route-policy inspect`: a component's identity, size, compile time and imports, and whether
//! it would load.

use crate::cli::CliResult;
use crate::cli::EngineArgs;
use route_policy_host::Engine;
use std::process::ExitCode;

/// Runs `inspect`.
pub fn run(args: &EngineArgs, engine: &Engine) -> CliResult<ExitCode> {
    let (source, bytes) = match &args.component {
        Some(path) => {
            (path.display().to_string(), std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => (route_policy_host::BUILTIN_SOURCE.to_owned(), route_policy_host::BUILTIN.to_vec()),
    };
    let report = route_policy_host::inspect(engine, &bytes, &source).map_err(|e| format!("{source}: {e}"))?;
    println!("source       {source}");
    println!("sha256       {}", route_policy_host::sha256_hex(&bytes));
    println!("size         {} bytes", bytes.len());
    println!("compile      {:.1} ms", report.compile.as_secs_f64() * 1000.0);
    println!("imports      {}", if report.imports.is_empty() { "none" } else { "" });
    for (name, allowed) in &report.imports {
        println!("  {} {name}", if *allowed { "granted" } else { "REFUSED" });
    }
    match route_policy_host::Policy::from_bytes(engine, &bytes, source) {
        Ok(policy) => {
            let id = policy.id();
            println!("revision     {}", id.revision);
            println!("contract     {}", id.contract);
            println!("rules-digest {}", id.rules_digest);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("refused      {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
