//! Measurements between group members (seed 004): each member pings a random other member
//! every `ping-period`, smooths the round trips (and takes those the driver measured on its
//! own connections), and shares them as its estimates record every `estimates-period`, when
//! they moved enough to matter. Every member computes the group's topology from the same
//! shared estimates, so a quiet grid re-publishes nothing and its topology stays put.
//!
//! Not built: bandwidth probes (the estimates record has room for them; see docs/decisions.md).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::id::NodeId;
use crate::rng::Rng;
use crate::time::Instant;

use super::estimates::{ESTIMATES_MAX, Estimates};
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
    /// When the estimates are next looked at.
    next_share: Option<Instant>,
    /// The estimates last shared, and when.
    shared: Option<(Estimates, Instant)>,
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

    /// Sends each group's ping if due, and shares the estimates if due and changed.
    pub(super) fn measure(&mut self, now: Instant, rng: &mut Rng, out: &mut Vec<GroupsOutput>) {
        let mut pings = Vec::new();
        for (name, group) in &self.groups {
            let Some(topology) = &group.topology else { continue };
            let Some(spec) = &topology.spec else { continue };
            let due = self.measurements.next_ping.entry(name.clone()).or_insert(now);
            if now < *due {
                continue;
            }
            *due = now + spec.params.ping_period;
            let others: Vec<NodeId> =
                topology.members.iter().copied().filter(|member| *member != self.me).collect();
            if !others.is_empty() {
                pings.push(others[rng.index(others.len())]);
            }
        }
        for peer in pings {
            let measurements = &mut self.measurements;
            measurements.next_nonce += 1;
            let nonce = measurements.next_nonce;
            measurements.pings.insert(nonce, (peer, now));
            while measurements.pings.len() > PINGS_PENDING_MAX {
                measurements.pings.pop_first();
            }
            out.push(GroupsOutput::Send(peer, GroupsMessage::Ping { nonce }));
        }
        self.share_estimates(now, out);
    }

    /// Answers a ping.
    pub(super) fn on_ping(&self, from: NodeId, nonce: u64, out: &mut Vec<GroupsOutput>) {
        if self.groups.is_empty() {
            return;
        }
        out.push(GroupsOutput::Send(from, GroupsMessage::Pong { nonce }));
    }

    /// Takes the round trip of an answered ping.
    pub(super) fn on_pong(&mut self, now: Instant, from: NodeId, nonce: u64) {
        match self.measurements.pings.remove(&nonce) {
            Some((peer, sent)) if peer == from => self.sample(peer, now.saturating_since(sent)),
            Some(entry) => {
                self.measurements.pings.insert(nonce, entry);
                self.counters.refused += 1;
            }
            None => self.counters.refused += 1,
        }
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
        let estimates = Estimates { rtt_ms, bandwidth_kbps: Vec::new() };
        let moved = match &measurements.shared {
            None => !estimates.rtt_ms.is_empty(),
            Some((shared, _)) => moved_enough(shared, &estimates),
        };
        if moved {
            measurements.shared = Some((estimates.clone(), now));
            out.push(GroupsOutput::ShareEstimates(estimates));
        }
    }
}

/// Whether `new` differs from `shared` enough to be shared: a peer added, or a round trip
/// moved by more than [`CHANGE_FRACTION`] and [`CHANGE_MIN_MS`].
fn moved_enough(shared: &Estimates, new: &Estimates) -> bool {
    let before: BTreeMap<NodeId, u32> = shared.rtt_ms.iter().copied().collect();
    new.rtt_ms.iter().any(|(peer, ms)| match before.get(peer) {
        None => true,
        Some(old) => {
            let delta = ms.abs_diff(*old);
            delta > CHANGE_MIN_MS && f64::from(delta) > CHANGE_FRACTION * f64::from(*old)
        }
    })
}
