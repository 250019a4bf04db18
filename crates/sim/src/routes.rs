//! Whether the live nodes' routing tables are right: every live node has a route to every
//! other, and following each node's own next hop from any source reaches any destination,
//! through live nodes only and without a loop. A table can be complete at each node and still
//! wrong across them, so the walk uses every node's table, as routed messages do.

use std::collections::BTreeMap;
use std::time::Duration;

use herald_core::{NodeId, RecordKind, SlotKey, Version};
use serde::Serialize;

use crate::network::NodeIndex;
use crate::report::Percentiles;
use crate::sim::Sim;

/// The routing tables of the live nodes, checked against each other.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RouteCheck {
    /// Live nodes checked.
    pub nodes: u32,
    /// (source, destination) pairs of live nodes whose source has a route ÷ all such pairs.
    pub complete_fraction: f64,
    /// Pairs whose hop-by-hop walk came back to a node it had passed.
    pub loops: u64,
    /// Pairs whose walk reached a node with no route onwards, or a node that is down.
    pub broken: u64,
    /// Hops of each source's route, over every pair with a route.
    pub hops: Percentiles,
}

impl RouteCheck {
    /// Whether every pair has a route and every walk arrives.
    pub fn is_correct(&self) -> bool {
        self.complete_fraction >= 1.0 && self.loops == 0 && self.broken == 0
    }
}

/// Whether every live node holds the same advertisements (the same version from every origin)
/// and the same view of who is alive: then their tables are computed over one graph, and
/// hop-by-hop walks cannot loop. While an advertisement is still spreading they may, briefly:
/// the check of a run's end waits for this.
pub fn advertisements_agree(sim: &Sim) -> bool {
    let versions = |node: NodeIndex| -> Option<Vec<(NodeId, Version)>> {
        let records = sim.node(node)?.records();
        let held = records
            .origins()
            .filter_map(|(origin, _)| {
                let slot =
                    SlotKey { origin: *origin, family: RecordKind::LinkState, key: String::new() };
                Some((*origin, records.get(&slot)?.record.version))
            })
            .collect();
        Some(held)
    };
    let mut live = (0..sim.len()).filter(|node| sim.is_up(*node));
    let Some(first) = live.next().and_then(versions) else { return true };
    live.all(|node| versions(node).as_ref() == Some(&first)) && sim.membership_converged()
}

/// How long past a run's end its routing check waits for every live node to hold the same
/// advertisements (a maintenance advertisement waits 10 s, and then spreads).
const AGREE_WAIT_MAX: Duration = Duration::from_secs(30);
/// How often the wait looks again.
const AGREE_STEP: Duration = Duration::from_millis(500);

/// Runs `sim` on until every live node's advertisements agree (at most [`AGREE_WAIT_MAX`], and
/// not past a safety violation, which lands in `violation`), then checks the tables. Returns
/// the check and how long it waited: until advertisements agree, one is still spreading and a
/// walk may loop for a moment.
pub(crate) fn check_once_agreed(
    sim: &mut Sim,
    violation: &mut Option<String>,
) -> (RouteCheck, Duration) {
    let ended = sim.now();
    while !advertisements_agree(sim)
        && sim.now().saturating_since(ended) < AGREE_WAIT_MAX
        && violation.is_none()
    {
        let until = sim.now() + AGREE_STEP;
        if let Err(found) = sim.run_until(until) {
            *violation = Some(found.to_string());
        }
    }
    let waited = sim.now().saturating_since(ended);
    (check(sim), waited)
}

/// Checks the live nodes' tables in `sim` now. Nodes without routing have empty tables.
pub fn check(sim: &mut Sim) -> RouteCheck {
    let live: Vec<NodeIndex> = (0..sim.len()).filter(|node| sim.is_up(*node)).collect();
    let mut next_hops: BTreeMap<NodeIndex, BTreeMap<NodeIndex, NodeIndex>> = BTreeMap::new();
    let mut hops = Vec::new();
    for node in &live {
        let routes = sim.node_mut(*node).map(|state| state.next_hops()).unwrap_or_default();
        let mut table = BTreeMap::new();
        for (destination, next_hop, route_hops) in routes {
            let (Some(destination), Some(next_hop)) =
                (sim.index(&destination), sim.index(&next_hop))
            else {
                continue;
            };
            hops.push(f64::from(route_hops));
            table.insert(destination, next_hop);
        }
        next_hops.insert(*node, table);
    }
    let mut check = RouteCheck { nodes: live.len() as u32, ..RouteCheck::default() };
    let mut pairs = 0u64;
    let mut routed = 0u64;
    for source in &live {
        for destination in live.iter().filter(|destination| *destination != source) {
            pairs += 1;
            routed += u64::from(next_hops[source].contains_key(destination));
            match walk(&next_hops, *source, *destination, live.len()) {
                Walk::Arrived => {}
                Walk::Looped => check.loops += 1,
                Walk::Broken => check.broken += 1,
            }
        }
    }
    check.complete_fraction = if pairs == 0 { 1.0 } else { routed as f64 / pairs as f64 };
    check.hops = Percentiles::of(hops);
    check
}

enum Walk {
    Arrived,
    Looped,
    Broken,
}

/// Follows next hops from `source` to `destination`; live nodes are the tables' keys.
fn walk(
    next_hops: &BTreeMap<NodeIndex, BTreeMap<NodeIndex, NodeIndex>>,
    source: NodeIndex,
    destination: NodeIndex,
    live: usize,
) -> Walk {
    let mut at = source;
    // A walk longer than the live nodes has passed one of them twice.
    for _ in 0..live {
        let Some(next) = next_hops.get(&at).and_then(|table| table.get(&destination)) else {
            return Walk::Broken;
        };
        if *next == destination {
            return Walk::Arrived;
        }
        if !next_hops.contains_key(next) {
            return Walk::Broken;
        }
        at = *next;
    }
    Walk::Looped
}
