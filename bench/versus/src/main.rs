//! `versus`: herald side by side with iroh-gossip, chitchat and foca on the same work, in the
//! same run (issue 21). Each run of one system on one workload is a child process of its own,
//! in a network namespace of its own when it can make one, so that its CPU time, peak memory
//! and bytes on the wire are its alone; herald's run and the peer's alternate.
//!
//! `cargo run --release --manifest-path bench/versus/Cargo.toml -- --json` runs the quick
//! version of all three comparisons and prints one JSON object to stdout and a table to
//! stderr; `--full` runs the sizes issue 21 names.

mod child;
mod figures;
mod plan;
mod report;
mod spawn;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// herald against iroh-gossip, chitchat and foca, in one run.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    child: Option<ChildCommand>,
    #[command(flatten)]
    plan: plan::PlanArgs,
}

#[derive(Subcommand, Debug)]
enum ChildCommand {
    /// One system on one workload, in this process; prints its figures as one JSON line (what
    /// the parent runs in a child process; not meant to be typed).
    #[command(hide = true)]
    Child(child::ChildArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.child {
        Some(ChildCommand::Child(args)) => child::run(&args),
        None => plan::run(&cli.plan),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("versus: {error:#}");
            ExitCode::FAILURE
        }
    }
}
