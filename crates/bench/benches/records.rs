//! Per-record costs of herald's signed records: sign, verify, encode and decode.
//!
//! Each operation is one criterion group, and each group runs herald's code beside a baseline in
//! the same process, so the two can be compared as a ratio rather than as absolute numbers that
//! depend on the machine:
//!
//! - `sign`: `Record::sign` against raw ed25519-dalek `SigningKey::sign` over the same bytes.
//! - `verify`: `record_verify` is what a node does with every record it receives: a
//!   `DirectVerifier::default()`, created once and held across iterations as a node holds it, called
//!   through the `Verifier` trait object (`Box<dyn Verifier>`, as in `Node`). Its baseline is raw
//!   `VerifyingKey::verify` over the same bytes with an already decompressed key. Beside them:
//!   `SignedRecord::verify` (no key cache: it decompresses the origin's key on every call), and
//!   the costs herald may add on top measured on their own: re-encoding the record into its
//!   signing bytes, and decompressing the key. Goal: record verify rate ÷ raw verify rate ≥ 0.9.
//! - `encode` and `decode`: postcard of one `SignedRecord`, and a wire frame holding one gossiped
//!   record (`Message::Broadcast(BroadcastMessage::Gossip)`).
//!
//! After the criterion groups, a last pass alternates herald's sign and verify with their
//! baselines chunk by chunk and prints both rates and their ratio (`sign/paired`,
//! `verify/paired`), the figures to quote on a shared machine.
//!
//! Run with `cargo bench -p herald-bench --bench records`; it takes about a minute. Criterion
//! keeps its reports in `target/criterion/`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use herald_core::broadcast::BroadcastMessage;
use herald_core::wire::{self, Message};
use herald_core::{DirectVerifier, Keypair, Record, RecordKind, SignedRecord, Verifier, Version};

const SECRET: [u8; 32] = [7; 32];
/// Operations timed back to back in one chunk of the paired pass.
const CHUNK_LEN: u32 = 64;
/// How long the paired pass runs for each of sign and verify.
const PAIRED_TIME: Duration = Duration::from_secs(4);

/// A typical announcement: a service name and a small JSON payload.
fn record(keypair: &Keypair) -> Record {
    Record {
        origin: keypair.id(),
        kind: RecordKind::Announcement,
        key: "storage".to_owned(),
        version: Version::new(3, 1_042),
        issued_at_ms: 1_700_000_000_000,
        payload: br#"{"furl":"pb://tubid@tcp:10.0.0.7:4460/swissnum","nickname":"node-07","available_space":1099511627776}"#.to_vec(),
    }
}

fn sign(c: &mut Criterion) {
    let keypair = Keypair::from_secret(SECRET);
    let signing_key = SigningKey::from_bytes(&SECRET);
    let record = record(&keypair);
    let bytes = record.signing_bytes();

    let mut group = c.benchmark_group("sign");
    group.throughput(Throughput::Elements(1));
    // Longer than the default here: the ratio to the baseline is the figure that matters.
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("record_sign", |b| {
        b.iter_batched(
            || record.clone(),
            |record| black_box(record).sign(&keypair),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("ed25519_dalek_sign", |b| b.iter(|| signing_key.sign(black_box(&bytes))));
    group.finish();
}

/// The verifier a node holds: created once, kept across records, called through the trait.
fn node_verifier() -> Box<dyn Verifier> {
    Box::new(DirectVerifier::default())
}

fn verify(c: &mut Criterion) {
    let keypair = Keypair::from_secret(SECRET);
    let signed = record(&keypair).sign(&keypair).expect("the bench record is within bounds");
    let bytes = signed.record.signing_bytes();
    let origin = *signed.record.origin.as_bytes();
    let verifying_key = VerifyingKey::from_bytes(&origin).expect("a key pair's id is a valid key");
    let mut verifier = node_verifier();
    assert!(verifier.verify(&signed).is_ok());
    assert!(signed.verify().is_ok());
    assert!(verifying_key.verify(&bytes, &signed.signature).is_ok());
    let mut forged = signed.clone();
    forged.record.payload.push(b' ');
    assert!(verifier.verify(&forged).is_err(), "the verifier must check every call");

    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("record_verify", |b| b.iter(|| verifier.verify(black_box(&signed))));
    group.bench_function("ed25519_dalek_verify", |b| {
        b.iter(|| verifying_key.verify(black_box(&bytes), black_box(&signed.signature)))
    });
    // What a verifier without a key cache does: decompress the origin's key on every call.
    group.bench_function("signed_record_verify_uncached", |b| {
        b.iter(|| black_box(&signed).verify())
    });
    // What herald may add to the baseline, one part at a time.
    group.bench_function("ed25519_dalek_verify_with_key_decompression", |b| {
        b.iter(|| {
            VerifyingKey::from_bytes(black_box(&origin))
                .map(|key| key.verify(black_box(&bytes), black_box(&signed.signature)))
        })
    });
    group.bench_function("key_decompression_only", |b| {
        b.iter(|| VerifyingKey::from_bytes(black_box(&origin)))
    });
    group.bench_function("signing_bytes_only", |b| {
        b.iter(|| black_box(&signed.record).signing_bytes())
    });
    group.finish();
}

/// One record as a node pushes it: a gossip message, two hops from its origin.
fn gossip(record: SignedRecord) -> Message {
    Message::Broadcast(BroadcastMessage::Gossip { round: 2, record: record.into() })
}

fn encode(c: &mut Criterion) {
    let keypair = Keypair::from_secret(SECRET);
    let signed = record(&keypair).sign(&keypair).expect("the bench record is within bounds");
    let message = gossip(signed.clone());

    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("postcard_signed_record", |b| {
        b.iter(|| postcard::to_allocvec(black_box(&signed)))
    });
    group.bench_function("wire_frame_with_1_record", |b| {
        b.iter(|| wire::encode(black_box(&message)))
    });
    group.finish();
}

fn decode(c: &mut Criterion) {
    let keypair = Keypair::from_secret(SECRET);
    let signed = record(&keypair).sign(&keypair).expect("the bench record is within bounds");
    let record_bytes = postcard::to_allocvec(&signed).expect("encoding into a Vec cannot fail");
    let frame = wire::encode(&gossip(signed.clone())).expect("one record fits a frame");
    assert_eq!(postcard::from_bytes::<SignedRecord>(&record_bytes).as_ref(), Ok(&signed));

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("postcard_signed_record", |b| {
        b.iter(|| postcard::from_bytes::<SignedRecord>(black_box(&record_bytes)))
    });
    group
        .bench_function("wire_frame_with_1_record", |b| b.iter(|| wire::decode(black_box(&frame))));
    group.finish();
}

/// Times `herald` and `baseline` in alternating chunks of [`CHUNK_LEN`] calls for
/// [`PAIRED_TIME`], and prints the median rate of each and their ratio.
fn paired(name: &str, mut herald: impl FnMut(), mut baseline: impl FnMut()) {
    let time_chunk = |op: &mut dyn FnMut(), times: &mut Vec<Duration>| {
        let start = Instant::now();
        for _ in 0..CHUNK_LEN {
            op();
        }
        times.push(start.elapsed());
    };
    let (mut herald_times, mut baseline_times) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + PAIRED_TIME;
    let mut n = 0;
    while Instant::now() < deadline || n < 2 {
        if n % 2 == 0 {
            time_chunk(&mut herald, &mut herald_times);
            time_chunk(&mut baseline, &mut baseline_times);
        } else {
            time_chunk(&mut baseline, &mut baseline_times);
            time_chunk(&mut herald, &mut herald_times);
        }
        n += 1;
    }
    let per_second = |times: &mut Vec<Duration>| {
        times.sort_unstable();
        f64::from(CHUNK_LEN) / times[times.len() / 2].as_secs_f64()
    };
    let (herald_rate, baseline_rate) =
        (per_second(&mut herald_times), per_second(&mut baseline_times));
    println!(
        "{name}/paired ({n} interleaved pairs of {CHUNK_LEN}-call chunks, medians): herald \
         {:.1} Kelem/s, ed25519-dalek {:.1} Kelem/s, ratio {:.3}",
        herald_rate / 1e3,
        baseline_rate / 1e3,
        herald_rate / baseline_rate
    );
}

fn paired_ratios() {
    let keypair = Keypair::from_secret(SECRET);
    let signing_key = SigningKey::from_bytes(&SECRET);
    let unsigned = record(&keypair);
    let bytes = unsigned.signing_bytes();
    paired(
        "sign",
        || {
            let _ = black_box(black_box(unsigned.clone()).sign(&keypair));
        },
        || {
            black_box(signing_key.sign(black_box(&bytes)));
        },
    );

    let signed = unsigned.sign(&keypair).expect("the bench record is within bounds");
    let verifying_key = signing_key.verifying_key();
    let mut verifier = node_verifier();
    paired(
        "verify",
        || {
            let _ = black_box(verifier.verify(black_box(&signed)));
        },
        || {
            let _ =
                black_box(verifying_key.verify(black_box(&bytes), black_box(&signed.signature)));
        },
    );
}

// What criterion_group! and criterion_main! expand to, written out because the macros define a
// public function without documentation, which the workspace's missing_docs lint refuses.
fn main() {
    // Short runs: the whole file finishes in about a minute, which is enough for ratios measured
    // side by side in one process.
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
        .configure_from_args();
    sign(&mut criterion);
    verify(&mut criterion);
    encode(&mut criterion);
    decode(&mut criterion);
    // Only under `cargo bench`, which passes --bench; `cargo test --benches` runs each
    // criterion benchmark once and should not spend seconds here.
    if std::env::args().any(|arg| arg == "--bench") {
        paired_ratios();
    }
    criterion.final_summary();
}
