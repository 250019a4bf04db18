//! Signature checking behind a trait, so the simulator can memoise it.
//!
//! The real node checks every record with [`DirectVerifier`]. The simulator may memoise results
//! by a record's exact bytes (design.md, "Simulating at scale"): identical bytes give the
//! identical answer, and a forged or altered record has other bytes, so it is still checked.

use std::collections::BTreeMap;
use std::sync::Arc;

use ed25519_dalek::VerifyingKey;

use crate::id::NodeId;
use crate::record::{RecordError, SignedRecord};

/// Checks a record's bounds and signature.
pub trait Verifier: Send {
    /// `Ok` if the record may be stored and forwarded.
    fn verify(&mut self, record: &SignedRecord) -> Result<(), RecordError>;

    /// The copy of a verified record the node keeps. A driver that runs many nodes in one
    /// process (the simulator) returns one allocation shared by every node that holds the
    /// record; a real node keeps the copy it decoded.
    fn share(&mut self, record: Arc<SignedRecord>) -> Arc<SignedRecord> {
        record
    }
}

/// Origins whose decompressed public keys are kept. Decompressing a key costs about a tenth of
/// a verification (measured in crates/bench); a grid's active origins fit easily.
pub const KEY_CACHE_LEN_MAX: usize = 4096;

/// Checks every record with Ed25519, every time, keeping the origins' decompressed keys.
#[derive(Clone, Debug, Default)]
pub struct DirectVerifier {
    key_cache: BTreeMap<NodeId, VerifyingKey>,
}

impl Verifier for DirectVerifier {
    fn verify(&mut self, record: &SignedRecord) -> Result<(), RecordError> {
        let origin = record.record.origin;
        let key = match self.key_cache.get(&origin) {
            Some(key) => *key,
            None => {
                let key = VerifyingKey::from_bytes(origin.as_bytes())
                    .map_err(|_| RecordError::BadSignature)?;
                if self.key_cache.len() >= KEY_CACHE_LEN_MAX {
                    // A bound, not an LRU: dropping everything is rare and costs one
                    // decompression per origin afterwards.
                    self.key_cache.clear();
                }
                self.key_cache.insert(origin, key);
                key
            }
        };
        record.verify_with(&key)
    }
}
