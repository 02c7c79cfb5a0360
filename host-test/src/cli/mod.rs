//! The `route-policy` command: JSON Lines evaluation, the seed demo, one-shot questions,
//! conformance checks, and the host runtime's operations.

mod check;
mod demo;
mod eval;
mod oneshot;
mod serve;

use crate::{Engine, LoadError, Policy};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// route-policy: provider-routing rules as a sandboxed WebAssembly component.
#[derive(Debug, Parser)]
#[command(name = "route-policy", version, about, long_about = None)]
pub struct Cli {
    /// The engine and policy options.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How to build the engine and which policy to load.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// The policy component to load (default: the one built from guest/ with this binary).
    #[arg(long, global = true, value_name = "PATH")]
    pub component: Option<PathBuf>,
    /// Also let PROVIDER's credentials go to HOST (a proxy you run for it: a name, host:port,
    /// or http://loopback:port); repeatable.
    #[arg(long, global = true, value_name = "PROVIDER=HOST")]
    pub allow_host: Vec<String>,
    /// Cache compiled policies in this directory.
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Per-call deadline in milliseconds.
    #[arg(long, global = true, value_name = "MS", default_value_t = 50)]
    pub deadline_ms: u64,
    /// Per-instance memory cap in MiB.
    #[arg(long, global = true, value_name = "MIB", default_value_t = 16)]
    pub memory_mib: usize,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read JSON Lines requests on stdin; write one JSON answer per line, in order.
    Eval,
    /// Tell the seed stories through the real component: the naive route, then the policy's.
    Demo,
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
    },
    /// Show the policy's identity, size and imports.
    Inspect,
    /// Like eval, over a hot-swappable policy: verified reloads, answers tagged with the policy.
    Serve(serve::ServeArgs),
    /// Measure the policy against the same logic called natively (a quick run, under 30 s).
    Bench {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Print the benchmark's requests as eval lines (for other hosts' benchmarks) and stop.
        #[arg(long)]
        inputs: bool,
    },
    /// Make an ed25519 key pair for signing policies: NAME.key (secret) and NAME.pub.
    Keygen {
        /// The key pair's name (path without extension).
        name: PathBuf,
    },
    /// Sign a policy component with a secret key: writes FILE.sig.
    Sign {
        /// The secret key file (NAME.key).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The component to sign.
        file: PathBuf,
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
pub fn run(cli: Cli) -> Result<ExitCode, String> {
    // The signing commands need no engine.
    match &cli.command {
        Command::Keygen { name } => {
            let (secret, public) = crate::trust::keygen(name)?;
            println!("wrote {} (secret, keep it private) and {}", secret.display(), public.display());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Sign { key, file } => {
            println!("wrote {}", crate::trust::sign(key, file)?.display());
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let engine = cli.engine.engine()?;
    match cli.command {
        Command::Eval => eval::run(&cli.engine.policy(&engine)?),
        Command::Demo => demo::run(&cli.engine.policy(&engine)?),
        Command::Resolve(one) => oneshot::run(&cli.engine.policy(&engine)?, "resolve-endpoint", one),
        Command::Filter(one) => oneshot::run(&cli.engine.policy(&engine)?, "filter-fallbacks", one),
        Command::Classify(one) => oneshot::run(&cli.engine.policy(&engine)?, "classify-error", one),
        Command::Check { files } => check::run(&cli.engine.policy(&engine)?, &files),
        Command::Inspect => inspect(&cli.engine, &engine),
        Command::Serve(args) => serve::run(engine, cli.engine.component, args),
        Command::Bench { inputs: true, .. } => {
            for (op, call) in crate::bench::inputs() {
                println!("{}", serde_json::json!({"op": op, "input": call.input()}));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { json, .. } => bench(&engine, json),
        Command::Keygen { .. } | Command::Sign { .. } => unreachable!("answered above"),
    }
}

impl EngineArgs {
    /// The engine these arguments describe.
    pub fn engine(&self) -> Result<Engine, String> {
        let mut builder = Engine::builder()
            .deadline(std::time::Duration::from_millis(self.deadline_ms))
            .memory_limit(self.memory_mib << 20);
        for entry in &self.allow_host {
            let (provider, host) = entry
                .split_once('=')
                .ok_or_else(|| format!("--allow-host `{entry}`: write PROVIDER=HOST, e.g. openai=proxy.internal"))?;
            builder = builder.allow_host(provider, host);
        }
        if let Some(dir) = &self.cache_dir {
            builder = builder.cache_dir(dir);
        }
        builder.build()
    }

    /// The policy these arguments name.
    pub fn policy(&self, engine: &Engine) -> Result<Policy, String> {
        let loaded = match &self.component {
            Some(path) => Policy::load(engine, path),
            None => Policy::builtin(engine),
        };
        warn_about_cache(engine);
        loaded.map_err(|e: LoadError| e.to_string())
    }
}

/// Says on stderr, once, that the compiled-code cache was refused (policies still load: they
/// are compiled without it).
pub(crate) fn warn_about_cache(engine: &Engine) {
    if let Some(warning) = engine.cache_warning() {
        eprintln!("route-policy: warning: {warning}");
    }
}

fn inspect(args: &EngineArgs, engine: &Engine) -> Result<ExitCode, String> {
    let (source, bytes) = match &args.component {
        Some(path) => {
            (path.display().to_string(), std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => (crate::BUILTIN_SOURCE.to_owned(), crate::BUILTIN.to_vec()),
    };
    let report = crate::policy::inspect(engine, &bytes).map_err(|e| format!("{source}: {e}"))?;
    println!("source       {source}");
    println!("sha256       {}", crate::sha256_hex(&bytes));
    println!("size         {} bytes", bytes.len());
    println!("compile      {:.1} ms", report.compile.as_secs_f64() * 1000.0);
    println!("imports      {}", if report.imports.is_empty() { "none" } else { "" });
    for (name, allowed) in &report.imports {
        println!("  {} {name}", if *allowed { "granted" } else { "REFUSED" });
    }
    match crate::Policy::from_bytes(engine, &bytes, source) {
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

fn bench(engine: &Engine, json: bool) -> Result<ExitCode, String> {
    if cfg!(debug_assertions) {
        eprintln!("route-policy: bench in a debug build measures the debug host; use --release for real figures");
    }
    let figures = crate::bench::run(engine, true)?;
    if json {
        println!("{}", serde_json::to_string(&figures).expect("figures serialize"));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "op", "native ns", "+guard ns", "warm ns", "fresh ns", "warm/nat"
    );
    for (op, f) in &figures.ops {
        println!(
            "{op:<18} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>8.2}",
            f.native_ns, f.guarded_ns, f.warm_ns, f.fresh_ns, f.ratio_warm
        );
    }
    println!("instantiate        {:.2} µs", figures.instantiate_us);
    println!("compile            {:.1} ms", figures.compile_ms);
    println!("load from cache    {:.2} ms", figures.load_cached_ms);
    println!("verified swap      {:.2} ms", figures.swap_ms);
    println!("component          {} bytes", figures.component_bytes);
    println!("throughput         {:.0} calls/s (2 threads, warm)", figures.throughput_per_s);
    Ok(ExitCode::SUCCESS)
}
