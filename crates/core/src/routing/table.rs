//! The routing table: shortest paths over the advertised graph (Dijkstra), from one node.
//!
//! A link counts only if both of its ends advertise it, and costs the larger of the two
//! advertised costs, so every node computes over the same symmetric graph. Then a next hop is
//! always strictly closer to the destination than the node that forwards to it (costs are at
//! least 1), so once every node holds the same advertisements, hop-by-hop forwarding cannot
//! loop, whichever of several equal-cost paths each node picked. Ties are broken by fewer hops,
//! then by node id, so that a node's choice does not depend on iteration order.
//!
//! The search numbers the nodes first (their place in id order) and runs over vectors: over the
//! advertisements as they are held, keyed by 32-byte ids, it was 46 times slower than a plain
//! Dijkstra on a 10,000-node graph (BENCHMARKS.md, "Routing table").

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

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

/// How one destination is reached, by node index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    next_hop: u32,
    previous: u32,
    cost: u64,
    hops: u32,
}

/// Shortest paths from one node to every node it can reach.
///
/// Nodes are numbered by their place in id order, so the search runs over plain vectors and
/// compares integers, and ties broken by index are broken by node id.
#[derive(Clone, Debug, Default)]
pub struct Table {
    source: u32,
    nodes: NodeIndex,
    /// By node index; `None` for the source and for nodes out of reach.
    entries: Vec<Option<Entry>>,
    reachable: usize,
}

/// Node ids in order, found by the first 8 bytes of the id before the whole id is compared.
#[derive(Clone, Debug, Default)]
struct NodeIndex {
    ids: Vec<NodeId>,
    heads: Vec<u64>,
}

impl NodeIndex {
    fn new(ids: Vec<NodeId>) -> NodeIndex {
        let heads = ids.iter().map(head).collect();
        NodeIndex { ids, heads }
    }

    /// The index of `id`, if it is one of the nodes.
    fn of(&self, id: &NodeId) -> Option<u32> {
        let wanted = head(id);
        let first = self.heads.partition_point(|head| *head < wanted);
        (first..self.heads.len())
            .take_while(|at| self.heads[*at] == wanted)
            .find(|at| self.ids[*at] == *id)
            .map(|at| at as u32)
    }
}

/// The first 8 bytes of an id as an integer in the same order as the ids.
fn head(id: &NodeId) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&id.as_bytes()[..8]);
    u64::from_be_bytes(bytes)
}

/// The links both ends advertise, by node index, each with the larger of its two costs.
fn symmetric_links(nodes: &NodeIndex, graph: &BTreeMap<NodeId, LinkState>) -> Vec<Vec<(u32, u32)>> {
    // Advertised links by index; ids and links are both in id order, so each list is sorted.
    let advertised: Vec<Vec<(u32, u32)>> = graph
        .values()
        .map(|state| {
            state.links.iter().filter_map(|(peer, cost)| Some((nodes.of(peer)?, *cost))).collect()
        })
        .collect();
    advertised
        .iter()
        .enumerate()
        .map(|(node, links)| {
            links
                .iter()
                .filter_map(|(peer, cost)| {
                    let theirs = &advertised[*peer as usize];
                    let back = theirs.binary_search_by_key(&(node as u32), |(n, _)| *n).ok()?;
                    Some((*peer, (*cost).max(theirs[back].1)))
                })
                .collect()
        })
        .collect()
}

impl Table {
    /// The table of `source` over `graph`, every node's advertisement by its origin.
    pub fn compute(source: NodeId, graph: &BTreeMap<NodeId, LinkState>) -> Table {
        let nodes = NodeIndex::new(graph.keys().copied().collect());
        let Some(from) = nodes.of(&source) else {
            return Table { nodes, ..Table::default() };
        };
        let links = symmetric_links(&nodes, graph);
        let count = nodes.ids.len();
        let mut entries: Vec<Option<Entry>> = vec![None; count];
        let mut best: Vec<(u64, u32)> = vec![(u64::MAX, u32::MAX); count];
        let mut settled = vec![false; count];
        best[from as usize] = (0, 0);
        let mut queue = BinaryHeap::from([Reverse((0u64, 0u32, from, from))]);
        while let Some(Reverse((cost, hops, node, next_hop))) = queue.pop() {
            // A node is expanded once, from its best (cost, hops); later queue entries for it
            // are stale.
            if std::mem::replace(&mut settled[node as usize], true) {
                continue;
            }
            for (neighbor, link_cost) in &links[node as usize] {
                let candidate = (cost + u64::from(*link_cost), hops + 1);
                if best[*neighbor as usize] <= candidate {
                    continue;
                }
                best[*neighbor as usize] = candidate;
                let first_hop = if node == from { *neighbor } else { next_hop };
                let (cost, hops) = candidate;
                entries[*neighbor as usize] =
                    Some(Entry { next_hop: first_hop, previous: node, cost, hops });
                queue.push(Reverse((cost, hops, *neighbor, first_hop)));
            }
        }
        entries[from as usize] = None;
        let reachable = entries.iter().flatten().count();
        Table { source: from, nodes, entries, reachable }
    }

    fn entry(&self, destination: &NodeId) -> Option<&Entry> {
        self.entries.get(self.nodes.of(destination)? as usize)?.as_ref()
    }

    /// The neighbour to send a message for `destination` to, if it is reachable.
    pub fn next_hop(&self, destination: &NodeId) -> Option<NodeId> {
        self.entry(destination).map(|entry| self.nodes.ids[entry.next_hop as usize])
    }

    /// Destinations reachable.
    pub fn len(&self) -> usize {
        self.reachable
    }

    /// Whether no destination is reachable.
    pub fn is_empty(&self) -> bool {
        self.reachable == 0
    }

    /// The route to `destination`, with its whole path.
    pub fn route(&self, destination: &NodeId) -> Option<Route> {
        let entry = self.entry(destination)?;
        let mut path = vec![*destination];
        let mut at = entry.previous;
        // A path has at most one node per entry; the bound only guards the walk.
        while at != self.source && path.len() <= self.reachable {
            path.push(self.nodes.ids[at as usize]);
            at = self.entries[at as usize]?.previous;
        }
        path.push(self.nodes.ids[self.source as usize]);
        path.reverse();
        let next_hop = self.nodes.ids[entry.next_hop as usize];
        Some(Route { destination: *destination, next_hop, cost: entry.cost, path })
    }

    /// (destination, next hop, hops) of every route, by destination: the table without the
    /// paths.
    pub fn next_hops(&self) -> impl Iterator<Item = (NodeId, NodeId, u32)> + '_ {
        self.entries.iter().enumerate().filter_map(|(at, entry)| {
            let entry = entry.as_ref()?;
            Some((self.nodes.ids[at], self.nodes.ids[entry.next_hop as usize], entry.hops))
        })
    }

    /// Every route, by destination.
    pub fn routes(&self) -> impl Iterator<Item = Route> + '_ {
        self.next_hops().filter_map(|(destination, _, _)| self.route(&destination))
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
