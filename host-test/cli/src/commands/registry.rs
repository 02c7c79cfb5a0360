//! `route-policy push` and `route-policy sign oci://…`: a policy into a registry, as a signed
//! wasm artifact; and the options `serve` and `gateway` share to take one from there.

use crate::cli::CliResult;
use clap::Args;
use route_policy_host::{Canary, Engine, Policy};
use route_policy_oci::{Artifact, OciRef, Registry};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where a policy from a registry comes from, and where its last good copy is kept.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Serve the artifact at this digest, `oci://REGISTRY/REPO@sha256:…` (needs --trusted-key).
    #[arg(long, value_name = "OCI_REF")]
    pub policy: Option<String>,
    /// Keep the last good registry policy here (default: $XDG_STATE_HOME/route-policy, else
    /// ~/.local/state/route-policy).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Seconds between two polls of a watched tag.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub poll_seconds: f64,
}

impl RegistryArgs {
    /// The registry reference to serve: `--policy oci://…@sha256:…` or `--watch oci://…:TAG`.
    pub fn reference(&self, watch: Option<&str>) -> CliResult<Option<String>> {
        match (&self.policy, watch) {
            (Some(_), Some(_)) => Err("--policy pins a digest and --watch follows a tag: give one".into()),
            (Some(policy), None) => {
                let reference = OciRef::parse(policy)?;
                if reference.digest.is_none() {
                    return Err(format!(
                        "--policy {policy}: name a digest (@sha256:…); to follow a tag, use --watch {policy}"
                    )
                    .into());
                }
                Ok(Some(policy.clone()))
            }
            (None, Some(watch)) => {
                let reference = OciRef::parse(watch)?;
                if reference.tag.is_none() || reference.digest.is_some() {
                    return Err(
                        format!("--watch {watch}: name a tag (:TAG) and no digest; to pin, use --policy").into()
                    );
                }
                Ok(Some(watch.to_owned()))
            }
            (None, None) => Ok(None),
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> CliResult<PathBuf> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => Ok(route_policy_oci::default_data_dir()?),
        }
    }

    /// The poll interval.
    pub fn interval(&self) -> CliResult<std::time::Duration> {
        Ok(route_policy_oci::poll_interval(self.poll_seconds).map_err(|e| format!("--poll-seconds: {e}"))?)
    }
}

/// `route-policy push FILE oci://REGISTRY/REPO:TAG`: checks the component as a host would
/// (loads, canary), pushes it, prints `oci://REGISTRY/REPO@sha256:…`.
pub fn push(engine: &Engine, file: &Path, target: &str, canary: Option<&Path>) -> CliResult<ExitCode> {
    let target = OciRef::parse(target)?;
    if target.tag.is_none() || target.digest.is_some() {
        return Err(format!("{target}: push to a tag (:TAG); the digest is printed once pushed").into());
    }
    let wasm = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let policy = Policy::from_bytes(engine, &wasm, file.display().to_string())?;
    // Every host runs the canary before it serves a policy; refusing here saves a rollout.
    let canary = match canary {
        Some(path) => Canary::load(path)?,
        None => Canary::builtin(),
    };
    canary.check(&policy).map_err(|e| format!("{}: not pushed: {e}", policy.id()))?;
    let artifact = Artifact::new(wasm, policy.id());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let digest = runtime.block_on(Registry::new(&target).push(&target, &artifact))?;
    eprintln!("pushed {} as {target}", policy.id());
    println!("{}", target.at(&digest));
    Ok(ExitCode::SUCCESS)
}

/// `route-policy sign --key KEY oci://…@sha256:…`: attaches a signature artifact; prints its
/// reference.
pub fn sign(key: &Path, subject: &str) -> CliResult<ExitCode> {
    let subject = OciRef::parse(subject)?;
    let key = route_policy_host::read_secret_key(key)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let signature = runtime.block_on(Registry::new(&subject).sign(&subject, &key))?;
    eprintln!("signed {subject}");
    println!("{}", subject.at(&signature));
    Ok(ExitCode::SUCCESS)
}

/// `route-policy tag oci://…@sha256:… TAG`: moves TAG to that artifact (a rollout, or a
/// rollback); prints the tag's reference.
pub fn tag(at: &str, tag: &str) -> CliResult<ExitCode> {
    let at = OciRef::parse(at)?;
    if at.digest.is_none() {
        return Err(format!("{at}: name the artifact by digest (@sha256:…), as push printed it").into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let moved = runtime.block_on(Registry::new(&at).retag(&at, tag))?;
    eprintln!("{moved} now names {}", at.digest.as_deref().unwrap_or_default());
    println!("{moved}");
    Ok(ExitCode::SUCCESS)
}
