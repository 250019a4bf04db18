//! One announcement through the core, end to end: a node with five overlay neighbours receives a
//! frame holding a new announcement from one of them, decodes it, verifies it, merges it into
//! its record set and spreads it to the other four (eager push or lazy IHAVE), and the driver
//! drains every output. This is the per-record cost every relay pays.
//!
//! Two groups, each beside a baseline in the same process:
//! - `intake/verified` uses the node's real verifier (Ed25519 on every record), as a real node
//!   runs; its baseline `decode_only` decodes the same frame and nothing else.
//! - `intake/unverified` accepts every signature, so the protocol's own overhead (hashing,
//!   cloning, encoding, bookkeeping) is not hidden behind the signature check.
//!
//! After criterion, one pass counts heap allocations per received announcement (dhat's
//! counters), the figure BENCHMARKS.md quotes beside the time ratio.
//!
//! Run with `cargo bench -p herald-bench --bench intake`; it takes about half a minute.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use herald_core::broadcast::BroadcastMessage;
use herald_core::wire::{self, Message};
use herald_core::{
    Config, Input, Instant, Keypair, Node, NodeId, Record, RecordError, RecordKind, SignedRecord,
    Verifier, Version,
};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// Distinct announcements prepared ahead; each iteration takes the next, so none is a duplicate.
const FRAMES: usize = 4096;
/// Announcements received per timed iteration, by one fresh node.
const BATCH: usize = 256;
/// Overlay neighbours of the receiving node: HyParView's active view.
const NEIGHBOURS: u8 = 5;

/// Accepts every record: isolates the protocol's overhead from Ed25519.
struct AcceptAll;

impl Verifier for AcceptAll {
    fn verify(&mut self, _record: &SignedRecord) -> Result<(), RecordError> {
        Ok(())
    }
}

/// The receiving node, joined to its five neighbours (a join puts the contact in the active
/// view at once), with the join traffic drained.
fn receiver(verified: bool) -> (Node, Vec<NodeId>) {
    let mut node = Node::new(Keypair::from_secret([1; 32]), Config::default(), 1, Instant::ZERO);
    if !verified {
        node = node.with_verifier(Box::new(AcceptAll));
    }
    let neighbours: Vec<NodeId> =
        (0..NEIGHBOURS).map(|n| Keypair::from_secret([10 + n; 32]).id()).collect();
    for neighbour in &neighbours {
        node.join(Instant::ZERO, &[*neighbour]);
    }
    while node.poll_output().is_some() {}
    assert_eq!(node.overlay().active().len(), usize::from(NEIGHBOURS), "five neighbours");
    (node, neighbours)
}

/// Gossip frames of distinct announcements by one remote origin, as its first hop sends them.
fn frames() -> Vec<Arc<[u8]>> {
    let origin = Keypair::from_secret([99; 32]);
    (0..FRAMES)
        .map(|n| {
            let record = Record {
                origin: origin.id(),
                kind: RecordKind::Announcement,
                key: format!("service-{n}"),
                version: Version::new(1, n as u64 + 1),
                issued_at_ms: 1_700_000_000_000,
                payload:
                    br#"{"furl":"pb://tubid@tcp:10.0.0.7:4460/swissnum","nickname":"node-07"}"#
                        .to_vec(),
            };
            let record = record.sign(&origin).expect("the bench record is within bounds");
            let message =
                Message::Broadcast(BroadcastMessage::Gossip { round: 0, record: record.into() });
            Arc::from(wire::encode(&message).expect("the frame fits"))
        })
        .collect()
}

/// Feeds one frame and drains what the node asks for; returns the outputs' count.
fn receive(node: &mut Node, from: NodeId, frame: &Arc<[u8]>, at: Instant) -> usize {
    node.handle(at, Input::Frame { from, bytes: frame.clone() });
    std::iter::from_fn(|| node.poll_output()).count()
}

fn group(c: &mut Criterion, name: &str, verified: bool, frames: &[Arc<[u8]>]) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("receive_store_spread", |b| {
        b.iter_batched_ref(
            || receiver(verified),
            |(node, neighbours)| {
                for (n, frame) in frames.iter().enumerate().take(BATCH) {
                    let at = Instant::ZERO + Duration::from_micros(n as u64);
                    black_box(receive(node, neighbours[0], frame, at));
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("decode_only", |b| {
        b.iter(|| {
            for frame in frames.iter().take(BATCH) {
                let _ = black_box(wire::decode(black_box(frame)));
            }
        })
    });
    group.finish();
}

/// Heap allocations and bytes per received announcement, over every prepared frame.
fn allocations(frames: &[Arc<[u8]>]) {
    for verified in [true, false] {
        let (mut node, neighbours) = receiver(verified);
        let _profiler = dhat::Profiler::builder().testing().build();
        let before = dhat::HeapStats::get();
        let mut outputs = 0;
        for (n, frame) in frames.iter().enumerate() {
            let at = Instant::ZERO + Duration::from_micros(n as u64);
            outputs += receive(&mut node, neighbours[0], frame, at);
        }
        let after = dhat::HeapStats::get();
        let count = frames.len() as f64;
        println!(
            "intake/allocations (verified: {verified}): {:.1} allocations and {:.0} bytes per \
             announcement, {:.1} outputs each",
            (after.total_blocks - before.total_blocks) as f64 / count,
            (after.total_bytes - before.total_bytes) as f64 / count,
            outputs as f64 / count,
        );
    }
}

// What criterion_group! and criterion_main! expand to, written out because the macros define a
// public function without documentation, which the workspace's missing_docs lint refuses.
fn main() {
    let frames = frames();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    group(&mut criterion, "intake/verified", true, &frames);
    group(&mut criterion, "intake/unverified", false, &frames);
    allocations(&frames);
    criterion.final_summary();
}
