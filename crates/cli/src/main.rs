//! herald: the command-line binary. Parses arguments, calls the library crates, prints results.
//!
//! Errors are printed as one sentence (the anyhow chain joined by `: `) and mapped to exit
//! status 1; usage errors exit 2 (clap's convention). `main` never returns an anyhow error, so
//! `RUST_BACKTRACE=1` does not turn an error into a backtrace.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod plot;
mod progress;

/// herald: signed service announcements, gossip and flooding for a grid with no central
/// introducer.
#[derive(Parser, Debug)]
#[command(name = "herald", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the deterministic simulator of the protocol: N nodes in one process.
    Sim(commands::sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(args) => commands::sim::run(args),
    };
    match result {
        Ok(code) => code,
        // A reader that went away (`herald sim | head`) is not an error worth a message.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("herald: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
