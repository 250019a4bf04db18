//! Crash consistency: whatever [`Store::apply`] acknowledged is there after `kill -9`.
//!
//! A writer process (`src/bin/herald-store-crash-writer.rs`) appends numbered batches to one
//! data directory and prints `ack <batch>` after each `apply` returns. The test reads a varying
//! number of acknowledgements, kills the writer with SIGKILL, reads whatever else it printed
//! before it died, reopens the store and checks:
//! - every acknowledged batch is there, record for record;
//! - batches are whole: the records present are exactly those of batches `0..n` (a batch split
//!   over several commits would leave a partial one);
//! - at most one batch beyond the last acknowledged one is there (committed, not yet printed);
//! - the issued-high version is that of the last record present (it is in the same commit);
//! - the lock died with the process, so the directory opens again at once.
//!
//! The next run continues the same sequence. The test fails if `apply` returned before its
//! commit was durable, or if a batch were not one transaction.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use herald_core::{Keypair, RecordKind, Rng, Snapshot, Version};
use herald_store::{RedbStore, Store};

const RUNS: u64 = 20;
const BATCH_LEN: u64 = 8;
const ACKS_PER_RUN_MAX: u64 = 40;
const SECRET_BYTE: u8 = 42;

#[test]
fn every_acknowledged_batch_survives_sigkill() {
    let seed = match std::env::var("HERALD_SEED") {
        Ok(text) => text.parse().expect("HERALD_SEED is a u64"),
        Err(_) => drawn_seed(),
    };
    // Captured, so shown only when the test fails.
    eprintln!(
        "seed {seed}: re-run with HERALD_SEED={seed} cargo test -p herald-store --test crash"
    );
    let mut rng = Rng::from_seed(seed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let keypair = Keypair::from_secret([SECRET_BYTE; 32]);

    // The highest batch any run acknowledged, and how many batches the store held after the
    // last kill.
    let mut acked_high: Option<u64> = None;
    let mut committed = 0;
    for run in 0..RUNS {
        // Now and then kill the writer before it acknowledges anything, which may land while
        // it opens (and recovers) the database.
        let acks_wanted = if rng.chance(0.15) { 0 } else { 1 + rng.below(ACKS_PER_RUN_MAX) };
        let mut writer = spawn_writer(dir.path());
        let mut lines = BufReader::new(writer.stdout.take().expect("piped stdout")).lines();
        let mut acks = 0;
        let mut take_ack = |line: String| {
            let batch: u64 = line
                .strip_prefix("ack ")
                .and_then(|number| number.parse().ok())
                .unwrap_or_else(|| panic!("run {run}: unexpected line {line:?}"));
            // The writer resumes right after what the store held, one batch at a time.
            assert_eq!(batch, committed + acks, "run {run}: acknowledgements out of sequence");
            acks += 1;
            acked_high = Some(batch);
        };
        for ack in 0..acks_wanted {
            let Some(Ok(line)) = lines.next() else {
                let status = writer.wait().expect("waiting for the writer");
                panic!("run {run}: the writer stopped after {ack} acknowledgements: {status}");
            };
            take_ack(line);
        }
        writer.kill().expect("sending SIGKILL");
        let status = writer.wait().expect("waiting for the writer");
        assert_eq!(status.signal(), Some(9), "run {run}: the writer exited by itself: {status}");
        // The writer may have acknowledged more before the signal landed; those count too.
        // (Each line is one write of a few bytes to a pipe, which is atomic.)
        for line in lines {
            take_ack(line.expect("reading the writer's output"));
        }

        let store = RedbStore::open(dir.path())
            .unwrap_or_else(|error| panic!("run {run}: reopening after SIGKILL failed: {error}"));
        let snapshot = store.load().expect("loading the store");
        committed = check_batches(&snapshot, &keypair, acked_high, run);
    }

    // Signatures are checked once at the end: they are the slow part, and every record written
    // by any run is still there.
    let store = RedbStore::open(dir.path()).expect("reopening the store");
    for record in store.load().expect("loading the store").records {
        record.verify().expect("a stored record still verifies");
    }
    assert!(acked_high.is_some(), "no run acknowledged a batch: the test checked nothing");
}

/// Checks the invariants listed at the top of the file; returns how many batches are stored.
fn check_batches(snapshot: &Snapshot, keypair: &Keypair, acked_high: Option<u64>, run: u64) -> u64 {
    let mut numbers: Vec<u64> = snapshot
        .records
        .iter()
        .map(|signed| {
            let record = &signed.record;
            let number: u64 = record
                .key
                .strip_prefix('k')
                .and_then(|number| number.parse().ok())
                .unwrap_or_else(|| panic!("run {run}: unexpected key {:?}", record.key));
            assert_eq!(record.origin, keypair.id(), "run {run}: record {number} origin");
            assert_eq!(record.kind, RecordKind::Announcement, "run {run}: record {number} kind");
            assert_eq!(record.version, Version::new(0, number), "run {run}: record {number}");
            number
        })
        .collect();
    numbers.sort_unstable();
    let count = numbers.len() as u64;
    assert!(
        numbers.iter().copied().eq(0..count),
        "run {run}: the stored records are not one unbroken sequence from k0"
    );
    assert_eq!(count % BATCH_LEN, 0, "run {run}: {count} records is a partial batch");
    let batches = count / BATCH_LEN;
    let acked = acked_high.map_or(0, |batch| batch + 1);
    assert!(
        batches >= acked,
        "run {run}: batch {} was acknowledged but only {batches} batches survived the kill",
        acked - 1
    );
    assert!(batches <= acked + 1, "run {run}: {batches} batches stored, {acked} acknowledged");
    let expected_high = count.checked_sub(1).map(|last| Version::new(0, last));
    assert_eq!(snapshot.issued_high, expected_high, "run {run}: issued high");
    batches
}

fn spawn_writer(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_herald-store-crash-writer"))
        .arg(dir)
        .arg(BATCH_LEN.to_string())
        .arg(SECRET_BYTE.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting herald-store-crash-writer")
}

/// A seed for a run that was not given one.
fn drawn_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}
