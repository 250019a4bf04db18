//! The cost of herald's reachability over a 10,000-node recommendation graph (issue 18).
//!
//! Three computations of the same answer, the nodes reachable from node 0 over
//! `send-shares-to` edges:
//! - `index`: herald-core's `reachable` walk over recommendations already parsed, looked up by
//!   node id in an ordered map (what a driver that keeps an index pays);
//! - `records`: `Node::reachable_from`, which reads each reached node's `grid-control`
//!   announcement from the record set and parses its JSON (what `GET /v1/reachable` pays);
//! - `plain_bfs`: the baseline, a textbook breadth-first search over an adjacency list of
//!   numbered nodes holding only the edges of that kind.
//!
//! The graph: 10,000 nodes, each recommending 4 nodes drawn at random for a kind drawn at
//! random from the two Tahoe knows (so about 2 edges of each kind per node).
//!
//! After the criterion groups, a paired pass alternates the three, one computation each, and
//! prints their mean times and ratios to the baseline (`reachability/paired`), the figures to
//! quote on a shared machine. Run with `cargo bench -p herald-bench --bench reachability`.

use std::collections::{BTreeMap, VecDeque};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use herald_core::grid_control::{GRID_CONTROL_SERVICE, KNOWN_KINDS, Recommendation, reachable};
use herald_core::{
    Config, Instant as CoreInstant, Keypair, Node, NodeId, Record, RecordKind, Rng, Snapshot,
    Version,
};

const NODES: usize = 10_000;
const RECOMMENDATIONS_EACH: usize = 4;
const KIND: &str = KNOWN_KINDS[0];
/// How long the paired pass runs.
const PAIRED_TIME: Duration = Duration::from_secs(10);

/// The same graph three ways.
struct Graph {
    ids: Vec<NodeId>,
    index: BTreeMap<NodeId, Vec<Recommendation>>,
    node: Node,
    adjacency: Vec<Vec<u32>>,
}

fn graph() -> Graph {
    let mut rng = Rng::from_seed(18);
    let keys: Vec<Keypair> = (0..NODES).map(|_| Keypair::from_secret(rng.bytes32())).collect();
    let ids: Vec<NodeId> = keys.iter().map(Keypair::id).collect();
    let mut index = BTreeMap::new();
    let mut adjacency = vec![Vec::new(); NODES];
    let mut records = Vec::new();
    for (node, key) in keys.iter().enumerate() {
        let list: Vec<Recommendation> = (0..RECOMMENDATIONS_EACH)
            .map(|n| {
                let who = rng.index(NODES);
                let what = KNOWN_KINDS[rng.index(KNOWN_KINDS.len())];
                if what == KIND {
                    adjacency[node].push(who as u32);
                }
                Recommendation::new(ids[who], format!("n{n}"), what).expect("valid")
            })
            .collect();
        let entries: Vec<_> = list.iter().map(Recommendation::to_json).collect();
        let payload = serde_json::json!({ "recommendations": entries }).to_string().into_bytes();
        let record = Record {
            origin: key.id(),
            kind: RecordKind::Announcement,
            key: GRID_CONTROL_SERVICE.to_owned(),
            version: Version::new(1, 1),
            issued_at_ms: 1,
            payload,
        };
        records.push(record.sign(key).expect("within bounds"));
        index.insert(ids[node], list);
    }
    let snapshot = Snapshot { records, ..Snapshot::default() };
    let node = Node::restore(keys[0].clone(), Config::default(), 1, CoreInstant::ZERO, snapshot);
    Graph { ids, index, node, adjacency }
}

/// Textbook breadth-first search: how many nodes `source` reaches, itself excluded.
fn plain_bfs(adjacency: &[Vec<u32>], source: u32) -> usize {
    let mut seen = vec![false; adjacency.len()];
    seen[source as usize] = true;
    let mut queue = VecDeque::from([source]);
    let mut reached = 0;
    while let Some(node) = queue.pop_front() {
        for &next in &adjacency[node as usize] {
            if !seen[next as usize] {
                seen[next as usize] = true;
                reached += 1;
                queue.push_back(next);
            }
        }
    }
    reached
}

fn by_index(graph: &Graph) -> usize {
    reachable(graph.ids[0], KIND, None, |node| graph.index.get(node)).len()
}

fn by_records(graph: &Graph) -> usize {
    graph.node.reachable_from(graph.ids[0], KIND, None).len()
}

fn compute(c: &mut Criterion, graph: &Graph) {
    // All three see the same graph and give the same count.
    let baseline = plain_bfs(&graph.adjacency, 0);
    assert!(baseline > NODES / 2, "the graph is mostly reachable: {baseline}");
    assert_eq!(by_index(graph), baseline);
    assert_eq!(by_records(graph), baseline);

    let mut group = c.benchmark_group("reachability");
    group.sample_size(20);
    group.bench_function("index", |b| b.iter(|| by_index(black_box(graph))));
    group.bench_function("records", |b| b.iter(|| by_records(black_box(graph))));
    group.bench_function("plain_bfs", |b| b.iter(|| plain_bfs(black_box(&graph.adjacency), 0)));
    group.finish();
}

/// Alternates the three, one computation each, for [`PAIRED_TIME`], and prints their mean
/// times and ratios to the baseline.
fn paired_ratio(graph: &Graph) {
    let mut spent = [Duration::ZERO; 3];
    let mut rounds = 0u32;
    let started = Instant::now();
    while started.elapsed() < PAIRED_TIME {
        let at = Instant::now();
        black_box(by_index(graph));
        spent[0] += at.elapsed();
        let at = Instant::now();
        black_box(by_records(graph));
        spent[1] += at.elapsed();
        let at = Instant::now();
        black_box(plain_bfs(&graph.adjacency, 0));
        spent[2] += at.elapsed();
        rounds += 1;
    }
    let mean_ms = |spent: Duration| spent.as_secs_f64() * 1000.0 / f64::from(rounds);
    println!(
        "reachability/paired: {NODES} nodes, {rounds} rounds: index {:.3} ms ({:.1}x), records {:.3} ms ({:.1}x), plain BFS {:.3} ms",
        mean_ms(spent[0]),
        spent[0].as_secs_f64() / spent[2].as_secs_f64(),
        mean_ms(spent[1]),
        spent[1].as_secs_f64() / spent[2].as_secs_f64(),
        mean_ms(spent[2]),
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
