//! `route-policy serve`: `eval`'s JSON Lines loop over a [`PolicyHost`], with verified hot
//! swaps. Each answer line adds `"policy": {"revision", "sha256"}`; with `--watch` the
//! component file is reloaded when it changes, and each outcome is logged on stderr as
//! `activated …` or `rejected …: reason`.
//!
//! From a registry: `--policy oci://…@sha256:…` serves a pinned artifact, `--watch oci://…:TAG`
//! follows a tag; both need `--trusted-key`. The status (what serves, the last poll, the last
//! refusal) is rewritten to `--status FILE` after every event, in a directory that belongs to
//! this uid alone and never through a link (see [`StatusFile`]).

use crate::cli::CliResult;
use crate::commands::registry::RegistryArgs;
use clap::Args;
use route_policy_contract::wire;
use route_policy_host::{Canary, PolicyHost, ReloadOptions};
use route_policy_host::{DecisionLog, Engine, LoadError, Policy, PrivateDir, Trust};
use route_policy_oci::{OciRef, RegistrySource};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Reload the component when its file changes (needs --component); or, with a value,
    /// follow a registry tag: --watch oci://REGISTRY/REPO:TAG.
    #[arg(long, value_name = "OCI_REF", num_args = 0..=1, default_missing_value = "")]
    pub watch: Option<String>,
    /// Where a registry policy comes from.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Write the registry status here after every event (default: DATA_DIR/status.json).
    #[arg(long, value_name = "FILE")]
    pub status: Option<PathBuf>,
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
    let oci_watch = args.watch.as_deref().filter(|w| !w.is_empty());
    // Kept alive while serving: the registry's runtime and its poll, or the file watcher.
    let mut runtime = None;
    let mut _watching = None;
    let mut _watcher = None;
    let host = if let Some(reference) = args.registry.reference(oci_watch)? {
        if component.is_some() || args.pin_sha256.is_some() || args.watch.as_deref() == Some("") {
            return Err("a registry policy stands alone: no --component, --pin-sha256 or bare --watch beside it (--watch oci://…:TAG follows a tag)".into());
        }
        let data_dir = args.registry.data_dir()?;
        let status = StatusFile::open(&args.status.clone().unwrap_or_else(|| data_dir.join("status.json")))?;
        let source = Arc::new(RegistrySource::new(OciRef::parse(&reference)?, &data_dir)?);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        let (host, events) = rt.block_on(source.start(engine, options))?;
        for event in &events {
            if let Some(line) = event.log_line() {
                eprintln!("{line}");
            }
        }
        status.write(&source);
        let host = Arc::new(with_log(host, &args)?);
        if source.watches() {
            let _entered = rt.enter();
            let watched = Arc::clone(&source);
            _watching = Some(source.watch(Arc::clone(&host), args.registry.interval()?, move |event| {
                if let Some(line) = event.log_line() {
                    eprintln!("{line}");
                }
                status.write(&watched);
            }));
        }
        runtime = Some(rt);
        host
    } else {
        let host = match &component {
            Some(path) => PolicyHost::open(engine, path, options),
            None if options.trust.is_required() => {
                return Err("--pin-sha256 and --trusted-key need --component".into());
            }
            None => Policy::builtin(&engine).and_then(|policy| PolicyHost::new(engine, policy, options)),
        }?;
        let host = Arc::new(with_log(host, &args)?);
        eprintln!("activated {}", host.current().id());
        _watcher = match (args.watch.is_some(), component) {
            (true, Some(path)) => Some(host.watch(path, Duration::from_millis(100), report)?),
            (true, None) => return Err("--watch needs --component (or a registry tag: --watch oci://…:TAG)".into()),
            (false, _) => None,
        };
        host
    };
    crate::cli::warn_about_cache(host.current().engine());
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
    drop(_watching);
    drop(runtime);
    Ok(ExitCode::SUCCESS)
}

fn with_log(host: PolicyHost, args: &ServeArgs) -> CliResult<PolicyHost> {
    Ok(match &args.decision_log {
        Some(path) => host.with_decision_log(DecisionLog::open(path)?),
        None => host,
    })
}

/// The status file. Its directory must belong to this uid and be writable by no one else,
/// as the compiled-code cache and the last-good store: whoever else could write it could plant
/// a link where the status goes and have a root host write through it. The file is written as
/// they write theirs ([`PrivateDir::write`]): a temporary file created beside it without
/// following a link (a fresh name, `O_EXCL | O_NOFOLLOW`, mode 0600), renamed into place, so
/// a reader never sees half of it and a link at its name is replaced, not followed.
struct StatusFile {
    dir: PrivateDir,
    name: String,
    path: PathBuf,
}

impl StatusFile {
    /// Checks (creating it 0700 if missing) the directory `path` goes in; the error says why
    /// it may not hold the status.
    fn open(path: &Path) -> CliResult<StatusFile> {
        let refuse = |why: String| format!("the status file {}: {why}", path.display());
        let name = path.file_name().and_then(|name| name.to_str()).ok_or_else(|| refuse("name a file".to_owned()))?;
        let parent = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let dir = PrivateDir::open(parent)
            .map_err(|e| refuse(format!("its directory {} must belong to this user alone: {e}", parent.display())))?;
        Ok(StatusFile { dir, name: name.to_owned(), path: path.to_owned() })
    }

    /// Rewrites it with the source's status now; a failure is reported, not fatal.
    fn write(&self, source: &RegistrySource) {
        let text = serde_json::to_string_pretty(&source.status()).expect("a status serializes") + "\n";
        if let Err(e) = self.dir.write(&self.name, text.as_bytes()) {
            eprintln!("route-policy: could not write the status to {}: {e}", self.path.display());
        }
    }
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
