//! The improvement of a k-connected graph: shortcuts that lower its hop diameter while they
//! are worth their cost, then removal of dear edges that neither connectivity nor the diameter
//! needs.

use super::connectivity::{FlowGraph, Source};
use super::hops::{self, Distances};
use super::{Costs, Graph};

/// The members nearest each end of a farthest pair that are tried as a shortcut's end (a
/// guess: more cost time and rarely find a better edge).
const CANDIDATES_PER_END: usize = 24;

/// At most this many farthest pairs are counted when shortcuts are compared.
const FAR_PAIRS_SCORED: usize = 256;

/// At most this many edges are tried for removal after the shortcuts (a guess: most tries
/// fail, each costs a test of the diameter).
pub(super) const PRUNE_ATTEMPTS_MAX: usize = 512;

/// The objective's weights, wide enough that products never overflow.
#[derive(Clone, Copy)]
pub(super) struct Weights {
    pub(super) diameter: u128,
    pub(super) cost: u128,
}

/// Adds shortcuts to a connected graph of at most [`super::IMPROVE_MEMBERS_MAX`] members, in
/// rounds that each aim to lower the hop diameter, and returns the diameter reached.
///
/// A round adds edges until no pair is left at the diameter it started from. It is kept if the
/// diameter's fall is worth more than its edges cost (`weights`); otherwise its edges are taken
/// out again and the phase ends. A round also ends, undone, when it has spent what the largest
/// possible fall would be worth, when no edge is left that shortens the first farthest pair
/// within the degree bound, or when n shortcuts have been tried in all.
pub(super) fn add_shortcuts(
    graph: &mut Graph,
    costs: Costs,
    degree_max: usize,
    weights: Weights,
) -> u16 {
    let mut distances = Distances::new(&graph.adjacency);
    let mut diameter = distances.diameter();
    let mut tries_left = graph.len() + 64;
    while diameter >= 2 {
        let worth_most = weights.diameter * u128::from(diameter - 1);
        let mut added = Vec::new();
        let mut spent = 0u64;
        let finished = loop {
            let far = distances.pairs_at(diameter, FAR_PAIRS_SCORED);
            if far.is_empty() {
                break true;
            }
            if tries_left == 0 || weights.cost * u128::from(spent) >= worth_most {
                break false;
            }
            let Some((x, y)) = best_shortcut(graph, &distances, costs, degree_max, &far) else {
                break false;
            };
            graph.add(x, y);
            distances.add_edge(x, y);
            added.push((x, y));
            spent += u64::from(costs.of(x, y));
            tries_left -= 1;
        };
        let reached = distances.diameter();
        let gain = weights.diameter * u128::from(diameter - reached);
        if !finished || weights.cost * u128::from(spent) >= gain {
            for (x, y) in added {
                graph.remove(x, y);
            }
            break;
        }
        diameter = reached;
    }
    diameter
}

/// A shortcut x–y, with x near the first farthest pair's one end and y near its other, that
/// brings that pair closer and shortens the most of the `far` pairs (all at the diameter) per
/// millisecond; ties to the first found, in order of hops from the ends, then index.
fn best_shortcut(
    graph: &Graph,
    distances: &Distances,
    costs: Costs,
    degree_max: usize,
    far: &[(usize, usize)],
) -> Option<(usize, usize)> {
    let (u, v) = far[0];
    let diameter = distances.get(u, v);
    // Members with room, at most diameter − 2 hops from `end`, nearest first.
    let near = |end: usize| {
        let mut members: Vec<usize> = (0..graph.len())
            .filter(|x| graph.degree(*x) < degree_max && distances.get(end, *x) + 2 <= diameter)
            .collect();
        members.sort_unstable_by_key(|x| (distances.get(end, *x), *x));
        members.truncate(CANDIDATES_PER_END);
        members
    };
    let (near_u, near_v) = (near(u), near(v));
    // (pairs shortened, cost at least 1, x, y)
    let mut best: Option<(u64, u64, usize, usize)> = None;
    for x in &near_u {
        for y in &near_v {
            let (x, y) = (*x, *y);
            if x == y || graph.has(x, y) || distances.get(u, x) + distances.get(y, v) + 2 > diameter
            {
                continue;
            }
            // The distances are symmetric: reading only x's and y's rows keeps this in cache.
            let (from_x, from_y) = (distances.row(x), distances.row(y));
            let shortened = far
                .iter()
                .filter(|(a, b)| {
                    (from_x[*a] + from_y[*b]).min(from_y[*a] + from_x[*b]) + 1 < diameter
                })
                .count() as u64;
            let cost = u64::from(costs.of(x, y)).max(1);
            let better = match best {
                None => true,
                Some((best_shortened, best_cost, _, _)) => {
                    let (mine, theirs) = (
                        u128::from(shortened) * u128::from(best_cost),
                        u128::from(best_shortened) * u128::from(cost),
                    );
                    mine > theirs || (mine == theirs && cost < best_cost)
                }
            };
            if better {
                best = Some((shortened, cost, x, y));
            }
        }
    }
    best.map(|(_, _, x, y)| (x.min(y), x.max(y)))
}

/// Removes edges whose two ends both have more than `k` links, dearest first (ties by index),
/// when the graph stays k-connected and, if `within` is given, every pair stays within that
/// many hops; at most `attempts` edges are tried. Edges that cost nothing are kept. The graph
/// must be k-connected with n ≥ k + 1.
///
/// One max-flow suffices for connectivity: if G is k-connected and G − ab is not, a set of
/// fewer than k members cuts G − ab but not G, so it separates a from b in G − ab.
pub(super) fn prune(
    graph: &mut Graph,
    costs: Costs,
    k: usize,
    within: Option<u16>,
    attempts: usize,
) {
    let mut candidates: Vec<(u32, usize, usize)> = graph
        .edges()
        .into_iter()
        .filter(|(a, b)| graph.degree(*a) > k && graph.degree(*b) > k)
        .map(|(a, b)| (costs.of(a, b), a, b))
        .filter(|(cost, _, _)| *cost > 0)
        .collect();
    candidates.sort_unstable_by(|x, y| y.0.cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
    for (_, a, b) in candidates.into_iter().take(attempts) {
        if graph.degree(a) <= k || graph.degree(b) <= k {
            continue;
        }
        graph.remove(a, b);
        let keeps = FlowGraph::new(&graph.adjacency).paths_at_least(Source::Member(a), b, k)
            && within.is_none_or(|hops| hops::all_within(&graph.adjacency, hops));
        if !keeps {
            graph.add(a, b);
        }
    }
}
