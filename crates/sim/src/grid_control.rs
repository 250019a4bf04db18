//! Tahoe grid control in a run: nodes publish `grid-control` announcements with random
//! recommendations, and a grid manager publishes its list of servers, then takes one out of
//! service. The report says whether every live node computes the same reachability from the
//! same start over what it holds, and how soon the live nodes held the manager's removal.
//!
//! When some nodes recommend nobody, the last of them is an intruder: nobody recommends it, and
//! it announces a service. With the forwarding policy on at every node, the report says how
//! far the intruder's announcement went, and what share of the announcements each node should
//! keep (those of the nodes it reaches) it held at the end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use herald_core::grid_control::{
    GRID_CONTROL_SERVICE, KNOWN_KINDS, ManagerList, Recommendation, reachable, recommendation,
};
use herald_core::{Announcement, Instant, Keypair, NodeId, RecordKind, Rng, SlotKey};
use serde::Serialize;

use crate::network::NodeIndex;
use crate::report::{Percentiles, millis};
use crate::sim::{Sim, SimCommand};

/// The node that keeps the manager key and publishes its lists.
const KEEPER: NodeIndex = 0;
/// The kind of recommendation reachability is checked over, and the forwarding policy follows.
const POLICY_KIND: &str = KNOWN_KINDS[0];
/// The service the intruder announces.
const INTRUSION_SERVICE: &str = "storage";

/// The grid control of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct GridControlScenario {
    /// Nodes that publish a `grid-control` announcement: the first this many (all if more).
    pub recommenders: u32,
    /// Recommendations in each announcement, each of a random recommender, for the known kinds
    /// in turn (so that every recommender has edges of both kinds from two recommendations on,
    /// and node 0's walk has somewhere to start). Servers recommend servers: drawn from all
    /// nodes, the targets would mostly be nodes that recommend nobody, and the walks would stop
    /// after a hop or two.
    pub recommendations_each: u32,
    /// Time between two recommenders' announcements.
    pub publish_interval: Duration,
    /// Servers on the manager's first list: the nodes after the keeper (node 0).
    pub servers: u32,
    /// How long after its first list the manager publishes the list without the first server.
    pub removal_after: Duration,
    /// Whether every node keeps and forwards announcements only from the nodes it reaches over
    /// `send-shares-to` (the forwarding policy).
    pub policy: bool,
}

impl Default for GridControlScenario {
    fn default() -> GridControlScenario {
        GridControlScenario {
            recommenders: 100,
            recommendations_each: 4,
            publish_interval: Duration::from_millis(10),
            servers: 10,
            removal_after: Duration::from_secs(5),
            policy: false,
        }
    }
}

/// What a run's grid control did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GridControlReport {
    /// Nodes that published recommendations.
    pub recommenders: u32,
    /// Recommendation edges published, all kinds.
    pub edges: u64,
    /// Nodes reachable from node 0 over `send-shares-to`, as node 0 computes it.
    pub reachable_from_first: usize,
    /// Live nodes that compute exactly that set (from node 0, over what they hold).
    pub reachability_agreed: u32,
    /// Live nodes at the end.
    pub live: u32,
    /// Live nodes other than the keeper that hold the manager's removal ÷ those nodes.
    pub removal_seen_fraction: f64,
    /// From the removal's publication to each of those nodes storing it.
    pub removal_seen_ms: Percentiles,
    /// Whether the forwarding policy ran.
    pub policy: bool,
    /// Live nodes other than the intruder that hold its announcement (none without an
    /// intruder: when every node recommends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intruder_holders: Option<u32>,
    /// Over every live node and every recommender it reaches by the recommendations as
    /// published: the share of those recommenders' `grid-control` announcements it holds.
    pub reachable_held_fraction: f64,
}

impl GridControlScenario {
    /// The manager key of a run with `seed`.
    pub fn manager(seed: u64) -> Keypair {
        let mut secret = *blake3::hash(b"herald-sim grid manager").as_bytes();
        secret[..8].copy_from_slice(&seed.to_le_bytes());
        Keypair::from_secret(secret)
    }

    /// The kind of recommendation the forwarding policy follows, when it is on.
    pub fn policy_kind(&self) -> Option<&'static str> {
        self.policy.then_some(POLICY_KIND)
    }

    /// The node nobody recommends that announces a service, if some nodes recommend nobody.
    fn intruder(&self, sim: &Sim) -> Option<NodeIndex> {
        (self.recommenders < sim.len()).then(|| sim.len() - 1)
    }

    /// Recommenders announce from `start` on, and the intruder too; the manager lists its
    /// servers at `start` and removes the first after [`GridControlScenario::removal_after`].
    pub fn schedule(&self, sim: &mut Sim, start: Instant, seed: u64, rng: &mut Rng) {
        let nodes = sim.len();
        let recommenders = self.recommenders.min(nodes);
        for index in 0..recommenders {
            let list: Vec<serde_json::Value> = (0..self.recommendations_each)
                .map(|n| {
                    let who = sim.id(rng.below(u64::from(recommenders)) as NodeIndex);
                    let what = KNOWN_KINDS[n as usize % KNOWN_KINDS.len()];
                    Recommendation::new(who, format!("n{n}"), what)
                        .expect("a known kind and a short petname are valid")
                        .to_json()
                })
                .collect();
            let payload = serde_json::json!({ "recommendations": list }).to_string().into_bytes();
            let at = start + self.publish_interval * index;
            let announcement = Announcement {
                service: GRID_CONTROL_SERVICE.to_owned(),
                payload,
                issued_at_ms: at.as_micros() / 1000,
                seq: None,
            };
            sim.schedule_command(at, index, SimCommand::Announce(announcement));
        }
        if let Some(intruder) = self.intruder(sim) {
            let announcement = Announcement {
                service: INTRUSION_SERVICE.to_owned(),
                payload: br#"{"furl": "pb://unrecommended"}"#.to_vec(),
                issued_at_ms: start.as_micros() / 1000,
                seq: None,
            };
            sim.schedule_command(start, intruder, SimCommand::Announce(announcement));
        }
        let servers: Vec<NodeId> =
            (1..=self.servers.min(nodes.saturating_sub(1))).map(|node| sim.id(node)).collect();
        let first = ManagerList { servers: servers.iter().copied().collect() };
        let manager = GridControlScenario::manager(seed);
        let publish = |list: ManagerList| SimCommand::PublishManagerList {
            manager: Box::new(manager.clone()),
            list,
        };
        sim.schedule_command(start, KEEPER, publish(first.clone()));
        if let Some(removed) = servers.first() {
            let second = first.without(*removed).expect("the first server is listed");
            sim.schedule_command(start + self.removal_after, KEEPER, publish(second));
        }
    }

    /// When the last of it is published, from the start given to `schedule`.
    pub fn ends(&self) -> Duration {
        (self.publish_interval * self.recommenders).max(self.removal_after)
    }

    /// What the grid control did, at the end of `sim` (run with `seed`).
    pub fn report(&self, sim: &Sim, seed: u64) -> GridControlReport {
        let live: Vec<NodeIndex> = (0..sim.len()).filter(|node| sim.is_up(*node)).collect();
        let first = sim.id(0);
        let mut parsed = ParsedRecommendations::default();
        let mut reach_of = |node: NodeIndex| {
            let state = sim.node(node)?;
            Some(reachable(first, POLICY_KIND, None, |id| {
                parsed.of(state.grid_control_record(*id)?)
            }))
        };
        let expected = reach_of(0).unwrap_or_default();
        let agreed =
            live.iter().filter(|node| reach_of(**node).as_ref() == Some(&expected)).count();
        let edges = (0..self.recommenders.min(sim.len()))
            .filter_map(|node| sim.node(node)?.grid_control_record(sim.id(node)))
            .map(|record| recommendation::parse_lenient(&record.record.payload).len() as u64)
            .sum();
        let (fraction, seen) = self.removal_seen(sim, seed, &live);
        let intruder_holders = self.intruder(sim).map(|intruder| {
            let slot = SlotKey {
                origin: sim.id(intruder),
                family: RecordKind::Announcement,
                key: INTRUSION_SERVICE.to_owned(),
            };
            let holds = |node: &&NodeIndex| {
                **node != intruder
                    && sim.node(**node).is_some_and(|n| n.records().get(&slot).is_some())
            };
            live.iter().filter(holds).count() as u32
        });
        GridControlReport {
            recommenders: self.recommenders.min(sim.len()),
            edges,
            reachable_from_first: expected.len(),
            reachability_agreed: agreed as u32,
            live: live.len() as u32,
            removal_seen_fraction: fraction,
            removal_seen_ms: Percentiles::of(seen),
            policy: self.policy,
            intruder_holders,
            reachable_held_fraction: self.reachable_held_fraction(sim, &live),
        }
    }

    /// Over every live node and every recommender it reaches by the lists as their publishers
    /// hold them: the share of those recommenders' announcements the node holds.
    fn reachable_held_fraction(&self, sim: &Sim, live: &[NodeIndex]) -> f64 {
        let published: BTreeMap<NodeId, Vec<Recommendation>> =
            (0..self.recommenders.min(sim.len()))
                .filter_map(|node| {
                    let id = sim.id(node);
                    let record = sim.node(node)?.grid_control_record(id)?;
                    Some((id, recommendation::parse_lenient(&record.record.payload)))
                })
                .collect();
        let (mut owed, mut held) = (0u64, 0u64);
        for node in live {
            let Some(state) = sim.node(*node) else { continue };
            for reached in reachable(sim.id(*node), POLICY_KIND, None, |id| published.get(id)) {
                if published.contains_key(&reached.node) {
                    owed += 1;
                    held += u64::from(state.grid_control_record(reached.node).is_some());
                }
            }
        }
        if owed == 0 { 1.0 } else { held as f64 / owed as f64 }
    }

    /// The fraction of live nodes other than the keeper that stored the manager's second list,
    /// and how long after its publication each did.
    fn removal_seen(&self, sim: &Sim, seed: u64, live: &[NodeIndex]) -> (f64, Vec<f64>) {
        let manager = GridControlScenario::manager(seed).id();
        let slot = SlotKey { origin: manager, family: RecordKind::ManagerList, key: String::new() };
        let followers: Vec<NodeIndex> =
            live.iter().copied().filter(|node| *node != KEEPER).collect();
        let removal = sim
            .node(KEEPER)
            .and_then(|keeper| keeper.records().get(&slot))
            .filter(|record| record.record.version.seq == 2)
            .map(|record| record.digest());
        let Some((digest, published)) =
            removal.and_then(|digest| Some((digest, *sim.published().get(&digest)?)))
        else {
            return (0.0, Vec::new());
        };
        let mut seen_at: BTreeMap<NodeIndex, Instant> = BTreeMap::new();
        for delivery in sim.deliveries().iter().filter(|delivery| delivery.digest == digest) {
            seen_at.entry(delivery.node).or_insert(delivery.at);
        }
        let seen: Vec<f64> = followers
            .iter()
            .filter_map(|node| seen_at.get(node))
            .map(|at| millis(at.saturating_since(published)))
            .collect();
        let fraction =
            if followers.is_empty() { 1.0 } else { seen.len() as f64 / followers.len() as f64 };
        (fraction, seen)
    }
}

/// Recommendations parsed once per record allocation: the simulator's nodes share each
/// record's allocation, so thousands of nodes' walks parse each announcement once.
#[derive(Default)]
struct ParsedRecommendations {
    by_record: BTreeMap<usize, Arc<[Recommendation]>>,
}

impl ParsedRecommendations {
    fn of(&mut self, record: &Arc<herald_core::SignedRecord>) -> Option<Arc<[Recommendation]>> {
        let key = Arc::as_ptr(record) as usize;
        let parsed = self
            .by_record
            .entry(key)
            .or_insert_with(|| recommendation::parse_lenient(&record.record.payload).into());
        Some(parsed.clone())
    }
}
