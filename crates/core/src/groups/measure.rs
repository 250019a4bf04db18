//! Measurements between group members (seed 004): each member pings a random other member
//! every `ping-period` and probes the bandwidth to one every `bandwidth-period` (the `probe`
//! module), smooths the round trips (and takes those the driver measured on its own
//! connections), and shares both as its estimates record every `estimates-period`, when they
//! moved enough to matter. Every member computes the group's topology from the same shared
//! estimates, so a quiet grid re-publishes nothing and its topology stays put.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::id::NodeId;
use crate::rng::Rng;
use crate::time::Instant;

use super::estimates::{BANDWIDTH_ESTIMATES_MAX, ESTIMATES_MAX, Estimates};
use super::probe::{PROBE_LEN, Probes};
use super::{Groups, GroupsMessage, GroupsOutput};

/// Pings awaiting their answer, at most; the oldest is forgotten first.
pub const PINGS_PENDING_MAX: usize = 64;

/// The weight of a new round-trip sample in the smoothed estimate: 0.125, TCP's (RFC 6298).
const RTT_GAIN: f64 = 0.125;

/// A shared round trip is published again when it moves by more than this fraction of it...
const CHANGE_FRACTION: f64 = 0.25;
/// ... and by more than this many milliseconds.
const CHANGE_MIN_MS: u32 = 5;

/// What this node measured and shared.
#[derive(Debug, Default)]
pub(super) struct Measurements {
    /// Smoothed round trip to each member measured, in milliseconds.
    rtt_ms: BTreeMap<NodeId, f64>,
    /// Pings sent: nonce to (member, when).
    pings: BTreeMap<u64, (NodeId, Instant)>,
    next_nonce: u64,
    /// When each group's next ping is due.
    next_ping: BTreeMap<String, Instant>,
    /// Bandwidth probes and their results.
    probes: Probes,
    /// When each group's next bandwidth probe is due.
    next_probe: BTreeMap<String, Instant>,
    /// When the estimates are next looked at.
    next_share: Option<Instant>,
    /// The estimates last shared, and when.
    shared: Option<(Estimates, Instant)>,
}

impl Measurements {
    /// A fresh nonce for a ping or a probe.
    fn nonce(&mut self) -> u64 {
        self.next_nonce += 1;
        self.next_nonce
    }
}

impl Groups {
    /// A round trip to `peer` measured by the driver (its connection's own estimate).
    pub fn measured(&mut self, peer: NodeId, rtt: Duration) {
        if self.is_known_member(peer) {
            self.sample(peer, rtt);
        }
    }

    /// The smoothed round trip to `peer`, if measured.
    pub fn rtt_to(&self, peer: NodeId) -> Option<Duration> {
        let ms = *self.measurements.rtt_ms.get(&peer)?;
        Some(Duration::from_secs_f64(ms / 1000.0))
    }

    fn is_known_member(&self, peer: NodeId) -> bool {
        self.groups.values().any(|group| {
            group
                .topology
                .as_ref()
                .is_some_and(|topology| topology.members.binary_search(&peer).is_ok())
        })
    }

    fn sample(&mut self, peer: NodeId, rtt: Duration) {
        let ms = rtt.as_secs_f64() * 1000.0;
        let smoothed = self.measurements.rtt_ms.entry(peer).or_insert(ms);
        *smoothed += RTT_GAIN * (ms - *smoothed);
    }

    /// Sends each group's ping and bandwidth probe if due, and shares the estimates if due and
    /// changed.
    pub(super) fn measure(&mut self, now: Instant, rng: &mut Rng, out: &mut Vec<GroupsOutput>) {
        let mut pings = Vec::new();
        let mut probes = Vec::new();
        for (name, group) in &self.groups {
            let Some(topology) = &group.topology else { continue };
            let Some(spec) = &topology.spec else { continue };
            let others: Vec<NodeId> =
                topology.members.iter().copied().filter(|member| *member != self.me).collect();
            let measurements = &mut self.measurements;
            let schedules = [
                (&mut measurements.next_ping, spec.params.ping_period, &mut pings),
                (&mut measurements.next_probe, spec.params.bandwidth_period, &mut probes),
            ];
            for (next, period, picked) in schedules {
                let due = next.entry(name.clone()).or_insert(now);
                if now >= *due {
                    *due = now + period;
                    if !others.is_empty() {
                        picked.push(others[rng.index(others.len())]);
                    }
                }
            }
        }
        for peer in pings {
            let nonce = self.measurements.nonce();
            let measurements = &mut self.measurements;
            measurements.pings.insert(nonce, (peer, now));
            while measurements.pings.len() > PINGS_PENDING_MAX {
                measurements.pings.pop_first();
            }
            out.push(GroupsOutput::Send(peer, GroupsMessage::Ping { nonce }));
        }
        for peer in probes {
            let nonce = self.measurements.nonce();
            self.measurements.probes.sent(nonce, peer, now);
            let fill = vec![0; PROBE_LEN];
            out.push(GroupsOutput::Send(peer, GroupsMessage::Probe { nonce, fill }));
        }
        self.share_estimates(now, out);
    }

    /// Answers a ping, or a probe once it arrived whole.
    pub(super) fn on_ping(&self, from: NodeId, nonce: u64, out: &mut Vec<GroupsOutput>) {
        if self.groups.is_empty() {
            return;
        }
        out.push(GroupsOutput::Send(from, GroupsMessage::Pong { nonce }));
    }

    /// Takes the round trip of an answered ping, or the bandwidth of an answered probe.
    pub(super) fn on_pong(&mut self, now: Instant, from: NodeId, nonce: u64) {
        match self.measurements.pings.remove(&nonce) {
            Some((peer, sent)) if peer == from => self.sample(peer, now.saturating_since(sent)),
            Some(entry) => {
                self.measurements.pings.insert(nonce, entry);
                self.counters.refused += 1;
            }
            None => {
                let rtt = self.rtt_to(from);
                if !self.measurements.probes.answered(now, from, nonce, rtt) {
                    self.counters.refused += 1;
                }
            }
        }
    }

    /// The smoothed bandwidth to `peer`, in kilobytes per second, if probed.
    pub fn bandwidth_to(&self, peer: NodeId) -> Option<u32> {
        self.measurements.probes.kbps_to(peer)
    }

    /// Shares the estimates every `estimates-period` (the shortest of the groups'), if one
    /// moved by more than a quarter and 5 ms, or a member was measured for the first time; at
    /// most once every `update-period`, so a member's topology changes from drifting costs
    /// at most that often.
    fn share_estimates(&mut self, now: Instant, out: &mut Vec<GroupsOutput>) {
        let periods = self.groups.values().filter_map(|group| {
            let spec = group.topology.as_ref()?.spec.as_ref()?;
            Some((spec.params.estimates_period, spec.params.update_period))
        });
        let Some((every, at_most)) = periods.reduce(|a, b| (a.0.min(b.0), a.1.min(b.1))) else {
            return;
        };
        let measurements = &mut self.measurements;
        if measurements.next_share.is_some_and(|due| now < due) {
            return;
        }
        measurements.next_share = Some(now + every);
        if measurements.shared.as_ref().is_some_and(|(_, at)| now.saturating_since(*at) < at_most) {
            return;
        }
        let rtt_ms: Vec<(NodeId, u32)> = measurements
            .rtt_ms
            .iter()
            .take(ESTIMATES_MAX)
            .map(|(peer, ms)| (*peer, ms.round().clamp(1.0, f64::from(u32::MAX)) as u32))
            .collect();
        let bandwidth_kbps: Vec<(NodeId, u32)> =
            measurements.probes.estimates().take(BANDWIDTH_ESTIMATES_MAX).collect();
        let estimates = Estimates { rtt_ms, bandwidth_kbps };
        let moved = match &measurements.shared {
            None => !estimates.rtt_ms.is_empty() || !estimates.bandwidth_kbps.is_empty(),
            Some((shared, _)) => moved_enough(shared, &estimates),
        };
        if moved {
            measurements.shared = Some((estimates.clone(), now));
            out.push(GroupsOutput::ShareEstimates(estimates));
        }
    }
}

/// Whether `new` differs from `shared` enough to be shared: a peer added, a round trip moved
/// by more than [`CHANGE_FRACTION`] and [`CHANGE_MIN_MS`], or a bandwidth by more than
/// [`CHANGE_FRACTION`].
fn moved_enough(shared: &Estimates, new: &Estimates) -> bool {
    let moved = |before: &[(NodeId, u32)], after: &[(NodeId, u32)], min_delta: u32| {
        let before: BTreeMap<NodeId, u32> = before.iter().copied().collect();
        after.iter().any(|(peer, figure)| match before.get(peer) {
            None => true,
            Some(old) => {
                let delta = figure.abs_diff(*old);
                delta > min_delta && f64::from(delta) > CHANGE_FRACTION * f64::from(*old)
            }
        })
    };
    moved(&shared.rtt_ms, &new.rtt_ms, CHANGE_MIN_MS)
        || moved(&shared.bandwidth_kbps, &new.bandwidth_kbps, 0)
}
