//! A group's definition: its member sites and floodd's group parameters, carried as the payload
//! of a [`RecordKind::GroupDefinition`](crate::RecordKind::GroupDefinition) record.
//!
//! Every member that reads the group from its configuration publishes the definition it read,
//! keyed by the group's name. When members hold different definitions of one group (a
//! configuration being rolled out), the newest wins everywhere: the highest issue time, then
//! the highest origin id. So every member computes the topology from the same definition once
//! the records have spread, and an edited configuration takes effect when the first member
//! restarts with it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::record::{SignedRecord, decode_payload, encode_payload};

/// Sites a group may list, at most.
pub const GROUP_SITES_MAX: usize = 1024;

/// Longest site name, in bytes (a profile name's limit).
pub const SITE_NAME_LEN_MAX: usize = crate::PROFILE_NAME_LEN_MAX;

/// A group's definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSpec {
    /// The member sites: a node id, or a name that a node's profile carries.
    pub sites: Vec<String>,
    /// floodd's group parameters.
    pub params: GroupParams,
}

/// floodd's group parameters (seed 004).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupParams {
    /// The connectivity k of the topology. Default 2.
    pub connectivity: u8,
    /// How often a member pings a random other member to measure the round trip.
    pub ping_period: Duration,
    /// How often a member estimates the bandwidth to a random other member.
    pub bandwidth_period: Duration,
    /// How often a member shares its estimates.
    pub estimates_period: Duration,
    /// How often a member repeats its join request.
    pub join_period: Duration,
    /// How often the topology is computed again from new estimates.
    pub update_period: Duration,
    /// The site that computes the topology, if one does.
    pub master_site: Option<String>,
    /// The command that computes the topology at the master site, if one does.
    pub topology_generator: Option<String>,
    /// Who may be a member besides the listed sites.
    pub access: GroupAccess,
}

/// A group's access rule: who may join it besides the sites its definition lists. Every node
/// is admitted to the grid first (its certificate, or the grid secret); this narrows who of
/// those may take part in the group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupAccess {
    /// Any node of the grid that asks to join (floodd's rule: a site sends the master a join
    /// request). The default.
    #[default]
    Open,
    /// Only the sites the definition lists; a join request from another node is refused.
    Listed,
}

impl GroupAccess {
    /// The configuration's spelling: `open` or `listed`.
    pub fn name(self) -> &'static str {
        match self {
            GroupAccess::Open => "open",
            GroupAccess::Listed => "listed",
        }
    }
}

impl std::str::FromStr for GroupAccess {
    type Err = ();

    /// `open` or `listed`, in any ASCII case.
    fn from_str(text: &str) -> Result<GroupAccess, ()> {
        [GroupAccess::Open, GroupAccess::Listed]
            .into_iter()
            .find(|access| access.name().eq_ignore_ascii_case(text))
            .ok_or(())
    }
}

impl Default for GroupParams {
    /// The seed's sample configuration's periods (ping 15 s, bandwidth 60 s, estimates 30 s,
    /// update 120 s); floodd gives no join period, so 60 s; connectivity 2 so that one failure
    /// never splits the group.
    fn default() -> GroupParams {
        GroupParams {
            connectivity: 2,
            ping_period: Duration::from_secs(15),
            bandwidth_period: Duration::from_secs(60),
            estimates_period: Duration::from_secs(30),
            join_period: Duration::from_secs(60),
            update_period: Duration::from_secs(120),
            master_site: None,
            topology_generator: None,
            access: GroupAccess::Open,
        }
    }
}

/// Why a definition was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// No sites, too many, or a site name empty or too long.
    #[error(
        "a group lists 1 to {GROUP_SITES_MAX} sites, each named with 1 to {SITE_NAME_LEN_MAX} bytes"
    )]
    BadSites,
    /// Connectivity 0.
    #[error("a group's connectivity is at least 1")]
    BadConnectivity,
    /// A period of zero.
    #[error("a group's periods are longer than zero")]
    ZeroPeriod,
}

impl GroupSpec {
    /// Checks the bounds every definition keeps.
    pub fn check(&self) -> Result<(), SpecError> {
        let bad_name = |name: &String| name.is_empty() || name.len() > SITE_NAME_LEN_MAX;
        if self.sites.is_empty()
            || self.sites.len() > GROUP_SITES_MAX
            || self.sites.iter().any(bad_name)
        {
            return Err(SpecError::BadSites);
        }
        if self.params.connectivity == 0 {
            return Err(SpecError::BadConnectivity);
        }
        let params = &self.params;
        let periods = [
            params.ping_period,
            params.bandwidth_period,
            params.estimates_period,
            params.join_period,
            params.update_period,
        ];
        if periods.contains(&Duration::ZERO) {
            return Err(SpecError::ZeroPeriod);
        }
        Ok(())
    }

    /// The record payload.
    pub fn encode(&self) -> Vec<u8> {
        encode_payload(self)
    }

    /// Reads a record payload; `None` unless it is exactly one definition within bounds.
    pub fn decode(bytes: &[u8]) -> Option<GroupSpec> {
        decode_payload::<GroupSpec>(bytes).filter(|spec| spec.check().is_ok())
    }
}

/// Of several definitions of one group, the one that wins: the newest by issue time, then by
/// origin id.
pub fn winning_definition<'a>(
    definitions: impl IntoIterator<Item = &'a SignedRecord>,
) -> Option<(&'a SignedRecord, GroupSpec)> {
    definitions
        .into_iter()
        .filter_map(|record| Some((record, GroupSpec::decode(&record.record.payload)?)))
        .max_by_key(|(record, _)| (record.record.issued_at_ms, record.record.origin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Keypair;
    use crate::record::{Record, RecordKind, Version};

    fn spec(sites: &[&str]) -> GroupSpec {
        GroupSpec {
            sites: sites.iter().map(|s| s.to_string()).collect(),
            params: GroupParams::default(),
        }
    }

    fn definition(secret: u8, issued_at_ms: u64, spec: &GroupSpec) -> SignedRecord {
        let keypair = Keypair::from_secret([secret; 32]);
        Record {
            origin: keypair.id(),
            kind: RecordKind::GroupDefinition,
            key: "g".into(),
            version: Version::new(0, 1),
            issued_at_ms,
            payload: spec.encode(),
        }
        .sign(&keypair)
        .unwrap()
    }

    #[test]
    fn a_definition_round_trips_and_bad_ones_are_refused() {
        let good = spec(&["master", "inferno"]);
        assert_eq!(GroupSpec::decode(&good.encode()), Some(good.clone()));
        assert_eq!(spec(&[]).check(), Err(SpecError::BadSites));
        assert_eq!(spec(&[""]).check(), Err(SpecError::BadSites));
        let mut zero = good.clone();
        zero.params.connectivity = 0;
        assert_eq!(GroupSpec::decode(&zero.encode()), None);
        let mut period = good;
        period.params.ping_period = Duration::ZERO;
        assert_eq!(period.check(), Err(SpecError::ZeroPeriod));
    }

    #[test]
    fn the_newest_definition_wins_then_the_highest_origin() {
        let old = definition(1, 100, &spec(&["a"]));
        let new = definition(2, 200, &spec(&["a", "b"]));
        let (record, won) = winning_definition([&old, &new]).unwrap();
        assert_eq!((record, won.sites.len()), (&new, 2));
        let tie_low = definition(1, 200, &spec(&["x"]));
        let (record, _) = winning_definition([&tie_low, &new, &old]).unwrap();
        let highest = if new.record.origin > tie_low.record.origin { &new } else { &tie_low };
        assert_eq!(record, highest);
    }
}
