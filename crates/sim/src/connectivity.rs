//! The shape of the overlay among the nodes alive at the end of a run: how many pieces it is
//! in, and how many live nodes have no live neighbour at all. A record cannot reach a piece
//! that holds none of its copies, so these tell a cut-off node from a slow one.

use std::collections::BTreeMap;

use crate::network::NodeIndex;
use crate::sim::Sim;

/// Connected components of the live nodes' active views, links taken both ways.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Connectivity {
    /// Pieces the live overlay is in; 1 is whole.
    pub components: u32,
    /// Live nodes in pieces other than the largest.
    pub outside_largest: u32,
    /// Live nodes whose active view holds no live node.
    pub isolated: u32,
}

/// Measures the live overlay of `sim` now.
pub fn measure(sim: &Sim) -> Connectivity {
    let live: Vec<NodeIndex> = (0..sim.len()).filter(|node| sim.is_up(*node)).collect();
    let mut parent: BTreeMap<NodeIndex, NodeIndex> = live.iter().map(|n| (*n, *n)).collect();
    let mut isolated = 0;
    for node in &live {
        let Some(state) = sim.node(*node) else { continue };
        let mut has_live_neighbour = false;
        for peer in state.overlay().active() {
            let Some(peer) = sim.index(peer).filter(|peer| sim.is_up(*peer)) else { continue };
            has_live_neighbour = true;
            let (a, b) = (root(&mut parent, *node), root(&mut parent, peer));
            if a != b {
                parent.insert(a.max(b), a.min(b));
            }
        }
        isolated += u32::from(!has_live_neighbour);
    }
    let mut sizes: BTreeMap<NodeIndex, u32> = BTreeMap::new();
    for node in &live {
        *sizes.entry(root(&mut parent, *node)).or_default() += 1;
    }
    let largest = sizes.values().copied().max().unwrap_or(0);
    Connectivity {
        components: sizes.len() as u32,
        outside_largest: live.len() as u32 - largest,
        isolated,
    }
}

/// The representative of `node`'s component, compressing the path to it.
fn root(parent: &mut BTreeMap<NodeIndex, NodeIndex>, node: NodeIndex) -> NodeIndex {
    let mut top = node;
    while parent[&top] != top {
        top = parent[&top];
    }
    let mut at = node;
    while parent[&at] != top {
        let next = parent[&at];
        parent.insert(at, top);
        at = next;
    }
    top
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use herald_core::overlay::OverlayConfig;
    use herald_core::{Config, Instant};

    use super::*;
    use crate::network::NetworkModel;

    const NODES: u32 = 12;

    /// Twelve nodes (more than an active view holds) joined through node 0 and settled for a few seconds.
    fn joined_grid() -> Sim {
        let network = NetworkModel::new(Duration::from_millis(10), Duration::ZERO, 0.0);
        let mut sim = Sim::new(NODES, 7, network, Config::default());
        sim.start_all().expect("no violation at start");
        for node in 1..NODES {
            sim.schedule_join(Instant::ZERO + Duration::from_millis(100) * node, node, 0);
        }
        sim.run_until(Instant::ZERO + Duration::from_secs(3)).expect("no violation");
        sim
    }

    /// Nodes in each island of [`two_islands`]: one more than the active view holds, so that
    /// each island is a complete graph and every view is full.
    const ISLAND: u32 = 4;

    /// Two grids of [`ISLAND`] nodes each, joined through nodes 0 and `ISLAND`, with views of
    /// `ISLAND - 1` and membership off. Once their views are full, each node of the second grid
    /// learns one node of the first (a join whose first contact is the node itself only keeps
    /// the spares), so only passive views reach across: a full view asks nobody, and the
    /// overlay stays two islands unless a link swap bridges them.
    fn two_islands(swap_interval: Duration) -> Sim {
        let network = NetworkModel::new(Duration::from_millis(10), Duration::ZERO, 0.0);
        let mut config = Config { membership: None, ..Config::default() };
        config.overlay.swap_interval = swap_interval;
        config.overlay.active_max = ISLAND as usize - 1;
        let mut sim = Sim::new(2 * ISLAND, 8, network, config);
        sim.start_all().expect("no violation at start");
        for node in (1..2 * ISLAND).filter(|node| *node != ISLAND) {
            let contact = if node < ISLAND { 0 } else { ISLAND };
            sim.schedule_join(Instant::ZERO + Duration::from_millis(100) * node, node, contact);
        }
        let taught_at = Instant::ZERO + Duration::from_secs(5);
        for node in ISLAND..2 * ISLAND {
            let contacts = vec![sim.id(node), sim.id(node - ISLAND)];
            sim.schedule_command(taught_at, node, crate::SimCommand::Join { contacts });
        }
        sim.run_until(taught_at).expect("no violation");
        for node in 0..2 * ISLAND {
            let view = sim.node(node).expect("up").overlay().active().len();
            assert_eq!(view, ISLAND as usize - 1, "node {node}'s view is full");
        }
        assert_eq!(measure(&sim).components, 2, "the two grids are apart");
        sim
    }

    #[test]
    fn link_swaps_join_two_islands_whose_passive_views_reach_each_other() {
        let mut sim = two_islands(OverlayConfig::default().swap_interval);
        sim.run_until(Instant::ZERO + Duration::from_secs(1800)).expect("no violation");
        assert_eq!(measure(&sim), Connectivity { components: 1, outside_largest: 0, isolated: 0 });
    }

    #[test]
    fn without_link_swaps_two_islands_stay_apart() {
        let mut sim = two_islands(Duration::from_secs(1_000_000));
        sim.run_until(Instant::ZERO + Duration::from_secs(1800)).expect("no violation");
        assert_eq!(measure(&sim).components, 2);
    }

    #[test]
    fn a_joined_grid_is_one_piece_with_nobody_cut_off() {
        let sim = joined_grid();
        assert_eq!(measure(&sim), Connectivity { components: 1, outside_largest: 0, isolated: 0 });
    }

    #[test]
    fn a_lone_survivor_is_its_own_piece_and_cut_off() {
        let mut sim = joined_grid();
        let now = sim.now();
        for node in 1..NODES {
            sim.schedule_crash(now, node);
        }
        sim.run_until(now).expect("no violation");
        assert_eq!(measure(&sim), Connectivity { components: 1, outside_largest: 0, isolated: 1 });
    }

    #[test]
    fn two_survivors_without_a_live_link_are_two_pieces() {
        let mut sim = joined_grid();
        let now = sim.now();
        // Keep node 0 and one node that is not its neighbour either way.
        let neighbours: Vec<NodeIndex> = sim
            .node(0)
            .expect("up")
            .overlay()
            .active()
            .iter()
            .filter_map(|peer| sim.index(peer))
            .collect();
        let Some(stranger) = (1..NODES).find(|node| {
            !neighbours.contains(node)
                && !sim.node(*node).expect("up").overlay().active().contains(&sim.id(0))
        }) else {
            panic!("node 0 is linked to every other node; the grid is too small for this test")
        };
        for node in (1..NODES).filter(|node| *node != stranger) {
            sim.schedule_crash(now, node);
        }
        sim.run_until(now).expect("no violation");
        assert_eq!(measure(&sim), Connectivity { components: 2, outside_largest: 1, isolated: 2 });
    }
}
