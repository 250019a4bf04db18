//! Batch-commit throughput of herald-store's `RedbStore::apply`, beside raw redb doing the same
//! writes in the same process.
//!
//! Both sides write the same batches of 100 announcements into a fresh database each, one write
//! transaction per batch committed with `Durability::Immediate`, under the same table name, key
//! bytes (origin, family code, key) and value bytes (the record's postcard encoding). The
//! baseline gets its keys and values already encoded; `RedbStore::apply` encodes them itself
//! from the `PersistOp`s, as a node's store does, so the ratio includes that cost. The batches
//! cycle over 6,400 slots, so after the first lap every put replaces a record and both
//! databases stay the same size.
//!
//! Criterion measures the two one after the other; a last pass, `store_commit/paired`,
//! alternates them batch by batch and prints both throughputs and their ratio, which is the
//! figure to quote on a shared machine. Goal: `herald_store_apply` ≥ 0.9 × `raw_redb`.
//!
//! Run with `cargo bench -p herald-bench --bench store`; it takes about 35 seconds. The
//! numbers are dominated by the disk's sync latency, so compare the two lines of one run rather
//! than runs on different machines.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use herald_core::{Keypair, PersistOp, Record, RecordKind, SignedRecord, Version};
use herald_store::{RedbStore, Store};
use redb::{Database, Durability, TableDefinition};

const BATCH_LEN: usize = 100;
const BATCH_COUNT: usize = 64;
/// How long the interleaved pass runs.
const PAIRED_TIME: Duration = Duration::from_secs(6);

/// The table `RedbStore` keeps records in, with the same types.
const RECORDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("records");

/// A typical announcement, numbered `i`.
fn record(keypair: &Keypair, i: usize) -> SignedRecord {
    Record {
        origin: keypair.id(),
        kind: RecordKind::Announcement,
        key: format!("storage-{i:05}"),
        version: Version::new(3, i as u64),
        issued_at_ms: 1_700_000_000_000,
        payload: br#"{"furl":"pb://tubid@tcp:10.0.0.7:4460/swissnum","nickname":"node-07","available_space":1099511627776}"#.to_vec(),
    }
    .sign(keypair)
    .expect("the bench record is within bounds")
}

/// The slot key herald-store writes: origin, the family's position in `RecordKind::ALL`, key.
fn slot_key(record: &SignedRecord) -> Vec<u8> {
    let record = &record.record;
    let family = RecordKind::ALL.iter().position(|kind| *kind == record.kind.family());
    let mut key = record.origin.as_bytes().to_vec();
    key.push(family.expect("every kind is in ALL") as u8);
    key.extend_from_slice(record.key.as_bytes());
    key
}

/// The same work for both sides: herald's batches and raw redb's pre-encoded ones, each with a
/// fresh database.
struct Fixture {
    herald_batches: Vec<Vec<PersistOp>>,
    raw_batches: Vec<Vec<(Vec<u8>, Vec<u8>)>>,
    store: RedbStore,
    db: Database,
    // Held so the directories outlive the databases in them.
    _dirs: [tempfile::TempDir; 2],
}

impl Fixture {
    fn new() -> Fixture {
        let keypair = Keypair::from_secret([7; 32]);
        let records: Vec<Arc<SignedRecord>> =
            (0..BATCH_LEN * BATCH_COUNT).map(|i| Arc::new(record(&keypair, i))).collect();
        let herald_batches = records
            .chunks(BATCH_LEN)
            .map(|chunk| chunk.iter().cloned().map(PersistOp::PutRecord).collect())
            .collect();
        let raw_batches = records
            .chunks(BATCH_LEN)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|record| {
                        let value = postcard::to_allocvec(&**record).expect("encoding into a Vec");
                        (slot_key(record), value)
                    })
                    .collect()
            })
            .collect();
        let herald_dir = tempfile::tempdir().expect("a temporary directory");
        let raw_dir = tempfile::tempdir().expect("a temporary directory");
        let store = RedbStore::open(herald_dir.path()).expect("opening the store");
        let db = Database::create(raw_dir.path().join("raw.redb")).expect("creating the database");
        Fixture { herald_batches, raw_batches, store, db, _dirs: [herald_dir, raw_dir] }
    }

    fn herald_commit(&mut self, n: usize) {
        let batch = &self.herald_batches[n % BATCH_COUNT];
        self.store.apply(black_box(batch)).expect("applying a batch");
    }

    fn raw_commit(&self, n: usize) {
        let batch = &self.raw_batches[n % BATCH_COUNT];
        let mut txn = self.db.begin_write().expect("beginning a write transaction");
        txn.set_durability(Durability::Immediate);
        {
            let mut table = txn.open_table(RECORDS).expect("opening the table");
            for (key, value) in black_box(batch) {
                table.insert(key.as_slice(), value.as_slice()).expect("inserting");
            }
        }
        txn.commit().expect("committing");
    }
}

fn store_commit(c: &mut Criterion) {
    let mut fixture = Fixture::new();
    let mut group = c.benchmark_group("store_commit");
    group.throughput(Throughput::Elements(BATCH_LEN as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(8));
    let mut next = 0;
    group.bench_function("herald_store_apply", |b| {
        b.iter(|| {
            fixture.herald_commit(next);
            next += 1;
        })
    });
    let mut next = 0;
    group.bench_function("raw_redb", |b| {
        b.iter(|| {
            fixture.raw_commit(next);
            next += 1;
        })
    });
    group.finish();

    // Both sides wrote every slot.
    let stored = fixture.store.load().expect("loading the store").records.len();
    assert_eq!(stored, BATCH_LEN * BATCH_COUNT);
}

/// Commits herald and raw batches alternately for a few seconds and prints their throughputs
/// from the median commit times, and the ratio.
///
/// The two criterion measurements above run one after the other, so on a shared machine a
/// neighbour's load or the disk's flushing can land on one and not the other. Here both sides
/// see the same moments; the order inside each pair alternates so neither always follows the
/// other's sync.
fn paired_ratio() {
    let mut fixture = Fixture::new();
    let mut herald = Vec::new();
    let mut raw = Vec::new();
    let deadline = Instant::now() + PAIRED_TIME;
    let mut n = 0;
    while Instant::now() < deadline || n < 2 {
        let mut time_herald = |fixture: &mut Fixture| {
            let start = Instant::now();
            fixture.herald_commit(n);
            herald.push(start.elapsed());
        };
        let mut time_raw = |fixture: &mut Fixture| {
            let start = Instant::now();
            fixture.raw_commit(n);
            raw.push(start.elapsed());
        };
        if n % 2 == 0 {
            time_herald(&mut fixture);
            time_raw(&mut fixture);
        } else {
            time_raw(&mut fixture);
            time_herald(&mut fixture);
        }
        n += 1;
    }
    let per_second = |times: &mut Vec<Duration>| {
        times.sort_unstable();
        BATCH_LEN as f64 / times[times.len() / 2].as_secs_f64()
    };
    let (herald, raw) = (per_second(&mut herald), per_second(&mut raw));
    println!(
        "store_commit/paired ({n} interleaved pairs, medians): herald_store_apply {:.1} Kelem/s, \
         raw_redb {:.1} Kelem/s, ratio {:.3}",
        herald / 1e3,
        raw / 1e3,
        herald / raw
    );
}

// What criterion_group! and criterion_main! expand to, written out because the macros define a
// public function without documentation, which the workspace's missing_docs lint refuses.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    store_commit(&mut criterion);
    // Only under `cargo bench`, which passes --bench; `cargo test --benches` runs each
    // criterion benchmark once and should not spend seconds here.
    if std::env::args().any(|arg| arg == "--bench") {
        paired_ratio();
    }
    criterion.final_summary();
}
