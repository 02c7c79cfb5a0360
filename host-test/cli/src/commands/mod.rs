//! One module per subcommand.

pub mod bench;
pub mod check;
pub mod demo;
pub mod eval;
pub mod fake_upstream;
pub mod gateway;
pub mod inspect;
pub mod loop_defaults;
pub mod oneshot;
pub mod registry;
pub mod serve;
