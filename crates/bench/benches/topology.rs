//! The cost of computing a floodd group's overlay topology for 1,000 members, k = 3.
//!
//! herald's `topology::compute` (a cheap k-connected construction, shortcuts while a hop of
//! diameter is worth their cost, pruning, and a final max-flow check) runs beside the naive
//! baseline `topology::naive` (the cheapest edges first until the graph is 3-connected, checked
//! incrementally) over the same costs. The ratio is what the better topology costs in time;
//! both topologies' diameter, total cost and objective (default weights: 1000 × hops + 1 × ms)
//! are printed too.
//!
//! The costs: 1,000 members placed at random in a square 150 ms across (seed 4), each pair's
//! round trip 1 ms plus their distance, every pair measured.
//!
//! After the criterion groups, a paired pass alternates the two, one computation each, and
//! prints both mean times and their ratio (`topology/paired`), the figure to quote on a shared
//! machine. Run with `cargo bench -p herald-bench --bench topology`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use herald_core::groups::topology::{self, CostMatrix, Topology, TopologyParams};
use herald_core::{NodeId, Rng};

const MEMBERS: usize = 1000;
const CONNECTIVITY: usize = 3;
/// The side of the square the members are placed in, in milliseconds.
const SIDE_MS: u64 = 150;
/// How long the paired pass runs.
const PAIRED_TIME: Duration = Duration::from_secs(6);

/// The members, sorted, and their costs by position.
fn group() -> (Vec<NodeId>, CostMatrix) {
    let mut rng = Rng::from_seed(4);
    let mut members: Vec<NodeId> =
        (0..MEMBERS).map(|_| NodeId::from_bytes(rng.bytes32())).collect();
    members.sort();
    let points: Vec<(u64, u64)> =
        (0..MEMBERS).map(|_| (rng.below(SIDE_MS), rng.below(SIDE_MS))).collect();
    let mut costs = CostMatrix::new(MEMBERS);
    for b in 0..MEMBERS {
        for a in 0..b {
            let (dx, dy) = (points[a].0.abs_diff(points[b].0), points[a].1.abs_diff(points[b].1));
            costs.set(a, b, 1 + (dx * dx + dy * dy).isqrt() as u32);
        }
    }
    (members, costs)
}

fn params() -> TopologyParams {
    TopologyParams {
        connectivity: CONNECTIVITY,
        degree_max: 2 * CONNECTIVITY + 2,
        ..TopologyParams::default()
    }
}

fn herald(members: &[NodeId], costs: &CostMatrix) -> Topology {
    topology::compute(members, costs, &params())
}

fn baseline(members: &[NodeId], costs: &CostMatrix) -> Topology {
    topology::naive(members, costs, CONNECTIVITY)
}

/// Checks both results are 3-connected and prints what each achieves.
fn describe(members: &[NodeId], costs: &CostMatrix) {
    for (name, result) in [("compute", herald(members, costs)), ("naive", baseline(members, costs))]
    {
        let index = |id: &NodeId| members.binary_search(id).expect("an edge joins two members");
        let edges: Vec<(usize, usize)> =
            result.edges.iter().map(|edge| (index(&edge.a), index(&edge.b))).collect();
        assert!(topology::vertex_connectivity_at_least(MEMBERS, &edges, CONNECTIVITY));
        println!(
            "topology/{name}: {} edges, diameter {:?} hops, cost {} ms, objective {}",
            edges.len(),
            result.diameter_hops,
            result.cost_ms,
            result.objective(&params())
        );
    }
}

fn compute(c: &mut Criterion, members: &[NodeId], costs: &CostMatrix) {
    let mut group = c.benchmark_group("topology");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("compute", |b| b.iter(|| herald(black_box(members), black_box(costs))));
    group.bench_function("naive", |b| b.iter(|| baseline(black_box(members), black_box(costs))));
    group.finish();
}

/// Alternates the two, one computation each, for [`PAIRED_TIME`], and prints their mean times
/// and ratio.
fn paired_ratio(members: &[NodeId], costs: &CostMatrix) {
    let (mut ours, mut theirs, mut rounds) = (Duration::ZERO, Duration::ZERO, 0u32);
    let started = Instant::now();
    while started.elapsed() < PAIRED_TIME {
        let at = Instant::now();
        black_box(herald(members, costs));
        ours += at.elapsed();
        let at = Instant::now();
        black_box(baseline(members, costs));
        theirs += at.elapsed();
        rounds += 1;
    }
    println!(
        "topology/paired: {MEMBERS} members, k = {CONNECTIVITY}, {rounds} rounds: compute {:.1} ms, naive {:.1} ms, ratio {:.2}",
        ours.as_secs_f64() * 1000.0 / f64::from(rounds),
        theirs.as_secs_f64() * 1000.0 / f64::from(rounds),
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}

// What criterion_group! and criterion_main! expand to, written out because the macros define a
// public function without documentation, which the workspace's missing_docs lint refuses.
fn main() {
    let (members, costs) = group();
    describe(&members, &costs);
    let mut criterion = Criterion::default().configure_from_args();
    compute(&mut criterion, &members, &costs);
    // Only under `cargo bench`: `cargo test --benches` runs each benchmark once.
    if std::env::args().any(|arg| arg == "--bench") {
        paired_ratio(&members, &costs);
    }
    criterion.final_summary();
}
