//! floodd groups in a run: one group of the first nodes, defined by every member as its
//! configuration would, data messages published to it by random live members, and what the
//! report says of it: whether the members agree on a k-connected topology, whether every
//! acknowledged message reached every live member exactly once and in its origin's order, and
//! how far messages published while the network was split went on their own side.

use std::collections::BTreeSet;
use std::time::Duration;

use herald_core::groups::topology::vertex_connectivity_at_least;
use herald_core::groups::{ComputedBy, GroupParams, GroupSpec};
use herald_core::{Instant, NodeId, Rng};
use serde::Serialize;

use crate::network::NodeIndex;
use crate::report::{Percentiles, millis};
use crate::sim::{Sim, SimCommand};

/// The group every run with groups floods to.
pub const GROUP_NAME: &str = "sim-group";

/// The group of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupScenario {
    /// Members: the first this many nodes.
    pub size: u32,
    /// The topology's connectivity k.
    pub connectivity: u8,
    /// Data messages to publish.
    pub messages: u32,
    /// Bytes per message.
    pub message_bytes: usize,
    /// Time between two messages.
    pub message_interval: Duration,
    /// Whether the first member is the group's master site, which computes the topology for
    /// all (floodd's `master-site`).
    pub master: bool,
    /// floodd's `log-purge-period` on every member, the retention window of delivered
    /// messages; `None` keeps the node's default.
    pub log_purge_period: Option<Duration>,
}

impl Default for GroupScenario {
    fn default() -> GroupScenario {
        GroupScenario {
            size: 50,
            connectivity: 2,
            messages: 20,
            message_bytes: 1024,
            message_interval: Duration::from_millis(100),
            master: false,
            log_purge_period: None,
        }
    }
}

/// What a run's group did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupsReport {
    /// Members of the group.
    pub members: u32,
    /// The connectivity asked for.
    pub connectivity: u8,
    /// Whether every live member computed the same topology (members and edges).
    pub topology_agreed: bool,
    /// Whether that topology is k-vertex-connected (false if the members disagree).
    pub topology_k_connected: bool,
    /// Edges of the topology the first live member computed.
    pub topology_edges: usize,
    /// Live members whose topology is the master site's.
    pub topology_from_master: u32,
    /// Messages acknowledged to their publishers.
    pub messages: u32,
    /// Deliveries to live members other than the origin ÷ (messages × those members).
    pub delivered_fraction: f64,
    /// From publication to delivery, over all deliveries.
    pub latency_ms: Percentiles,
    /// Deliveries of a message a member had delivered before (exactly-once broken).
    pub duplicates: u64,
    /// Deliveries again after a crash that came before the first was committed.
    pub redelivered_after_crash: u64,
    /// First deliveries of a message older than one the member had delivered from the same
    /// origin (per-origin order broken).
    pub order_violations: u64,
    /// Messages published while the network was split.
    pub split_messages: u32,
    /// Of those, deliveries before the network healed to the live members their origin could
    /// reach ÷ (messages × those members): whether messages kept flowing on each side of the
    /// split. 1 when none was published during a split.
    pub split_delivered_fraction: f64,
    /// Bytes of group frames sent per member, over the run.
    pub group_bytes_per_member: f64,
}

impl GroupScenario {
    /// Members define the group at `define_at`; messages start at `first_message`.
    pub fn schedule(
        &self,
        sim: &mut Sim,
        define_at: Instant,
        first_message: Instant,
        downed: &BTreeSet<NodeIndex>,
        rng: &mut Rng,
    ) {
        let members = self.members(sim);
        let spec = GroupSpec {
            sites: members.iter().map(NodeId::to_string).collect(),
            params: GroupParams {
                connectivity: self.connectivity,
                master_site: self.master.then(|| members[0].to_string()),
                ..GroupParams::default()
            },
        };
        for member in 0..self.size.min(sim.len()) {
            let command =
                SimCommand::DefineGroup { name: GROUP_NAME.to_owned(), spec: spec.clone() };
            sim.schedule_command(define_at, member, command);
        }
        let live: Vec<NodeIndex> =
            (0..self.size.min(sim.len())).filter(|node| !downed.contains(node)).collect();
        for index in 0..self.messages {
            if live.is_empty() {
                break;
            }
            let origin = live[rng.index(live.len())];
            let mut body = format!("message {index} ").into_bytes();
            body.resize(self.message_bytes.max(body.len()), b'x');
            let at = first_message + self.message_interval * index;
            sim.schedule_command(
                at,
                origin,
                SimCommand::PublishGroup { group: GROUP_NAME.to_owned(), body },
            );
        }
    }

    fn members(&self, sim: &Sim) -> Vec<NodeId> {
        (0..self.size.min(sim.len())).map(|node| sim.id(node)).collect()
    }

    /// What the group did, at the end of the run.
    pub fn report(&self, sim: &Sim) -> GroupsReport {
        let live: Vec<NodeIndex> =
            (0..self.size.min(sim.len())).filter(|n| sim.is_up(*n)).collect();
        let held: Vec<_> =
            live.iter().filter_map(|node| sim.node(*node)?.groups().topology(GROUP_NAME)).collect();
        let from_master =
            held.iter().filter(|t| matches!(t.computed_by, ComputedBy::Master(_))).count();
        let topologies: Vec<_> = held
            .iter()
            .map(|topology| (topology.members.clone(), topology.edges.clone()))
            .collect();
        let agreed =
            topologies.len() == live.len() && topologies.windows(2).all(|pair| pair[0] == pair[1]);
        let k_connected = agreed
            && topologies.first().is_some_and(|(members, edges)| {
                let index = |id: &NodeId| members.binary_search(id).ok();
                let pairs: Vec<(usize, usize)> = edges
                    .iter()
                    .filter_map(|edge| Some((index(&edge.a)?, index(&edge.b)?)))
                    .collect();
                let k = usize::from(self.connectivity).min(members.len().saturating_sub(1));
                vertex_connectivity_at_least(members.len(), &pairs, k)
            });
        let log = sim.group_log();
        let live_set: BTreeSet<NodeIndex> = live.iter().copied().collect();
        // Every live member but the message's origin should deliver it.
        let expected: u64 = log
            .published
            .values()
            .map(|(_, origin)| live.len() as u64 - u64::from(live_set.contains(origin)))
            .sum();
        let delivered = log
            .deliveries
            .iter()
            .filter(|d| live_set.contains(&d.node) && log.published.contains_key(&d.digest))
            .count() as u64;
        let latencies = log
            .deliveries
            .iter()
            .filter_map(|d| Some(millis(d.at.saturating_since(log.published.get(&d.digest)?.0))))
            .collect();
        // Messages published during a split, against the live members on their origin's side.
        let (mut split_expected, mut split_delivered) = (0u64, 0u64);
        for (id, cut_off) in &log.published_while_split {
            let origin = log.published.get(id).map(|(_, origin)| *origin);
            for node in live.iter().filter(|n| Some(**n) != origin && !cut_off.contains(n)) {
                split_expected += 1;
                split_delivered += u64::from(log.delivered_while_split.contains(&(*node, *id)));
            }
        }
        let stats = sim.total_stats();
        GroupsReport {
            members: self.size.min(sim.len()),
            connectivity: self.connectivity,
            topology_agreed: agreed,
            topology_k_connected: k_connected,
            topology_edges: topologies.first().map_or(0, |(_, edges)| edges.len()),
            topology_from_master: from_master as u32,
            messages: log.published.len() as u32,
            delivered_fraction: if expected == 0 {
                1.0
            } else {
                delivered as f64 / expected as f64
            },
            latency_ms: Percentiles::of(latencies),
            duplicates: log.duplicates,
            redelivered_after_crash: log.redelivered_after_crash,
            order_violations: log.order_violations,
            split_messages: log.published_while_split.len() as u32,
            split_delivered_fraction: if split_expected == 0 {
                1.0
            } else {
                split_delivered as f64 / split_expected as f64
            },
            group_bytes_per_member: stats.group_bytes_out as f64 / f64::from(self.size.max(1)),
        }
    }
}
