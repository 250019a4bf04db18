//! Counters a node keeps about its own traffic and about what it refused.
//!
//! Every drop is counted (a bound that is hit drops and counts, never blocks or grows).

use std::ops::AddAssign;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::wire::MessageKind;

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
    /// Record copies sent to peers, by broadcast and by anti-entropy (a record in a frame sent
    /// to three peers counts three).
    pub records_out: u64,
    /// Of `records_out`, the copies sent by anti-entropy.
    pub records_out_repair: u64,
    /// Of `records_out`, the copies of announcements and withdrawals: what applications
    /// publish, apart from membership's claims and the nodes' profiles and certificates.
    pub announcements_out: u64,
    /// Of `records_out`, the copies of link-state advertisements.
    pub link_states_out: u64,
    /// Bytes of the link-state advertisements in `link_states_out`.
    pub link_state_bytes_out: u64,
    /// Bytes of the group data frames sent: chunks, offers, pulls and digests.
    pub group_bytes_out: u64,
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
    /// Records that arrived by anti-entropy and were new (what broadcast had missed).
    pub records_repaired: u64,
    /// Plumtree grafts sent (tree repairs and optimisations).
    pub grafts: u64,
    /// Plumtree prunes sent (redundant links made lazy).
    pub prunes: u64,
    /// Frames not sent because they would have exceeded the size limit.
    pub frames_dropped: u64,
    /// Local commands refused (stale sequence number, too large, ...).
    pub commands_refused: u64,
    /// Announcements refused because their origin is not reachable over the kind of
    /// recommendation the forwarding policy follows (see [`crate::grid_control::policy`]).
    pub records_unreachable: u64,
    /// Frames and bytes in and out by message kind. The totals above count frames that could
    /// not be decoded too; these count only frames whose kind is known.
    pub by_kind: ByKind,
}

/// Frames and bytes of one message kind, in and out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    /// Frames received.
    pub frames_in: u64,
    /// Bytes of those frames.
    pub bytes_in: u64,
    /// Frames sent.
    pub frames_out: u64,
    /// Bytes of those frames.
    pub bytes_out: u64,
}

/// [`KindCounts`] for every [`MessageKind`]; serialized as an object keyed by the kinds' names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ByKind([KindCounts; MessageKind::ALL.len()]);

impl ByKind {
    /// The counts of `kind`.
    pub fn get(&self, kind: MessageKind) -> &KindCounts {
        &self.0[kind as usize]
    }

    /// Counts a frame of `bytes` bytes received.
    pub(crate) fn note_in(&mut self, kind: MessageKind, bytes: usize) {
        let counts = &mut self.0[kind as usize];
        counts.frames_in += 1;
        counts.bytes_in += bytes as u64;
    }

    /// Counts a frame of `bytes` bytes sent.
    pub(crate) fn note_out(&mut self, kind: MessageKind, bytes: usize) {
        let counts = &mut self.0[kind as usize];
        counts.frames_out += 1;
        counts.bytes_out += bytes as u64;
    }
}

impl Serialize for ByKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(MessageKind::ALL.len()))?;
        for kind in MessageKind::ALL {
            map.serialize_entry(kind.name(), self.get(kind))?;
        }
        map.end()
    }
}

impl AddAssign<&ByKind> for ByKind {
    fn add_assign(&mut self, more: &ByKind) {
        for (counts, more) in self.0.iter_mut().zip(&more.0) {
            counts.frames_in += more.frames_in;
            counts.bytes_in += more.bytes_in;
            counts.frames_out += more.frames_out;
            counts.bytes_out += more.bytes_out;
        }
    }
}

impl AddAssign<&Stats> for Stats {
    fn add_assign(&mut self, more: &Stats) {
        // Destructured so that a new counter cannot be forgotten here.
        let Stats {
            frames_in,
            bytes_in,
            frames_out,
            bytes_out,
            records_out,
            records_out_repair,
            announcements_out,
            link_states_out,
            link_state_bytes_out,
            group_bytes_out,
            decode_errors,
            records_rejected,
            records_stored,
            records_duplicate,
            records_stale,
            records_conflicting,
            records_expired,
            records_repaired,
            grafts,
            prunes,
            frames_dropped,
            commands_refused,
            records_unreachable,
            by_kind,
        } = more;
        self.frames_in += frames_in;
        self.bytes_in += bytes_in;
        self.frames_out += frames_out;
        self.bytes_out += bytes_out;
        self.records_out += records_out;
        self.records_out_repair += records_out_repair;
        self.announcements_out += announcements_out;
        self.link_states_out += link_states_out;
        self.link_state_bytes_out += link_state_bytes_out;
        self.group_bytes_out += group_bytes_out;
        self.decode_errors += decode_errors;
        self.records_rejected += records_rejected;
        self.records_stored += records_stored;
        self.records_duplicate += records_duplicate;
        self.records_stale += records_stale;
        self.records_conflicting += records_conflicting;
        self.records_expired += records_expired;
        self.records_repaired += records_repaired;
        self.grafts += grafts;
        self.prunes += prunes;
        self.frames_dropped += frames_dropped;
        self.commands_refused += commands_refused;
        self.records_unreachable += records_unreachable;
        self.by_kind += by_kind;
    }
}
