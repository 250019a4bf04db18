//! Where the data directory is when no flag names it. Node commands and client commands share
//! this rule, so that a client finds the address and token its node recorded.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

/// `--data-dir`, flattened into every command that works on a node's data directory.
#[derive(Args, Debug, Clone, Default)]
pub struct DataDirArg {
    /// The node's data directory, where it keeps its key, store, API address and token
    /// [default: $XDG_DATA_HOME/herald, else ~/.local/share/herald].
    #[arg(long = "data-dir", env = "HERALD_DATA_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl DataDirArg {
    /// The directory named, else the default; an error when neither can be found.
    pub fn resolve(&self) -> Result<PathBuf> {
        resolve_data_dir(self.dir.clone())
    }
}

/// `flag`, else the platform's user data directory + `herald`; an error when none can be
/// found.
fn resolve_data_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    match flag.or_else(default_data_dir) {
        Some(dir) => Ok(dir),
        None => bail!("no data directory: pass --data-dir or set HERALD_DATA_DIR"),
    }
}

/// `$XDG_DATA_HOME/herald`, else `$HOME/.local/share/herald`; `None` when neither is set.
pub fn default_data_dir() -> Option<PathBuf> {
    data_dir_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

fn data_dir_from(xdg: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    if let Some(xdg) = xdg.filter(|value| !value.is_empty()) {
        return Some(PathBuf::from(xdg).join("herald"));
    }
    home.filter(|value| !value.is_empty())
        .map(|home| PathBuf::from(home).join(".local/share/herald"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_prefers_xdg_data_home_then_home() {
        let dir = |xdg: Option<&str>, home: Option<&str>| {
            data_dir_from(xdg.map(Into::into), home.map(Into::into))
        };
        assert_eq!(dir(Some("/x"), Some("/h")), Some(PathBuf::from("/x/herald")));
        assert_eq!(dir(Some(""), Some("/h")), Some(PathBuf::from("/h/.local/share/herald")));
        assert_eq!(dir(None, Some("/h")), Some(PathBuf::from("/h/.local/share/herald")));
        assert_eq!(dir(None, None), None);
    }

    #[test]
    fn a_flag_wins() {
        let flag = PathBuf::from("/given");
        assert_eq!(DataDirArg { dir: Some(flag.clone()) }.resolve().unwrap(), flag);
    }
}
