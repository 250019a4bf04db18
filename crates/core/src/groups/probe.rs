//! Bandwidth probes between group members (seed 004's `bandwidth-period`): every period a
//! member sends [`PROBE_LEN`] bytes of filler to a random other member, which answers once it
//! has them all. The time the answer took beyond the smoothed round trip is the time the bytes
//! took to cross, and their length over that time estimates the path's bandwidth.
//!
//! The probe is one chunk's length, so the estimate is what matters to a flood: how long a
//! chunk takes to cross the link. Its cost is [`PROBE_LEN`] bytes per member per
//! `bandwidth-period` (64 KiB a minute with the seed's periods, about 1 KB/s). A transfer
//! shorter than [`TRANSFER_FLOOR`] counts as that long, so every path faster than about 0.5
//! Gbit/s reads as [`BANDWIDTH_MAX_KBPS`]: the probe tells slow paths from fast ones, not fast
//! ones apart. One packet train is noisy (cross traffic, a congestion window still opening),
//! so samples are smoothed.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::id::NodeId;
use crate::time::Instant;

use super::measure::PINGS_PENDING_MAX;
use super::pull::CHUNK_LEN;

/// Bytes of filler in a probe: one chunk.
pub const PROBE_LEN: usize = CHUNK_LEN as usize;

/// The shortest transfer time a probe is credited with.
pub const TRANSFER_FLOOR: Duration = Duration::from_millis(1);

/// The highest bandwidth a probe can report, in kilobytes per second: [`PROBE_LEN`] in
/// [`TRANSFER_FLOOR`].
pub const BANDWIDTH_MAX_KBPS: u32 = (PROBE_LEN as u32) / (TRANSFER_FLOOR.as_millis() as u32);

/// The weight of a new bandwidth sample in the smoothed estimate. Higher than the round trip's
/// 0.125: probes are rare (one a `bandwidth-period`), so a slow gain would take many minutes.
const BANDWIDTH_GAIN: f64 = 0.25;

/// Bandwidth probes sent and their smoothed results.
#[derive(Debug, Default)]
pub(super) struct Probes {
    /// Smoothed bandwidth to each member probed, in kilobytes per second.
    kbps: BTreeMap<NodeId, f64>,
    /// Probes awaiting their answer: nonce to (member, when sent).
    pending: BTreeMap<u64, (NodeId, Instant)>,
}

impl Probes {
    /// A probe to `peer` with this nonce leaves now; the oldest unanswered one is forgotten
    /// past [`PINGS_PENDING_MAX`].
    pub(super) fn sent(&mut self, nonce: u64, peer: NodeId, now: Instant) {
        self.pending.insert(nonce, (peer, now));
        while self.pending.len() > PINGS_PENDING_MAX {
            self.pending.pop_first();
        }
    }

    /// `from` answered the probe `nonce`: `true` if it was one of ours to that member, in
    /// which case the bandwidth is sampled, given the round trip to it (`None` if not yet
    /// measured: the sample is then skipped, since the transfer time cannot be told apart).
    pub(super) fn answered(
        &mut self,
        now: Instant,
        from: NodeId,
        nonce: u64,
        rtt: Option<Duration>,
    ) -> bool {
        match self.pending.get(&nonce) {
            Some((peer, sent)) if *peer == from => {
                let elapsed = now.saturating_since(*sent);
                self.pending.remove(&nonce);
                if let Some(rtt) = rtt {
                    self.sample(from, elapsed.saturating_sub(rtt));
                }
                true
            }
            _ => false,
        }
    }

    fn sample(&mut self, peer: NodeId, transfer: Duration) {
        let transfer = transfer.max(TRANSFER_FLOOR).as_secs_f64();
        let kbps = (PROBE_LEN as f64 / 1000.0 / transfer).min(f64::from(BANDWIDTH_MAX_KBPS));
        let smoothed = self.kbps.entry(peer).or_insert(kbps);
        *smoothed += BANDWIDTH_GAIN * (kbps - *smoothed);
    }

    /// The smoothed bandwidth to each member probed, in whole kilobytes per second.
    pub(super) fn estimates(&self) -> impl Iterator<Item = (NodeId, u32)> + '_ {
        self.kbps.iter().map(|(peer, kbps)| (*peer, kbps.round().max(1.0) as u32))
    }

    /// The smoothed bandwidth to `peer`, if probed, in kilobytes per second.
    pub(super) fn kbps_to(&self, peer: NodeId) -> Option<u32> {
        self.kbps.get(&peer).map(|kbps| kbps.round().max(1.0) as u32)
    }
}

/// The time, in milliseconds, a chunk takes to cross a link of this bandwidth: what a link's
/// bandwidth adds to its cost in a group's topology.
pub fn chunk_transfer_ms(kbps: u32) -> u32 {
    (PROBE_LEN as u32).div_ceil(kbps.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Keypair;

    fn peer(n: u8) -> NodeId {
        Keypair::from_secret([n; 32]).id()
    }

    #[test]
    fn a_probe_that_takes_longer_than_a_round_trip_reads_as_its_bandwidth() {
        let mut probes = Probes::default();
        let start = Instant::ZERO;
        probes.sent(1, peer(1), start);
        // 64 KiB in 20 ms beyond a 10 ms round trip: 3,277 KB/s.
        let rtt = Some(Duration::from_millis(10));
        assert!(probes.answered(start + Duration::from_millis(30), peer(1), 1, rtt));
        assert_eq!(probes.kbps_to(peer(1)), Some(3277));
        assert_eq!(chunk_transfer_ms(3277), 20);
    }

    #[test]
    fn a_fast_path_reads_as_the_ceiling_and_samples_are_smoothed() {
        let mut probes = Probes::default();
        let start = Instant::ZERO;
        let rtt = Some(Duration::from_millis(10));
        probes.sent(1, peer(1), start);
        assert!(probes.answered(start + Duration::from_millis(10), peer(1), 1, rtt));
        assert_eq!(probes.kbps_to(peer(1)), Some(BANDWIDTH_MAX_KBPS));
        assert_eq!(chunk_transfer_ms(BANDWIDTH_MAX_KBPS), 1);
        // A slow sample moves the estimate a quarter of the way.
        probes.sent(2, peer(1), start);
        assert!(probes.answered(start + Duration::from_millis(74), peer(1), 2, rtt));
        let slow = 1024.0;
        let expected =
            f64::from(BANDWIDTH_MAX_KBPS) + 0.25 * (slow - f64::from(BANDWIDTH_MAX_KBPS));
        assert_eq!(probes.kbps_to(peer(1)), Some(expected.round() as u32));
    }

    #[test]
    fn an_answer_from_the_wrong_member_or_without_a_round_trip_samples_nothing() {
        let mut probes = Probes::default();
        let start = Instant::ZERO;
        probes.sent(1, peer(1), start);
        let later = start + Duration::from_millis(30);
        assert!(!probes.answered(later, peer(2), 1, Some(Duration::ZERO)));
        assert!(!probes.answered(later, peer(1), 9, Some(Duration::ZERO)));
        assert!(probes.answered(later, peer(1), 1, None));
        assert_eq!(probes.kbps_to(peer(1)), None);
        assert!(!probes.answered(later, peer(1), 1, Some(Duration::ZERO)), "answered twice");
    }
}
