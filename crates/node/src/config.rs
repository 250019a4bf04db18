//! `herald.toml`: the node's configuration file. Flags override environment variables
//! (`HERALD_*`), which override the file; the CLI applies that order. Unknown keys are errors.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// The file's name inside the data directory, read when `--config` is not given.
pub const CONFIG_FILE: &str = "herald.toml";

/// Everything `herald.toml` may set. Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Peer traffic address (QUIC over UDP). Default `0.0.0.0:7420`.
    pub listen: Option<SocketAddr>,
    /// HTTP API address. Default `127.0.0.1:7421`.
    pub http: Option<SocketAddr>,
    /// This node's petname.
    pub name: Option<String>,
    /// Addresses to contact at start.
    #[serde(default)]
    pub peers: Vec<SocketAddr>,
    /// Admit anyone who knows an address.
    pub open: Option<bool>,
    /// `text` (default) or `json` logs.
    pub log_format: Option<String>,
    /// Keep and forward announcements only from nodes reachable over recommendations of this
    /// kind, such as `send-shares-to` (Tahoe grid control; default: all announcements).
    pub forward_only_reachable: Option<String>,
}

impl FileConfig {
    /// Reads `path`; a missing file is an empty configuration only when `required` is false.
    pub fn load(path: &Path, required: bool) -> Result<FileConfig> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(FileConfig::default());
            }
            Err(error) => {
                return Err(error).with_context(|| format!("reading {}", path.display()));
            }
        };
        toml::from_str(&text).map_err(|error| {
            // toml's own text spans several lines with a drawing of the line; one line is
            // enough: where (its first line) and what (its message).
            let at = error.to_string().lines().next().unwrap_or_default().to_owned();
            anyhow::anyhow!("{}: {at}: {}", path.display(), error.message().trim())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses() {
        let config: FileConfig = toml::from_str(
            "listen = \"127.0.0.1:9000\"\nhttp = \"127.0.0.1:9001\"\nname = \"a\"\npeers = [\"127.0.0.1:9002\"]\nopen = true\n",
        )
        .unwrap();
        assert_eq!(config.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(config.peers.len(), 1);
        assert_eq!(config.open, Some(true));
    }

    #[test]
    fn the_forwarding_policy_names_a_kind() {
        let config: FileConfig =
            toml::from_str("forward_only_reachable = \"send-shares-to\"\n").unwrap();
        assert_eq!(config.forward_only_reachable.as_deref(), Some("send-shares-to"));
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it_with_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.toml");
        std::fs::write(&path, "name = \"a\"\nlisen = \"x\"\n").unwrap();
        let error = format!("{:#}", FileConfig::load(&path, true).unwrap_err());
        assert!(error.contains("line 2, column 1"), "{error}");
        assert!(error.contains("unknown field `lisen`"), "{error}");
        assert_eq!(error.lines().count(), 1, "one line: {error}");
    }

    #[test]
    fn a_missing_optional_file_is_empty_but_a_missing_required_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.toml");
        assert_eq!(FileConfig::load(&path, false).unwrap(), FileConfig::default());
        assert!(FileConfig::load(&path, true).is_err());
    }
}
