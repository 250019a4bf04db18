//! Exact connectivity checks: breadth-first search, and vertex-disjoint paths counted by
//! unit-capacity max flow.
//!
//! Vertex-disjoint paths between s and t are a flow in the split graph, where each member v is
//! two nodes, in(v) → out(v) with capacity 1, and each edge u–v is the arcs out(u) → in(v) and
//! out(v) → in(u); the flow runs from out(s) to in(t). By Menger's theorem its value is the
//! number of internally disjoint s–t paths, a direct edge counting as one. Each augmenting path
//! is a breadth-first search of the residual graph, so finding k paths takes O(k(n + m)).
//!
//! Even's test (S. Even, "An algorithm for determining whether the connectivity of a graph is
//! at least k", 1975): a graph of n ≥ k + 1 members is k-connected if and only if
//! 1. any two of members 0..k have k disjoint paths, and
//! 2. for each j from k to n − 1, a new vertex joined to members 0..j has k disjoint paths to
//!    member j.
//!
//! (If fewer than k members S cut the graph, take the part holding the lowest member not in S,
//! and the lowest member j outside S and that part: every member below j is in S or that part,
//! so S separates j from a member below it, or from the new vertex. Conversely, Whitney's
//! theorem gives k disjoint paths between any two members of a k-connected graph, and a new
//! vertex with k neighbours keeps it k-connected.) That is k(k − 1)/2 + n − k flows, so
//! O(k n (n + m)) in all.
/// Where a flow starts.
#[derive(Clone, Copy)]
pub(super) enum Source {
    /// A member, with no limit on the paths through it.
    Member(usize),
    /// A new vertex joined to members 0..j, each of those links carrying one path.
    Joined(usize),
}

/// How a node of the split graph was reached in the search.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    Unseen,
    /// From the source: out(s) itself, or in(v) for a member v joined to the new vertex.
    Start,
    /// The arc between in(v) and out(v) of the node's own member, either way.
    Inner,
    /// Arc `slot`, out(owner) → in(far), forwards.
    Forward(usize),
    /// Arc `slot` backwards: from in(far) to out(owner), cancelling its flow.
    Backward(usize),
}

/// A graph in compressed adjacency form with room for one flow at a time.
pub(super) struct FlowGraph {
    /// Member v's arcs are the slots `start[v]..start[v + 1]`.
    start: Vec<usize>,
    /// The member at the far end of each slot.
    far: Vec<usize>,
    /// The member whose list holds each slot.
    owner: Vec<usize>,
    /// The slot of the opposite arc, out(far) → in(owner).
    twin: Vec<usize>,
    /// Flow on each slot's arc out(owner) → in(far).
    carries: Vec<bool>,
    /// Flow on in(v) → out(v).
    through: Vec<bool>,
    /// Flow on the link from the new vertex of [`Source::Joined`] to v.
    fed: Vec<bool>,
    /// Split node 2v is in(v), 2v + 1 is out(v).
    via: Vec<Via>,
    queue: Vec<usize>,
}

impl FlowGraph {
    /// The graph of the adjacency lists, which must be symmetric and sorted.
    pub(super) fn new(adjacency: &[Vec<usize>]) -> FlowGraph {
        let n = adjacency.len();
        let mut start = Vec::with_capacity(n + 1);
        let (mut far, mut owner) = (Vec::new(), Vec::new());
        for (v, neighbours) in adjacency.iter().enumerate() {
            start.push(far.len());
            far.extend_from_slice(neighbours);
            owner.extend(std::iter::repeat_n(v, neighbours.len()));
        }
        start.push(far.len());
        // Members come in order and each list is sorted, so the arcs back into u are met in
        // the order of u's own list.
        let mut met = start[..n].to_vec();
        let twin = far
            .iter()
            .map(|u| {
                met[*u] += 1;
                met[*u] - 1
            })
            .collect();
        let arcs = far.len();
        FlowGraph {
            start,
            far,
            owner,
            twin,
            carries: vec![false; arcs],
            through: vec![false; n],
            fed: vec![false; n],
            via: vec![Via::Unseen; 2 * n],
            queue: Vec::with_capacity(2 * n),
        }
    }

    fn slots(&self, v: usize) -> std::ops::Range<usize> {
        self.start[v]..self.start[v + 1]
    }

    /// Whether at least `k` internally disjoint paths lead from `source` to member `t`, which
    /// must not be the source nor joined to it.
    pub(super) fn paths_at_least(&mut self, source: Source, t: usize, k: usize) -> bool {
        self.carries.fill(false);
        self.through.fill(false);
        self.fed.fill(false);
        (0..k).all(|_| self.augment(source, t))
    }

    /// Finds one augmenting path to in(t) and sends a unit along it.
    fn augment(&mut self, source: Source, t: usize) -> bool {
        self.via.fill(Via::Unseen);
        self.queue.clear();
        match source {
            Source::Member(s) => self.reach(2 * s + 1, Via::Start),
            Source::Joined(j) => {
                for v in 0..j {
                    if !self.fed[v] {
                        self.reach(2 * v, Via::Start);
                    }
                }
            }
        }
        let sink = 2 * t;
        let mut next = 0;
        while next < self.queue.len() && self.via[sink] == Via::Unseen {
            let node = self.queue[next];
            next += 1;
            let v = node / 2;
            if node.is_multiple_of(2) {
                // in(v): on to out(v) if v carries nothing yet, or back along an arc into v
                // that carries flow, to the member it came from.
                if !self.through[v] {
                    self.reach(2 * v + 1, Via::Inner);
                }
                for slot in self.slots(v) {
                    let back = self.twin[slot];
                    if self.carries[back] {
                        self.reach(2 * self.far[slot] + 1, Via::Backward(back));
                    }
                }
            } else {
                // out(v): back to in(v) if v carries flow, or along an empty arc.
                if self.through[v] {
                    self.reach(2 * v, Via::Inner);
                }
                for slot in self.slots(v) {
                    if !self.carries[slot] {
                        self.reach(2 * self.far[slot], Via::Forward(slot));
                    }
                }
            }
        }
        if self.via[sink] == Via::Unseen {
            return false;
        }
        let mut node = sink;
        loop {
            node = match self.via[node] {
                Via::Start => {
                    // For a joined source the path starts on the link to in(v).
                    if node.is_multiple_of(2) {
                        self.fed[node / 2] = true;
                    }
                    return true;
                }
                Via::Inner => {
                    // Into out(v) from in(v) adds flow; into in(v) from out(v) cancels it.
                    self.through[node / 2] = node % 2 == 1;
                    node ^ 1
                }
                Via::Forward(slot) => {
                    self.carries[slot] = true;
                    2 * self.owner[slot] + 1
                }
                Via::Backward(slot) => {
                    self.carries[slot] = false;
                    2 * self.far[slot]
                }
                Via::Unseen => unreachable!("every node on the search's path was reached"),
            };
        }
    }

    fn reach(&mut self, node: usize, via: Via) {
        if self.via[node] == Via::Unseen {
            self.via[node] = via;
            self.queue.push(node);
        }
    }
}

/// The flows of Even's test on n members, in order: (source, target).
fn even_checks(n: usize, k: usize) -> impl Iterator<Item = (Source, usize)> {
    let pairs = (0..k).flat_map(move |s| (s + 1..k).map(move |t| (Source::Member(s), t)));
    pairs.chain((k..n).map(|j| (Source::Joined(j), j)))
}

/// Symmetric, sorted, deduplicated adjacency lists of `edges` on members 0..n, leaving out
/// loops and edges with an end outside 0..n.
fn adjacency(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut adjacency = vec![Vec::new(); n];
    for (a, b) in edges.iter().copied().filter(|(a, b)| a != b && *a < n && *b < n) {
        adjacency[a].push(b);
        adjacency[b].push(a);
    }
    for neighbours in &mut adjacency {
        neighbours.sort_unstable();
        neighbours.dedup();
    }
    adjacency
}

/// Whether the graph of `edges` on `n` vertices stays connected after removing any k − 1 of
/// them: Even's test by max flow (exact, see the module docs). A graph of n ≤ k vertices is
/// not k-connected (the complete graph on n has connectivity n − 1); every graph is
/// 0-connected.
///
/// Loops, repeated edges and edges with an end outside 0..n are ignored. O(k n (n + m)) for m
/// edges.
pub fn vertex_connectivity_at_least(n: usize, edges: &[(usize, usize)], k: usize) -> bool {
    if k == 0 {
        return true;
    }
    if n <= k {
        return false;
    }
    let adjacency = adjacency(n, edges);
    if adjacency.iter().any(|neighbours| neighbours.len() < k) {
        return false;
    }
    let mut flow = FlowGraph::new(&adjacency);
    even_checks(n, k).all(|(source, t)| flow.paths_at_least(source, t, k))
}

/// Whether every vertex of the graph of `edges` on `n` vertices reaches every other (true for
/// n ≤ 1). Loops and edges with an end outside 0..n are ignored. O(n + m).
pub fn is_connected(n: usize, edges: &[(usize, usize)]) -> bool {
    if n <= 1 {
        return true;
    }
    let adjacency = adjacency(n, edges);
    let mut seen = vec![false; n];
    let mut stack = vec![0];
    seen[0] = true;
    let mut reached = 1;
    while let Some(v) = stack.pop() {
        for u in &adjacency[v] {
            if !std::mem::replace(&mut seen[*u], true) {
                reached += 1;
                stack.push(*u);
            }
        }
    }
    reached == n
}

/// Even's test on a graph that only gains edges, resumed where it last failed: a flow of k
/// paths stays possible when edges are added.
pub(super) struct Resumable {
    k: usize,
    /// How many of Even's flows have passed.
    passed: usize,
}

impl Resumable {
    pub(super) fn new(k: usize) -> Resumable {
        Resumable { k, passed: 0 }
    }

    /// Whether the graph, a supergraph of every graph checked before with the same k + 1 or
    /// more members, is k-connected.
    pub(super) fn holds(&mut self, adjacency: &[Vec<usize>]) -> bool {
        let mut flow = FlowGraph::new(adjacency);
        for (source, t) in even_checks(adjacency.len(), self.k).skip(self.passed) {
            if !flow.paths_at_least(source, t, self.k) {
                return false;
            }
            self.passed += 1;
        }
        true
    }
}
