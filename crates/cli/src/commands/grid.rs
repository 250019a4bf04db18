//! `herald grid create`: makes a new grid with this data directory's node as its first server.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use herald_node::datadir::DataDir;

use crate::commands::data_dir::DataDirArg;

/// Grid administration.
#[derive(Args, Debug)]
pub struct GridArgs {
    #[command(subcommand)]
    command: GridCommand,
}

#[derive(Subcommand, Debug)]
enum GridCommand {
    /// Make a new grid: a root key (kept 0600 in the data directory) and this node as its
    /// first server.
    Create {
        #[command(flatten)]
        data_dir: DataDirArg,
        /// This node's petname.
        #[arg(long)]
        name: Option<String>,
    },
}

/// Runs a grid subcommand.
pub fn run(args: GridArgs) -> Result<ExitCode> {
    match args.command {
        GridCommand::Create { data_dir, name } => {
            let data_dir = data_dir.resolve()?;
            let mut data = DataDir::open(&data_dir)?;
            let name = name.unwrap_or_else(|| data.default_name());
            let grid = data.create_grid(&name)?;
            println!("created grid {grid}");
            println!("node id      {}", data.keypair().id());
            println!("data dir     {}", data_dir.display());
            println!("start it with: herald run --data-dir {}", data_dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
