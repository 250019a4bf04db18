//! Link swaps: a degree-preserving rewiring that keeps the overlay a random graph.

use super::{Overlay, OverlayMessage, OverlayOutput, pick};
use crate::id::NodeId;
use crate::rng::Rng;
use crate::role::Role;

impl Overlay {
    /// Starts a link swap (a degree-preserving rewiring): a server with a full view offers one
    /// of its links to a random passive peer. HyParView's active views change only when a
    /// node joins or fails, so a few nodes that the joins left linked only among themselves
    /// would stay an island for good; swapping links with passive peers, which the joins'
    /// walks drew from the whole grid, reconnects them, and keeps the overlay a random graph.
    pub(super) fn start_swap(&mut self, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
        self.swap_pending = None;
        if self.role != Role::Server
            || self.active.len() != self.active_max()
            || !self.pending.is_empty()
        {
            return;
        }
        let (Some(offer), Some(peer)) =
            (pick(&self.active, rng, &[]), pick(&self.passive, rng, &[]))
        else {
            return;
        };
        self.swap_pending = Some((peer, offer));
        out.push(OverlayOutput::Send(peer, OverlayMessage::Swap { offer }));
    }

    /// A swap offered by `from`: accepted by a server whose view is exactly full, which drops
    /// a random neighbour other than the offered one and hands it over.
    pub(super) fn on_swap(
        &mut self,
        from: NodeId,
        offer: NodeId,
        rng: &mut Rng,
        out: &mut Vec<OverlayOutput>,
    ) {
        let dropped = if self.role == Role::Server
            && self.active.len() == self.active_max()
            && !self.is_neighbor(&from)
            && offer != self.me
        {
            pick(&self.active, rng, &[offer])
        } else {
            None
        };
        if let Some(dropped) = dropped {
            self.hand_over(dropped, offer, rng, out);
            self.add_active(from, Role::Server, rng, out);
        }
        out.push(OverlayOutput::Send(from, OverlayMessage::SwapReply { hand_over: dropped }));
    }

    /// The answer to this node's swap: if accepted, the offered neighbour is handed over and
    /// the peer that accepted takes its place.
    pub(super) fn on_swap_reply(
        &mut self,
        from: NodeId,
        hand_over: Option<NodeId>,
        rng: &mut Rng,
        out: &mut Vec<OverlayOutput>,
    ) {
        let Some((_, offer)) = self.swap_pending.take_if(|(asked, _)| *asked == from) else {
            return;
        };
        let Some(hand_over) = hand_over else { return };
        self.hand_over(offer, hand_over, rng, out);
        self.add_active(from, Role::Server, rng, out);
    }

    /// Drops `neighbor` from the active view, if it is there, and tells it to link with `to`.
    pub(super) fn hand_over(
        &mut self,
        neighbor: NodeId,
        to: NodeId,
        rng: &mut Rng,
        out: &mut Vec<OverlayOutput>,
    ) {
        if self.active.remove(&neighbor) {
            out.push(OverlayOutput::Down(neighbor));
            self.add_passive(neighbor, rng);
            out.push(OverlayOutput::Send(neighbor, OverlayMessage::HandOver { to }));
        }
    }
}
