//! What each protocol component's outputs become: messages encoded and queued for the driver,
//! claims published, and calls on the other components (a neighbour that comes up joins the
//! broadcast tree; a member declared dead leaves the overlay).

use std::sync::Arc;

use crate::anti_entropy::{AntiEntropyMessage, AntiEntropyOutput};
use crate::broadcast::{BroadcastMessage, BroadcastOutput, Link};
use crate::id::NodeId;
use crate::membership::MembershipOutput;
use crate::overlay::{OverlayMessage, OverlayOutput};
use crate::persist::PersistOp;
use crate::record::{RecordKind, SignedRecord};
use crate::record_set::SlotKey;
use crate::time::Instant;
use crate::wire::{self, Message};

use super::{Event, Node, Output};

impl Node {
    pub(super) fn apply_overlay(&mut self, now: Instant, out: Vec<OverlayOutput>) {
        for output in out {
            match output {
                OverlayOutput::Send(to, message) => {
                    let profile = self.profile_introduced(to, &message);
                    self.send(to, &Message::Overlay { message, profile });
                }
                OverlayOutput::Up(peer, _) => {
                    self.broadcast.neighbor_up(now, peer);
                    self.routing_link_up(now, peer);
                }
                OverlayOutput::Down(peer) => {
                    self.broadcast.neighbor_down(peer);
                    if let Some(routing) = &mut self.routing {
                        routing.link_down(now, peer);
                    }
                }
            }
        }
    }

    /// The profile this node holds of the node `message` introduces, unless it is the receiver.
    pub(super) fn profile_introduced(
        &self,
        to: NodeId,
        message: &OverlayMessage,
    ) -> Option<Arc<SignedRecord>> {
        let origin = message.introduces(self.id()).filter(|id| *id != to)?;
        let slot = SlotKey { origin, family: RecordKind::Profile, key: String::new() };
        self.records.get(&slot).cloned()
    }

    /// Sends what broadcast asks. The copies of one spread (a run of pushes of the same record
    /// at the same round) are encoded once and share one frame.
    pub(super) fn apply_broadcast(&mut self, out: Vec<BroadcastOutput>) {
        let mut pushed: Option<(Arc<SignedRecord>, u16, Arc<[u8]>)> = None;
        for BroadcastOutput::Send(to, message) in out {
            if let BroadcastMessage::Gossip { round, record } = &message
                && let Some((last, last_round, frame)) = &pushed
                && Arc::ptr_eq(last, record)
                && last_round == round
            {
                self.count_record_out(record);
                let frame = frame.clone();
                self.transmit(to, frame);
                continue;
            }
            match &message {
                BroadcastMessage::Gossip { record, .. } => self.count_record_out(record),
                BroadcastMessage::Graft { .. }
                | BroadcastMessage::GraftTree { .. }
                | BroadcastMessage::Reroute { link: Link::Eager, .. } => self.stats.grafts += 1,
                BroadcastMessage::Prune { .. }
                | BroadcastMessage::Reroute { link: Link::Lazy, .. } => self.stats.prunes += 1,
                BroadcastMessage::IHave { .. } => {}
            }
            let gossip = match &message {
                BroadcastMessage::Gossip { round, record } => Some((record.clone(), *round)),
                _ => None,
            };
            let frame = self.send_frame(to, &Message::Broadcast(message));
            pushed = gossip.zip(frame).map(|((record, round), frame)| (record, round, frame));
        }
    }

    pub(super) fn apply_anti_entropy(&mut self, out: Vec<AntiEntropyOutput>) {
        for AntiEntropyOutput::Send(to, message) in out {
            if let AntiEntropyMessage::Records { records, .. } = &message {
                // Repairs carry payloads too; redundancy counts every copy sent.
                self.stats.records_out_repair += records.len() as u64;
                for record in records {
                    self.count_record_out(record);
                }
            }
            self.send(to, &Message::AntiEntropy(message));
        }
    }

    pub(super) fn apply_membership(&mut self, now: Instant, out: Vec<MembershipOutput>) {
        for output in out {
            match output {
                MembershipOutput::Send(to, message) => self.send(to, &Message::Membership(message)),
                MembershipOutput::Publish(claim) => {
                    self.publish_claim(now, claim, 0);
                }
                MembershipOutput::Changed { id, state, incarnation } => {
                    if state.is_gone() {
                        self.records.mark_departed(id, now);
                        if let Some(routing) = &mut self.routing {
                            routing.peer_failed(now, id);
                        }
                        if self.overlay.is_neighbor(&id) {
                            self.broadcast.neighbor_failed(now);
                        }
                        let mut out = Vec::new();
                        self.overlay.peer_failed(id, &mut self.rng, &mut out);
                        self.apply_overlay(now, out);
                    } else {
                        self.records.mark_returned(id);
                    }
                    self.note_graph_changed();
                    let event = Event::MemberChanged { id, state, incarnation };
                    self.outputs.push_back(Output::Event(event));
                }
                MembershipOutput::Answered { member, rtt } => {
                    let event = Event::ProbeAnswered { member, rtt };
                    self.outputs.push_back(Output::Event(event));
                }
                MembershipOutput::Purged(id) => {
                    // Claims others made about a forgotten member go with it.
                    let key = id.to_string();
                    for slot in self.records.remove_where(|record| {
                        record.kind == RecordKind::Liveness && record.key == key
                    }) {
                        self.outputs.push_back(Output::Persist(PersistOp::DeleteRecord(slot)));
                    }
                }
            }
        }
    }

    /// Counts one record copy sent, and whether it is an announcement (or a withdrawal) or an
    /// advertisement.
    fn count_record_out(&mut self, record: &SignedRecord) {
        self.stats.records_out += 1;
        match record.record.kind.family() {
            RecordKind::Announcement => self.stats.announcements_out += 1,
            RecordKind::LinkState => {
                self.stats.link_states_out += 1;
                self.stats.link_state_bytes_out += record.encoded_len() as u64;
            }
            _ => {}
        }
    }

    /// Encodes `message` and queues it for `to`.
    pub(super) fn send(&mut self, to: NodeId, message: &Message) {
        self.send_frame(to, message);
    }

    /// Encodes `message` and queues it for `to`; returns the frame, so that the same bytes can
    /// go to other peers without a second encoding.
    fn send_frame(&mut self, to: NodeId, message: &Message) -> Option<Arc<[u8]>> {
        match wire::encode(message) {
            Ok(frame) => {
                let frame: Arc<[u8]> = frame.into();
                self.transmit(to, frame.clone());
                Some(frame)
            }
            Err(_) => {
                self.stats.frames_dropped += 1;
                None
            }
        }
    }

    /// Queues an encoded frame for `to`.
    fn transmit(&mut self, to: NodeId, frame: Arc<[u8]>) {
        self.stats.frames_out += 1;
        self.stats.bytes_out += frame.len() as u64;
        if let Some(kind) = wire::kind_of(&frame) {
            self.stats.by_kind.note_out(kind, frame.len());
        }
        self.outputs.push_back(Output::Transmit { to, frame });
    }
}
