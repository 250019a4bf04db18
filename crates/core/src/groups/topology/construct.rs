//! The starting graph: k-connected by construction, and cheap.
//!
//! For k ≥ 2 two graphs are built over a cheap closed tour of the members (the ring), and the
//! cheaper one that keeps to the degree bound is taken:
//! - Along the ring ([`along_ring`]), linking only members close on it, so that its edges cost
//!   about what the ring's own do when costs are metric:
//!   - k = 2r: the r-th power of the ring, each member linked to the r next (Harary's
//!     H(2r, n)).
//!   - k = 2r + 1 with n ≥ 2k: the ring's members in consecutive pairs (rungs), the first and
//!     the second of each pair forming two rings of n/2 (rails), each rail the r-th power of
//!     its ring. That is the prism C(n/2)^r × K2, whose connectivity is
//!     min(2 × 2r, n/2, 2r + 1) (Špacapan's formula for Cartesian products), so 2r + 1 once
//!     n/2 ≥ k. An odd member out is linked to its k cheapest others.
//!   - k = 2r + 1 with k + 1 ≤ n < 2k: Harary's H(k, n), the ring's r-th power plus diameters.
//! - Grown ([`grown`]): the first k + 1 members of the ring all linked, then each next member
//!   linked to the k cheapest before it, and the dearest edges removed while the graph stays
//!   k-connected. This one follows the costs whatever they are: with unmeasured pairs, or costs
//!   far from metric, the ring's neighbours at two or three steps are no cheaper than any
//!   other pair.
//!
//! Both rest on the expansion lemma: a vertex added with k neighbours to a k-connected graph
//! keeps it k-connected (fewer than k removals can neither cut it off nor part the rest).
//!
//! For k = 1 the graph is a minimum spanning tree (Prim) with no degree above the bound.

use super::{Costs, Graph, improve};

/// At most this many 2-opt passes over the ring (a guess: later passes gain little).
const TWO_OPT_PASSES_MAX: usize = 4;

/// A k-connected graph on members 0..n (n ≥ k + 1, k ≥ 1) whose degrees stay within
/// `degree_max`, which must be at least k + 1.
pub(super) fn build(costs: Costs, n: usize, k: usize, degree_max: usize) -> Graph {
    if k == 1 {
        return spanning_tree(costs, n, degree_max);
    }
    let ring = ring(costs, n);
    let along = along_ring(costs, &ring, k);
    // Along the ring keeps to k + 1; growing may not keep to a bound below 2k.
    let grown = grown(costs, &ring, k, degree_max);
    let total = |graph: &Graph| -> u64 {
        graph.edges().iter().map(|(a, b)| u64::from(costs.of(*a, *b))).sum()
    };
    let fits = (0..n).all(|v| grown.degree(v) <= degree_max);
    if fits && total(&grown) < total(&along) { grown } else { along }
}

/// A k-connected graph that grows from the first k + 1 members of `ring`, all linked, each
/// next member linking to the k cheapest before it, those with room first (ties by index);
/// then its dearest edges are removed while it stays k-connected. O(n²) to grow, and a max
/// flow of O(k(n + m)) per edge to prune.
fn grown(costs: Costs, ring: &[usize], k: usize, degree_max: usize) -> Graph {
    let mut graph = Graph::new(ring.len());
    for (placed, v) in ring.iter().enumerate() {
        let mut before: Vec<(bool, u32, usize)> = ring[..placed]
            .iter()
            .map(|u| (graph.degree(*u) >= degree_max, costs.of(*u, *v), *u))
            .collect();
        if before.len() > k {
            before.select_nth_unstable(k);
            before.truncate(k);
        }
        for (_, _, u) in before {
            graph.add(u, *v);
        }
    }
    improve::prune(&mut graph, costs, k, None, usize::MAX);
    graph
}

/// A k-connected graph (k ≥ 2) of short spans along `ring`, a tour of all n ≥ k + 1 members.
pub(super) fn along_ring(costs: Costs, ring: &[usize], k: usize) -> Graph {
    let n = ring.len();
    let r = k / 2;
    let mut graph = Graph::new(n);
    if k.is_multiple_of(2) {
        add_ring_power(&mut graph, ring, r);
    } else if n >= 2 * k {
        let paired = n - n % 2;
        let first: Vec<usize> = ring[..paired].iter().step_by(2).copied().collect();
        let second: Vec<usize> = ring[1..paired].iter().step_by(2).copied().collect();
        for (a, b) in first.iter().zip(&second) {
            graph.add(*a, *b);
        }
        add_ring_power(&mut graph, &first, r);
        add_ring_power(&mut graph, &second, r);
        if paired < n {
            let odd_one = ring[n - 1];
            let mut others: Vec<usize> = ring[..paired].to_vec();
            others.sort_unstable_by_key(|v| (costs.of(odd_one, *v), *v));
            for v in &others[..k] {
                graph.add(odd_one, *v);
            }
        }
    } else {
        add_ring_power(&mut graph, ring, r);
        // Harary's diameters: i – i + ⌈n/2⌉ for i up to ⌊n/2⌋, around the ring.
        for i in 0..=n / 2 {
            graph.add(ring[i], ring[(i + n.div_ceil(2)) % n]);
        }
    }
    graph
}

/// Links each member of `ring` to the next `r` along it.
fn add_ring_power(graph: &mut Graph, ring: &[usize], r: usize) {
    for (at, v) in ring.iter().enumerate() {
        for step in 1..=r {
            graph.add(*v, ring[(at + step) % ring.len()]);
        }
    }
}

/// A cheap closed tour of members 0..n: nearest neighbour from member 0 (ties by index), then
/// first-improvement 2-opt passes. O(n²) per pass.
fn ring(costs: Costs, n: usize) -> Vec<usize> {
    let mut tour = Vec::with_capacity(n);
    let mut left: Vec<usize> = (1..n).collect();
    tour.push(0);
    while !left.is_empty() {
        let here = tour[tour.len() - 1];
        // Strictly cheaper only, so the lowest index wins a tie.
        let mut best = 0;
        for (at, v) in left.iter().enumerate().skip(1) {
            if costs.of(here, *v) < costs.of(here, left[best]) {
                best = at;
            }
        }
        tour.push(left.remove(best));
    }
    for _ in 0..TWO_OPT_PASSES_MAX {
        if !two_opt_pass(costs, &mut tour) {
            break;
        }
    }
    tour
}

/// One pass of 2-opt: replaces tour edges (i, i + 1) and (j, j + 1) by (i, j) and
/// (i + 1, j + 1), reversing the stretch between, whenever that is strictly cheaper. Whether
/// anything changed.
fn two_opt_pass(costs: Costs, tour: &mut [usize]) -> bool {
    let n = tour.len();
    let mut changed = false;
    for i in 0..n.saturating_sub(2) {
        for j in i + 2..n {
            let (a, b, c, d) = (tour[i], tour[i + 1], tour[j], tour[(j + 1) % n]);
            if d == a {
                continue;
            }
            let before = u64::from(costs.of(a, b)) + u64::from(costs.of(c, d));
            let after = u64::from(costs.of(a, c)) + u64::from(costs.of(b, d));
            if after < before {
                tour[i + 1..=j].reverse();
                changed = true;
            }
        }
    }
    changed
}

/// A spanning tree by Prim's algorithm from member 0 whose degrees stay within `degree_max`
/// (at least 2): each step links the cheapest member outside the tree to a tree member with
/// room, ties by index. O(n²) plus O(n) per member that fills up.
fn spanning_tree(costs: Costs, n: usize, degree_max: usize) -> Graph {
    let mut graph = Graph::new(n);
    let mut in_tree = vec![false; n];
    in_tree[0] = true;
    // For each member outside, its cheapest link into the tree: (cost, tree member).
    let mut best: Vec<(u32, usize)> = (0..n).map(|v| (costs.of(0, v), 0)).collect();
    for _ in 1..n {
        let Some(next) =
            (0..n).filter(|v| !in_tree[*v]).min_by_key(|v| (best[*v].0, best[*v].1, *v))
        else {
            break;
        };
        let parent = best[next].1;
        graph.add(parent, next);
        in_tree[next] = true;
        let parent_full = graph.degree(parent) >= degree_max;
        for v in (0..n).filter(|v| !in_tree[*v]) {
            if parent_full && best[v].1 == parent {
                best[v] = cheapest_link(costs, &graph, &in_tree, v, degree_max);
            }
            let through_next = (costs.of(next, v), next);
            if through_next < best[v] {
                best[v] = through_next;
            }
        }
    }
    graph
}

/// The cheapest link from `v` to a tree member with room: (cost, member), ties by index. The
/// member last added always has room, as `degree_max` ≥ 2.
fn cheapest_link(
    costs: Costs,
    graph: &Graph,
    in_tree: &[bool],
    v: usize,
    degree_max: usize,
) -> (u32, usize) {
    (0..graph.len())
        .filter(|u| in_tree[*u] && graph.degree(*u) < degree_max)
        .map(|u| (costs.of(u, v), u))
        .min()
        .unwrap_or((u32::MAX, 0))
}
