//! Membership and failure detection: SWIM probes with Lifeguard's refinements, over liveness
//! claims carried as signed records.
//!
//! - Every `probe_interval` the node probes the next member in a shuffled round-robin order
//!   (SWIM, Das, Gupta, Motivala, DSN 2002). The direct probe times out after an adaptive
//!   per-peer timeout: the mean plus two standard deviations of that peer's observed round
//!   trips (gossip-to-gossip's rule), never below `probe_timeout_floor`.
//! - A missed direct probe triggers indirect probes through `indirect_probes` other members.
//!   If no answer arrives by the end of the period, the node claims the member `Suspect`.
//! - A suspicion times out into `Dead` after a time that starts at `β · min` and shrinks towards
//!   `min = α · log10(N) · probe_interval` as independent confirmations arrive, reaching `min`
//!   at `confirmations` of them (Lifeguard, Dadgar, Phillips, Currey, 2018, section 4.2).
//! - A member that learns of a suspicion it has not confirmed probes the suspect next with
//!   probability `2 · confirmations / N`, so that about twice the confirmations needed are
//!   sought within a period or two instead of waiting for the round-robin (each member probes
//!   a given peer about once per N periods, so independent confirmations otherwise arrive at
//!   about one per period, and two or three of them take seconds). A failed probe is published
//!   as a confirmation only while the suspicion has fewer than `confirmations` of them.
//! - An overlay neighbour the transport could not reach is probed next (the node calls
//!   [`Membership::peer_unreachable`]): a crashed node's neighbours find out within a second or
//!   two, sooner than the round-robin of the grid would reach it, and the probe, not the hint,
//!   decides.
//! - The subject refutes a suspicion with a higher incarnation.
//! - Lifeguard's local health multiplier: a node whose own probes keep failing, or that had to
//!   refute a suspicion of itself, is probably the slow one; it stretches its probe timeouts by
//!   `1 + health` so that it does not accuse healthy members. A failed probe of a member the
//!   transport had already found unreachable does not count: it was expected to fail, and after
//!   a mass failure such probes stretched survivors' suspicion timeouts up to ninefold.
//! - Dead and left members are purged after `purge_after` (floodd's `site-purge-period`).
//!
//! Claims arrive as verified records through [`Membership::on_claim`]; the component asks the
//! node to publish its own claims with [`MembershipOutput::Publish`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::liveness::{LivenessClaim, MemberState};
use crate::rng::Rng;
use crate::time::Instant;

/// Failure-detector parameters.
#[derive(Clone, Debug)]
pub struct MembershipConfig {
    /// Time between two probes. Default 1 s (SWIM's protocol period; memberlist's LAN default).
    pub probe_interval: Duration,
    /// Smallest direct-probe timeout. Default 100 ms (guess: above a LAN round trip).
    pub probe_timeout_floor: Duration,
    /// Direct-probe timeout before any round trip was measured. Default 500 ms (memberlist's
    /// LAN ProbeTimeout).
    pub probe_timeout_initial: Duration,
    /// Members asked to probe indirectly. Default 3 (SWIM's k; memberlist IndirectChecks).
    pub indirect_probes: usize,
    /// Lifeguard's α: the suspicion minimum is α · log10(N) probe periods. Default 1 (measured
    /// in sim: memberlist's 4 gives 12 s at 1,000 nodes, above the 8 s goal).
    pub suspicion_alpha: f64,
    /// Lifeguard's β: the suspicion maximum is β times the minimum. Default 6 (Lifeguard).
    pub suspicion_beta: f64,
    /// Independent confirmations that bring a suspicion to its minimum. Default 3 (Lifeguard).
    pub confirmations: u32,
    /// Largest local health multiplier. Default 8 (Lifeguard's awareness maximum).
    pub health_max: u32,
    /// How long dead and left members are remembered. Default 600 s (floodd's sample
    /// `site-purge-period`).
    pub purge_after: Duration,
    /// Round-trip samples kept per member for the adaptive timeout. Default 16 (guess).
    pub rtt_samples_max: usize,
}

impl Default for MembershipConfig {
    fn default() -> MembershipConfig {
        MembershipConfig {
            probe_interval: Duration::from_secs(1),
            probe_timeout_floor: Duration::from_millis(100),
            probe_timeout_initial: Duration::from_millis(500),
            indirect_probes: 3,
            suspicion_alpha: 1.0,
            suspicion_beta: 6.0,
            confirmations: 3,
            health_max: 8,
            purge_after: Duration::from_secs(600),
            rtt_samples_max: 16,
        }
    }
}

/// Probe messages, sent directly between two nodes (not broadcast).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipMessage {
    /// Are you alive? `relay_for` is set when the sender probes on another node's behalf.
    Ping {
        /// Matches the answer to the probe.
        seq: u64,
        /// (requester, requester's seq) for an indirect probe.
        relay_for: Option<(NodeId, u64)>,
    },
    /// I am.
    Ack {
        /// The probe's seq.
        seq: u64,
        /// Copied from the ping.
        relay_for: Option<(NodeId, u64)>,
    },
    /// Please probe `target` for me.
    PingReq {
        /// The requester's seq, to be echoed in the relayed ack.
        seq: u64,
        /// The member to probe.
        target: NodeId,
    },
}

/// What membership asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipOutput {
    /// Send a probe message.
    Send(NodeId, MembershipMessage),
    /// Sign and broadcast this claim.
    Publish(LivenessClaim),
    /// A member changed state in this node's view.
    Changed {
        /// The member.
        id: NodeId,
        /// Its new state.
        state: MemberState,
        /// The incarnation the state refers to.
        incarnation: u64,
    },
    /// A dead or left member was forgotten after the purge period.
    Purged(NodeId),
}

/// What this node knows about one member.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Current state in this node's view.
    pub state: MemberState,
    /// The incarnation the state refers to.
    pub incarnation: u64,
    /// When the state last changed.
    pub since: Instant,
    /// When this node last heard from the member directly (an ack).
    pub last_heard: Option<Instant>,
    rtts: Vec<Duration>,
    suspicion: Option<Suspicion>,
}

impl Member {
    fn new(state: MemberState, incarnation: u64, now: Instant) -> Member {
        Member {
            state,
            incarnation,
            since: now,
            last_heard: None,
            rtts: Vec::new(),
            suspicion: None,
        }
    }

    /// Mean round trip measured by this node's probes.
    pub fn rtt(&self) -> Option<Duration> {
        let count = self.rtts.len() as u32;
        (count > 0).then(|| self.rtts.iter().sum::<Duration>() / count)
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Suspicion {
    started: Instant,
    claimants: BTreeSet<NodeId>,
    suspected_here: bool,
}

#[derive(Clone, Debug)]
struct Probe {
    target: NodeId,
    seq: u64,
    sent_at: Instant,
    direct_deadline: Instant,
    indirect_sent: bool,
    acked: bool,
    /// Members asked to probe indirectly: only they, and the target, may answer.
    helpers: Vec<NodeId>,
    /// Probed because the transport could not reach it: its failure says nothing of this
    /// node's health.
    hinted: bool,
}

/// A node's membership view and failure detector.
#[derive(Clone, Debug)]
pub struct Membership {
    me: NodeId,
    incarnation: u64,
    left: bool,
    config: MembershipConfig,
    members: BTreeMap<NodeId, Member>,
    /// Members that are suspect, dead or left: the only ones with deadlines, so timers never
    /// scan the whole view.
    watched: BTreeSet<NodeId>,
    /// Members that are alive or suspect (this node not counted).
    live: usize,
    order: Vec<NodeId>,
    /// Members put first in the order because the transport could not reach them.
    hinted: BTreeSet<NodeId>,
    next_probe: Instant,
    probe: Option<Probe>,
    next_seq: u64,
    health: u32,
}

impl Membership {
    /// A view holding only this node, at `incarnation`.
    pub fn new(me: NodeId, incarnation: u64, config: MembershipConfig, now: Instant) -> Membership {
        let next_probe = now + config.probe_interval;
        Membership {
            me,
            incarnation,
            left: false,
            config,
            members: BTreeMap::new(),
            watched: BTreeSet::new(),
            live: 0,
            order: Vec::new(),
            hinted: BTreeSet::new(),
            next_probe,
            probe: None,
            next_seq: 0,
            health: 0,
        }
    }

    /// This node's incarnation.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// Lifeguard's local health multiplier (0 is healthy).
    pub fn health(&self) -> u32 {
        self.health
    }

    /// Other members, in id order.
    pub fn members(&self) -> &BTreeMap<NodeId, Member> {
        &self.members
    }

    /// Members this node considers alive or suspect, itself included.
    pub fn live_count(&self) -> usize {
        1 + self.live
    }

    /// The claim that announces this node.
    pub fn alive_claim(&self) -> LivenessClaim {
        LivenessClaim { subject: self.me, incarnation: self.incarnation, state: MemberState::Alive }
    }

    /// Announces departure: the caller publishes the returned claim. Probing stops.
    pub fn leave(&mut self) -> LivenessClaim {
        self.left = true;
        self.probe = None;
        LivenessClaim { subject: self.me, incarnation: self.incarnation, state: MemberState::Left }
    }

    /// When membership next needs [`Membership::on_timeout`].
    pub fn poll_timeout(&self) -> Instant {
        let mut next = self.next_probe;
        if let Some(probe) = &self.probe
            && !probe.acked
            && !probe.indirect_sent
        {
            next = next.min(probe.direct_deadline);
        }
        for member in self.watched.iter().filter_map(|id| self.members.get(id)) {
            if let Some(deadline) = self.suspicion_deadline(member) {
                next = next.min(deadline);
            }
            if member.state.is_gone() {
                next = next.min(member.since + self.config.purge_after);
            }
        }
        next
    }

    /// A verified claim made by `claimant`.
    pub fn on_claim(
        &mut self,
        now: Instant,
        claimant: NodeId,
        claim: LivenessClaim,
        rng: &mut Rng,
        out: &mut Vec<MembershipOutput>,
    ) {
        if !claim.may_be_made_by(claimant) {
            return;
        }
        if claim.subject == self.me {
            self.about_me(claim, out);
            return;
        }
        let suspicion = |claimant: NodeId, me: NodeId| Suspicion {
            started: now,
            claimants: BTreeSet::from([claimant]),
            suspected_here: claimant == me,
        };
        let newly_suspected = claim.state == MemberState::Suspect && claimant != self.me;
        match self.members.get_mut(&claim.subject) {
            None => {
                let mut member = Member::new(claim.state, claim.incarnation, now);
                if claim.state == MemberState::Suspect {
                    member.suspicion = Some(suspicion(claimant, self.me));
                }
                self.members.insert(claim.subject, member);
                self.note_state(claim.subject, None, claim.state);
                if !claim.state.is_gone() {
                    // At a random place in the current pass, so that members who learn of a
                    // newcomer at the same moment do not all probe it at the same moment.
                    let place = rng.index(self.order.len() + 1);
                    self.order.insert(place, claim.subject);
                }
            }
            Some(member) => {
                let same_suspicion = claim.state == MemberState::Suspect
                    && member.state == MemberState::Suspect
                    && member.incarnation == claim.incarnation;
                if same_suspicion {
                    // An independent confirmation shortens the suspicion (Lifeguard).
                    if let Some(held) = &mut member.suspicion {
                        held.claimants.insert(claimant);
                        held.suspected_here |= claimant == self.me;
                    }
                    return;
                }
                if !claim.overrides(member.incarnation, member.state) {
                    return;
                }
                let before = member.state;
                member.state = claim.state;
                member.incarnation = claim.incarnation;
                member.since = now;
                member.suspicion =
                    (claim.state == MemberState::Suspect).then(|| suspicion(claimant, self.me));
                self.note_state(claim.subject, Some(before), claim.state);
            }
        }
        if newly_suspected {
            self.maybe_probe_next(claim.subject, rng);
        }
        out.push(MembershipOutput::Changed {
            id: claim.subject,
            state: claim.state,
            incarnation: claim.incarnation,
        });
    }

    /// Keeps the live count and the watched set in step with a member's change of state.
    fn note_state(&mut self, id: NodeId, before: Option<MemberState>, after: MemberState) {
        let was_live = before.is_some_and(|state| !state.is_gone());
        match (was_live, !after.is_gone()) {
            (false, true) => self.live += 1,
            (true, false) => self.live -= 1,
            _ => {}
        }
        if after == MemberState::Alive {
            self.watched.remove(&id);
        } else {
            self.watched.insert(id);
        }
    }

    /// Someone suspects or buries this node: refute with a higher incarnation.
    fn about_me(&mut self, claim: LivenessClaim, out: &mut Vec<MembershipOutput>) {
        if self.left || !matches!(claim.state, MemberState::Suspect | MemberState::Dead) {
            return;
        }
        if claim.incarnation >= self.incarnation {
            self.incarnation = claim.incarnation + 1;
            self.health = (self.health + 1).min(self.config.health_max);
            out.push(MembershipOutput::Publish(self.alive_claim()));
        }
    }

    /// Handles a probe message from `from`.
    pub fn handle(
        &mut self,
        now: Instant,
        from: NodeId,
        message: MembershipMessage,
        out: &mut Vec<MembershipOutput>,
    ) {
        match message {
            MembershipMessage::Ping { seq, relay_for } => {
                if !self.left {
                    out.push(MembershipOutput::Send(
                        from,
                        MembershipMessage::Ack { seq, relay_for },
                    ));
                }
            }
            MembershipMessage::PingReq { seq, target } => {
                if target != self.me && target != from {
                    let my_seq = self.take_seq();
                    let ping =
                        MembershipMessage::Ping { seq: my_seq, relay_for: Some((from, seq)) };
                    out.push(MembershipOutput::Send(target, ping));
                }
            }
            MembershipMessage::Ack { relay_for: Some((requester, requester_seq)), .. } => {
                out.push(MembershipOutput::Send(
                    requester,
                    MembershipMessage::Ack { seq: requester_seq, relay_for: None },
                ));
            }
            MembershipMessage::Ack { seq, relay_for: None } => self.on_ack(now, from, seq),
        }
    }

    fn on_ack(&mut self, now: Instant, from: NodeId, seq: u64) {
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
            }
        }
    }

    /// Runs the probe schedule, suspicion timeouts and purges due at `now`.
    pub fn on_timeout(&mut self, now: Instant, rng: &mut Rng, out: &mut Vec<MembershipOutput>) {
        self.expire_suspicions(now, rng, out);
        self.purge(now, out);
        if self.left {
            return;
        }
        if let Some(probe) = &mut self.probe
            && !probe.acked
            && !probe.indirect_sent
            && now >= probe.direct_deadline
        {
            probe.indirect_sent = true;
            let (target, seq) = (probe.target, probe.seq);
            // A second direct ping beside the indirect ones (memberlist's fallback probe): on a
            // lossy link it halves the chance that a healthy member goes unanswered.
            out.push(MembershipOutput::Send(
                target,
                MembershipMessage::Ping { seq, relay_for: None },
            ));
            let helpers: Vec<NodeId> = self.pick_live(self.config.indirect_probes, &[target], rng);
            for helper in &helpers {
                out.push(MembershipOutput::Send(
                    *helper,
                    MembershipMessage::PingReq { seq, target },
                ));
            }
            if let Some(probe) = &mut self.probe {
                probe.helpers = helpers;
            }
        }
        if now >= self.next_probe {
            self.finish_probe(now, rng, out);
            // Lifeguard stretches the period with local health, as the timeouts inside it.
            self.next_probe = now + self.config.probe_interval * (1 + self.health);
            self.start_probe(now, rng, out);
        }
    }

    /// The period ended: a probe nobody answered makes its target suspect.
    fn finish_probe(&mut self, now: Instant, rng: &mut Rng, out: &mut Vec<MembershipOutput>) {
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

    fn start_probe(&mut self, now: Instant, rng: &mut Rng, out: &mut Vec<MembershipOutput>) {
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
    fn maybe_probe_next(&mut self, subject: NodeId, rng: &mut Rng) {
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
    fn put_first_in_order(&mut self, member: NodeId) {
        self.order.retain(|id| *id != member);
        self.order.push(member);
    }

    /// Round-robin over a shuffled list of live members, reshuffled after each pass (SWIM 4.3).
    fn next_target(&mut self, rng: &mut Rng) -> Option<NodeId> {
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

    /// When a member's suspicion turns into death, per Lifeguard's shrinking timeout.
    fn suspicion_deadline(&self, member: &Member) -> Option<Instant> {
        let suspicion = member.suspicion.as_ref()?;
        let n = self.live_count().max(1) as f64;
        let interval = self.config.probe_interval.as_secs_f64();
        let min = self.config.suspicion_alpha * n.log10().max(1.0) * interval;
        let max = self.config.suspicion_beta * min;
        let confirmations = suspicion.claimants.len().saturating_sub(1) as f64;
        let k = f64::from(self.config.confirmations.max(1));
        let fraction = ((confirmations + 1.0).ln() / (k + 1.0).ln()).min(1.0);
        let timeout = (max - (max - min) * fraction).max(min) * f64::from(1 + self.health);
        Some(suspicion.started + Duration::from_secs_f64(timeout))
    }

    fn expire_suspicions(&mut self, now: Instant, rng: &mut Rng, out: &mut Vec<MembershipOutput>) {
        let due: Vec<(NodeId, u64, bool)> = self
            .watched
            .iter()
            .filter_map(|id| Some((id, self.members.get(id)?)))
            .filter(|(_, member)| {
                self.suspicion_deadline(member).is_some_and(|deadline| deadline <= now)
            })
            .map(|(id, member)| {
                (
                    *id,
                    member.incarnation,
                    member.suspicion.as_ref().is_some_and(|s| s.suspected_here),
                )
            })
            .collect();
        for (id, incarnation, suspected_here) in due {
            let claim = LivenessClaim { subject: id, incarnation, state: MemberState::Dead };
            self.on_claim(now, self.me, claim, rng, out);
            // Only the members that suspected it say so to everyone; the rest reach the same
            // verdict on their own timers, which keeps a death to a few records.
            if suspected_here {
                out.push(MembershipOutput::Publish(claim));
            }
        }
    }

    fn purge(&mut self, now: Instant, out: &mut Vec<MembershipOutput>) {
        let purge_after = self.config.purge_after;
        let gone: Vec<NodeId> = self
            .watched
            .iter()
            .filter_map(|id| Some((id, self.members.get(id)?)))
            .filter(|(_, member)| {
                member.state.is_gone() && now.saturating_since(member.since) >= purge_after
            })
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.members.remove(&id);
            self.watched.remove(&id);
            self.hinted.remove(&id);
            out.push(MembershipOutput::Purged(id));
        }
    }

    fn pick_live(&self, count: usize, excluded: &[NodeId], rng: &mut Rng) -> Vec<NodeId> {
        let mut live: Vec<NodeId> = self
            .members
            .iter()
            .filter(|(id, member)| member.state == MemberState::Alive && !excluded.contains(id))
            .map(|(id, _)| *id)
            .collect();
        rng.shuffle(&mut live);
        live.truncate(count);
        live
    }

    fn take_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}
