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

mod config;
mod member;
mod message;
mod probe;
mod suspicion;

use std::collections::{BTreeMap, BTreeSet};

pub use config::MembershipConfig;
pub use member::Member;
pub use message::{MembershipMessage, MembershipOutput};
use probe::Probe;
use suspicion::Suspicion;

use crate::id::NodeId;
use crate::liveness::{LivenessClaim, MemberState};
use crate::rng::Rng;
use crate::time::Instant;

/// A node's membership view and failure detector.
#[derive(Clone, Debug)]
pub struct Membership {
    me: NodeId,
    incarnation: u64,
    left: bool,
    config: MembershipConfig,
    members: BTreeMap<NodeId, Member>,
    /// Members that are suspect: the only ones with suspicion deadlines, so timers never scan
    /// the whole view.
    suspects: BTreeSet<NodeId>,
    /// Members that are dead or left, by the time they became so: their purges fall due in
    /// this order.
    purges: BTreeSet<(Instant, NodeId)>,
    /// Members purged within the last `purge_after`, with when and at which incarnation. Peers
    /// detect a death, and so purge it, at different times; a peer that has not purged yet
    /// still holds claims about the member and may hand them back. Those are old news
    /// ([`Membership::forgets`]).
    forgotten: BTreeMap<NodeId, (Instant, u64)>,
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
            suspects: BTreeSet::new(),
            purges: BTreeSet::new(),
            forgotten: BTreeMap::new(),
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
        for member in self.suspects.iter().filter_map(|id| self.members.get(id)) {
            if let Some(deadline) = self.suspicion_deadline(member) {
                next = next.min(deadline);
            }
        }
        if let Some((since, _)) = self.purges.first() {
            next = next.min(*since + self.config.purge_after);
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
                self.note_state(claim.subject, None, claim.state, now);
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
                let before = (member.state, member.since);
                member.state = claim.state;
                member.incarnation = claim.incarnation;
                member.since = now;
                member.suspicion =
                    (claim.state == MemberState::Suspect).then(|| suspicion(claimant, self.me));
                self.note_state(claim.subject, Some(before), claim.state, now);
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

    /// Keeps the live count, the suspects and the purge order in step with a member's change
    /// of state, from `before` (its state and since when) to `after`, since `now`.
    fn note_state(
        &mut self,
        id: NodeId,
        before: Option<(MemberState, Instant)>,
        after: MemberState,
        now: Instant,
    ) {
        let was_live = before.is_some_and(|(state, _)| !state.is_gone());
        match (was_live, !after.is_gone()) {
            (false, true) => self.live += 1,
            (true, false) => self.live -= 1,
            _ => {}
        }
        if after == MemberState::Suspect {
            self.suspects.insert(id);
        } else {
            self.suspects.remove(&id);
        }
        if let Some((state, since)) = before
            && state.is_gone()
        {
            self.purges.remove(&(since, id));
        }
        if after.is_gone() {
            self.purges.insert((now, id));
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
            MembershipMessage::Ack { seq, relay_for: None } => self.on_ack(now, from, seq, out),
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

    /// Whether a claim about `subject` at `incarnation` must be refused: this node purged the
    /// member within the last `purge_after`, at that incarnation or a higher one, so the claim
    /// is old news from a peer slower to purge. A claim at a higher incarnation than the purged
    /// one is the member itself, back, and is taken.
    pub fn forgets(&self, now: Instant, subject: &NodeId, incarnation: u64) -> bool {
        self.forgotten.get(subject).is_some_and(|(purged_at, purged_incarnation)| {
            now.saturating_since(*purged_at) < self.config.purge_after
                && incarnation <= *purged_incarnation
        })
    }

    fn purge(&mut self, now: Instant, out: &mut Vec<MembershipOutput>) {
        let purge_after = self.config.purge_after;
        let mut gone: Vec<(NodeId, Instant)> = self
            .purges
            .iter()
            .take_while(|(since, _)| now.saturating_since(*since) >= purge_after)
            .map(|(since, id)| (*id, *since))
            .collect();
        gone.sort_unstable();
        if !gone.is_empty() {
            // Only when something is purged, not on every tick: `forgets` checks the time, so
            // an entry left a little longer changes nothing.
            self.forgotten
                .retain(|_, (purged_at, _)| now.saturating_since(*purged_at) < purge_after);
        }
        for (id, since) in gone {
            if let Some(member) = self.members.remove(&id) {
                self.forgotten.insert(id, (now, member.incarnation));
            }
            self.purges.remove(&(since, id));
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
