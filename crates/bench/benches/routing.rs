//! The cost of computing a routing table over a 10,000-node advertised graph.
//!
//! herald's `Table::compute` (Dijkstra over the advertisements as nodes hold them: a map of
//! each origin's sorted links, where a link counts only if its other end advertises it back,
//! looked up by binary search) runs beside a plain Dijkstra baseline over the same graph
//! prepared as the textbook wants it: nodes numbered 0..N, an adjacency list of (neighbour,
//! cost) with the reciprocity already checked, distances only. The ratio is what herald's
//! representation, its tie-breaking and its next-hop bookkeeping cost over the bare algorithm.
//!
//! The graph: 10,000 nodes, each linked to 5 others drawn at random (so about 10 links each,
//! counting those drawn by others), costs 10 to 100 ms, every link advertised by both ends.
//!
//! After the criterion groups, a paired pass alternates the two, one computation each, and
//! prints both mean times and their ratio (`routing/paired`), the figure to quote on a shared
//! machine. Run with `cargo bench -p herald-bench --bench routing`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use herald_core::routing::{LinkState, Table};
use herald_core::{NodeId, Rng};

const NODES: usize = 10_000;
const LINKS_DRAWN: usize = 5;
/// How long the paired pass runs.
const PAIRED_TIME: Duration = Duration::from_secs(10);

/// The same graph twice: as herald holds it, and numbered for the baseline.
struct Graph {
    ids: Vec<NodeId>,
    advertised: BTreeMap<NodeId, LinkState>,
    adjacency: Vec<Vec<(u32, u32)>>,
}

fn graph() -> Graph {
    let mut rng = Rng::from_seed(16);
    let ids: Vec<NodeId> = (0..NODES).map(|_| NodeId::from_bytes(rng.bytes32())).collect();
    let mut links: Vec<BTreeMap<usize, u32>> = vec![BTreeMap::new(); NODES];
    for node in 0..NODES {
        for _ in 0..LINKS_DRAWN {
            let peer = rng.index(NODES);
            if peer != node {
                let cost = 10 + rng.below(91) as u32;
                links[node].insert(peer, cost);
                links[peer].insert(node, cost);
            }
        }
    }
    let advertised = (0..NODES)
        .map(|node| {
            let mut state = LinkState {
                links: links[node].iter().map(|(peer, cost)| (ids[*peer], *cost)).collect(),
            };
            state.links.sort();
            (ids[node], state)
        })
        .collect();
    let adjacency = links
        .iter()
        .map(|peers| peers.iter().map(|(peer, cost)| (*peer as u32, *cost)).collect())
        .collect();
    Graph { ids, advertised, adjacency }
}

/// Textbook Dijkstra: distances from `source`, over an adjacency list.
fn plain_dijkstra(adjacency: &[Vec<(u32, u32)>], source: u32) -> Vec<u64> {
    let mut distance = vec![u64::MAX; adjacency.len()];
    let mut queue = BinaryHeap::from([Reverse((0u64, source))]);
    distance[source as usize] = 0;
    while let Some(Reverse((cost, node))) = queue.pop() {
        if cost > distance[node as usize] {
            continue;
        }
        for (peer, link) in &adjacency[node as usize] {
            let candidate = cost + u64::from(*link);
            if candidate < distance[*peer as usize] {
                distance[*peer as usize] = candidate;
                queue.push(Reverse((candidate, *peer)));
            }
        }
    }
    distance
}

fn compute(c: &mut Criterion, graph: &Graph) {
    let table = Table::compute(graph.ids[0], &graph.advertised);
    let distances = plain_dijkstra(&graph.adjacency, 0);
    // Both see the same graph: the same nodes reachable, at the same costs.
    let reachable = distances.iter().filter(|d| **d != u64::MAX).count() - 1;
    assert_eq!(table.len(), reachable);
    for (index, id) in graph.ids.iter().enumerate().skip(1).step_by(97) {
        assert_eq!(table.route(id).map(|route| route.cost), Some(distances[index]));
    }

    let mut group = c.benchmark_group("routing");
    group.sample_size(20);
    group.bench_function("table_compute", |b| {
        b.iter(|| Table::compute(black_box(graph.ids[0]), black_box(&graph.advertised)))
    });
    group.bench_function("plain_dijkstra", |b| {
        b.iter(|| plain_dijkstra(black_box(&graph.adjacency), black_box(0)))
    });
    group.finish();
}

/// Alternates the two, one computation each, for [`PAIRED_TIME`], and prints their mean times
/// and ratio.
fn paired_ratio(graph: &Graph) {
    let (mut herald, mut baseline, mut rounds) = (Duration::ZERO, Duration::ZERO, 0u32);
    let started = Instant::now();
    while started.elapsed() < PAIRED_TIME {
        let at = Instant::now();
        black_box(Table::compute(graph.ids[0], &graph.advertised));
        herald += at.elapsed();
        let at = Instant::now();
        black_box(plain_dijkstra(&graph.adjacency, 0));
        baseline += at.elapsed();
        rounds += 1;
    }
    println!(
        "routing/paired: {NODES} nodes, {rounds} rounds: herald {:.2} ms, plain Dijkstra {:.2} ms, ratio {:.2}",
        herald.as_secs_f64() * 1000.0 / f64::from(rounds),
        baseline.as_secs_f64() * 1000.0 / f64::from(rounds),
        herald.as_secs_f64() / baseline.as_secs_f64()
    );
}

// What criterion_group! and criterion_main! expand to, written out because the macros define a
// public function without documentation, which the workspace's missing_docs lint refuses.
fn main() {
    let graph = graph();
    let mut criterion = Criterion::default().configure_from_args();
    compute(&mut criterion, &graph);
    // Only under `cargo bench`: `cargo test --benches` runs each benchmark once.
    if std::env::args().any(|arg| arg == "--bench") {
        paired_ratio(&graph);
    }
    criterion.final_summary();
}
