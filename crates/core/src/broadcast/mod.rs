//! Broadcast over the overlay: Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees",
//! SRDS 2007), with plain flooding and push gossip as baselines measured on the same overlay.
//!
//! Plumtree keeps, per node, *eager* peers (tree links: a new message is pushed to them whole)
//! and *lazy* peers (the other overlay links: only the message id is announced, in batched
//! IHAVE digests). A duplicate arriving over an eager link prunes that link to lazy. A message
//! announced in an IHAVE but not received within `graft_timeout` is pulled with a GRAFT, which
//! also turns the link eager again: the tree repairs itself. When an IHAVE shows that a lazy
//! path is shorter by at least `optimization_threshold` hops than the eager one that delivered,
//! the tree is re-routed (REROUTE) onto the lazy link and off the eager one.
//!
//! The eager/lazy split is kept per origin (the `trees` module), seeded from a shared split, so
//! that each origin's records follow a tree shaped by its own duplicates, grafts and re-routes.
//! Re-routes stay in their origin's split; the `trees` module says why.
//!
//! Every message is a signed record; its id is the record's digest. The component decides where
//! messages go; the node verifies and stores records and tells it what was new.

mod trees;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{Digest, SignedRecord};
use crate::rng::Rng;
use crate::time::Instant;

use trees::{Scope, Trees};

/// The round of a record whose distance from its origin is unknown (it was repaired by
/// anti-entropy). It never looks shorter than a real path, so it never re-shapes the tree, and
/// stays unknown as it travels on.
pub const UNKNOWN_ROUND: u16 = u16::MAX;

/// Which algorithm spreads a new record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BroadcastMode {
    /// Plumtree: eager push on a tree, lazy IHAVE on the other links.
    #[default]
    Plumtree,
    /// Push to every overlay neighbour but the sender (Receptor's route broadcast).
    Flood,
    /// Push to `fanout` random known peers (active and passive views).
    Gossip {
        /// Peers each node pushes a new record to.
        fanout: u16,
    },
}

/// Plumtree parameters.
#[derive(Clone, Debug)]
pub struct BroadcastConfig {
    /// The algorithm.
    pub mode: BroadcastMode,
    /// How long IHAVE announcements are batched before they are sent. Default 50 ms (guess:
    /// well under the graft timeout, so batching never triggers a graft).
    pub ihave_interval: Duration,
    /// How long to wait for a message announced by IHAVE before grafting. Default 200 ms
    /// (measured in sim at 1,000 nodes and 10–50 ms links: 100 ms pushes random-origin RMR
    /// above 0.5, 250 ms lets p99 latency grow past 0.5 s).
    pub graft_timeout: Duration,
    /// How long to wait after a graft before grafting the next announcer. Default 150 ms.
    pub graft_retry: Duration,
    /// Hops a lazy path must save before the tree is re-routed. Default 3 (measured in sim
    /// at 10,000 nodes, one origin: the median announcement's last delivery hop 10, against 12
    /// at 6; when re-routes also re-shaped the shared split, 3 raised RMR with random origins;
    /// iroh-gossip uses 7).
    pub optimization_threshold: u16,
    /// Message ids remembered (for duplicate suppression and answering grafts). Default 65,536.
    pub seen_cache_len_max: usize,
    /// IHAVE entries per frame. Default 512.
    pub ihave_batch_max: usize,
    /// Origins whose own eager/lazy split is kept; beyond it the least recently used is
    /// dropped. Default 4,096 (about 1 MB at five neighbours).
    pub trees_max: usize,
}

impl Default for BroadcastConfig {
    fn default() -> BroadcastConfig {
        BroadcastConfig {
            mode: BroadcastMode::Plumtree,
            ihave_interval: Duration::from_millis(50),
            graft_timeout: Duration::from_millis(200),
            graft_retry: Duration::from_millis(150),
            optimization_threshold: 3,
            seen_cache_len_max: 65_536,
            ihave_batch_max: 512,
            trees_max: 4096,
        }
    }
}

/// Broadcast messages between two nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BroadcastMessage {
    /// A whole record, pushed.
    Gossip {
        /// Hops from the origin before the sender (0 when the origin sends it).
        round: u16,
        /// The record.
        record: SignedRecord,
    },
    /// Ids of records the sender holds.
    IHave {
        /// (message id, the record's origin, round at the sender).
        entries: Vec<(Digest, NodeId, u16)>,
    },
    /// Pull a record and make the link eager in `origin`'s tree.
    Graft {
        /// The wanted record, if any.
        id: Option<Digest>,
        /// Whose tree the link joins.
        origin: NodeId,
    },
    /// Make the link lazy in `origin`'s tree.
    Prune {
        /// Whose tree the link leaves.
        origin: NodeId,
    },
    /// Re-route `origin`'s tree onto (`eager`) or off the link, because a path fewer hops from
    /// the origin was found (tree optimisation). Unlike a graft or a prune it changes only
    /// `origin`'s own tree, not the shared split new origins start from (the `trees` module).
    Reroute {
        /// Whose tree the link joins or leaves.
        origin: NodeId,
        /// Joins (eager) or leaves (lazy).
        eager: bool,
    },
}

/// A record to spread: published here, or new from a peer.
#[derive(Clone, Debug)]
pub struct Arrived {
    /// The record.
    pub record: Arc<SignedRecord>,
    /// The peer it came from; `None` when published here.
    pub from: Option<NodeId>,
    /// Hops from its origin to this node (0 when published here).
    pub round: u16,
}

/// What the broadcast component asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BroadcastOutput {
    /// Send a message.
    Send(NodeId, BroadcastMessage),
}

/// A record this node has, as the broadcast remembers it.
#[derive(Clone, Debug)]
struct Seen {
    record: Arc<SignedRecord>,
    round: u16,
    /// Whether the first copy came over the tree (or was published here). A record first
    /// repaired by anti-entropy says nothing about the tree, so a later tree copy of it is no
    /// reason to prune.
    via_tree: bool,
    /// The peer the first copy came from; `None` when published here or repaired.
    parent: Option<NodeId>,
}

/// A message announced by IHAVE but not yet received.
#[derive(Clone, Debug)]
struct Missing {
    origin: NodeId,
    /// Peers that announced the record, with their rounds; closest to the origin first.
    announcers: Vec<(NodeId, u16)>,
    deadline: Instant,
    grafts: u32,
}

/// Grafts sent for one missing record before it is left to anti-entropy. Announcers are asked
/// in turn, so on a lossy network a lost graft or a lost answer is retried.
const GRAFTS_PER_RECORD_MAX: u32 = 6;

/// A node's broadcast state.
#[derive(Clone, Debug)]
pub struct Broadcast {
    config: BroadcastConfig,
    trees: Trees,
    /// Recently seen records by id; bounded, oldest evicted.
    seen: BTreeMap<Digest, Seen>,
    seen_order: VecDeque<Digest>,
    missing: BTreeMap<Digest, Missing>,
    lazy_queue: BTreeMap<NodeId, Vec<(Digest, NodeId, u16)>>,
    next_flush: Option<Instant>,
    grafts_sent: u64,
    prunes_sent: u64,
}

impl Broadcast {
    /// A broadcast component with no peers.
    pub fn new(config: BroadcastConfig) -> Broadcast {
        Broadcast {
            trees: Trees::new(config.trees_max),
            config,
            seen: BTreeMap::new(),
            seen_order: VecDeque::new(),
            missing: BTreeMap::new(),
            lazy_queue: BTreeMap::new(),
            next_flush: None,
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

    /// A neighbour came up: new links start eager (Plumtree).
    pub fn neighbor_up(&mut self, peer: NodeId) {
        self.trees.up(peer);
    }

    /// A neighbour went away.
    pub fn neighbor_down(&mut self, peer: NodeId) {
        self.trees.down(peer);
        self.lazy_queue.remove(&peer);
        for missing in self.missing.values_mut() {
            missing.announcers.retain(|(announcer, _)| *announcer != peer);
        }
    }

    /// Whether the record with this id was seen recently.
    pub fn has_seen(&self, id: &Digest) -> bool {
        self.seen.contains_key(id)
    }

    /// When the component next needs [`Broadcast::on_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        let graft = self.missing.values().map(|missing| missing.deadline).min();
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
        let id = record.digest();
        let origin = record.record.origin;
        self.remember(id, Seen { record: record.clone(), round, via_tree: true, parent: from });
        let missing = self.missing.remove(&id);
        let message = BroadcastMessage::Gossip { round, record: (*record).clone() };
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
                if let Some(sender) = from {
                    self.trees.make_eager(origin, sender, Scope::OwnAndShared);
                }
                let split = self.trees.of(origin);
                for peer in split.eager.iter().filter(|peer| Some(**peer) != from) {
                    out.push(BroadcastOutput::Send(*peer, message.clone()));
                }
                let lazy: Vec<NodeId> =
                    split.lazy.iter().copied().filter(|peer| Some(*peer) != from).collect();
                for peer in lazy {
                    self.lazy_queue.entry(peer).or_default().push((id, origin, round));
                }
                if !self.lazy_queue.is_empty() && self.next_flush.is_none() {
                    self.next_flush = Some(now + self.config.ihave_interval);
                }
                if let (Some(sender), Some(missing)) = (from, missing) {
                    self.optimize(sender, round, missing, out);
                }
            }
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
        let id = record.digest();
        if self.seen.contains_key(&id) {
            return;
        }
        let missing = self.missing.remove(&id);
        self.remember(
            id,
            Seen { record: record.clone(), round: UNKNOWN_ROUND, via_tree: false, parent: None },
        );
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
            self.grafts_sent += 1;
            out.push(BroadcastOutput::Send(
                announcer,
                BroadcastMessage::Graft { id: None, origin },
            ));
        }
        let neighbors: Vec<NodeId> = self.trees.neighbors().copied().collect();
        for peer in neighbors {
            self.lazy_queue.entry(peer).or_default().push((id, origin, UNKNOWN_ROUND));
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
        id: &Digest,
        from: NodeId,
        hops: u16,
        out: &mut Vec<BroadcastOutput>,
    ) {
        let Some(seen) = self.seen.get_mut(id) else { return };
        if self.config.mode != BroadcastMode::Plumtree || !seen.via_tree {
            return;
        }
        let origin = seen.record.record.origin;
        match seen.parent {
            Some(parent)
                if parent != from && hops < seen.round && self.trees.is_neighbor(&from) =>
            {
                seen.parent = Some(from);
                seen.round = hops;
                self.trees.make_eager(origin, from, Scope::Own);
                self.reroute(origin, parent, false, out);
            }
            _ => {
                if self.trees.make_lazy(origin, from, Scope::OwnAndShared) {
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
                for (id, origin, round) in entries.into_iter().take(self.config.ihave_batch_max) {
                    if self.seen.contains_key(&id) {
                        continue;
                    }
                    let graft_timeout = self.config.graft_timeout;
                    let missing = self.missing.entry(id).or_insert_with(|| Missing {
                        origin,
                        announcers: Vec::new(),
                        deadline: now + graft_timeout,
                        grafts: 0,
                    });
                    if missing.announcers.len() < 8
                        && !missing.announcers.iter().any(|(peer, _)| *peer == from)
                    {
                        let at = missing.announcers.partition_point(|(_, r)| *r <= round);
                        missing.announcers.insert(at, (from, round));
                    }
                }
            }
            BroadcastMessage::Graft { id, origin } => {
                // Only an overlay neighbour can be grafted onto a tree.
                if self.trees.is_neighbor(&from) {
                    self.trees.make_eager(origin, from, Scope::OwnAndShared);
                }
                if let Some(seen) = id.and_then(|id| self.seen.get(&id)) {
                    let message = BroadcastMessage::Gossip {
                        round: seen.round,
                        record: (*seen.record).clone(),
                    };
                    out.push(BroadcastOutput::Send(from, message));
                }
            }
            BroadcastMessage::Prune { origin } => {
                if self.trees.is_neighbor(&from) {
                    self.trees.make_lazy(origin, from, Scope::OwnAndShared);
                }
            }
            BroadcastMessage::Reroute { origin, eager } => {
                if self.trees.is_neighbor(&from) {
                    if eager {
                        self.trees.make_eager(origin, from, Scope::Own);
                    } else {
                        self.trees.make_lazy(origin, from, Scope::Own);
                    }
                }
            }
        }
    }

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
        let due: Vec<Digest> = self
            .missing
            .iter()
            .filter(|(_, missing)| missing.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(missing) = self.missing.get_mut(&id) else { continue };
            // Announcers in turn, closest to the origin first.
            let turn = missing.grafts as usize % missing.announcers.len().max(1);
            let next = missing
                .announcers
                .get(turn)
                .copied()
                .filter(|_| missing.grafts < GRAFTS_PER_RECORD_MAX);
            match next {
                Some((announcer, _)) => {
                    missing.grafts += 1;
                    missing.deadline = now + self.config.graft_retry;
                    let origin = missing.origin;
                    self.trees.make_eager(origin, announcer, Scope::OwnAndShared);
                    self.grafts_sent += 1;
                    out.push(BroadcastOutput::Send(
                        announcer,
                        BroadcastMessage::Graft { id: Some(id), origin },
                    ));
                }
                None => {
                    self.missing.remove(&id);
                }
            }
        }
    }

    /// Plumtree's tree optimisation: if a lazy announcer was closer to the origin by at least
    /// the threshold, graft it and prune the eager link that delivered.
    fn optimize(
        &mut self,
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
            self.reroute(missing.origin, announcer, true, out);
            self.reroute(missing.origin, sender, false, out);
        }
    }

    /// Moves `origin`'s tree onto (`eager`) or off the link to `peer`, because a path fewer
    /// hops from the origin was found, in this origin's own split only (see the `trees`
    /// module), and tells `peer`. Counted as a graft or a prune.
    fn reroute(
        &mut self,
        origin: NodeId,
        peer: NodeId,
        eager: bool,
        out: &mut Vec<BroadcastOutput>,
    ) {
        if eager {
            self.trees.make_eager(origin, peer, Scope::Own);
            self.grafts_sent += 1;
        } else {
            self.trees.make_lazy(origin, peer, Scope::Own);
            self.prunes_sent += 1;
        }
        out.push(BroadcastOutput::Send(peer, BroadcastMessage::Reroute { origin, eager }));
    }

    fn remember(&mut self, id: Digest, seen: Seen) {
        if self.seen.insert(id, seen).is_none() {
            self.seen_order.push_back(id);
        }
        while self.seen_order.len() > self.config.seen_cache_len_max {
            if let Some(oldest) = self.seen_order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
    }
}
