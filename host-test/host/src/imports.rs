//! What a policy may import: exactly what Rust's `std` links on `wasm32-wasip2`, each import
//! granting nothing. A component importing anything else (filesystem, sockets, clocks, random,
//! http) is refused at load, naming the import.
//!
//! The thirteen `wasi:cli` and `wasi:io` interfaces are linked so that none reaches the host:
//! no environment variables or arguments, a closed stdin, stdout thrown away, no terminals,
//! stderr kept (bounded, in the call's store) so that a panic message can be reported.

use crate::store::StoreState;
use wasmtime::component::{Component, HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::p2::bindings::sync::{cli, io};

/// The interfaces a policy may import (any 0.2 version of each): exactly what Rust's `std`
/// links on `wasm32-wasip2`. Everything else is refused.
pub const ALLOWED_IMPORTS: [&str; 13] = [
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
];

struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// A linker with exactly [`ALLOWED_IMPORTS`].
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    let l = &mut linker;
    cli::environment::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::exit::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stdin::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stdout::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stderr::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_input::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_output::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stdin::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stdout::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stderr::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    io::error::add_to_linker::<StoreState, HasIo>(l, |s| &mut s.table)?;
    io::poll::add_to_linker::<StoreState, HasIo>(l, |s| &mut s.table)?;
    io::streams::add_to_linker::<StoreState, HasIo>(l, |s| &mut s.table)?;
    Ok(linker)
}

/// The component's imports, as `(interface, allowed)`.
pub fn list(engine: &wasmtime::Engine, component: &Component) -> Vec<(String, bool)> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| {
            let interface = name.split('@').next().unwrap_or(name);
            (name.to_owned(), ALLOWED_IMPORTS.contains(&interface))
        })
        .collect()
}

/// Refuses a component that imports anything beyond [`ALLOWED_IMPORTS`], naming the first.
pub(crate) fn check(engine: &wasmtime::Engine, component: &Component) -> Result<(), String> {
    let refused: Vec<String> =
        list(engine, component).into_iter().filter(|(_, ok)| !ok).map(|(name, _)| name).collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(format!(
        "it imports {}, which the sandbox does not grant (a policy may import only {})",
        refused.join(", "),
        ALLOWED_IMPORTS.join(", ")
    ))
}
