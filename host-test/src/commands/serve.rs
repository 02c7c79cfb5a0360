//! `route-policy serve`: `eval`'s JSON Lines loop over a [`PolicyHost`], with verified hot
//! swaps. Each answer line adds `"policy": {"revision", "sha256"}`; with `--watch` the
//! component file is reloaded when it changes, and each outcome is logged on stderr as
//! `activated …` or `rejected …: reason`.

use crate::cli::CliResult;
use clap::Args;
use route_policy_host::wire;
use route_policy_host::{Canary, PolicyHost, ReloadOptions};
use route_policy_host::{DecisionLog, Engine, LoadError, Policy, Trust};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Reload the component when its file changes (needs --component).
    #[arg(long)]
    pub watch: bool,
    /// Load only a component with this sha256 (hex).
    #[arg(long, value_name = "HEX")]
    pub pin_sha256: Option<String>,
    /// Require FILE.sig by this ed25519 public key; repeatable.
    #[arg(long, value_name = "FILE")]
    pub trusted_key: Vec<PathBuf>,
    /// Canary vectors every policy must pass before it serves (default: the shipped canary).
    #[arg(long, value_name = "FILE")]
    pub canary: Option<PathBuf>,
    /// Let a policy with a lower revision than the serving one replace it (off: a rollback is
    /// refused, so that an old signed policy cannot undo a rule fix).
    #[arg(long)]
    pub allow_rollback: bool,
    /// Append one JSON line per decision to this file.
    #[arg(long, value_name = "FILE")]
    pub decision_log: Option<PathBuf>,
}

/// Runs `serve`.
pub fn run(engine: Engine, component: Option<PathBuf>, args: ServeArgs) -> CliResult<ExitCode> {
    let mut trust = Trust::none();
    if let Some(pin) = &args.pin_sha256 {
        trust = trust.pin_sha256(pin)?;
    }
    for key in &args.trusted_key {
        trust = trust.trust_key(route_policy_host::read_public_key(key)?)?;
    }
    let canary = match &args.canary {
        Some(path) => Canary::load(path)?,
        None => Canary::builtin(),
    };
    let options = ReloadOptions { trust, canary, allow_rollback: args.allow_rollback };
    let host = match &component {
        Some(path) => PolicyHost::open(engine, path, options),
        None if options.trust.is_required() => return Err("--pin-sha256 and --trusted-key need --component".into()),
        None => Policy::builtin(&engine).and_then(|policy| PolicyHost::new(engine, policy, options)),
    }?;
    crate::cli::warn_about_cache(host.current().engine());
    let host = match &args.decision_log {
        Some(path) => host.with_decision_log(DecisionLog::open(path)?),
        None => host,
    };
    let host = Arc::new(host);
    eprintln!("activated {}", host.current().id());
    let _watcher = match (args.watch, component) {
        (true, Some(path)) => Some(host.watch(path, Duration::from_millis(100), report)?),
        (true, None) => return Err("--watch needs --component".into()),
        (false, _) => None,
    };
    let answer = |call: &_| {
        let tagged = host.answer(call);
        let mut json = match &tagged.answer {
            Ok(answer) => answer.to_json(),
            Err(error) => error.to_json(),
        };
        json["policy"] = tagged.policy.id().tag();
        json
    };
    wire::stream(&answer, std::io::stdin().lock(), std::io::stdout().lock(), wire::MAX_LINE_BYTES)
        .map_err(|e| format!("serve: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn report(outcome: Result<Arc<Policy>, LoadError>) {
    match outcome {
        Ok(policy) => {
            crate::cli::warn_about_cache(policy.engine());
            eprintln!("activated {}", policy.id())
        }
        Err(error) => eprintln!("rejected {error}; the previous policy keeps serving"),
    }
}
