//! The `route-policy` command as a library: the command line (`cli`), one module per command
//! (`commands`), and the measurements `route-policy bench` and the criterion benches share
//! (`bench`). The binary (`src/main.rs`) only calls [`main`].

pub mod bench;
mod cli;
mod commands;

pub use cli::main;
