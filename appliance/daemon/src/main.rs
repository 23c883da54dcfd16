//! The `appliance` binary: parses flags, sets up logging and runs the chosen subcommand.

mod cluster_command;
mod commands;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use appliance::cli::{exit, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let outcome = match cli.command {
        Command::Up(args) => commands::up(args),
        Command::Format(args) => commands::format(args),
        Command::Status(args) => commands::status(args),
        Command::Scrub(args) => commands::scrub(args),
        Command::Rebuild(args) => commands::rebuild(args),
        Command::Cluster(args) => cluster_command::cluster(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("appliance: {err:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
