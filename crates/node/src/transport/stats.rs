//! What the transport counts: atomic counters bumped by its tasks, and the snapshot of them
//! that [`super::Transport::stats`] returns.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters since [`super::Transport::bind`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TransportStats {
    /// Frames received on links (requests not included).
    pub frames_in: u64,
    /// Bytes of those frames, without prefixes.
    pub bytes_in: u64,
    /// Frames written to links.
    pub frames_out: u64,
    /// Bytes of those frames, without prefixes.
    pub bytes_out: u64,
    /// Frames dropped because the peer's send queue was full.
    pub frames_dropped_queue_full: u64,
    /// Frames dropped because no connection could carry them: every dial failed, the link was
    /// lost while writing, or the transport closed.
    pub frames_dropped_unreachable: u64,
    /// Frames and requests received but dropped because the event channel was full.
    pub frames_dropped_inbound: u64,
    /// Frames given to `send` that were empty, above `FRAME_SIZE_MAX`, or addressed to this
    /// node itself.
    pub frames_dropped_invalid: u64,
    /// Outgoing connection attempts (one per address tried, and one per request).
    pub dials: u64,
    /// Outgoing connection attempts that failed or timed out.
    pub dial_failures: u64,
    /// Handshakes that failed on either side (bad certificate, wrong id, policy refusal).
    pub handshake_failures: u64,
    /// Connections open now, inbound and outbound.
    pub connections_open: u64,
    /// Connections closed because a peer without a membership certificate opened a frame
    /// stream where guests may only ask to join.
    pub guests_refused: u64,
}

/// The live counters, shared by the transport's tasks.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) frames_in: AtomicU64,
    pub(super) bytes_in: AtomicU64,
    pub(super) frames_out: AtomicU64,
    pub(super) bytes_out: AtomicU64,
    pub(super) dropped_queue_full: AtomicU64,
    pub(super) dropped_unreachable: AtomicU64,
    pub(super) dropped_inbound: AtomicU64,
    pub(super) dropped_invalid: AtomicU64,
    pub(super) dials: AtomicU64,
    pub(super) dial_failures: AtomicU64,
    pub(super) handshake_failures: AtomicU64,
    pub(super) connections_open: AtomicU64,
    pub(super) guests_refused: AtomicU64,
}

pub(super) fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Counters {
    /// The counters now.
    pub(super) fn snapshot(&self) -> TransportStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TransportStats {
            frames_in: get(&self.frames_in),
            bytes_in: get(&self.bytes_in),
            frames_out: get(&self.frames_out),
            bytes_out: get(&self.bytes_out),
            frames_dropped_queue_full: get(&self.dropped_queue_full),
            frames_dropped_unreachable: get(&self.dropped_unreachable),
            frames_dropped_inbound: get(&self.dropped_inbound),
            frames_dropped_invalid: get(&self.dropped_invalid),
            dials: get(&self.dials),
            dial_failures: get(&self.dial_failures),
            handshake_failures: get(&self.handshake_failures),
            connections_open: get(&self.connections_open),
            guests_refused: get(&self.guests_refused),
        }
    }
}
