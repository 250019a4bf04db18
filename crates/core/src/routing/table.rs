//! The routing table: shortest paths over the advertised graph (Dijkstra), from one node.
//!
//! A link counts only if both of its ends advertise it, and costs the larger of the two
//! advertised costs, so every node computes over the same symmetric graph. Then a next hop is
//! always strictly closer to the destination than the node that forwards to it (costs are at
//! least 1), so once every node holds the same advertisements, hop-by-hop forwarding cannot
//! loop, whichever of several equal-cost paths each node picked. Ties are broken by fewer hops,
//! then by node id, so that a node's choice does not depend on iteration order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use super::LinkState;
use crate::id::NodeId;

/// One destination's route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The destination.
    pub destination: NodeId,
    /// The neighbour a message for it goes to first.
    pub next_hop: NodeId,
    /// The path's cost: the sum of its links' costs, in milliseconds of round trip.
    pub cost: u64,
    /// The nodes from this node to the destination, both included.
    pub path: Vec<NodeId>,
}

/// How one destination is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    next_hop: NodeId,
    previous: NodeId,
    cost: u64,
    hops: u32,
}

/// Shortest paths from one node to every node it can reach.
#[derive(Clone, Debug, Default)]
pub struct Table {
    source: Option<NodeId>,
    entries: BTreeMap<NodeId, Entry>,
}

impl Table {
    /// The table of `source` over `graph`, every node's advertisement by its origin.
    pub fn compute(source: NodeId, graph: &BTreeMap<NodeId, LinkState>) -> Table {
        let mut entries: BTreeMap<NodeId, Entry> = BTreeMap::new();
        let mut best: BTreeMap<NodeId, (u64, u32)> = BTreeMap::from([(source, (0, 0))]);
        let mut settled: BTreeSet<NodeId> = BTreeSet::new();
        let mut queue = BinaryHeap::from([Reverse((0u64, 0u32, source, source))]);
        while let Some(Reverse((cost, hops, node, next_hop))) = queue.pop() {
            // A node is expanded once, from its best (cost, hops); later queue entries for it
            // are stale.
            if !settled.insert(node) {
                continue;
            }
            let Some(links) = graph.get(&node) else { continue };
            for (neighbor, advertised) in &links.links {
                let Some(back) = graph.get(neighbor).and_then(|theirs| theirs.cost_to(&node))
                else {
                    continue;
                };
                let candidate = (cost + u64::from((*advertised).max(back)), hops + 1);
                if best.get(neighbor).is_some_and(|known| *known <= candidate) {
                    continue;
                }
                best.insert(*neighbor, candidate);
                let first_hop = if node == source { *neighbor } else { next_hop };
                let (cost, hops) = candidate;
                entries
                    .insert(*neighbor, Entry { next_hop: first_hop, previous: node, cost, hops });
                queue.push(Reverse((candidate.0, candidate.1, *neighbor, first_hop)));
            }
        }
        entries.remove(&source);
        Table { source: Some(source), entries }
    }

    /// The neighbour to send a message for `destination` to, if it is reachable.
    pub fn next_hop(&self, destination: &NodeId) -> Option<NodeId> {
        self.entries.get(destination).map(|entry| entry.next_hop)
    }

    /// Destinations reachable.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no destination is reachable.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The route to `destination`, with its whole path.
    pub fn route(&self, destination: &NodeId) -> Option<Route> {
        let entry = self.entries.get(destination)?;
        let mut path = vec![*destination];
        let mut at = entry.previous;
        // A path has at most one node per entry; the bound only guards the walk.
        while Some(at) != self.source && path.len() <= self.entries.len() {
            path.push(at);
            at = self.entries.get(&at)?.previous;
        }
        path.push(at);
        path.reverse();
        Some(Route { destination: *destination, next_hop: entry.next_hop, cost: entry.cost, path })
    }

    /// (destination, next hop, hops) of every route, by destination: the table without the
    /// paths.
    pub fn next_hops(&self) -> impl Iterator<Item = (NodeId, NodeId, u32)> + '_ {
        self.entries.iter().map(|(destination, entry)| (*destination, entry.next_hop, entry.hops))
    }

    /// Every route, by destination.
    pub fn routes(&self) -> impl Iterator<Item = Route> + '_ {
        self.entries.keys().filter_map(|destination| self.route(destination))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> NodeId {
        NodeId::from_bytes([n; 32])
    }

    /// A graph from undirected links (a, b, cost), each advertised by both ends.
    fn graph(links: &[(u8, u8, u32)]) -> BTreeMap<NodeId, LinkState> {
        let mut graph: BTreeMap<NodeId, LinkState> = BTreeMap::new();
        for (a, b, cost) in links {
            graph.entry(id(*a)).or_default().links.push((id(*b), *cost));
            graph.entry(id(*b)).or_default().links.push((id(*a), *cost));
        }
        for state in graph.values_mut() {
            state.links.sort();
        }
        graph
    }

    #[test]
    fn the_cheapest_path_wins_over_the_shortest() {
        // 1 - 2 - 3 - 4 costs 3; 1 - 4 directly costs 10.
        let table = Table::compute(id(1), &graph(&[(1, 2, 1), (2, 3, 1), (3, 4, 1), (1, 4, 10)]));
        let route = table.route(&id(4)).unwrap();
        assert_eq!(route.path, vec![id(1), id(2), id(3), id(4)]);
        assert_eq!((route.next_hop, route.cost), (id(2), 3));
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn a_link_advertised_by_one_end_only_does_not_count() {
        let mut half = graph(&[(1, 2, 1), (2, 3, 1)]);
        half.get_mut(&id(1)).unwrap().links.push((id(3), 1));
        let table = Table::compute(id(1), &half);
        assert_eq!(table.route(&id(3)).unwrap().path, vec![id(1), id(2), id(3)]);
        // Nor does a node with no advertisement of its own.
        half.remove(&id(2));
        let table = Table::compute(id(1), &half);
        assert!(table.is_empty(), "{table:?}");
    }

    #[test]
    fn a_link_costs_the_larger_of_its_two_advertised_costs() {
        let mut uneven = graph(&[(1, 2, 1), (2, 3, 1), (1, 3, 1)]);
        uneven.get_mut(&id(3)).unwrap().links = vec![(id(1), 50), (id(2), 1)];
        let table = Table::compute(id(1), &uneven);
        assert_eq!(table.route(&id(3)).unwrap().path, vec![id(1), id(2), id(3)]);
    }

    #[test]
    fn equal_costs_prefer_fewer_hops() {
        // 1 - 2 - 4 costs 3 in two hops; 1 - 3 - 5 - 4 costs 3 in three.
        let links = [(1, 2, 1), (2, 4, 2), (1, 3, 1), (3, 5, 1), (5, 4, 1)];
        let table = Table::compute(id(1), &graph(&links));
        assert_eq!(table.route(&id(4)).unwrap().path, vec![id(1), id(2), id(4)]);
    }

    #[test]
    fn unreachable_nodes_have_no_route() {
        let table = Table::compute(id(1), &graph(&[(1, 2, 1), (3, 4, 1)]));
        assert!(table.route(&id(3)).is_none());
        assert_eq!(table.next_hop(&id(4)), None);
        assert_eq!(table.next_hop(&id(2)), Some(id(2)));
    }
}
