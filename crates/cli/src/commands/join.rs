//! `herald join CODE`: joins a grid with an invitation code, storing the membership
//! certificate and contacts so that a later `herald run` starts as a member.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use herald_node::join::{JoinOptions, join};

use crate::commands::data_dir::DataDirArg;

/// Joins a grid with an invitation code.
#[derive(Args, Debug)]
pub struct JoinArgs {
    /// The invitation code printed by `herald invite`.
    code: String,
    #[command(flatten)]
    data_dir: DataDirArg,
    /// This node's petname.
    #[arg(long)]
    name: Option<String>,
}

/// Runs the join.
pub fn run(args: JoinArgs) -> Result<ExitCode> {
    let data_dir = args.data_dir.resolve()?;
    let options = JoinOptions { data_dir: data_dir.clone(), name: args.name };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let joined = runtime.block_on(join(&args.code, &options))?;
    println!("joined grid {} as a {}", joined.grid, joined.role.name());
    println!("node id      {}", joined.id);
    println!("admitted by  {}", joined.admitted_by);
    println!("start it with: herald run --data-dir {}", data_dir.display());
    Ok(ExitCode::SUCCESS)
}
