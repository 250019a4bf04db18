//! Signature checking behind a trait, so the simulator can memoise it.
//!
//! The real node checks every record with [`DirectVerifier`]. The simulator may memoise results
//! by a record's exact bytes (design.md, "Simulating at scale"): identical bytes give the
//! identical answer, and a forged or altered record has other bytes, so it is still checked.

use crate::record::{RecordError, SignedRecord};

/// Checks a record's bounds and signature.
pub trait Verifier: Send {
    /// `Ok` if the record may be stored and forwarded.
    fn verify(&mut self, record: &SignedRecord) -> Result<(), RecordError>;
}

/// Checks every record with Ed25519, every time.
#[derive(Clone, Copy, Debug, Default)]
pub struct DirectVerifier;

impl Verifier for DirectVerifier {
    fn verify(&mut self, record: &SignedRecord) -> Result<(), RecordError> {
        record.verify()
    }
}
