//! SWIM's probe cycle: a shuffled round-robin of direct probes with adaptive timeouts, then
//! indirect probes through other members, and the targets put first because the transport or a
//! suspicion hinted at them.

use std::time::Duration;

use super::{Membership, MembershipMessage, MembershipOutput};
use crate::id::NodeId;
use crate::liveness::{LivenessClaim, MemberState};
use crate::rng::Rng;
use crate::time::Instant;

/// The probe of the current period.
#[derive(Clone, Debug)]
pub(super) struct Probe {
    pub(super) target: NodeId,
    pub(super) seq: u64,
    pub(super) sent_at: Instant,
    pub(super) direct_deadline: Instant,
    pub(super) indirect_sent: bool,
    pub(super) acked: bool,
    /// Members asked to probe indirectly: only they, and the target, may answer.
    pub(super) helpers: Vec<NodeId>,
    /// Probed because the transport could not reach it: its failure says nothing of this
    /// node's health.
    pub(super) hinted: bool,
}

impl Membership {
    pub(super) fn on_ack(
        &mut self,
        now: Instant,
        from: NodeId,
        seq: u64,
        out: &mut Vec<MembershipOutput>,
    ) {
        let Some(probe) = self.probe.as_mut() else { return };
        let answerable = from == probe.target || probe.helpers.contains(&from);
        if probe.seq != seq || probe.acked || !answerable {
            return;
        }
        probe.acked = true;
        let target = probe.target;
        let direct = from == target;
        let rtt = now.saturating_since(probe.sent_at);
        self.health = self.health.saturating_sub(1);
        if let Some(member) = self.members.get_mut(&target) {
            member.last_heard = Some(now);
            if direct {
                member.rtts.push(rtt);
                if member.rtts.len() > self.config.rtt_samples_max {
                    member.rtts.remove(0);
                }
                out.push(MembershipOutput::Answered { member: target, rtt });
            }
        }
    }

    /// The period ended: a probe nobody answered makes its target suspect.
    pub(super) fn finish_probe(
        &mut self,
        now: Instant,
        rng: &mut Rng,
        out: &mut Vec<MembershipOutput>,
    ) {
        let Some(probe) = self.probe.take() else { return };
        if probe.acked {
            return;
        }
        if !probe.hinted {
            self.health = (self.health + 1).min(self.config.health_max);
        }
        let Some(member) = self.members.get(&probe.target) else { return };
        // A failed probe of a member already suspected by others is an independent
        // confirmation: it is published too, so every node's suspicion shortens (Lifeguard),
        // unless the suspicion already has all the confirmations that shorten it.
        let confirmations_max = self.config.confirmations as usize;
        let confirms = member.state == MemberState::Suspect
            && member.suspicion.as_ref().is_some_and(|held| {
                !held.claimants.contains(&self.me) && held.claimants.len() <= confirmations_max
            });
        if member.state != MemberState::Alive && !confirms {
            return;
        }
        let claim = LivenessClaim {
            subject: probe.target,
            incarnation: member.incarnation,
            state: MemberState::Suspect,
        };
        self.on_claim(now, self.me, claim, rng, out);
        out.push(MembershipOutput::Publish(claim));
    }

    pub(super) fn start_probe(
        &mut self,
        now: Instant,
        rng: &mut Rng,
        out: &mut Vec<MembershipOutput>,
    ) {
        let Some(target) = self.next_target(rng) else { return };
        let seq = self.take_seq();
        // The direct probe gets at most half the period, so the indirect probes have time.
        let period = self.next_probe.saturating_since(now);
        let timeout = (self.probe_timeout(target) * (1 + self.health)).min(period / 2);
        self.probe = Some(Probe {
            target,
            seq,
            sent_at: now,
            direct_deadline: now + timeout,
            indirect_sent: false,
            acked: false,
            helpers: Vec::new(),
            hinted: self.hinted.remove(&target),
        });
        out.push(MembershipOutput::Send(target, MembershipMessage::Ping { seq, relay_for: None }));
    }

    /// Puts a member just suspected by another at the head of the probe order, with the
    /// probability that makes about `2 · confirmations` members across the grid do so.
    pub(super) fn maybe_probe_next(&mut self, subject: NodeId, rng: &mut Rng) {
        let live = self.live_count().max(1) as f64;
        let wanted = 2.0 * f64::from(self.config.confirmations);
        if rng.chance((wanted / live).min(1.0)) {
            self.put_first_in_order(subject);
        }
    }

    /// The transport could not reach `peer`: a hint, not evidence, so it is not suspected, but
    /// it is probed next, and the probe's direct and indirect pings decide. Without the hint a
    /// crash waits for some member's round-robin to reach it, about a period across the grid
    /// with an exponential tail; a crashed node's overlay neighbours find it unreachable within
    /// an anti-entropy interval or two.
    pub fn peer_unreachable(&mut self, peer: NodeId) {
        let probing = self.probe.as_ref().is_some_and(|probe| probe.target == peer);
        let alive =
            self.members.get(&peer).is_some_and(|member| member.state == MemberState::Alive);
        if alive && !probing && !self.left {
            self.put_first_in_order(peer);
            self.hinted.insert(peer);
        }
    }

    /// Makes `member` the next probe target; it leaves its later place in the current pass.
    pub(super) fn put_first_in_order(&mut self, member: NodeId) {
        self.order.retain(|id| *id != member);
        self.order.push(member);
    }

    /// Round-robin over a shuffled list of live members, reshuffled after each pass (SWIM 4.3).
    pub(super) fn next_target(&mut self, rng: &mut Rng) -> Option<NodeId> {
        for _ in 0..2 {
            while let Some(candidate) = self.order.pop() {
                if self.members.get(&candidate).is_some_and(|member| !member.state.is_gone()) {
                    return Some(candidate);
                }
            }
            self.order = self
                .members
                .iter()
                .filter(|(_, m)| !m.state.is_gone())
                .map(|(id, _)| *id)
                .collect();
            rng.shuffle(&mut self.order);
        }
        None
    }

    /// The adaptive direct-probe timeout: mean + 2 standard deviations of the member's round
    /// trips, at least the floor.
    pub fn probe_timeout(&self, target: NodeId) -> Duration {
        let Some(member) = self.members.get(&target) else {
            return self.config.probe_timeout_initial;
        };
        if member.rtts.len() < 2 {
            return self.config.probe_timeout_initial;
        }
        let samples: Vec<f64> = member.rtts.iter().map(Duration::as_secs_f64).collect();
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let variance =
            samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (samples.len() - 1) as f64;
        Duration::from_secs_f64(mean + 2.0 * variance.sqrt()).max(self.config.probe_timeout_floor)
    }
}
