//! The `appliance` binary: parses flags and wires the engine, the HTTP server and the CLI commands.

use std::process::ExitCode;

use clap::Parser;

use appliance::cli::{exit, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    eprintln!(
        "appliance: {:?} is not available until the storage engine lands",
        cli.command
    );
    ExitCode::from(exit::FAILURE)
}
