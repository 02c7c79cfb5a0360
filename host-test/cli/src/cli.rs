//! The command line: the arguments every command shares, the subcommands, and dispatch. Each
//! subcommand's work is in `commands/`; the host itself is the `route_policy_host` library.

use crate::commands::{self, check, demo, eval, oneshot, serve};
use clap::{Args, Parser, Subcommand};
use route_policy_host::{Engine, Policy};
use std::path::PathBuf;
use std::process::ExitCode;

/// route-policy: provider-routing rules as a sandboxed WebAssembly component.
#[derive(Debug, Parser)]
#[command(name = "route-policy", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Which policy to load, and the sandbox it runs in: the options of every command that runs a
/// policy (and of no other).
#[derive(Debug, Args)]
#[command(next_help_heading = "Policy and sandbox")]
pub struct EngineArgs {
    /// The policy component to load (default: the one built from guest/ with this binary).
    #[arg(long, value_name = "PATH")]
    pub component: Option<PathBuf>,
    /// Also let PROVIDER's credentials go to HOST (a proxy you run for it: a name, host:port,
    /// or http://loopback:port); repeatable.
    #[arg(long, value_name = "PROVIDER=HOST")]
    pub allow_host: Vec<String>,
    /// Cache compiled policies in this directory.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The policy's CPU deadline for one call into the sandbox, in milliseconds: how long the
    /// policy may think, not how long a model request may take (the policy sets those).
    #[arg(long, alias = "deadline-ms", value_name = "MS", default_value_t = 50)]
    pub policy_deadline_ms: u64,
    /// The policy's memory cap per instance, in MiB.
    #[arg(long, alias = "memory-mib", value_name = "MIB", default_value_t = 16)]
    pub policy_memory_mib: usize,
}

/// What a command returns: its exit code, or an error for stderr (exit code 2).
pub type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read JSON Lines requests on stdin; write one JSON answer per line, in order.
    Eval {
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Tell the seed stories over real HTTP to an in-process fake upstream: what a naive host
    /// got, then the call driven by the policy, attempt by attempt.
    Demo {
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Resolve one endpoint request (JSON as an argument, or on stdin).
    Resolve(OneShot),
    /// Filter one fallback chain (JSON as an argument, or on stdin).
    Filter(OneShot),
    /// Classify one provider failure (JSON as an argument, or on stdin).
    Classify(OneShot),
    /// Run conformance vector files (or folders of them); exit non-zero on any mismatch.
    Check {
        /// Vector files or folders.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Print the failover loop's defaults (retries, backoff, timeouts, first-token budgets,
    /// circuits) as the built-in policy's rule data sets them.
    Loop,
    /// Show the policy's identity, size and imports.
    Inspect {
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Like eval, over a hot-swappable policy: verified reloads, answers tagged with the policy.
    Serve {
        #[command(flatten)]
        args: serve::ServeArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Measure the policy against the same logic called natively (a quick run, under 30 s).
    Bench {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Print the benchmark's requests as eval lines (for other hosts' benchmarks) and stop.
        #[arg(long)]
        inputs: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Serve the fake OpenAI/ChatGPT upstream of the tests on 127.0.0.1 (for hosts in other
    /// languages): prints its origin, serves until stdin closes.
    #[command(hide = true)]
    FakeUpstream {
        /// Run its waits at this fraction of their length.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// Serve an OpenAI-compatible gateway whose every call runs the policy's failover loop.
    Gateway {
        /// The gateway's configuration (TOML; see the README).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Follow this tag, `oci://REGISTRY/REPO:TAG` (needs a trusted key).
        #[arg(long, value_name = "OCI_REF")]
        watch: Option<String>,
        /// Trust this ed25519 public key too (beside the configuration's); repeatable.
        #[arg(long, value_name = "FILE")]
        trusted_key: Vec<PathBuf>,
        /// Where the policy comes from when it is in a registry.
        #[command(flatten)]
        registry: crate::commands::registry::RegistryArgs,
        /// Listen here instead of the configuration's address.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Start the tests' fake OpenAI on loopback and send api.openai.com and chatgpt.com to
        /// it: try the gateway without a provider account.
        #[arg(long)]
        fake_upstream: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Make an ed25519 key pair for signing policies: NAME.key (secret) and NAME.pub.
    Keygen {
        /// The key pair's name (path without extension).
        name: PathBuf,
    },
    /// Sign a policy: a component file (writes FILE.sig), or an artifact in a registry,
    /// `oci://REGISTRY/REPO@sha256:…` (attaches a signature artifact that refers to it).
    Sign {
        /// The secret key file (NAME.key).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The component file, or the artifact's oci:// reference.
        target: String,
    },
    /// Point a registry tag at a pushed (and signed) artifact: how a fleet's tag moves, forward
    /// or back.
    Tag {
        /// The artifact, oci://REGISTRY/REPO@sha256:… (as push printed it).
        artifact: String,
        /// The tag to move, e.g. stable.
        tag: String,
    },
    /// Push a policy component to a registry as a wasm artifact, after the checks every host
    /// runs; prints oci://REGISTRY/REPO@sha256:… (plain http only for a loopback registry).
    Push {
        /// The component.
        file: PathBuf,
        /// Where: oci://REGISTRY/REPO:TAG.
        target: String,
        /// Canary vectors it must pass (default: the shipped canary).
        #[arg(long, value_name = "FILE")]
        canary: Option<PathBuf>,
        #[command(flatten)]
        engine: EngineArgs,
    },
}

/// One request given on the command line.
#[derive(Debug, Args)]
pub struct OneShot {
    /// The request's JSON input (default: read stdin).
    pub json: Option<String>,
    /// Print the raw JSON answer instead of a readable one.
    #[arg(long)]
    pub json_output: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs the command line; the binary's `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("route-policy: {message}");
            ExitCode::from(2)
        }
    }
}

/// Runs a parsed command line. `Err` is a message for stderr (exit code 2).
pub fn run(cli: Cli) -> CliResult<ExitCode> {
    // The signing and tagging commands and the fake upstream need no engine.
    match &cli.command {
        Command::FakeUpstream { scale } => return commands::fake_upstream::run(*scale),
        Command::Keygen { name } => {
            let (secret, public) = route_policy_host::keygen(name)?;
            println!("wrote {} (secret, keep it private) and {}", secret.display(), public.display());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Sign { key, target } if target.starts_with("oci://") => {
            return commands::registry::sign(key, target);
        }
        Command::Tag { artifact, tag } => return commands::registry::tag(artifact, tag),
        Command::Loop => return commands::loop_defaults::run(),
        Command::Sign { key, target } => {
            println!("wrote {}", route_policy_host::sign(key, target.as_ref())?.display());
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    match cli.command {
        Command::Eval { engine } => eval::run(&engine.load()?),
        Command::Demo { engine } => demo::run(std::sync::Arc::new(engine.load()?)),
        Command::Resolve(one) => oneshot::run(&one.engine.load()?, "resolve-endpoint", one),
        Command::Filter(one) => oneshot::run(&one.engine.load()?, "filter-fallbacks", one),
        Command::Classify(one) => oneshot::run(&one.engine.load()?, "classify-error", one),
        Command::Check { files, engine } => check::run(&engine.load()?, &files),
        Command::Inspect { engine: args } => commands::inspect::run(&args, &args.engine()?),
        Command::Serve { args, engine } => serve::run(engine.engine()?, engine.component, args),
        Command::Gateway { config, listen, fake_upstream, watch, trusted_key, registry, engine } => {
            let options = commands::gateway::Options { listen, fake_upstream, watch, trusted_key, registry };
            commands::gateway::run(engine.engine()?, engine.component, &config, options)
        }
        Command::Push { file, target, canary, engine } => {
            commands::registry::push(&engine.engine()?, &file, &target, canary.as_deref())
        }
        Command::Bench { inputs: true, .. } => {
            for (op, call) in crate::bench::inputs() {
                println!("{}", serde_json::json!({"op": op, "input": call.input()}));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { json, engine, .. } => commands::bench::run(&engine.engine()?, json),
        Command::Keygen { .. }
        | Command::Sign { .. }
        | Command::Tag { .. }
        | Command::FakeUpstream { .. }
        | Command::Loop => {
            unreachable!("answered above")
        }
    }
}

impl EngineArgs {
    /// The engine these arguments describe.
    pub fn engine(&self) -> CliResult<Engine> {
        let mut builder = Engine::builder()
            .deadline(std::time::Duration::from_millis(self.policy_deadline_ms))
            .memory_limit(self.policy_memory_mib << 20);
        for entry in &self.allow_host {
            let (provider, host) = entry
                .split_once('=')
                .ok_or_else(|| format!("--allow-host `{entry}`: write PROVIDER=HOST, e.g. openai=proxy.internal"))?;
            builder = builder.allow_host(provider, host);
        }
        if let Some(dir) = &self.cache_dir {
            builder = builder.cache_dir(dir);
        }
        Ok(builder.build()?)
    }

    /// The engine, and the policy these arguments name loaded in it.
    pub fn load(&self) -> CliResult<Policy> {
        self.policy(&self.engine()?)
    }

    /// The policy these arguments name.
    pub fn policy(&self, engine: &Engine) -> CliResult<Policy> {
        let loaded = match &self.component {
            Some(path) => Policy::load(engine, path),
            None => Policy::builtin(engine),
        };
        warn_about_cache(engine);
        Ok(loaded?)
    }
}

/// Says on stderr, once, that the compiled-code cache was refused (policies still load: they
/// are compiled without it).
pub(crate) fn warn_about_cache(engine: &Engine) {
    if let Some(warning) = engine.cache_warning() {
        eprintln!("route-policy: warning: {warning}");
    }
}
