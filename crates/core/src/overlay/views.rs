//! How peers enter the active view, the passive view and the reserve, and who is dropped
//! when one is full.

use super::{Overlay, OverlayMessage, OverlayOutput, pick};
use crate::id::NodeId;
use crate::rng::Rng;
use crate::role::Role;

impl Overlay {
    /// Adds a peer that asked to connect: a client goes to the client set, a server to the
    /// active view.
    pub(super) fn add_peer(
        &mut self,
        peer: NodeId,
        role: Role,
        rng: &mut Rng,
        out: &mut Vec<OverlayOutput>,
    ) {
        match role {
            Role::Client => {
                if peer != self.me && self.clients.insert(peer) {
                    out.push(OverlayOutput::Up(peer, Role::Client));
                }
            }
            Role::Server => self.add_active(peer, Role::Server, rng, out),
        }
    }

    pub(super) fn add_active(
        &mut self,
        peer: NodeId,
        role: Role,
        rng: &mut Rng,
        out: &mut Vec<OverlayOutput>,
    ) {
        self.add_active_within(peer, role, self.active_max(), rng, out);
    }

    /// Adds `peer` to the active view, dropping a random neighbour first if the view holds
    /// `limit` already.
    pub(super) fn add_active_within(
        &mut self,
        peer: NodeId,
        role: Role,
        limit: usize,
        rng: &mut Rng,
        out: &mut Vec<OverlayOutput>,
    ) {
        if peer == self.me || self.active.contains(&peer) {
            return;
        }
        if self.active.len() >= limit
            && let Some(dropped) = pick(&self.active, rng, &[])
        {
            self.active.remove(&dropped);
            out.push(OverlayOutput::Send(dropped, OverlayMessage::Disconnect));
            out.push(OverlayOutput::Down(dropped));
            self.add_passive(dropped, rng);
        }
        self.passive.remove(&peer);
        self.reserve.remove(&peer);
        self.pending.remove(&peer);
        self.active.insert(peer);
        out.push(OverlayOutput::Up(peer, role));
    }

    /// Adds `peer` to the passive view, dropping a random passive peer into the reserve if
    /// the view is full. Returns whether `peer` is new to the passive view.
    pub(super) fn add_passive(&mut self, peer: NodeId, rng: &mut Rng) -> bool {
        if peer == self.me
            || self.active.contains(&peer)
            || self.clients.contains(&peer)
            || self.passive.contains(&peer)
        {
            return false;
        }
        if self.passive.len() >= self.config.passive_max
            && let Some(evicted) = pick(&self.passive, rng, &[])
        {
            self.passive.remove(&evicted);
            self.keep_in_reserve(evicted, rng);
        }
        self.reserve.remove(&peer);
        self.passive.insert(peer);
        true
    }

    pub(super) fn keep_in_reserve(&mut self, peer: NodeId, rng: &mut Rng) {
        if self.config.reserve_max == 0 {
            return;
        }
        if self.reserve.len() >= self.config.reserve_max
            && let Some(dropped) = pick(&self.reserve, rng, &[])
        {
            self.reserve.remove(&dropped);
        }
        self.reserve.insert(peer);
    }
}
