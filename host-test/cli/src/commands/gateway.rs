//! `route-policy gateway`: the OpenAI-compatible gateway, from its configuration file. It
//! prints `listening on ADDR` once it accepts connections, and `activated …` / `rejected …`
//! for each policy swap.

use crate::cli::CliResult;
use crate::commands::registry::RegistryArgs;
use route_policy_gateway::{Config, Gateway, RouteEntry};
use route_policy_host::Engine;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The command line's additions to the configuration file.
pub struct Options {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--fake-upstream`.
    pub fake_upstream: bool,
    /// `--watch oci://…:TAG`.
    pub watch: Option<String>,
    /// `--trusted-key`.
    pub trusted_key: Vec<PathBuf>,
    /// `--policy`, `--data-dir`, `--poll-seconds`.
    pub registry: RegistryArgs,
}

/// Runs the gateway until it is stopped.
pub fn run(engine: Engine, component: Option<PathBuf>, path: &Path, options: Options) -> CliResult<ExitCode> {
    let Options { listen, fake_upstream, watch, trusted_key, registry } = options;
    let mut config = Config::load(path)?;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    // The same rule as the file's `listen`, for `--listen` (the gateway checks it again on
    // the socket it binds).
    config.check_listen(config.listen).map_err(|e| format!("{}: {e}", path.display()))?;
    config.policy.trusted_keys.extend(trusted_key);
    if let Some(reference) = registry.reference(watch.as_deref())? {
        if config.policy.component.is_some() || config.policy.pin_sha256.is_some() || component.is_some() {
            return Err(format!(
                "{}: the configuration (or --component) names a component or a pin; a registry policy stands alone",
                path.display()
            )
            .into());
        }
        config.policy.registry = Some(reference);
        config.policy.watch = false;
        config.policy.data_dir = Some(registry.data_dir()?);
        config.policy.poll_seconds = Some(registry.interval()?.as_secs_f64());
        if config.policy.trusted_keys.is_empty() {
            return Err("a registry policy needs a trusted key: --trusted-key FILE, or policy.trusted-keys".into());
        }
    }
    if config.policy.registry.is_some() && component.is_some() {
        return Err(format!("{}: policy.registry is set; --component cannot stand beside it", path.display()).into());
    }
    // `--component` stands in for a configuration that names no policy.
    if config.policy.component.is_none() && config.policy.registry.is_none() {
        config.policy.component = component;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // Kept alive as long as the gateway serves.
        let _fake = if fake_upstream {
            let fake = route_policy_fake_upstream::FakeUpstream::start(1.0).await?;
            for from in ["https://api.openai.com", "https://chatgpt.com", "https://auth.openai.com"] {
                config.routes.push(RouteEntry { from: from.to_owned(), to: fake.origin() });
            }
            eprintln!("fake upstream at {}: api.openai.com, chatgpt.com and auth.openai.com go to it", fake.origin());
            Some(fake)
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("listen on {}: {e}", config.listen))?;
        let gateway = Arc::new(Gateway::open(config, engine, Default::default()).await?);
        crate::cli::warn_about_cache(gateway.policy().engine());
        eprintln!("activated {}", gateway.policy().id());
        println!("listening on {}", listener.local_addr()?);
        gateway.serve(listener).await?;
        Ok(ExitCode::SUCCESS)
    })
}
