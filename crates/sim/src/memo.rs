//! A memoising signature checker shared by every simulated node.
//!
//! Ed25519 verification dominates the cost of large simulations (design.md, "Simulating at
//! scale"). The memo is keyed by the record's digest, which covers its exact signed bytes and
//! signature: identical bytes give the identical answer, and a forged or altered record has a
//! different digest and is verified afresh. Hits are counted and reported.
//!
//! The memo also keeps the first copy of every valid record and hands it to every node that
//! stores the record, so that a record held by N simulated nodes is one allocation, not N
//! (each node's decoded copy is dropped). It keeps every valid record seen in the run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use herald_core::{Digest, RecordError, SignedRecord, Verifier};

#[derive(Debug, Default)]
struct Memo {
    results: BTreeMap<Digest, Result<(), RecordError>>,
    shared: BTreeMap<Digest, Arc<SignedRecord>>,
    hits: u64,
    misses: u64,
}

/// A handle on the shared memo; clone one per node.
#[derive(Clone, Debug, Default)]
pub struct MemoVerifier(Arc<Mutex<Memo>>);

impl MemoVerifier {
    /// (hits, misses) so far.
    pub fn counts(&self) -> (u64, u64) {
        let memo = self.0.lock().expect("the memo lock is never poisoned: nothing panics inside");
        (memo.hits, memo.misses)
    }

    /// Signatures checked so far, answered from the memo or not.
    pub fn checks(&self) -> u64 {
        let (hits, misses) = self.counts();
        hits + misses
    }
}

impl Verifier for MemoVerifier {
    fn verify(&mut self, record: &SignedRecord) -> Result<(), RecordError> {
        let digest = record.digest();
        let mut memo =
            self.0.lock().expect("the memo lock is never poisoned: nothing panics inside");
        if let Some(result) = memo.results.get(&digest) {
            let result = *result;
            memo.hits += 1;
            return result;
        }
        memo.misses += 1;
        let result = record.verify();
        memo.results.insert(digest, result);
        result
    }

    fn share(&mut self, record: Arc<SignedRecord>) -> Arc<SignedRecord> {
        let mut memo =
            self.0.lock().expect("the memo lock is never poisoned: nothing panics inside");
        memo.shared.entry(record.digest()).or_insert(record).clone()
    }
}
