//! Plumtree's lazy path: IHAVE batches go out, records they announced but that never came are
//! grafted, and a lazy path that proves shorter than the tree re-routes the tree onto it.

use super::trees::Scope;
use super::{
    Broadcast, BroadcastMessage, BroadcastOutput, GRAFTS_PER_RECORD_MAX, Link, Missing,
    UNKNOWN_ROUND,
};
use crate::id::NodeId;
use crate::time::Instant;

impl Broadcast {
    /// Flushes IHAVE batches and grafts missing messages whose time has come.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<BroadcastOutput>) {
        if self.next_flush.is_some_and(|at| at <= now) {
            self.next_flush = None;
            for (peer, entries) in std::mem::take(&mut self.lazy_queue) {
                for chunk in entries.chunks(self.config.ihave_batch_max) {
                    out.push(BroadcastOutput::Send(
                        peer,
                        BroadcastMessage::IHave { entries: chunk.to_vec() },
                    ));
                }
            }
        }
        for id in self.missing.due(now) {
            let Some(missing) = self.missing.get_mut(&id) else { continue };
            // Announcers in turn, closest to the origin first.
            let turn = missing.grafts as usize % missing.announcers.len().max(1);
            let next = missing
                .announcers
                .get(turn)
                .copied()
                .filter(|_| missing.grafts < GRAFTS_PER_RECORD_MAX);
            match next {
                // The link joins the record's tree when the record comes: only then is its
                // origin known here.
                Some((announcer, _)) => {
                    missing.grafts += 1;
                    self.missing.reschedule(&id, now + self.config.graft_retry);
                    self.grafts_sent += 1;
                    out.push(BroadcastOutput::Send(announcer, BroadcastMessage::Graft { id }));
                }
                None => {
                    self.missing.remove(&id);
                }
            }
        }
    }

    /// Plumtree's tree optimisation: if a lazy announcer was closer to the origin by at least
    /// the threshold, graft it and prune the eager link that delivered.
    pub(super) fn optimize(
        &mut self,
        now: Instant,
        origin: NodeId,
        sender: NodeId,
        round: u16,
        missing: Missing,
        out: &mut Vec<BroadcastOutput>,
    ) {
        // A record that came through a repair has no known distance, so no path is shorter.
        if round == UNKNOWN_ROUND {
            return;
        }
        let Some((announcer, announced_round)) = missing.announcers.first().copied() else {
            return;
        };
        if announcer != sender
            && announced_round.saturating_add(self.config.optimization_threshold) < round
        {
            self.reroute(now, origin, announcer, Link::Eager, out);
            self.reroute(now, origin, sender, Link::Lazy, out);
        }
    }

    /// Moves `origin`'s tree onto or off the link to `peer`, because a path fewer
    /// hops from the origin was found, in this origin's own split only (see the `trees`
    /// module), and tells `peer`. Counted as a graft or a prune.
    pub(super) fn reroute(
        &mut self,
        now: Instant,
        origin: NodeId,
        peer: NodeId,
        link: Link,
        out: &mut Vec<BroadcastOutput>,
    ) {
        match link {
            Link::Eager => {
                self.trees.make_eager(origin, peer, Scope::Own);
                self.trees.unmute(origin, peer);
                self.grafts_sent += 1;
            }
            Link::Lazy => {
                self.trees.mute(origin, peer, now);
                self.prunes_sent += 1;
            }
        }
        out.push(BroadcastOutput::Send(peer, BroadcastMessage::Reroute { origin, link }));
    }
}
