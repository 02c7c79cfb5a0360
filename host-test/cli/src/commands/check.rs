//! `route-policy check FILE…`: runs conformance vectors against a policy and reports every
//! mismatch; the exit code is non-zero if any case fails.

use crate::cli::CliResult;
use route_policy_contract::vectors;
use route_policy_host::Router;
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the vector files (folders are searched for `*.json`).
pub fn run(router: &dyn Router, paths: &[PathBuf]) -> CliResult<ExitCode> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(vectors::files(path)?);
        } else {
            files.push(path.clone());
        }
    }
    let (mut cases, mut failed) = (0, 0);
    for path in &files {
        let file = vectors::load(path)?;
        let failures = vectors::run(&file, |call| router.call_json(call));
        cases += file.cases.len();
        failed += failures.len();
        let mark = if failures.is_empty() { "ok  " } else { "FAIL" };
        println!("{mark} {} ({} cases)", path.display(), file.cases.len());
        for failure in failures {
            println!("     {failure}");
        }
    }
    println!("{} of {cases} cases passed in {} files", cases - failed, files.len());
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
