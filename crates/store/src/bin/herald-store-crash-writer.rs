//! Test helper for `tests/crash.rs`: writes batches of records to a [`RedbStore`] and prints
//! `ack <batch>` after each [`Store::apply`] returns, until it is killed.
//!
//! Usage: `herald-store-crash-writer <dir> <batch-len> <secret-byte>`
//!
//! Batch `b` holds the records numbered `b * batch-len` to `(b + 1) * batch-len - 1`. Record `i`
//! is an announcement with key `k{i}` and version (0, `i`), signed by
//! `Keypair::from_secret([secret-byte; 32])`, and the batch ends with `SetIssuedHigh((0, last))`.
//! The writer resumes after the highest issued version it finds, so consecutive runs on one
//! directory continue one sequence. It exits when stdout is closed.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use herald_core::{Keypair, PersistOp, Record, RecordKind, Version};
use herald_store::{RedbStore, Store};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("herald-store-crash-writer: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, batch_len, secret] = args.as_slice() else {
        return Err("usage: herald-store-crash-writer <dir> <batch-len> <secret-byte>".into());
    };
    let dir = PathBuf::from(dir);
    let batch_len: u64 = batch_len.parse().map_err(|e| format!("batch length: {e}"))?;
    let secret: u8 = secret.parse().map_err(|e| format!("secret byte: {e}"))?;
    if batch_len == 0 {
        return Err("batch length must be at least 1".into());
    }
    let keypair = Keypair::from_secret([secret; 32]);

    let mut store = RedbStore::open(&dir).map_err(|e| e.to_string())?;
    let issued_high = store.load().map_err(|e| e.to_string())?.issued_high;
    let next = issued_high.map_or(0, |version| version.seq + 1);
    if next % batch_len != 0 {
        return Err(format!("the store ends inside a batch, after record {}", next - 1));
    }

    let mut stdout = io::stdout().lock();
    for batch in next / batch_len.. {
        let first = batch * batch_len;
        let last = first + batch_len - 1;
        let mut ops: Vec<PersistOp> = (first..=last)
            .map(|i| {
                let record = Record {
                    origin: keypair.id(),
                    kind: RecordKind::Announcement,
                    key: format!("k{i}"),
                    version: Version::new(0, i),
                    issued_at_ms: i,
                    payload: i.to_be_bytes().to_vec(),
                };
                let signed = record.sign(&keypair).expect("small records are within bounds");
                PersistOp::PutRecord(Arc::new(signed))
            })
            .collect();
        ops.push(PersistOp::SetIssuedHigh(Version::new(0, last)));
        store.apply(&ops).map_err(|e| e.to_string())?;
        // A write error means the test closed the pipe: stop quietly.
        if writeln!(stdout, "ack {batch}").and_then(|()| stdout.flush()).is_err() {
            return Ok(());
        }
    }
    Ok(())
}
