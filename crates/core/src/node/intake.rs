//! Intake: a frame's way from bytes to the component it is for, and a received record's way
//! from verification to the store, the application and the components that spread it.

use std::sync::Arc;

use crate::broadcast::{Arrived, BroadcastMessage, BroadcastMode};
use crate::id::NodeId;
use crate::liveness::LivenessClaim;
use crate::overlay::OverlayMessage;
use crate::persist::PersistOp;
use crate::record::{RecordKind, SignedRecord, Version};
use crate::record_set::MergeOutcome;
use crate::time::Instant;
use crate::wire::{self, Message};

use super::{Arrival, Event, Node, Output};

impl Node {
    pub(super) fn on_frame(&mut self, now: Instant, from: NodeId, bytes: &[u8]) {
        self.stats.frames_in += 1;
        self.stats.bytes_in += bytes.len() as u64;
        let message = match wire::decode(bytes) {
            Ok(message) => {
                self.stats.by_kind.note_in(message.kind(), bytes.len());
                message
            }
            Err(_) => {
                self.stats.decode_errors += 1;
                return;
            }
        };
        match message {
            Message::Overlay { message, profile } => {
                // Taken first, so that the driver knows the address of the node introduced
                // before it carries out any answer.
                match profile {
                    Some(profile) if profile.record.kind == RecordKind::Profile => {
                        self.accept(now, from, Arrival::Repair, profile);
                    }
                    Some(_) => self.stats.records_rejected += 1,
                    None => {}
                }
                let mut out = Vec::new();
                self.overlay.handle(from, message, &mut self.rng, &mut out);
                self.apply_overlay(now, out);
            }
            Message::Broadcast(message) if !self.overlay.is_neighbor(&from) => {
                self.on_stranger_broadcast(now, from, message);
            }
            Message::Broadcast(BroadcastMessage::Gossip { round, record }) => {
                self.on_gossip(now, from, round, record);
            }
            Message::Broadcast(control) => {
                let mut out = Vec::new();
                self.broadcast.handle_control(now, from, control, &mut out);
                self.apply_broadcast(out);
            }
            Message::AntiEntropy(message) => {
                let mut out = Vec::new();
                let received = self.anti_entropy.handle(
                    now,
                    from,
                    message,
                    &self.records,
                    &mut self.rng,
                    &mut out,
                );
                self.apply_anti_entropy(out);
                for record in received {
                    self.stats.records_repaired +=
                        u64::from(self.accept(now, from, Arrival::Repair, record));
                }
            }
            Message::Membership(message) => {
                if let Some(membership) = &mut self.membership {
                    let mut out = Vec::new();
                    membership.handle(now, from, message, &mut out);
                    self.apply_membership(now, out);
                }
            }
            Message::Routing(message) => self.on_routing(now, message),
            Message::Groups(message) => self.on_groups_message(now, from, message),
        }
    }

    /// Broadcast traffic from a peer that is not a neighbour: the peer holds a stale link to
    /// this node (a disconnect crossed a neighbour request). Its records are still taken, but
    /// it is told to drop the link so both views agree again. Push gossip talks to strangers by
    /// design and is exempt.
    pub(super) fn on_stranger_broadcast(
        &mut self,
        now: Instant,
        from: NodeId,
        message: BroadcastMessage,
    ) {
        if let BroadcastMessage::Gossip { round, record } = message {
            self.on_gossip(now, from, round, record);
        }
        if !matches!(self.config.broadcast.mode, BroadcastMode::Gossip { .. }) {
            let message = OverlayMessage::Disconnect;
            self.send(from, &Message::Overlay { message, profile: None });
        }
    }

    pub(super) fn on_gossip(
        &mut self,
        now: Instant,
        from: NodeId,
        round: u16,
        record: Arc<SignedRecord>,
    ) {
        let id = record.digest();
        let hops = round.saturating_add(1);
        if self.broadcast.has_seen(&id) {
            self.stats.records_duplicate += 1;
        } else if self.accept(now, from, Arrival::Tree { hops }, record) {
            return;
        }
        let mut out = Vec::new();
        self.broadcast.duplicate(now, &id, from, hops, &mut out);
        self.apply_broadcast(out);
    }

    /// Verifies and merges a record from a peer; a new one is stored, handled and spread.
    /// Returns whether it was new.
    pub(super) fn accept(
        &mut self,
        now: Instant,
        from: NodeId,
        arrival: Arrival,
        record: Arc<SignedRecord>,
    ) -> bool {
        if self.verifier.verify(&record).is_err() {
            self.stats.records_rejected += 1;
            return false;
        }
        if !self.admits(&record) {
            self.stats.records_unreachable += 1;
            return false;
        }
        let record = self.verifier.share(record);
        if record.record.origin == self.id() {
            self.resync_own_version(record.record.version);
        }
        let hops = match arrival {
            Arrival::Tree { hops } => hops,
            Arrival::Repair => 0,
        };
        if !self.store(now, record.clone(), Some(from), hops) {
            return false;
        }
        if record.record.origin == self.id()
            && record.record.kind == RecordKind::LinkState
            && let Some(routing) = &mut self.routing
        {
            routing.own_advertisement_returned(now);
        }
        self.spread(now, record, Some(from), arrival);
        true
    }

    /// A node that lost its store learns from its peers how far it had counted, and jumps past
    /// it, as Receptor's route broadcasts do.
    pub(super) fn resync_own_version(&mut self, seen: Version) {
        if self.issued_high.is_none_or(|high| seen > high) {
            self.issued_high = Some(seen);
            self.outputs.push_back(Output::Persist(PersistOp::SetIssuedHigh(seen)));
        }
    }

    /// Merges a verified record; on change, queues its persist and event, and hands liveness
    /// claims to membership. Returns whether it was stored.
    pub(super) fn store(
        &mut self,
        now: Instant,
        record: Arc<SignedRecord>,
        from: Option<NodeId>,
        hops: u16,
    ) -> bool {
        if self.claims_about_the_forgotten(now, &record) {
            self.stats.records_stale += 1;
            return false;
        }
        let outcome = self.records.merge(record.clone());
        match outcome {
            MergeOutcome::Duplicate => self.stats.records_duplicate += 1,
            MergeOutcome::Stale => self.stats.records_stale += 1,
            MergeOutcome::Conflict { .. } => self.stats.records_conflicting += 1,
            MergeOutcome::Inserted | MergeOutcome::Replaced => {}
        }
        if !outcome.stored() {
            return false;
        }
        self.stats.records_stored += 1;
        self.anti_entropy.note_stored(now, &record);
        self.note_graph_record(record.record.kind);
        self.note_grid_control(&record, outcome);
        self.outputs.push_back(Output::Persist(PersistOp::PutRecord(record.clone())));
        let hops = if from.is_some() { hops } else { 0 };
        self.outputs.push_back(Output::Event(Event::RecordStored {
            record: record.clone(),
            from,
            hops,
        }));
        true
    }

    /// Whether `record` is a liveness claim about a member membership purged lately, no newer
    /// than what was purged ([`crate::membership::Membership::forgets`]).
    fn claims_about_the_forgotten(&self, now: Instant, record: &SignedRecord) -> bool {
        if record.record.kind != RecordKind::Liveness {
            return false;
        }
        let (Some(membership), Some(claim)) =
            (&self.membership, LivenessClaim::decode(&record.record.payload))
        else {
            return false;
        };
        membership.forgets(now, &claim.subject, claim.incarnation)
    }

    /// Hands a stored record to broadcast, and a liveness claim to membership.
    pub(super) fn spread(
        &mut self,
        now: Instant,
        record: Arc<SignedRecord>,
        from: Option<NodeId>,
        arrival: Arrival,
    ) {
        let claim = (record.record.kind == RecordKind::Liveness)
            .then(|| LivenessClaim::decode(&record.record.payload))
            .flatten();
        let known: Vec<NodeId> =
            self.overlay.active().iter().chain(self.overlay.passive()).copied().collect();
        match arrival {
            Arrival::Tree { hops } => {
                let mut out = Vec::new();
                let arrived = Arrived { record: record.clone(), from, round: hops };
                self.broadcast.spread(now, arrived, &known, &mut self.rng, &mut out);
                self.apply_broadcast(out);
            }
            Arrival::Repair => {
                let mut out = Vec::new();
                self.broadcast.repaired(now, record.clone(), &mut out);
                self.apply_broadcast(out);
            }
        }
        if let (Some(claim), Some(membership)) = (claim, &mut self.membership) {
            let mut out = Vec::new();
            membership.on_claim(now, record.record.origin, claim, &mut self.rng, &mut out);
            self.apply_membership(now, out);
        }
    }
}
