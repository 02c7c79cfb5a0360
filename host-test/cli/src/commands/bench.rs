//! `route-policy bench`: a quick measurement of the policy against the same logic called
//! natively (`crate::bench` measures; this prints).

use crate::cli::CliResult;
use route_policy_host::Engine;
use std::process::ExitCode;

/// Runs `bench`.
pub fn run(engine: &Engine, json: bool) -> CliResult<ExitCode> {
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
    let e = &figures.executor;
    println!("executor, {} calls each to a loopback upstream, p50 / p99 µs:", e.calls);
    for (kind, direct, through) in
        [("whole", &e.direct, &e.executor), ("streamed", &e.direct_streaming, &e.executor_streaming)]
    {
        println!(
            "  {kind:<9} direct {:>7.0} / {:>7.0}   executor {:>7.0} / {:>7.0}   added {:>6.0} / {:>6.0}",
            direct.p50_us,
            direct.p99_us,
            through.p50_us,
            through.p99_us,
            through.p50_us - direct.p50_us,
            through.p99_us - direct.p99_us
        );
    }
    println!("gateway, requests to a loopback upstream, p50 / p99 µs:");
    for row in &figures.gateway {
        let kind = if row.streamed { "streamed" } else { "whole" };
        println!(
            "  {kind:<9} {:>2} client{} direct {:>7.0} / {:>7.0}   gateway {:>7.0} / {:>7.0}   added {:>6.0} / {:>6.0}   ({} each)",
            row.clients,
            if row.clients == 1 { " " } else { "s" },
            row.direct.p50_us,
            row.direct.p99_us,
            row.gateway.p50_us,
            row.gateway.p99_us,
            row.gateway.p50_us - row.direct.p50_us,
            row.gateway.p99_us - row.direct.p99_us,
            row.requests
        );
    }
    Ok(ExitCode::SUCCESS)
}
