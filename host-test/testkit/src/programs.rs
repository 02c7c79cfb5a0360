//! Tests that need an outside program. Each macro wraps test functions: where the program was
//! found when the tests were built (or `ROUTE_POLICY_REQUIRE_PROGRAMS=1`), they are plain
//! tests; elsewhere they are ignored, and `cargo test` prints why and how to install it:
//!
//! ```text
//! test registry::a_signed_artifact_pulled_by_digest_serves_and_is_kept ... ignored, needs docker-registry (not found on PATH when the tests were built): apt-get install docker-registry
//! ```
//!
//! ```ignore
//! route_policy_testkit::needs_docker_registry! {
//!     #[test]
//!     fn pulls_a_policy() { /* … */ }
//! }
//! ```

/// The install command of each program, for the messages of tests that need one.
pub const INSTALL: [(&str, &str); 2] =
    [("docker-registry", "apt-get install docker-registry"), ("redis-server", "apt-get install redis-server")];

/// What a test that needs `program` says when it starts it and it is not there.
pub fn missing(program: &str) -> String {
    let install = INSTALL.iter().find(|(p, _)| *p == program).map_or("install it", |(_, i)| i);
    format!(
        "this test needs `{program}`, which is not on PATH: {install} (or unset ROUTE_POLICY_REQUIRE_PROGRAMS to skip it)"
    )
}

/// Test functions that need Debian's `docker-registry`.
#[cfg(has_docker_registry)]
#[macro_export]
macro_rules! needs_docker_registry {
    ($($test:item)*) => { $($test)* };
}

/// Test functions that need Debian's `docker-registry`: ignored here, where it was not found.
#[cfg(not(has_docker_registry))]
#[macro_export]
macro_rules! needs_docker_registry {
    ($($(#[$meta:meta])* fn $name:ident $args:tt $body:block)*) => {
        $(
            $(#[$meta])*
            #[ignore = "needs docker-registry (not found on PATH when the tests were built): apt-get install docker-registry"]
            fn $name $args $body
        )*
    };
}

/// Test functions that need Debian's `redis-server`.
#[cfg(has_redis_server)]
#[macro_export]
macro_rules! needs_redis_server {
    ($($test:item)*) => { $($test)* };
}

/// Test functions that need Debian's `redis-server`: ignored here, where it was not found.
#[cfg(not(has_redis_server))]
#[macro_export]
macro_rules! needs_redis_server {
    ($($(#[$meta:meta])* fn $name:ident $args:tt $body:block)*) => {
        $(
            $(#[$meta])*
            #[ignore = "needs redis-server (not found on PATH when the tests were built): apt-get install redis-server"]
            fn $name $args $body
        )*
    };
}
