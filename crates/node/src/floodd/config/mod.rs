//! floodd's s-expression configuration file: [`parse`] reads the text of a file such as the
//! sample in floodd's manual (seed 004) into a [`FlooddConfig`] of [`SiteDef`]s, [`GroupDef`]s
//! and one [`LocalDef`], keeping where each definition starts so that later checks can point at
//! it. Errors ([`ConfigError`]) name the line and column of the problem.
//!
//! The syntax (lists, bare words, quoted strings with the escapes `\"` and `\\`, comments) is
//! read by our own reader in `sexpr`; the parameters of each definition, and the checks across
//! definitions, are in `params`. Input is bounded: at most [`CONFIG_SIZE_MAX`] bytes, lists at
//! most [`NESTING_MAX`] deep.
//!
//! Comments: floodd's manual has comments on lines beginning with `#` or `;`. We also take a `;`
//! after whitespace or a parenthesis as the start of a comment to the end of the line, as Lisp
//! does, so that `(:data-port 2001) ; peers` reads as expected; a `;` inside a word stays in it,
//! and `#` starts a comment only as the first character of a line that is not blank (a `#` in an
//! unquoted command or path is kept). A command that needs a `;` after a space is quoted:
//! `(:export-command "filer ; sync")`.
//!
//! Not here: reading the file from disk, and turning the definitions into a running grid.

mod error;
mod params;
mod sexpr;

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use herald_core::groups::GroupAccess;

pub use error::{ConfigError, Position, Problem, Section, SiteChoiceError};

/// The longest configuration text [`parse`] reads: 1 MiB, far above any real floodd file (the
/// manual's sample is under 1 KiB) and small enough to hold whole.
pub const CONFIG_SIZE_MAX: usize = 1 << 20;

/// The deepest nesting of lists [`parse`] reads. floodd's files nest two deep (a definition and
/// its parameters); the margin only lets the error for a stray `(` be the one about the list.
pub const NESTING_MAX: usize = 16;

/// A whole floodd configuration file.
#[derive(Clone, Debug, PartialEq)]
pub struct FlooddConfig {
    /// The `(:site-define ...)` lists, in file order.
    pub sites: Vec<SiteDef>,
    /// The `(:group-define ...)` lists, in file order.
    pub groups: Vec<GroupDef>,
    /// The `(:local ...)` parameters; a file may give them in several lists.
    pub local: LocalDef,
}

/// One `(:site-define ...)`: a floodd daemon and where to reach it.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteDef {
    /// Where the definition's `(` is.
    pub position: Position,
    /// `site-name`, required and unique in the file.
    pub name: String,
    /// `hostname`: the host's name, not always fully qualified and not always resolvable.
    pub hostname: Option<String>,
    /// `inet-address`.
    pub inet_address: Option<IpAddr>,
    /// `client-port`: the line protocol's port.
    pub client_port: Option<u16>,
    /// `data-port`: the port daemons use between themselves.
    pub data_port: Option<u16>,
    /// `latitude` (or floodd's spelling `lattitude`), or the first value of `coordinate`, in
    /// degrees.
    pub latitude: Option<f64>,
    /// `longitude`, or the second value of `coordinate`, in degrees.
    pub longitude: Option<f64>,
}

/// One `(:group-define ...)`: a distribution group.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupDef {
    /// Where the definition's `(` is.
    pub position: Position,
    /// `group-name`, required and unique in the file.
    pub name: String,
    /// Every `site`, in file order, each defined in the file and listed once.
    pub sites: Vec<String>,
    /// `master-site`, defined in the file.
    pub master_site: Option<String>,
    /// `connectivity`: of the topology the master computes.
    pub connectivity: Option<NonZeroU32>,
    /// `ping-period`: how often to ping a random member for its round-trip time.
    pub ping_period: Option<Duration>,
    /// `bandwidth-period`: how often to estimate the bandwidth to a random member.
    pub bandwidth_period: Option<Duration>,
    /// `estimates-period`: how often to send this site's estimates.
    pub estimates_period: Option<Duration>,
    /// `join-period`: how often to send a join request.
    pub join_period: Option<Duration>,
    /// `update-period`: how often the master computes the topology again.
    pub update_period: Option<Duration>,
    /// `topology-generator`: a shell command that computes the topology.
    pub topology_generator: Option<String>,
    /// herald's `access` extension: `open` (any node of the grid may join) or `listed` (only
    /// the sites listed).
    pub access: Option<GroupAccess>,
}

impl GroupDef {
    /// Whether `site` is listed in the group or is its master.
    pub fn has_member(&self, site: &str) -> bool {
        self.sites.iter().any(|member| member == site) || self.master_site.as_deref() == Some(site)
    }
}

/// The `(:local ...)` parameters: this daemon's own settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalDef {
    /// Where the first `(:local` list is, if there is one.
    pub position: Option<Position>,
    /// `data-storage-max`: bytes of messages kept for delivery.
    pub data_storage_max: Option<u64>,
    /// `export-command`: a shell command that receives messages on standard input.
    pub export_command: Option<String>,
    /// `log-purge-period`: how often to purge the record of received messages.
    pub log_purge_period: Option<Duration>,
    /// `site-purge-period`: how long a silent site is kept.
    pub site_purge_period: Option<Duration>,
    /// `grid-secret` (herald's extension): only nodes that hold it are admitted.
    pub grid_secret: Option<GridSecret>,
}

/// The shared secret of `(:local (:grid-secret "..."))`. Its `Debug` form hides it, so that a
/// logged configuration does not give it away.
#[derive(Clone, PartialEq, Eq)]
pub struct GridSecret(String);

impl GridSecret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for GridSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GridSecret(..)")
    }
}

/// Reads a floodd configuration from its text.
pub fn parse(text: &str) -> Result<FlooddConfig, ConfigError> {
    if text.len() > CONFIG_SIZE_MAX {
        return Err(ConfigError::TooLarge { size: text.len() });
    }
    params::definitions(sexpr::read(text)?)
}

impl FlooddConfig {
    /// The site named `name`.
    pub fn site(&self, name: &str) -> Option<&SiteDef> {
        self.sites.iter().find(|site| site.name == name)
    }

    /// The site this process is: the one named `name` when given, else the one whose hostname
    /// is `hostname`, else the one whose hostname is `hostname`'s first label (`valhalla` for
    /// `valhalla.example.org`). Host names are compared without regard to ASCII case.
    pub fn pick_site(
        &self,
        name: Option<&str>,
        hostname: &str,
    ) -> Result<&SiteDef, SiteChoiceError> {
        let defined = || self.sites.iter().map(|site| site.name.clone()).collect();
        if let Some(name) = name {
            return self.site(name).ok_or_else(|| SiteChoiceError::NoSuchName {
                name: name.to_owned(),
                defined: defined(),
            });
        }
        let label = hostname.split('.').next().unwrap_or(hostname);
        for wanted in [hostname, label] {
            let matching: Vec<&SiteDef> = self
                .sites
                .iter()
                .filter(|site| {
                    site.hostname.as_deref().is_some_and(|host| host.eq_ignore_ascii_case(wanted))
                })
                .collect();
            match matching[..] {
                [] => {}
                [site] => return Ok(site),
                _ => {
                    let matching = matching.iter().map(|site| site.name.clone()).collect();
                    return Err(SiteChoiceError::AmbiguousHost {
                        hostname: wanted.to_owned(),
                        matching,
                    });
                }
            }
        }
        Err(SiteChoiceError::NoSuchHost { hostname: hostname.to_owned(), defined: defined() })
    }

    /// The groups that list `site` or have it as master, in file order.
    pub fn groups_of<'a>(&'a self, site: &'a str) -> impl Iterator<Item = &'a GroupDef> + 'a {
        self.groups.iter().filter(move |group| group.has_member(site))
    }
}

#[cfg(test)]
mod tests;
