//! The overlay's random walks: a join walks to land the newcomer in active views across the
//! grid, and a shuffle walks to trade samples of passive peers.

use super::{Overlay, OverlayMessage, OverlayOutput, Priority, pick, pick_many};
use crate::id::NodeId;
use crate::rng::Rng;
use crate::role::Role;

impl Overlay {
    /// Sends a shuffle sample on a random walk from a random active peer.
    pub(super) fn shuffle(&mut self, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
        let Some(target) = pick(&self.active, rng, &[]) else { return };
        let mut sample = vec![self.me];
        if self.role == Role::Server {
            sample.extend(pick_many(&self.active, self.config.shuffle_active, rng, &[target]));
        }
        sample.extend(pick_many(&self.passive, self.config.shuffle_passive, rng, &[]));
        // A client asks its server directly (ttl 0): it only wants passive servers back.
        let ttl = if self.role == Role::Server { self.config.active_walk_len } else { 0 };
        out.push(OverlayOutput::Send(
            target,
            OverlayMessage::Shuffle { origin: self.me, ttl, sample },
        ));
    }

    pub(super) fn on_join(
        &mut self,
        from: NodeId,
        role: Role,
        rng: &mut Rng,
        out: &mut Vec<OverlayOutput>,
    ) {
        if self.role == Role::Client {
            // Clients answer no joins; tell the newcomer so it looks elsewhere.
            out.push(OverlayOutput::Send(from, OverlayMessage::Disconnect));
            return;
        }
        self.add_peer(from, role, rng, out);
        if role == Role::Client {
            return;
        }
        let ttl = self.config.active_walk_len;
        for peer in self.active.iter().copied().filter(|peer| *peer != from).collect::<Vec<_>>() {
            out.push(OverlayOutput::Send(peer, OverlayMessage::ForwardJoin { joiner: from, ttl }));
        }
    }

    pub(super) fn on_forward_join(
        &mut self,
        from: NodeId,
        joiner: NodeId,
        ttl: u8,
        rng: &mut Rng,
        out: &mut Vec<OverlayOutput>,
    ) {
        if joiner == self.me || self.role == Role::Client {
            return;
        }
        if ttl == 0 || self.active.len() <= 1 {
            if !self.active.contains(&joiner) {
                self.add_active(joiner, Role::Server, rng, out);
                out.push(OverlayOutput::Send(
                    joiner,
                    OverlayMessage::Neighbor { priority: Priority::High, role: self.role },
                ));
            }
            return;
        }
        if ttl == self.config.passive_walk_len {
            self.add_passive(joiner, rng);
        }
        match pick(&self.active, rng, &[from, joiner]) {
            Some(next) => out.push(OverlayOutput::Send(
                next,
                OverlayMessage::ForwardJoin { joiner, ttl: ttl - 1 },
            )),
            None => {
                if !self.active.contains(&joiner) {
                    self.add_active(joiner, Role::Server, rng, out);
                    out.push(OverlayOutput::Send(
                        joiner,
                        OverlayMessage::Neighbor { priority: Priority::High, role: self.role },
                    ));
                }
            }
        }
    }

    pub(super) fn on_shuffle(
        &mut self,
        from: NodeId,
        origin: NodeId,
        ttl: u8,
        sample: Vec<NodeId>,
        rng: &mut Rng,
        out: &mut Vec<OverlayOutput>,
    ) {
        if origin == self.me {
            return;
        }
        if ttl > 0
            && self.active.len() > 1
            && let Some(next) = pick(&self.active, rng, &[from, origin])
        {
            out.push(OverlayOutput::Send(
                next,
                OverlayMessage::Shuffle { origin, ttl: ttl - 1, sample },
            ));
            return;
        }
        let reply: Vec<NodeId> = pick_many(&self.passive, sample.len().max(1), rng, &[origin]);
        out.push(OverlayOutput::Send(origin, OverlayMessage::ShuffleReply { sample: reply }));
        for peer in sample {
            self.add_passive(peer, rng);
        }
    }
}
