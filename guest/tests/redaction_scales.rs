//! Redaction is linear in its input, for every shape that once made it quadratic.
//!
//! Each secret rule reads a run that can reach past its token (`a+a+…` for opaque tokens,
//! `sk-1.sk-1.…` for key prefixes, `eyJ.eyJ.…` for JWTs, `key=key=…` for secret names,
//! `Bearer:Bearer:…` for auth schemes, `aB3/aB3/…` for base64 cut by `/`). Rescanning the run
//! from every token inside it took 54.8 s at 256 KiB. This compares the time for 1 MiB with the time for 64 KiB of the same
//! shape: linear work gives a ratio near 16, quadratic work near 256. The bound, 48, leaves
//! room for a noisy machine without letting quadratic work through. It is a ratio of two
//! measurements on the same machine, never a wall-clock limit.

use route_policy_contract::redact;
use std::time::{Duration, Instant};

const SHAPES: &[&str] = &[
    "a+",
    "a=",
    "key=",
    "eyJ.",
    "sk-1.",
    "Bearer:",
    "api_key=",
    "a-",
    "Basic=",
    "cookie:",
    "x1",
    "//a:b@",
    "%20a",
    // A prefixed key that goes on over `/` and `+`.
    "sk-1/",
    "sk_live_1+",
    "rt_1/",
    "AKIAIOSFODNN7EXAMPLE/",
    // Base64 cut by `/`: one run (a path's and a key's), runs after `=` or a quote, a `/`
    // before a token.
    "aB3/",
    "aB3dE6gH9/",
    "=aB3/",
    "\"/aB3",
    "'+aB3=",
    " wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    // A short bearer value, and prose words after the scheme.
    "Bearer x ",
    "bearer or ",
    "aws_secret_access_key=",
];

/// The fastest of `runs` redactions of `text` (the least disturbed by the rest of the machine).
fn fastest(text: &str, runs: usize) -> Duration {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(redact::text(std::hint::black_box(text)));
            started.elapsed()
        })
        .min()
        .unwrap()
}

fn repeated(shape: &str, bytes: usize) -> String {
    shape.repeat(bytes / shape.len())
}

#[test]
fn redaction_time_grows_linearly_with_the_input() {
    for shape in SHAPES {
        let small = repeated(shape, 64 << 10);
        let large = repeated(shape, 1 << 20);
        // Warm up, then measure each size a few times.
        fastest(&small, 2);
        let small_time = fastest(&small, 7).max(Duration::from_micros(50));
        let large_time = fastest(&large, 3);
        let ratio = large_time.as_secs_f64() / small_time.as_secs_f64();
        assert!(
            ratio < 48.0,
            "`{shape}`: 1 MiB took {large_time:?}, 64 KiB took {small_time:?}: ratio {ratio:.1} (linear is about 16)"
        );
    }
}

#[test]
fn the_long_runs_are_still_redacted() {
    // Linear, and still hiding what it hid before.
    let key = "sk-1.".repeat(1000);
    assert_eq!(redact::text(&key), redact::REDACTED);
    let bearer = format!("Authorization: Bearer {}", "abcdefgh:".repeat(1000));
    assert!(!redact::text(&bearer).contains("abcdefgh"));
    let named = "key=".repeat(1000);
    assert!(redact::contains_secret(&named));
    let jwt = "eyJhbGciOiJ.eyJzdWIiOiJ.c2ln.".repeat(100);
    assert!(!redact::text(&jwt).contains("eyJ"));
    let opaque = "a1+".repeat(1000);
    assert_eq!(redact::text(&opaque), redact::REDACTED);
    let slashed = "aB3dE6gH9/".repeat(1000);
    assert_eq!(redact::text(&slashed), redact::REDACTED);
    let prefixed = format!("sk-proj-{}", "ab/".repeat(1000));
    assert_eq!(redact::text(&prefixed), redact::REDACTED);
    let bearers = "Bearer x ".repeat(1000);
    assert!(!redact::text(&bearers).contains(" x "));
}
