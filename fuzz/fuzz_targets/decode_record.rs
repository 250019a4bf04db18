//! Fuzzes the decoding of one postcard-encoded `SignedRecord` (as the store reads them back),
//! then checks it as a node would: bounds, signature and digest.
//!
//! Neither step may panic, whatever the bytes.

#![no_main]

use herald_core::SignedRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(record) = postcard::from_bytes::<SignedRecord>(bytes) else { return };
    let _ = record.verify();
    let _ = record.digest();
});
