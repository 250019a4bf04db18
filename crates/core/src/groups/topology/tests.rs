use proptest::prelude::*;

use super::*;
use crate::Rng;

/// The proptest configuration of these tests: seeded from `HERALD_SEED` or a freshly drawn
/// seed, which is printed so a failure can be replayed.
fn test_config(cases: u32) -> proptest::test_runner::Config {
    use std::hash::{BuildHasher, Hasher};

    let seed = match std::env::var("HERALD_SEED") {
        Ok(text) => text.parse().expect("HERALD_SEED must be a u64"),
        // RandomState is seeded by the OS: a way to draw a seed without reading a clock.
        Err(_) => std::collections::hash_map::RandomState::new().build_hasher().finish(),
    };
    eprintln!(
        "seed {seed}; re-run with: HERALD_SEED={seed} cargo test -p herald-core groups::topology"
    );
    proptest::test_runner::Config {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

fn ids(n: usize) -> Vec<NodeId> {
    let mut rng = Rng::from_seed(n as u64);
    let mut ids: Vec<NodeId> = (0..n).map(|_| NodeId::from_bytes(rng.bytes32())).collect();
    ids.sort();
    ids
}

/// Costs of members spread over a 150 ms square: 1 + the distance, rounded down.
fn plane(n: usize, seed: u64) -> CostMatrix {
    let mut rng = Rng::from_seed(seed);
    let points: Vec<(u64, u64)> = (0..n).map(|_| (rng.below(150), rng.below(150))).collect();
    let mut costs = CostMatrix::new(n);
    for b in 0..n {
        for a in 0..b {
            let square =
                points[a].0.abs_diff(points[b].0).pow(2) + points[a].1.abs_diff(points[b].1).pow(2);
            costs.set(a, b, 1 + square.isqrt() as u32);
        }
    }
    costs
}

/// Costs drawn uniformly from 1..=200 ms, with about `unmeasured_percent` of pairs left out.
fn uniform(n: usize, seed: u64, unmeasured_percent: u64) -> CostMatrix {
    let mut rng = Rng::from_seed(seed);
    let mut costs = CostMatrix::new(n);
    for b in 0..n {
        for a in 0..b {
            let cost = 1 + rng.below(200) as u32;
            if rng.below(100) >= unmeasured_percent {
                costs.set(a, b, cost);
            }
        }
    }
    costs
}

/// Two sites: odd and even members, 1 to 20 ms apart within a site and 100 to 119 ms across.
/// Every degree reaches k long before the sites are k-connected to each other.
fn two_sites(n: usize, seed: u64) -> CostMatrix {
    let mut rng = Rng::from_seed(seed);
    let mut costs = CostMatrix::new(n);
    for b in 0..n {
        for a in 0..b {
            let across = if (a + b) % 2 == 1 { 99 } else { 0 };
            costs.set(a, b, 1 + across + rng.below(20) as u32);
        }
    }
    costs
}

fn params(k: usize) -> TopologyParams {
    TopologyParams { connectivity: k, degree_max: 2 * k + 2, ..TopologyParams::default() }
}

/// The topology's edges by member index.
fn indexed(members: &[NodeId], topology: &Topology) -> Vec<(usize, usize)> {
    let index = |id: &NodeId| members.binary_search(id).expect("an edge joins two members");
    topology.edges.iter().map(|edge| (index(&edge.a), index(&edge.b))).collect()
}

fn degrees(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut degrees = vec![0; n];
    for (a, b) in edges {
        degrees[*a] += 1;
        degrees[*b] += 1;
    }
    degrees
}

/// Connectivity by definition: more than k vertices, and no set of fewer than k of them whose
/// removal disconnects the rest. Every subset is tried.
fn brute_force_k_connected(n: usize, edges: &[(usize, usize)], k: usize) -> bool {
    if n <= k {
        return k == 0;
    }
    (0u32..1 << n).filter(|removed| (removed.count_ones() as usize) < k).all(|removed| {
        let kept: Vec<usize> = (0..n).filter(|v| removed & (1 << v) == 0).collect();
        let mut reached = 1u32 << kept[0];
        loop {
            let mut grown = reached;
            for (a, b) in edges {
                if removed & (1 << a | 1 << b) == 0 && (reached & (1 << a | 1 << b)) != 0 {
                    grown |= 1 << a | 1 << b;
                }
            }
            if grown == reached {
                break;
            }
            reached = grown;
        }
        kept.iter().all(|v| reached & (1 << v) != 0)
    })
}

#[test]
fn cost_matrix_is_symmetric_and_ignores_pairs_it_cannot_hold() {
    let mut costs = CostMatrix::new(3);
    costs.set(2, 0, 40);
    costs.set(1, 1, 5);
    costs.set(0, 3, 5);
    costs.set(1, 2, u32::MAX);
    assert_eq!((costs.get(0, 2), costs.get(2, 0)), (Some(40), Some(40)));
    assert_eq!((costs.get(1, 1), costs.get(0, 3), costs.get(0, 1)), (None, None, None));
    assert_eq!(costs.get(2, 1), Some(u32::MAX - 1));
    assert_eq!((costs.len(), CostMatrix::new(0).is_empty()), (3, true));
}

#[test]
fn no_edges_for_k_zero_or_fewer_than_two_members() {
    let members = ids(5);
    for (n, k) in [(0, 2), (1, 2), (1, 0), (5, 0)] {
        let topology = compute(&members[..n], &plane(n, 1), &params(k));
        assert_eq!((topology.edges.len(), topology.connectivity), (0, 0), "n {n} k {k}");
        assert_eq!(naive(&members[..n], &plane(n, 1), k), topology);
    }
    let alone = compute(&members[..1], &CostMatrix::new(1), &params(3));
    assert_eq!(alone.diameter_hops, Some(0));
    assert_eq!(compute(&members, &plane(5, 1), &params(0)).diameter_hops, None);
}

#[test]
fn a_group_of_at_most_k_members_gets_the_complete_graph() {
    for (n, k) in [(2, 1), (2, 4), (4, 4), (3, 9)] {
        let members = ids(n);
        let topology = compute(&members, &uniform(n, 3, 50), &params(k));
        assert_eq!(topology.edges.len(), n * (n - 1) / 2, "n {n} k {k}");
        assert_eq!((topology.connectivity, topology.diameter_hops), (n - 1, Some(1)));
        assert_eq!(naive(&members, &uniform(n, 3, 50), k), topology);
    }
}

#[test]
fn edges_are_sorted_with_their_costs_and_the_totals_add_up() {
    let n = 30;
    let members = ids(n);
    let costs = uniform(n, 4, 30);
    let topology = compute(&members, &costs, &params(2));
    assert!(topology.edges.windows(2).all(|pair| (pair[0].a, pair[0].b) < (pair[1].a, pair[1].b)));
    for (edge, (a, b)) in topology.edges.iter().zip(indexed(&members, &topology)) {
        assert!(edge.a < edge.b);
        assert_eq!(edge.cost_ms, costs.get(a, b).unwrap_or(UNKNOWN_COST_MS_DEFAULT));
    }
    let total: u64 = topology.edges.iter().map(|edge| u64::from(edge.cost_ms)).sum();
    assert_eq!(topology.cost_ms, total);
    let graph = {
        let mut graph = Graph::new(n);
        indexed(&members, &topology).into_iter().for_each(|(a, b)| graph.add(a, b));
        graph
    };
    assert_eq!(topology.diameter_hops, hops::diameter(&graph.adjacency));
    let weighted = 1000 * u64::from(topology.diameter_hops.unwrap()) + topology.cost_ms;
    assert_eq!(topology.objective(&params(2)), weighted);
}

#[test]
fn ring_constructions_are_k_connected_by_brute_force_and_k_regular_where_they_can_be() {
    let mut rng = Rng::from_seed(9);
    for k in 2..=4 {
        for n in k + 1..=14 {
            let mut ring: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut ring);
            let costs = plane(n, 1);
            let graph = construct::along_ring(Costs { matrix: &costs, unknown_ms: 1 }, &ring, k);
            let edges = graph.edges();
            assert!(brute_force_k_connected(n, &edges, k), "n {n} k {k}: {edges:?}");
            let degrees = degrees(n, &edges);
            assert!(degrees.iter().all(|d| *d == k || *d == k + 1), "n {n} k {k}: {degrees:?}");
            if (k * n) % 2 == 0 {
                assert!(degrees.iter().all(|d| *d == k), "n {n} k {k}: {degrees:?}");
            }
        }
    }
}

#[test]
fn built_graphs_are_k_connected_by_brute_force_within_the_degree_bound() {
    for k in 1..=4 {
        for n in k + 1..=14 {
            for degree_max in [k + 1, 2 * k + 2] {
                for costs in [plane(n, n as u64), uniform(n, n as u64, 20)] {
                    let costs = Costs { matrix: &costs, unknown_ms: 500 };
                    let edges = construct::build(costs, n, k, degree_max).edges();
                    assert!(brute_force_k_connected(n, &edges, k), "n {n} k {k}: {edges:?}");
                    let degrees = degrees(n, &edges);
                    assert!(degrees.iter().all(|d| *d >= k && *d <= degree_max), "n {n} k {k}");
                }
            }
        }
    }
}

#[test]
fn compute_is_k_connected_by_brute_force_on_small_groups() {
    for k in 1..=4 {
        for n in k + 1..=13 {
            let members = ids(n);
            for costs in [plane(n, 7 * n as u64), uniform(n, n as u64, 10), CostMatrix::new(n)] {
                let topology = compute(&members, &costs, &params(k));
                let edges = indexed(&members, &topology);
                assert!(brute_force_k_connected(n, &edges, k), "n {n} k {k}: {edges:?}");
                assert!(!brute_force_k_connected(n, &edges, n), "nothing is n-connected");
                assert_eq!(topology.connectivity, k);
            }
        }
    }
}

#[test]
fn naive_is_k_connected_and_needs_its_last_edge() {
    for k in 1..=4 {
        for n in [k + 1, k + 4, 12, 13, 40, 41] {
            let members = ids(n);
            let costs = if n % 2 == 0 { two_sites(n, n as u64) } else { uniform(n, n as u64, 10) };
            let topology = naive(&members, &costs, k);
            let edges = indexed(&members, &topology);
            assert!(vertex_connectivity_at_least(n, &edges, k), "n {n} k {k}");
            // The pair added last is the dearest: without it the graph was not yet k-connected.
            let key = |(a, b): &(usize, usize)| {
                (costs.get(*a, *b).unwrap_or(UNKNOWN_COST_MS_DEFAULT), *a, *b)
            };
            let last = edges.iter().max_by_key(|edge| key(edge)).copied().unwrap();
            let without: Vec<_> = edges.iter().copied().filter(|edge| *edge != last).collect();
            assert!(!vertex_connectivity_at_least(n, &without, k), "n {n} k {k}");
        }
    }
}

#[test]
fn compute_beats_or_ties_naive_on_fixed_random_costs() {
    for k in 1..=4 {
        for (n, seed) in [(20, 1), (45, 2), (80, 3)] {
            let members = ids(n);
            let params = params(k);
            for costs in
                [plane(n, seed), uniform(n, seed, 0), uniform(n, seed, 40), two_sites(n, seed)]
            {
                let ours = compute(&members, &costs, &params);
                let theirs = naive(&members, &costs, k);
                assert!(
                    ours.objective(&params) <= theirs.objective(&params),
                    "n {n} k {k} seed {seed}: ours {ours:?} naive {theirs:?}",
                );
            }
        }
    }
}

#[test]
fn distances_after_adding_an_edge_match_a_fresh_count() {
    let mut rng = Rng::from_seed(5);
    let n = 40;
    let costs = plane(n, 5);
    let mut graph = construct::build(Costs { matrix: &costs, unknown_ms: 1 }, n, 2, 3);
    let mut distances = hops::Distances::new(&graph.adjacency);
    for _ in 0..30 {
        let (x, y) = (rng.index(n), rng.index(n));
        graph.add(x, y);
        distances.add_edge(x, y);
        let fresh = hops::Distances::new(&graph.adjacency);
        for a in 0..n {
            for b in 0..n {
                assert_eq!(distances.get(a, b), fresh.get(a, b), "{a} {b}");
            }
        }
        assert_eq!(Some(u32::from(distances.diameter())), hops::diameter(&graph.adjacency));
        let diameter = distances.diameter();
        assert!(hops::all_within(&graph.adjacency, diameter));
        assert!(!hops::all_within(&graph.adjacency, diameter - 1));
    }
}

/// Random small graphs: n members and, for each pair, an edge with probability `density`%.
fn small_graph() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    (0usize..=9, 10u64..=90, any::<u64>()).prop_map(|(n, density, seed)| {
        let mut rng = Rng::from_seed(seed);
        let edges = (0..n)
            .flat_map(|b| (0..b).map(move |a| (a, b)))
            .filter(|_| rng.below(100) < density)
            .collect();
        (n, edges)
    })
}

/// Costs for a random group, with some pairs unmeasured, and the pairs in a shuffled order.
fn random_group() -> impl Strategy<Value = (usize, usize, Vec<(usize, usize, u32)>)> {
    (2usize..=40, 1usize..=4, any::<u64>()).prop_map(|(n, k, seed)| {
        let mut rng = Rng::from_seed(seed);
        let mut pairs: Vec<(usize, usize, u32)> = Vec::new();
        for (a, b) in (0..n).flat_map(|b| (0..b).map(move |a| (a, b))) {
            let cost = 1 + rng.below(300) as u32;
            if rng.below(100) >= 15 {
                pairs.push((a, b, cost));
            }
        }
        rng.shuffle(&mut pairs);
        (n, k, pairs)
    })
}

proptest! {
    #![proptest_config(test_config(256))]

    #[test]
    fn vertex_connectivity_matches_brute_force((n, edges) in small_graph(), k in 0usize..=6) {
        prop_assert_eq!(
            vertex_connectivity_at_least(n, &edges, k),
            brute_force_k_connected(n, &edges, k),
            "n {} k {} {:?}", n, k, edges
        );
        prop_assert_eq!(is_connected(n, &edges), n <= 1 || brute_force_k_connected(n, &edges, 1));
    }
}

proptest! {
    #![proptest_config(test_config(48))]

    #[test]
    fn compute_is_deterministic_whatever_order_costs_were_set_in((n, k, pairs) in random_group()) {
        let members = ids(n);
        let mut forwards = CostMatrix::new(n);
        for (a, b, cost) in &pairs {
            forwards.set(*a, *b, *cost);
        }
        let mut backwards = CostMatrix::new(n);
        for (a, b, cost) in pairs.iter().rev() {
            backwards.set(*b, *a, *cost);
        }
        let params = params(k);
        let first = compute(&members, &forwards, &params);
        prop_assert_eq!(&first, &compute(&members, &backwards, &params));
        prop_assert_eq!(&first, &compute(&members, &forwards, &params));
        prop_assert_eq!(naive(&members, &forwards, k), naive(&members, &backwards, k));
    }

    #[test]
    fn compute_keeps_degrees_within_bounds_and_k_connectivity(
        (n, k, pairs) in random_group(),
        degree_extra in 0usize..=4,
    ) {
        let members = ids(n);
        let mut costs = CostMatrix::new(n);
        for (a, b, cost) in &pairs {
            costs.set(*a, *b, *cost);
        }
        let params = TopologyParams { degree_max: k + degree_extra, ..params(k) };
        let topology = compute(&members, &costs, &params);
        let edges = indexed(&members, &topology);
        let degrees = degrees(n, &edges);
        if n > k {
            prop_assert!(vertex_connectivity_at_least(n, &edges, k));
            prop_assert!(degrees.iter().all(|d| *d >= k), "{:?}", degrees);
        }
        let bound = params.degree_max.max(k + 1);
        prop_assert!(degrees.iter().all(|d| *d <= bound), "bound {} {:?}", bound, degrees);
    }
}
