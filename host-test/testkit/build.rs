//! Finds the outside programs some tests need (Debian's `docker-registry`, `redis-server`) on
//! `PATH` when the tests are built, and says so with a `cfg` per program: `has_docker_registry`,
//! `has_redis_server`. A test that needs a missing program is then built as an ignored test
//! whose reason names the program and its install command (see `src/programs.rs`), so a plain
//! `cargo test` on a fresh machine passes and says what it did not run.
//!
//! `ROUTE_POLICY_REQUIRE_PROGRAMS=1` (set by `.ci/run`) makes every such test mandatory: it is
//! built as a plain test, and fails with the install command when its program is absent.
//!
//! The script runs again when `PATH` or that variable changes, or when a directory on `PATH`
//! changes (a program installed there).

use std::path::Path;

/// `(cfg name, program)`.
const PROGRAMS: [(&str, &str); 2] = [("docker_registry", "docker-registry"), ("redis_server", "redis-server")];

fn main() {
    println!("cargo:rerun-if-env-changed=PATH");
    println!("cargo:rerun-if-env-changed=ROUTE_POLICY_REQUIRE_PROGRAMS");
    println!("cargo:rerun-if-env-changed=ROUTE_POLICY_REGISTRY_BIN");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<_> = std::env::split_paths(&path).filter(|d| d.is_dir()).collect();
    for dir in &dirs {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    let required = std::env::var("ROUTE_POLICY_REQUIRE_PROGRAMS").is_ok_and(|v| v == "1");
    for (cfg, program) in PROGRAMS {
        println!("cargo::rustc-check-cfg=cfg(has_{cfg})");
        let overridden = program == "docker-registry" && std::env::var_os("ROUTE_POLICY_REGISTRY_BIN").is_some();
        let found = overridden || dirs.iter().any(|dir| executable(&dir.join(program)));
        if found || required {
            println!("cargo:rustc-cfg=has_{cfg}");
        }
    }
}

fn executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}
