//! What one site of a floodd configuration means for the herald node that runs it: its name,
//! ports and peers, the definitions of the groups it is in, and the local parameters.
//!
//! Not here: reading the file (`config`) and applying these settings (the CLI's `run` and the
//! node's start-up).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use herald_core::groups::{GroupParams, GroupSpec};

use super::config::{CONFIG_SIZE_MAX, FlooddConfig, GroupDef, SiteDef, parse};

/// The data port a site without `data-port` listens on: herald's own default.
pub const DATA_PORT_DEFAULT: u16 = 7420;

/// Reads the floodd configuration at `path`, refusing a file over [`CONFIG_SIZE_MAX`] before
/// reading it. Errors name the file, and the line and column where the file is wrong.
pub fn load(path: &Path) -> Result<FlooddConfig> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading the floodd configuration {}", path.display()))?
        .len();
    if size > CONFIG_SIZE_MAX as u64 {
        bail!(
            "the floodd configuration {} is {size} bytes long, above the {CONFIG_SIZE_MAX}-byte limit",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the floodd configuration {}", path.display()))?;
    parse(&text).map_err(|error| anyhow::anyhow!("{}, {error}", path.display()))
}

/// This machine's host name, as floodd would match it against `hostname` (empty if unknown).
pub fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

/// One site's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct FlooddSite {
    /// The site's name: the node's petname, by which the groups name it.
    pub name: String,
    /// `data-port`: where peer traffic arrives.
    pub data_port: Option<u16>,
    /// `client-port`: where the line protocol listens.
    pub client_port: Option<u16>,
    /// The other sites, as (host, data port) to contact: the `inet-address` if given, else the
    /// `hostname`.
    pub peers: Vec<(String, u16)>,
    /// The groups this site is in, by name.
    pub groups: Vec<(String, GroupSpec)>,
    /// `export-command`.
    pub export_command: Option<String>,
    /// `data-storage-max`.
    pub data_storage_max: Option<u64>,
    /// `log-purge-period`.
    pub log_purge_period: Option<Duration>,
    /// `site-purge-period`.
    pub site_purge_period: Option<Duration>,
    /// herald's `grid-secret` extension.
    pub grid_secret: Option<String>,
}

impl FlooddSite {
    /// The settings of `site`, one of `config`'s.
    pub fn new(config: &FlooddConfig, site: &SiteDef) -> FlooddSite {
        let peers = config
            .sites
            .iter()
            .filter(|other| other.name != site.name)
            .filter_map(|other| {
                let host = other
                    .inet_address
                    .map(|address| address.to_string())
                    .or_else(|| other.hostname.clone())?;
                Some((host, other.data_port.unwrap_or(DATA_PORT_DEFAULT)))
            })
            .collect();
        let local = &config.local;
        FlooddSite {
            name: site.name.clone(),
            data_port: site.data_port,
            client_port: site.client_port,
            peers,
            groups: config
                .groups_of(&site.name)
                .map(|group| (group.name.clone(), spec_of(group)))
                .collect(),
            export_command: local.export_command.clone(),
            data_storage_max: local.data_storage_max,
            log_purge_period: local.log_purge_period,
            site_purge_period: local.site_purge_period,
            grid_secret: local.grid_secret.as_ref().map(|secret| secret.expose().to_owned()),
        }
    }
}

/// A group's definition as herald publishes it: its sites (the master among them) and its
/// parameters, with the defaults of [`GroupParams`] for those the file leaves out.
pub fn spec_of(group: &GroupDef) -> GroupSpec {
    let mut sites = group.sites.clone();
    if let Some(master) = group.master_site.as_ref().filter(|master| !sites.contains(master)) {
        sites.push(master.clone());
    }
    let base = GroupParams::default();
    let params = GroupParams {
        connectivity: group
            .connectivity
            .map_or(base.connectivity, |k| u8::try_from(k.get()).unwrap_or(u8::MAX)),
        ping_period: group.ping_period.unwrap_or(base.ping_period),
        bandwidth_period: group.bandwidth_period.unwrap_or(base.bandwidth_period),
        estimates_period: group.estimates_period.unwrap_or(base.estimates_period),
        join_period: group.join_period.unwrap_or(base.join_period),
        update_period: group.update_period.unwrap_or(base.update_period),
        master_site: group.master_site.clone(),
        topology_generator: group.topology_generator.clone(),
        access: group.access.unwrap_or(base.access),
    };
    GroupSpec { sites, params }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::floodd::config::parse;

    const SAMPLE: &str = include_str!("../../tests/fixtures/floodd/sample.conf");

    #[test]
    fn the_samples_inferno_site_is_in_mirror_1_and_contacts_master() {
        let config = parse(SAMPLE).unwrap();
        let inferno = config.site("inferno").unwrap();
        let site = FlooddSite::new(&config, inferno);
        assert_eq!(site.name, "inferno");
        assert_eq!((site.data_port, site.client_port), (Some(2001), Some(2000)));
        assert_eq!(site.peers, vec![("valhalla".to_owned(), 2001)]);
        assert_eq!(site.groups.len(), 1);
        let (name, spec) = &site.groups[0];
        assert_eq!(name, "mirror-1");
        assert_eq!(spec.sites, vec!["master".to_owned(), "inferno".to_owned()]);
        assert_eq!(spec.params.ping_period, Duration::from_secs(15));
        assert_eq!(spec.params.update_period, Duration::from_secs(120));
        assert_eq!(spec.params.master_site.as_deref(), Some("master"));
        assert!(spec.check().is_ok());
        assert_eq!(site.export_command.as_deref(), Some("/homes/dante/mirrord/inferno/bin/filer"));
        assert_eq!(site.site_purge_period, Some(Duration::from_secs(600)));
    }
}
