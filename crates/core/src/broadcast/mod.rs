//! Broadcast over the overlay: Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees",
//! SRDS 2007), with plain flooding and push gossip as baselines measured on the same overlay.
//!
//! Plumtree keeps, per node, *eager* peers (tree links: a new message is pushed to them whole)
//! and *lazy* peers (the other overlay links: only the message id is announced, in batched
//! IHAVE digests). A duplicate arriving from a peer prunes it: the peer is asked (PRUNE) to
//! stop pushing that origin's records here. A message announced in an IHAVE but not received
//! within `graft_timeout` is pulled with a GRAFT, which also asks the announcer to push again:
//! the tree repairs itself.
//!
//! A prune changes only what its receiver pushes. In the paper a duplicate makes the link lazy
//! both ways: the node that saw it stops pushing too. Under a burst that cuts nodes off the
//! tree: while the burst's copies cross on their way, a parent that gets a redundant copy from
//! its child stops pushing to it, and the child grafts record after record. So here a node that
//! gets a duplicate asks its sender to stop and goes on pushing, and a copy that was already on
//! its way when this node asked (within `STALE_PUSH_WINDOW`) neither prunes again nor counts as
//! the tree's. docs/decisions.md, "A prune stops only the pushes of its receiver", has the
//! figures.
//!
//! When an IHAVE shows that a lazy path is shorter by at least `optimization_threshold` hops
//! than the eager one that delivered, the tree is re-routed (REROUTE) onto the lazy link and
//! off the eager one.
//!
//! The eager/lazy split is kept per origin (the `trees` module), seeded from a shared split, so
//! that each origin's records follow a tree shaped by its own duplicates, grafts and re-routes.
//! Re-routes stay in their origin's split; the `trees` module says why.
//!
//! Every message is a signed record; its id is the record's digest. The component decides where
//! messages go; the node verifies and stores records and tells it what was new.

mod config;
mod lazy;
mod message;
mod missing;
mod seen;
mod trees;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

pub use config::{BroadcastConfig, BroadcastMode};
pub use message::{Arrived, BroadcastMessage, BroadcastOutput, Link, ShortId};

use crate::id::NodeId;
use crate::record::{Digest, SignedRecord};
use crate::rng::Rng;
use crate::time::Instant;

use missing::{Missing, MissingRecords};
use seen::{Seen, SeenCache};
use trees::{Scope, Trees};

/// The round of a record whose distance from its origin is unknown (it was repaired by
/// anti-entropy). It never looks shorter than a real path, so it never re-shapes the tree, and
/// stays unknown as it travels on.
pub const UNKNOWN_ROUND: u16 = u16::MAX;

/// Records remembered for a new neighbour after a failure, at most (see
/// [`Broadcast::neighbor_up`]): the window bounds them by time, this by count, whatever the rate.
const RECENT_MAX: usize = 4096;

/// How long after this node asked a neighbour to stop pushing an origin's records its copies
/// are taken as having been on their way already: they neither prune again nor count as the
/// tree's. After it, a copy from that neighbour is news (it was asked to push again, as the
/// paper's links turn eager on a record received) and a redundant one is pruned again. 1 s
/// (guess: the busy nodes of `scenarios/burst.toml` hold a push back for up to about a second).
const STALE_PUSH_WINDOW: Duration = Duration::from_secs(1);

/// Grafts sent for one missing record before it is left to anti-entropy. Announcers are asked
/// in turn, so on a lossy network a lost graft or a lost answer is retried.
const GRAFTS_PER_RECORD_MAX: u32 = 6;

/// A node's broadcast state.
#[derive(Clone, Debug)]
pub struct Broadcast {
    config: BroadcastConfig,
    trees: Trees,
    /// Recently seen records; bounded, oldest forgotten first.
    seen: SeenCache,
    missing: MissingRecords,
    lazy_queue: BTreeMap<NodeId, Vec<(ShortId, u16)>>,
    next_flush: Option<Instant>,
    /// Records spread within `recent_window`, oldest first: when, id and round.
    recent: VecDeque<(Instant, ShortId, u16)>,
    /// When a neighbour last failed (crashed, or was declared dead).
    neighbor_failed_at: Option<Instant>,
    grafts_sent: u64,
    prunes_sent: u64,
}

impl Broadcast {
    /// A broadcast component with no peers.
    pub fn new(config: BroadcastConfig) -> Broadcast {
        Broadcast {
            trees: Trees::new(config.trees_max),
            seen: SeenCache::new(config.seen_cache_len_max),
            config,
            missing: MissingRecords::default(),
            lazy_queue: BTreeMap::new(),
            next_flush: None,
            recent: VecDeque::new(),
            neighbor_failed_at: None,
            grafts_sent: 0,
            prunes_sent: 0,
        }
    }

    /// Eager (tree) peers of the shared split, which new origins start from.
    pub fn eager(&self) -> &BTreeSet<NodeId> {
        &self.trees.shared().eager
    }

    /// Lazy peers of the shared split.
    pub fn lazy(&self) -> &BTreeSet<NodeId> {
        &self.trees.shared().lazy
    }

    /// (grafts, prunes) sent so far.
    pub fn repairs(&self) -> (u64, u64) {
        (self.grafts_sent, self.prunes_sent)
    }

    /// A neighbour came up: new links start eager (Plumtree). If a neighbour failed within
    /// `recent_window`, the new one is told by IHAVE of the records this node spread within
    /// that window. Plumtree pushes a record once: when a crash takes neighbours down during
    /// a burst, pushes go into dead links, and the nodes behind them, reconnected to new
    /// neighbours, would otherwise wait for anti-entropy. Without a failure nothing is lost,
    /// and announcing to every new link would cost a fifth more messages in steady state.
    pub fn neighbor_up(&mut self, now: Instant, peer: NodeId) {
        self.trees.up(peer);
        if self.config.mode != BroadcastMode::Plumtree {
            return;
        }
        self.forget_old_recent(now);
        let failure_is_recent =
            self.neighbor_failed_at.is_some_and(|at| now < at + self.config.recent_window);
        if self.recent.is_empty() || !failure_is_recent {
            return;
        }
        let queue = self.lazy_queue.entry(peer).or_default();
        queue.extend(self.recent.iter().map(|(_, id, round)| (*id, *round)));
        self.next_flush.get_or_insert(now + self.config.ihave_interval);
    }

    fn forget_old_recent(&mut self, now: Instant) {
        while self.recent.front().is_some_and(|(at, _, _)| *at + self.config.recent_window <= now) {
            self.recent.pop_front();
        }
    }

    /// A neighbour failed: the records pushed to it lately may have gone nowhere. It goes
    /// down as well, through [`Broadcast::neighbor_down`].
    pub fn neighbor_failed(&mut self, now: Instant) {
        self.neighbor_failed_at = Some(now);
    }

    /// A neighbour went away.
    pub fn neighbor_down(&mut self, peer: NodeId) {
        self.trees.down(peer);
        self.lazy_queue.remove(&peer);
        self.missing.forget_announcer(peer);
    }

    /// Whether a copy of `origin`'s records from `peer` may have left before `peer` heard that
    /// this node asked it to stop pushing them.
    fn is_stale_push(&self, now: Instant, origin: NodeId, peer: NodeId) -> bool {
        self.trees.muted_at(origin, peer).is_some_and(|at| now < at + STALE_PUSH_WINDOW)
    }

    /// Whether the record with this id was seen recently.
    pub fn has_seen(&self, id: &Digest) -> bool {
        self.seen.contains(id)
    }

    /// When the component next needs [`Broadcast::on_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        let graft = self.missing.next_deadline();
        match (graft, self.next_flush) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Spreads a record this node just stored: published here (`from` is `None`, round 0) or
    /// received new from `from` at `round`. `known` are the peers a gossip push may pick from.
    pub fn spread(
        &mut self,
        now: Instant,
        arrived: Arrived,
        known: &[NodeId],
        rng: &mut Rng,
        out: &mut Vec<BroadcastOutput>,
    ) {
        let Arrived { record, from, round } = arrived;
        let id = ShortId::of(&record.digest());
        let origin = record.record.origin;
        let missing = self.missing.remove(&id);
        // A copy from a neighbour asked to stop pushing this origin was on its way before the
        // neighbour heard: it says nothing about the tree, unless it answers a graft.
        let answers_graft = from.is_some_and(|sender| {
            missing.as_ref().is_some_and(|missing| missing.was_announced_by(sender))
        });
        let stale_push =
            !answers_graft && from.is_some_and(|sender| self.is_stale_push(now, origin, sender));
        self.seen.insert(Seen {
            record: record.clone(),
            round,
            via_tree: !stale_push,
            parent: from,
        });
        if self.config.mode == BroadcastMode::Plumtree {
            self.forget_old_recent(now);
            if self.recent.len() >= RECENT_MAX {
                self.recent.pop_front();
            }
            self.recent.push_back((now, id, round));
            if let Some(sender) = from {
                // As in the paper, a record that came over a link makes it eager this way too
                // (it answers a graft, or the tree moved): but not a push that was already on
                // its way when this node asked its sender to stop.
                if !stale_push {
                    self.trees.make_eager(origin, sender, Scope::OwnAndShared);
                }
                if answers_graft {
                    self.trees.unmute(origin, sender);
                }
            }
        }
        let message = BroadcastMessage::Gossip { round, record: record.clone() };
        match self.config.mode {
            BroadcastMode::Flood => {
                for peer in self.trees.neighbors().filter(|peer| Some(**peer) != from) {
                    out.push(BroadcastOutput::Send(*peer, message.clone()));
                }
            }
            BroadcastMode::Gossip { fanout } => {
                let mut candidates: Vec<NodeId> =
                    known.iter().copied().filter(|peer| Some(*peer) != from).collect();
                rng.shuffle(&mut candidates);
                for peer in candidates.into_iter().take(usize::from(fanout)) {
                    out.push(BroadcastOutput::Send(peer, message.clone()));
                }
            }
            BroadcastMode::Plumtree => {
                let split = self.trees.of(origin);
                for peer in split.eager.iter().filter(|peer| Some(**peer) != from) {
                    out.push(BroadcastOutput::Send(*peer, message.clone()));
                }
                let lazy: Vec<NodeId> =
                    split.lazy.iter().copied().filter(|peer| Some(*peer) != from).collect();
                for peer in lazy {
                    self.lazy_queue.entry(peer).or_default().push((id, round));
                }
                if !self.lazy_queue.is_empty() && self.next_flush.is_none() {
                    self.next_flush = Some(now + self.config.ihave_interval);
                }
                if let (Some(sender), Some(missing)) = (from, missing) {
                    self.optimize(now, origin, sender, round, missing, out);
                }
            }
        }
    }

    /// Pushes a record this node published to the neighbours its origin's tree holds lazy,
    /// which were only to be told of it by IHAVE: for a record its origin will not be there to
    /// answer grafts for (a departure). Plumtree only; the baselines pushed it already.
    pub fn push_to_lazy(&mut self, record: &Arc<SignedRecord>, out: &mut Vec<BroadcastOutput>) {
        if self.config.mode != BroadcastMode::Plumtree {
            return;
        }
        let message = BroadcastMessage::Gossip { round: 0, record: record.clone() };
        for peer in self.trees.of(record.record.origin).lazy {
            out.push(BroadcastOutput::Send(peer, message.clone()));
        }
    }

    /// A record anti-entropy repaired: it is announced to every neighbour by IHAVE, so that
    /// neighbours that lack it pull it, but pushed to nobody, so that the tree's own copies,
    /// still on their way, do not arrive as duplicates and prune healthy links. If a neighbour
    /// had announced it, this node was off the tree for its origin: it grafts onto the
    /// announcer closest to the origin, without asking for the record again, as it would have
    /// had the repair come later than the graft.
    pub fn repaired(
        &mut self,
        now: Instant,
        record: Arc<SignedRecord>,
        out: &mut Vec<BroadcastOutput>,
    ) {
        if self.seen.contains(&record.digest()) {
            return;
        }
        let id = ShortId::of(&record.digest());
        let missing = self.missing.remove(&id);
        self.seen.insert(Seen {
            record: record.clone(),
            round: UNKNOWN_ROUND,
            via_tree: false,
            parent: None,
        });
        if self.config.mode != BroadcastMode::Plumtree {
            return;
        }
        let origin = record.record.origin;
        // An announcer that was itself repaired is off the tree too: no use grafting it.
        let closest = missing
            .and_then(|missing| missing.announcers.first().copied())
            .filter(|(_, round)| *round != UNKNOWN_ROUND)
            .map(|(peer, _)| peer);
        if let Some(announcer) = closest {
            self.trees.make_eager(origin, announcer, Scope::OwnAndShared);
            self.trees.unmute(origin, announcer);
            self.grafts_sent += 1;
            out.push(BroadcastOutput::Send(announcer, BroadcastMessage::GraftTree { origin }));
        }
        let neighbors: Vec<NodeId> = self.trees.neighbors().copied().collect();
        for peer in neighbors {
            self.lazy_queue.entry(peer).or_default().push((id, UNKNOWN_ROUND));
        }
        if !self.lazy_queue.is_empty() && self.next_flush.is_none() {
            self.next_flush = Some(now + self.config.ihave_interval);
        }
    }

    /// A record arrived from `from`, `hops` from its origin, that this node already had: in
    /// Plumtree one of the two links that carried it is redundant and becomes lazy. Normally
    /// that is the link of the later copy; but if the later copy came by a path shorter in hops,
    /// the link of the first copy is pruned instead, so that the tree keeps the shorter path
    /// (only over a link of the overlay: a stale link is no path to keep). Copies held from a
    /// repair say nothing about the tree and prune nothing.
    pub fn duplicate(
        &mut self,
        now: Instant,
        id: &Digest,
        from: NodeId,
        hops: u16,
        out: &mut Vec<BroadcastOutput>,
    ) {
        let Some(seen) = self.seen.get_mut(id) else { return };
        if self.config.mode != BroadcastMode::Plumtree || !seen.via_tree {
            return;
        }
        let (origin, parent, round) = (seen.record.record.origin, seen.parent, seen.round);
        // A push that was on its way before this node asked its sender to stop says nothing.
        if self.is_stale_push(now, origin, from) {
            return;
        }
        match parent {
            Some(parent) if parent != from && hops < round && self.trees.is_neighbor(&from) => {
                if let Some(seen) = self.seen.get_mut(id) {
                    seen.parent = Some(from);
                    seen.round = hops;
                }
                self.trees.make_eager(origin, from, Scope::Own);
                self.reroute(now, origin, parent, Link::Lazy, out);
            }
            _ => {
                if self.trees.mute(origin, from, now) {
                    self.prunes_sent += 1;
                    out.push(BroadcastOutput::Send(from, BroadcastMessage::Prune { origin }));
                }
            }
        }
    }

    /// Handles a control message (IHAVE, GRAFT, PRUNE). Gossip messages are verified and stored
    /// by the node, which then calls [`Broadcast::spread`] or [`Broadcast::duplicate`].
    pub fn handle_control(
        &mut self,
        now: Instant,
        from: NodeId,
        message: BroadcastMessage,
        out: &mut Vec<BroadcastOutput>,
    ) {
        match message {
            BroadcastMessage::Gossip { .. } => {}
            BroadcastMessage::IHave { entries } => {
                for (id, round) in entries.into_iter().take(self.config.ihave_batch_max) {
                    if self.seen.get_short(&id).is_some() {
                        continue;
                    }
                    let deadline = now + self.config.graft_timeout;
                    let missing = self.missing.announced(id, deadline);
                    if missing.announcers.len() < 8
                        && !missing.announcers.iter().any(|(peer, _)| *peer == from)
                    {
                        let at = missing.announcers.partition_point(|(_, r)| *r <= round);
                        missing.announcers.insert(at, (from, round));
                    }
                }
            }
            BroadcastMessage::Graft { id } => {
                let Some(seen) = self.seen.get_short(&id) else { return };
                let message =
                    BroadcastMessage::Gossip { round: seen.round, record: seen.record.clone() };
                let origin = seen.record.record.origin;
                out.push(BroadcastOutput::Send(from, message));
                // Only an overlay neighbour can be grafted onto a tree.
                if self.trees.is_neighbor(&from) {
                    self.trees.make_eager(origin, from, Scope::OwnAndShared);
                }
            }
            BroadcastMessage::GraftTree { origin } => {
                if self.trees.is_neighbor(&from) {
                    self.trees.make_eager(origin, from, Scope::OwnAndShared);
                }
            }
            BroadcastMessage::Prune { origin } => {
                if self.trees.is_neighbor(&from) {
                    self.trees.make_lazy(origin, from, Scope::OwnAndShared);
                }
            }
            BroadcastMessage::Reroute { origin, link } => {
                if self.trees.is_neighbor(&from) {
                    match link {
                        Link::Eager => self.trees.make_eager(origin, from, Scope::Own),
                        Link::Lazy => {
                            self.trees.make_lazy(origin, from, Scope::Own);
                        }
                    }
                }
            }
        }
    }
}
