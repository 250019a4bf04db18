//! Counters a node keeps about its own traffic and about what it refused.
//!
//! Every drop is counted (a bound that is hit drops and counts, never blocks or grows).

use serde::Serialize;

/// Monotonic counters, read by `herald stats`, `/v1/stats` and the simulator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Frames received.
    pub frames_in: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Frames sent.
    pub frames_out: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Frames that could not be decoded.
    pub decode_errors: u64,
    /// Records refused for a bad signature or broken bounds.
    pub records_rejected: u64,
    /// Records that were new and were stored.
    pub records_stored: u64,
    /// Records already held (suppressed duplicates).
    pub records_duplicate: u64,
    /// Records older than the one held.
    pub records_stale: u64,
    /// Same-version records with different content.
    pub records_conflicting: u64,
    /// Records removed because their origin departed long enough ago.
    pub records_expired: u64,
    /// Records from peers that were not sent because a frame would have been too large.
    pub records_dropped: u64,
    /// Frames not sent because they would have exceeded the size limit.
    pub frames_dropped: u64,
    /// Local commands refused (stale sequence number, too large, ...).
    pub commands_refused: u64,
}
