//! A group's overlay topology of a given connectivity, computed from measured costs.
//!
//! floodd (the Harvest replicator) floods a group's data over an overlay graph that stays
//! connected while fewer than k members fail: the graph is k-vertex-connected. Its topology
//! generator chose, under degree bounds, the graph that minimises a weighted sum of the graph's
//! diameter and its total edge cost, from the round-trip estimates the members gossip
//! (Obraczka and Danzig, "Flooding for reliable multicast", and the Harvest replication work).
//! Every member runs [`compute`] itself over the same estimates, so the result is a pure,
//! bit-for-bit deterministic function of its inputs.
//!
//! # The objective
//!
//! The diameter is counted in hops: floodd stores and forwards a message at every member it
//! crosses, so hops, not the sum of round trips, bound how long a flood takes to reach the last
//! member. The objective is `diameter_weight × diameter + cost_weight × total cost`, with the
//! total cost the sum of the edges' round trips in milliseconds ([`Topology::objective`]).
//!
//! # The algorithm
//!
//! Members are numbered by their place in the sorted list, so ties broken by index are broken
//! by node id, and an unmeasured pair costs [`TopologyParams::unknown_cost_ms`].
//!
//! 1. A cheap ring: a nearest-neighbour tour from member 0, shortened by 2-opt moves for a
//!    bounded number of passes (`construct`).
//! 2. A cheap k-connected graph (`construct`): for k = 1 a degree-bounded minimum spanning
//!    tree (Prim); otherwise the cheaper, within the degree bound, of two graphs. One links
//!    only members close on the ring: each to the r next for even k = 2r (a Harary graph), and
//!    for odd k ≥ 3 a ladder whose rungs are consecutive pairs of the ring and whose two rails
//!    are such powers of a ring (the prism C(n/2)^r × K2 is (2r+1)-connected). The other grows
//!    from k + 1 members all linked, each next member along the ring linking to its k cheapest
//!    predecessors, and then loses its dearest edges while it stays k-connected: it follows
//!    costs that are not metric, or unmeasured, where the ring's neighbours are no cheaper
//!    than anyone.
//! 3. Shortcuts (`improve`): in rounds, each trying to lower the hop diameter by one, the edge
//!    between the neighbourhoods of a farthest pair that shortens the most farthest pairs per
//!    millisecond is added, until no pair is left at the old diameter. A round whose edges cost
//!    more than its diameter gain is worth is undone, and the phase ends.
//! 4. Pruning (`improve`): edges whose two ends have more than k links, dearest first, are
//!    removed when the graph stays k-connected (one max flow between the two ends suffices) and
//!    no pair moves beyond the diameter.
//! 5. The result is checked k-connected with Even's max-flow test ([`vertex_connectivity_at_least`])
//!    before it is returned.
//!
//! Adding edges never lowers connectivity, and every removal is checked, so every step keeps
//! the graph k-connected; the final check only guards against a mistake in that reasoning (the
//! step-2 graph, k-connected by construction, would be returned instead).
//!
//! # Complexity
//!
//! For n members, m edges (at most n × degree bound / 2) and hop diameter D:
//! - the ring: O(n²) for the tour and per 2-opt pass (at most 4);
//! - the grown graph: O(n²), then one max flow of O(k(n + m)) per edge to prune it;
//! - the shortcuts: O(n²) each, an exact update of the all-pairs hop distances (an n × n
//!   matrix of `u16`), and O(24² × 256) to compare candidates; at most n of them;
//! - the pruning: at most 512 tries of O(k(n + m) + D(n + m)n/64), a max flow and a
//!   bit-parallel breadth-first search from every member;
//! - the final check: O(k n (n + m)).
//!
//! At 1,000 members and k = 3 this is a few tenths of a second in a release build
//! (`crates/bench/benches/topology.rs`); at 4,096 members and k = 2, about 8 s. Groups above [`IMPROVE_MEMBERS_MAX`] members get the
//! step-2 graph alone, k-connected by construction and not checked, so that time and memory
//! stay bounded.
//!
//! # Determinism
//!
//! The same members, costs and parameters give the same [`Topology`], on every platform and in
//! every build: integer arithmetic only (costs `u32`, sums `u64`, comparisons of products in
//! `u128`), no hashing, no clock, no randomness, and every choice ordered by cost then index.
//! The order in which costs were set does not matter.
//!
//! [`naive`] is the baseline the benchmark and the tests compare against: the cheapest edges
//! first until the graph is k-connected.

mod connectivity;
mod construct;
mod hops;
mod improve;
#[cfg(test)]
mod tests;

pub use connectivity::{is_connected, vertex_connectivity_at_least};

use crate::id::NodeId;

/// The cost [`TopologyParams::default`] assumes for an unmeasured pair, and the one [`naive`]
/// uses: a second, dearer than any measured round trip on Earth, so unmeasured pairs are the
/// last choice (a guess).
pub const UNKNOWN_COST_MS_DEFAULT: u32 = 1000;

/// Groups up to this size are improved and checked; larger ones get the construction alone.
/// The improvement keeps all hop distances (32 MiB at this size).
pub const IMPROVE_MEMBERS_MAX: usize = 4096;

/// A stored cost that means "not measured".
const UNMEASURED: u32 = u32::MAX;

/// Symmetric round-trip costs between members, in whole milliseconds, indexed by position in
/// the sorted member list.
///
/// Only one triangle is stored. A pair never set, a member paired with itself, or a pair beyond
/// the matrix's size has no measurement. A cost of `u32::MAX` is stored as `u32::MAX - 1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostMatrix {
    members: usize,
    /// Pair (a, b) with a < b at `b × (b − 1) / 2 + a`; [`UNMEASURED`] if not set.
    costs: Vec<u32>,
}

impl CostMatrix {
    /// A matrix for `n` members with no measurement yet.
    pub fn new(n: usize) -> CostMatrix {
        CostMatrix { members: n, costs: vec![UNMEASURED; n * n.saturating_sub(1) / 2] }
    }

    /// The number of members the matrix is for.
    pub fn len(&self) -> usize {
        self.members
    }

    /// Whether the matrix is for no member.
    pub fn is_empty(&self) -> bool {
        self.members == 0
    }

    fn slot(&self, a: usize, b: usize) -> Option<usize> {
        let (low, high) = (a.min(b), a.max(b));
        (low != high && high < self.members).then(|| high * (high - 1) / 2 + low)
    }

    /// Records the cost between members `a` and `b`, in either order. A pair of one member
    /// with itself, or beyond the matrix's size, is ignored.
    pub fn set(&mut self, a: usize, b: usize, cost_ms: u32) {
        if let Some(slot) = self.slot(a, b) {
            self.costs[slot] = cost_ms.min(UNMEASURED - 1);
        }
    }

    /// The cost between members `a` and `b`, if it was measured.
    pub fn get(&self, a: usize, b: usize) -> Option<u32> {
        let cost = self.costs[self.slot(a, b)?];
        (cost != UNMEASURED).then_some(cost)
    }
}

/// What [`compute`] aims for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologyParams {
    /// k: the graph stays connected while fewer than k members fail. 0 asks for no edges.
    /// Default 2: a flood survives any one member failing (a guess).
    pub connectivity: usize,
    /// The most links a member should have. Values below `connectivity + 1` count as
    /// `connectivity + 1`, the least every construction here can keep to (an odd group with odd
    /// k has no k-regular graph). Default `2 × connectivity + 2`, room for a shortcut or two
    /// per member (a guess).
    pub degree_max: usize,
    /// The objective's weight of one hop of diameter. Default 1000: a hop less is worth an
    /// extra second of summed link round trips. Chosen on the benchmark's model (1,000 members
    /// in a square 150 ms across, k = 3), where weights of 0, 100, 1000 and 3000 give 60, 45,
    /// 17 and 9 hops for 7.5, 7.9, 12.2 and 21.8 s of summed round trips.
    pub diameter_weight: u32,
    /// The objective's weight of one millisecond of summed link round trips. Default 1.
    pub cost_weight: u32,
    /// The cost assumed for a pair with no measurement. Default [`UNKNOWN_COST_MS_DEFAULT`].
    pub unknown_cost_ms: u32,
}

impl Default for TopologyParams {
    fn default() -> TopologyParams {
        let connectivity = 2;
        TopologyParams {
            connectivity,
            degree_max: 2 * connectivity + 2,
            diameter_weight: 1000,
            cost_weight: 1,
            unknown_cost_ms: UNKNOWN_COST_MS_DEFAULT,
        }
    }
}

/// One overlay link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// The lower id of its two ends.
    pub a: NodeId,
    /// The higher id.
    pub b: NodeId,
    /// Its cost in milliseconds: the measured round trip plus a chunk's crossing time, or the
    /// assumed cost of an unmeasured pair.
    pub cost_ms: u32,
}

/// A group's overlay graph and what it achieves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// The links, sorted by (a, b).
    pub edges: Vec<Edge>,
    /// The vertex connectivity the graph is guaranteed: the k asked for, or n − 1 for a group
    /// of n ≤ k members (the complete graph), or 0 with no edge.
    pub connectivity: usize,
    /// The most hops between two members; `None` if some pair is not connected.
    pub diameter_hops: Option<u32>,
    /// The sum of the edges' costs, in milliseconds.
    pub cost_ms: u64,
}

impl Topology {
    /// `diameter_weight × diameter + cost_weight × cost`, saturating at `u64::MAX` (which a
    /// disconnected graph scores).
    pub fn objective(&self, params: &TopologyParams) -> u64 {
        let Some(diameter) = self.diameter_hops else { return u64::MAX };
        let total = u128::from(params.diameter_weight) * u128::from(diameter)
            + u128::from(params.cost_weight) * u128::from(self.cost_ms);
        u64::try_from(total).unwrap_or(u64::MAX)
    }
}

/// Costs as the algorithm sees them: every pair has one.
#[derive(Clone, Copy)]
struct Costs<'a> {
    matrix: &'a CostMatrix,
    unknown_ms: u32,
}

impl Costs<'_> {
    fn of(&self, a: usize, b: usize) -> u32 {
        self.matrix.get(a, b).unwrap_or(self.unknown_ms)
    }
}

/// An undirected simple graph on members 0..n, each adjacency list sorted.
#[derive(Clone)]
struct Graph {
    adjacency: Vec<Vec<usize>>,
}

impl Graph {
    fn new(n: usize) -> Graph {
        Graph { adjacency: vec![Vec::new(); n] }
    }

    fn len(&self) -> usize {
        self.adjacency.len()
    }

    fn degree(&self, v: usize) -> usize {
        self.adjacency[v].len()
    }

    fn has(&self, a: usize, b: usize) -> bool {
        self.adjacency[a].binary_search(&b).is_ok()
    }

    /// Adds the edge a–b; a loop or an edge already there changes nothing.
    fn add(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        for (from, to) in [(a, b), (b, a)] {
            if let Err(at) = self.adjacency[from].binary_search(&to) {
                self.adjacency[from].insert(at, to);
            }
        }
    }

    fn remove(&mut self, a: usize, b: usize) {
        for (from, to) in [(a, b), (b, a)] {
            if let Ok(at) = self.adjacency[from].binary_search(&to) {
                self.adjacency[from].remove(at);
            }
        }
    }

    /// Every edge once, as (low, high), sorted.
    fn edges(&self) -> Vec<(usize, usize)> {
        let mut edges = Vec::new();
        for (a, neighbours) in self.adjacency.iter().enumerate() {
            edges.extend(neighbours.iter().filter(|b| **b > a).map(|b| (a, *b)));
        }
        edges
    }

    fn complete(n: usize) -> Graph {
        Graph { adjacency: (0..n).map(|v| (0..n).filter(|u| *u != v).collect()).collect() }
    }
}

/// The topology for `members` that [`TopologyParams`] asks for: k-connected, degrees between k
/// and the degree bound, and a low `diameter_weight × hops + cost_weight × cost`.
///
/// `members` must be sorted and distinct (checked in debug builds only); `costs` is indexed by
/// position in it. With k = 0 or at most one member there are no edges; with n ≤ k members,
/// the complete graph (connectivity n − 1). See the module docs for the algorithm.
pub fn compute(members: &[NodeId], costs: &CostMatrix, params: &TopologyParams) -> Topology {
    debug_assert!(members.windows(2).all(|pair| pair[0] < pair[1]), "members sorted, distinct");
    let n = members.len();
    let k = params.connectivity;
    let costs = Costs { matrix: costs, unknown_ms: params.unknown_cost_ms };
    if k == 0 || n <= 1 {
        return topology(members, costs, &Graph::new(n), 0);
    }
    if n <= k {
        return topology(members, costs, &Graph::complete(n), n - 1);
    }
    let degree_max = params.degree_max.max(k + 1);
    let built = construct::build(costs, n, k, degree_max);
    if n > IMPROVE_MEMBERS_MAX {
        return topology(members, costs, &built, k);
    }
    let weights = improve::Weights {
        diameter: u128::from(params.diameter_weight),
        cost: u128::from(params.cost_weight),
    };
    let mut graph = built.clone();
    let diameter = improve::add_shortcuts(&mut graph, costs, degree_max, weights);
    if weights.cost > 0 {
        improve::prune(&mut graph, costs, k, Some(diameter), improve::PRUNE_ATTEMPTS_MAX);
    }
    let checked = vertex_connectivity_at_least(n, &graph.edges(), k);
    debug_assert!(checked, "every improvement step keeps the graph {k}-connected");
    topology(members, costs, if checked { &graph } else { &built }, k)
}

/// The baseline: the cheapest pairs first (ties by index, so by id), until the graph is
/// k-vertex-connected. Unmeasured pairs cost [`UNKNOWN_COST_MS_DEFAULT`]; degrees are not
/// bounded. The same edge cases as [`compute`].
///
/// The max-flow check waits until every degree is at least k, and resumes where it stopped:
/// a pair of members that had k disjoint paths keeps them as edges are added.
pub fn naive(members: &[NodeId], costs: &CostMatrix, k: usize) -> Topology {
    debug_assert!(members.windows(2).all(|pair| pair[0] < pair[1]), "members sorted, distinct");
    let n = members.len();
    let costs = Costs { matrix: costs, unknown_ms: UNKNOWN_COST_MS_DEFAULT };
    if k == 0 || n <= 1 {
        return topology(members, costs, &Graph::new(n), 0);
    }
    if n <= k {
        return topology(members, costs, &Graph::complete(n), n - 1);
    }
    let mut pairs: Vec<(u32, usize, usize)> =
        (0..n).flat_map(|b| (0..b).map(move |a| (costs.of(a, b), a, b))).collect();
    pairs.sort_unstable();
    let mut graph = Graph::new(n);
    let mut below_k = n;
    let mut check = connectivity::Resumable::new(k);
    for (_, a, b) in pairs {
        graph.add(a, b);
        below_k -= usize::from(graph.degree(a) == k) + usize::from(graph.degree(b) == k);
        if below_k == 0 && check.holds(&graph.adjacency) {
            break;
        }
    }
    topology(members, costs, &graph, k)
}

/// The public form of `graph`, with its diameter and cost.
fn topology(members: &[NodeId], costs: Costs, graph: &Graph, connectivity: usize) -> Topology {
    let edges: Vec<Edge> = graph
        .edges()
        .into_iter()
        .map(|(a, b)| Edge { a: members[a], b: members[b], cost_ms: costs.of(a, b) })
        .collect();
    let cost_ms = edges.iter().map(|edge| u64::from(edge.cost_ms)).sum();
    let diameter_hops = hops::diameter(&graph.adjacency);
    Topology { edges, connectivity, diameter_hops, cost_ms }
}
