//! `herald config check FILE`, and the checks of a configuration file's values that `herald
//! run` shares with it.
//!
//! `herald.toml` is parsed by herald-node ([`FileConfig`]: unknown keys and bad types are
//! errors with line and column); the values whose meaning the CLI knows (the log format, the
//! forwarding policy's kind) are checked here.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use herald_core::grid_control::KNOWN_KINDS;
use herald_core::grid_control::recommendation::check_what;
use herald_node::config::FileConfig;

use crate::commands::logging::LogFormat;

/// Arguments of `herald config`.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ConfigAction,
}

/// `herald config` subcommands.
#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Check a configuration file (herald.toml) without running a node; prints its settings.
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// A configuration file's values, checked.
#[derive(Debug)]
pub struct CheckedFile {
    /// The file as read.
    pub file: FileConfig,
    /// Its `log_format`, if it sets one.
    pub log_format: Option<LogFormat>,
    /// What a user should know but that does not stop a node, one sentence each.
    pub warnings: Vec<String>,
}

/// Checks the values of `file` that the CLI gives a meaning to.
pub fn checked(file: FileConfig) -> Result<CheckedFile> {
    let log_format = match file.log_format.as_deref() {
        None => None,
        Some(name) => Some(LogFormat::from_str(name, true).map_err(|_| {
            anyhow!("log_format in the configuration file must be text or json, not {name:?}")
        })?),
    };
    let mut warnings = Vec::new();
    if let Some(what) = &file.forward_only_reachable {
        check_what(what).map_err(|error| {
            anyhow!("forward_only_reachable in the configuration file: {error}")
        })?;
        if !KNOWN_KINDS.contains(&what.as_str()) {
            warnings.push(format!(
                "forward_only_reachable names {what:?}, a kind Tahoe does not know ({}): only \
                 announcements of nodes recommended for exactly that kind will be kept",
                KNOWN_KINDS.join(", ")
            ));
        }
    }
    Ok(CheckedFile { file, log_format, warnings })
}

/// `herald config check FILE`: exit 0 and the settings if the file is good, else exit 1 with
/// the first fault.
pub fn run(args: ConfigArgs) -> Result<()> {
    let ConfigAction::Check { file: path } = args.action;
    let checked = checked(FileConfig::load(&path, true)?)?;
    for warning in &checked.warnings {
        eprintln!("warning: {warning}");
    }
    print!("{}: ok\n{}", path.display(), as_toml(&checked.file));
    Ok(())
}

/// The settings `file` makes, as herald.toml lines: what `config check` prints of a file, and
/// `run --print-config` of the effective configuration.
pub fn as_toml(file: &FileConfig) -> String {
    let quoted = |text: String| format!("{text:?}");
    let mut lines = vec![
        ("listen", file.listen.map(|address| quoted(address.to_string()))),
        ("http", file.http.map(|address| quoted(address.to_string()))),
        ("name", file.name.clone().map(quoted)),
    ];
    let peers: Vec<String> = file.peers.iter().map(|peer| quoted(peer.to_string())).collect();
    lines.push(("peers", (!peers.is_empty()).then(|| format!("[{}]", peers.join(", ")))));
    lines.push(("open", file.open.map(|open| open.to_string())));
    lines.push(("log_format", file.log_format.clone().map(quoted)));
    lines.push(("forward_only_reachable", file.forward_only_reachable.clone().map(quoted)));
    lines.into_iter().filter_map(|(key, value)| Some(format!("{key} = {}\n", value?))).collect()
}
