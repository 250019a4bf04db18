//! Where a node lives and listens, as `herald run` and `herald doctor` both read it: the data
//! directory, the configuration file, and the peer and API addresses. Flags win over `HERALD_*`
//! variables, which win over the file, which wins over the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use herald_node::config::{CONFIG_FILE, FileConfig};
use herald_node::{HTTP_DEFAULT, LISTEN_DEFAULT};

use crate::commands::data_dir::DataDirArg;

/// The data directory, configuration file and addresses of a node.
#[derive(Args, Debug)]
pub struct NodePlaceArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    /// A configuration file (default: herald.toml in the data directory, if present).
    #[arg(long, env = "HERALD_CONFIG")]
    config: Option<PathBuf>,
    /// Where peer traffic (QUIC over UDP) arrives; port 0 picks a free port [default: 0.0.0.0:7420].
    #[arg(long, env = "HERALD_LISTEN")]
    listen: Option<SocketAddr>,
    /// Where the HTTP API and dashboard listen [default: 127.0.0.1:7421].
    #[arg(long, env = "HERALD_HTTP")]
    http: Option<SocketAddr>,
}

impl NodePlaceArgs {
    /// The data directory, and the configuration file read as it is (unchecked).
    pub fn data_dir_and_file(&self) -> Result<(PathBuf, FileConfig)> {
        let data_dir = self.data_dir.resolve()?;
        let file = match &self.config {
            Some(path) => FileConfig::load(path, true)?,
            None => FileConfig::load(&data_dir.join(CONFIG_FILE), false)?,
        };
        Ok((data_dir, file))
    }

    /// The peer address: the flag or variable, else the file's, else the default.
    pub fn listen(&self, file: &FileConfig) -> SocketAddr {
        self.listen.or(file.listen).unwrap_or(LISTEN_DEFAULT)
    }

    /// The API address: the flag or variable, else the file's, else the default.
    pub fn http(&self, file: &FileConfig) -> SocketAddr {
        self.http.or(file.http).unwrap_or(HTTP_DEFAULT)
    }

    /// Whether the peer address was given by flag or variable.
    pub fn listen_given(&self) -> bool {
        self.listen.is_some()
    }
}
