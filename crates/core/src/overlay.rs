//! The peer-sampling overlay: HyParView (Leitão, Pereira, Rodrigues, "HyParView: a membership
//! protocol for reliable gossip-based broadcast", DSN 2007 / TR-07-13).
//!
//! Each server keeps a small *active view* of peers it is connected to (about log N + 1) and a
//! larger *passive view* of peers it knows of. Broadcast runs over the active view only. A new
//! node joins through any server; the join travels a random walk of length ARWL so that the
//! newcomer lands in active views across the overlay, and is added to passive views at walk
//! step PRWL. Periodic shuffles refresh passive views with random walks. When an active peer
//! fails, a passive peer is promoted at once. Not in the paper:
//! - now and then a server with a full view swaps one of its links with a passive peer's (a
//!   degree-preserving rewiring), so that nodes the joins left linked only among themselves do
//!   not stay an island;
//! - a passive view that is still filling shuffles four times as often, so a newcomer, or a
//!   survivor of a mass failure, knows a full view's worth of peers within seconds;
//! - peers dropped from a full passive view are kept in a *reserve* of the same size, asked
//!   only once the views have run dry. After a crash of most of the grid, a survivor whose
//!   passive view held only dead peers may still know a live one there.
//!
//! Clients keep a few servers as their active view and are never relays: servers hold their
//! clients apart from the active view, never forward joins or shuffle samples to them, and
//! never hand their ids to others.
//!
//! The state machine sends [`OverlayMessage`]s and reports [`OverlayOutput::Up`] and
//! [`OverlayOutput::Down`] when a peer enters or leaves the set broadcast runs over.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::rng::Rng;
use crate::time::Instant;

/// A node's role in the grid.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Role {
    /// Relays gossip, keeps full state, answers joins.
    #[default]
    Server,
    /// Keeps a few connections to servers and never relays.
    Client,
}

impl Role {
    /// The lowercase name the interface uses: `server` or `client`.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }

    /// The role called `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Role> {
        [Role::Server, Role::Client].into_iter().find(|role| role.name() == name)
    }
}

/// HyParView parameters.
#[derive(Clone, Debug)]
pub struct OverlayConfig {
    /// Active view size of a server. Default 5: HyParView TR-07-13 uses 5 for 10,000 nodes
    /// (log10 N + 1).
    pub active_max: usize,
    /// Passive view size. Default 30 (TR-07-13).
    pub passive_max: usize,
    /// Peers dropped from a full passive view that are kept as a last resort. Default 30, the
    /// passive view's size (measured in sim: with 95% of 10,000 nodes crashed, 20 of the 500
    /// survivors were cut off without it and 9 with it; see docs/decisions.md).
    pub reserve_max: usize,
    /// Active random walk length: a join's forward walk adds the joiner to an active view when
    /// it ends. Default 6 (TR-07-13).
    pub active_walk_len: u8,
    /// Passive random walk length: the walk adds the joiner to a passive view at this step.
    /// Default 3 (TR-07-13).
    pub passive_walk_len: u8,
    /// Mean time between two shuffles. Each period is drawn uniformly from half to one and a
    /// half times it, so that nodes started together do not shuffle, and refill their views,
    /// in lockstep (Floyd and Jacobson, "The synchronization of periodic routing messages",
    /// 1993). Default 10 s (guess; TR-07-13 leaves it to the deployment).
    pub shuffle_interval: Duration,
    /// How many times as often a node shuffles while its passive view is filling: short of its
    /// size, and the last shuffle brought a peer it did not know. Default 4 (measured in sim:
    /// of 10,000 nodes that joined within 10 s, 10 s later 38% had a full passive view at the
    /// normal rate and 95% at four times it; see docs/decisions.md).
    pub filling_speedup: u32,
    /// Active peers in a shuffle sample. Default 3 (TR-07-13).
    pub shuffle_active: usize,
    /// Passive peers in a shuffle sample. Default 4 (TR-07-13).
    pub shuffle_passive: usize,
    /// Servers a client keeps in its active view. Default 3 (issue: 2–3).
    pub client_servers: usize,
    /// Clients a server serves at most. Default 1,000 (guess; bounds memory per server).
    pub clients_max: usize,
    /// Mean time between two link swaps started by a server with a full active view, drawn
    /// like the shuffle period. Default 600 s (measured in sim at 1,000 nodes, one origin:
    /// at 120 s the trees' repairs after swaps tripled steady-state RMR, 0.024 to 0.07; an
    /// island of 10 nodes still swaps about once a minute).
    pub swap_interval: Duration,
}

impl Default for OverlayConfig {
    fn default() -> OverlayConfig {
        OverlayConfig {
            active_max: 5,
            passive_max: 30,
            reserve_max: 30,
            active_walk_len: 6,
            passive_walk_len: 3,
            shuffle_interval: Duration::from_secs(10),
            filling_speedup: 4,
            shuffle_active: 3,
            shuffle_passive: 4,
            client_servers: 3,
            clients_max: 1000,
            swap_interval: Duration::from_secs(600),
        }
    }
}

impl OverlayConfig {
    /// The mean time between two shuffles while the passive view is filling.
    pub fn filling_shuffle_interval(&self) -> Duration {
        self.shuffle_interval / self.filling_speedup.max(1)
    }
}

/// Overlay messages between two nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverlayMessage {
    /// A newcomer asks to join through the receiver.
    Join {
        /// The newcomer's role.
        role: Role,
    },
    /// A join's random walk.
    ForwardJoin {
        /// The newcomer.
        joiner: NodeId,
        /// Steps left.
        ttl: u8,
    },
    /// A request to enter the receiver's active view.
    Neighbor {
        /// Set when the sender has at most one neighbour: the receiver must accept.
        high_priority: bool,
        /// The sender's role.
        role: Role,
    },
    /// The answer to a [`OverlayMessage::Neighbor`].
    NeighborReply {
        /// Whether the receiver is now in the sender's active view.
        accepted: bool,
    },
    /// The sender removed the receiver from its active view.
    Disconnect,
    /// A shuffle's random walk.
    Shuffle {
        /// The node that started the shuffle and awaits the reply.
        origin: NodeId,
        /// Steps left.
        ttl: u8,
        /// The origin and some of its active and passive peers.
        sample: Vec<NodeId>,
    },
    /// The answer to a shuffle, sent straight to its origin.
    ShuffleReply {
        /// Some of the replier's passive peers.
        sample: Vec<NodeId>,
    },
    /// A link swap: the sender, whose active view is full, asks to replace its link with
    /// `offer` by a link with the receiver. If the receiver agrees it drops one of its own
    /// links, and the two nodes left without a link are linked to each other.
    Swap {
        /// The sender's neighbour it will hand over.
        offer: NodeId,
    },
    /// The answer to a [`OverlayMessage::Swap`].
    SwapReply {
        /// `None` if the swap is refused; otherwise the receiver's former neighbour, now to be
        /// linked with the offered one.
        hand_over: Option<NodeId>,
    },
    /// The sender removed the receiver from its active view in a link swap: the receiver is
    /// to link with `to` instead of refilling from its passive view.
    HandOver {
        /// The receiver's new neighbour.
        to: NodeId,
    },
}

/// Largest shuffle sample accepted from a peer; larger samples are truncated.
const SAMPLE_LEN_MAX: usize = 64;

impl OverlayMessage {
    /// The node this message, sent by `sender`, asks its receiver to contact at once: the
    /// sender of a join or neighbour request, and the joiner of a forwarded join. Shuffle
    /// samples name none: they only fill the passive view, and by the time a passive peer is
    /// contacted its profile has arrived by broadcast like every record.
    pub fn introduces(&self, sender: NodeId) -> Option<NodeId> {
        match self {
            OverlayMessage::Join { .. } | OverlayMessage::Neighbor { .. } => Some(sender),
            OverlayMessage::ForwardJoin { joiner, .. } => Some(*joiner),
            OverlayMessage::Swap { offer } => Some(*offer),
            OverlayMessage::SwapReply { hand_over } => *hand_over,
            OverlayMessage::HandOver { to } => Some(*to),
            OverlayMessage::Shuffle { .. }
            | OverlayMessage::ShuffleReply { .. }
            | OverlayMessage::NeighborReply { .. }
            | OverlayMessage::Disconnect => None,
        }
    }
}

/// What the overlay asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OverlayOutput {
    /// Send a message.
    Send(NodeId, OverlayMessage),
    /// The peer joined the set broadcast runs over.
    Up(NodeId, Role),
    /// The peer left that set.
    Down(NodeId),
}

/// A node's HyParView state.
#[derive(Clone, Debug)]
pub struct Overlay {
    me: NodeId,
    role: Role,
    config: OverlayConfig,
    active: BTreeSet<NodeId>,
    passive: BTreeSet<NodeId>,
    /// Peers dropped from a full passive view, asked only once the views have run dry.
    reserve: BTreeSet<NodeId>,
    clients: BTreeSet<NodeId>,
    /// Passive peers asked to become neighbours, awaiting an answer.
    pending: BTreeSet<NodeId>,
    /// Whether the passive view is still filling: the last shuffle brought a peer it did not
    /// know (a new node has had no shuffle yet). While it is also short of its size, the node
    /// shuffles [`OverlayConfig::filling_speedup`] times as often.
    filling: bool,
    next_shuffle: Instant,
    /// When the next shuffle period begins: a short active view is refilled, and counted.
    next_period: Instant,
    /// Consecutive shuffle periods that ended with the active view short of its size.
    short_periods: u32,
    /// Neighbour requests refused since the last shuffle period began.
    refusals: u32,
    next_swap: Instant,
    /// The swap out, awaiting an answer: (the peer asked, the neighbour offered).
    swap_pending: Option<(NodeId, NodeId)>,
}

/// Shuffle periods a short active view waits before it asks with high priority.
const STARVED_PERIODS: u32 = 3;
/// Refused neighbour requests retried at once in one shuffle period; later ones wait.
const REFUSALS_RETRIED_MAX: u32 = 3;

impl Overlay {
    /// An overlay with empty views.
    pub fn new(
        me: NodeId,
        role: Role,
        config: OverlayConfig,
        now: Instant,
        rng: &mut Rng,
    ) -> Overlay {
        let next_shuffle = now + jittered(config.filling_shuffle_interval(), rng);
        let next_period = now + jittered(config.shuffle_interval, rng);
        let next_swap = now + jittered(config.swap_interval, rng);
        Overlay {
            me,
            role,
            config,
            active: BTreeSet::new(),
            passive: BTreeSet::new(),
            reserve: BTreeSet::new(),
            clients: BTreeSet::new(),
            pending: BTreeSet::new(),
            filling: true,
            next_shuffle,
            next_period,
            short_periods: 0,
            refusals: 0,
            next_swap,
            swap_pending: None,
        }
    }

    /// Peers in the active view.
    pub fn active(&self) -> &BTreeSet<NodeId> {
        &self.active
    }

    /// Peers in the passive view.
    pub fn passive(&self) -> &BTreeSet<NodeId> {
        &self.passive
    }

    /// Peers dropped from a full passive view, kept as a last resort.
    pub fn reserve(&self) -> &BTreeSet<NodeId> {
        &self.reserve
    }

    /// Clients served by this server.
    pub fn clients(&self) -> &BTreeSet<NodeId> {
        &self.clients
    }

    /// Whether `peer` is in the active view or is one of this server's clients.
    pub fn is_neighbor(&self, peer: &NodeId) -> bool {
        self.active.contains(peer) || self.clients.contains(peer)
    }

    /// When the overlay next needs [`Overlay::on_timeout`].
    pub fn poll_timeout(&self) -> Instant {
        self.next_shuffle.min(self.next_period).min(self.next_swap)
    }

    fn active_max(&self) -> usize {
        match self.role {
            Role::Server => self.config.active_max,
            Role::Client => self.config.client_servers,
        }
    }

    /// Joins the overlay through `contact`.
    pub fn join(&mut self, contact: NodeId, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
        if contact == self.me {
            return;
        }
        self.add_active(contact, Role::Server, rng, out);
        out.push(OverlayOutput::Send(contact, OverlayMessage::Join { role: self.role }));
    }

    /// Whether the active view is short and nothing is left to fill it: no passive peer and
    /// no request out. Such a node can grow its view only from its reserve and from peers it
    /// learns of elsewhere ([`Overlay::rescue`]).
    pub fn has_run_dry(&self) -> bool {
        self.active.len() < self.active_max() && self.passive.is_empty() && self.pending.is_empty()
    }

    /// Refills a passive view that ran dry from the reserve and from `known` (nodes this node
    /// knows of by other means: the origins of the records it holds), up to the passive
    /// view's size, and asks one of them. Once a crash takes most of the grid down, a
    /// survivor's passive view may hold dead nodes only (at 90% crashed, one passive view of
    /// 30 in 23 does); without this it, or a pair of survivors holding only each other, would
    /// stay cut off for good.
    pub fn rescue(&mut self, known: &[NodeId], rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
        if !self.has_run_dry() {
            return;
        }
        let reserve = std::mem::take(&mut self.reserve);
        let mut candidates: Vec<NodeId> = known
            .iter()
            .copied()
            .chain(reserve)
            .filter(|peer| *peer != self.me && !self.active.contains(peer))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        rng.shuffle(&mut candidates);
        candidates.truncate(self.config.passive_max);
        self.learn(candidates, rng);
        self.refill(rng, out);
    }

    /// Adds peers known from elsewhere (stored contacts, invitations) to the passive view.
    pub fn learn(&mut self, peers: impl IntoIterator<Item = NodeId>, rng: &mut Rng) {
        for peer in peers {
            self.add_passive(peer, rng);
        }
    }

    /// Handles a message from `from`.
    pub fn handle(
        &mut self,
        from: NodeId,
        message: OverlayMessage,
        rng: &mut Rng,
        out: &mut Vec<OverlayOutput>,
    ) {
        match message {
            OverlayMessage::Join { role } => self.on_join(from, role, rng, out),
            OverlayMessage::ForwardJoin { joiner, ttl } => {
                self.on_forward_join(from, joiner, ttl, rng, out)
            }
            OverlayMessage::Neighbor { high_priority, role } => {
                let has_room = self.active.len() < self.active_max();
                let accepted = match role {
                    Role::Client => {
                        self.role == Role::Server && self.clients.len() < self.config.clients_max
                    }
                    Role::Server => high_priority || has_room,
                };
                if accepted && high_priority && role == Role::Server && self.role == Role::Server {
                    // A forced acceptance may fill one slot beyond the view's size instead of
                    // dropping a neighbour: a dropped neighbour would be one short and, after
                    // a few periods, force its way into another full view in turn, so that
                    // drops, and the broadcast tree's repairs, would never end.
                    self.add_active_within(from, Role::Server, self.active_max() + 1, rng, out);
                } else if accepted {
                    self.add_peer(from, role, rng, out);
                }
                out.push(OverlayOutput::Send(from, OverlayMessage::NeighborReply { accepted }));
            }
            OverlayMessage::NeighborReply { accepted } => {
                self.pending.remove(&from);
                if accepted {
                    self.add_active(from, Role::Server, rng, out);
                } else if self.refusals < REFUSALS_RETRIED_MAX {
                    self.refusals += 1;
                    self.refill(rng, out);
                }
            }
            OverlayMessage::Disconnect => {
                if self.clients.remove(&from) {
                    out.push(OverlayOutput::Down(from));
                } else if self.active.remove(&from) {
                    out.push(OverlayOutput::Down(from));
                    // Ask someone else first: the peer that just left would be asked back.
                    self.refill(rng, out);
                    self.add_passive(from, rng);
                }
            }
            OverlayMessage::Shuffle { origin, ttl, mut sample } => {
                sample.truncate(SAMPLE_LEN_MAX);
                self.on_shuffle(from, origin, ttl, sample, rng, out);
            }
            OverlayMessage::ShuffleReply { mut sample } => {
                sample.truncate(SAMPLE_LEN_MAX);
                let mut learned = false;
                for peer in sample {
                    learned |= self.add_passive(peer, rng);
                }
                self.filling = learned;
            }
            OverlayMessage::Swap { offer } => self.on_swap(from, offer, rng, out),
            OverlayMessage::SwapReply { hand_over } => {
                self.on_swap_reply(from, hand_over, rng, out)
            }
            OverlayMessage::HandOver { to } => {
                if self.active.remove(&from) {
                    out.push(OverlayOutput::Down(from));
                    self.add_passive(from, rng);
                    // Both ends of the new link are told; the one with the smaller id asks, so
                    // that one request crosses. If it is lost, the shuffle period's refill
                    // repairs the view.
                    if self.me < to {
                        out.push(OverlayOutput::Send(
                            to,
                            OverlayMessage::Neighbor { high_priority: true, role: self.role },
                        ));
                    }
                }
            }
        }
    }

    /// The transport lost `peer`, or the failure detector declared it dead: drop it from every
    /// view and, if it was active, promote a passive peer at once.
    pub fn peer_failed(&mut self, peer: NodeId, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
        self.passive.remove(&peer);
        self.reserve.remove(&peer);
        let was_pending = self.pending.remove(&peer);
        if self.clients.remove(&peer) {
            out.push(OverlayOutput::Down(peer));
        }
        if self.active.remove(&peer) {
            out.push(OverlayOutput::Down(peer));
            self.refill(rng, out);
        } else if was_pending {
            self.refill(rng, out);
        }
    }

    /// Shuffles, swaps a link, and refills an active view that fell below its size.
    pub fn on_timeout(&mut self, now: Instant, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
        if now >= self.next_swap {
            self.next_swap = now + jittered(self.config.swap_interval, rng);
            self.start_swap(rng, out);
        }
        if now >= self.next_period {
            self.next_period = now + jittered(self.config.shuffle_interval, rng);
            self.refusals = 0;
            // A request nobody answered within a period (its reply was lost) stops holding a
            // place.
            self.pending.clear();
            if self.active.len() < self.active_max() {
                self.short_periods += 1;
                self.refill(rng, out);
            } else {
                self.short_periods = 0;
            }
        }
        if now >= self.next_shuffle {
            let interval = if self.filling && self.passive.len() < self.config.passive_max {
                self.config.filling_shuffle_interval()
            } else {
                self.config.shuffle_interval
            };
            self.next_shuffle = now + jittered(interval, rng);
            self.shuffle(rng, out);
        }
    }

    /// Sends a shuffle sample on a random walk from a random active peer.
    fn shuffle(&mut self, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
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

    fn on_join(&mut self, from: NodeId, role: Role, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
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

    fn on_forward_join(
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
                    OverlayMessage::Neighbor { high_priority: true, role: self.role },
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
                        OverlayMessage::Neighbor { high_priority: true, role: self.role },
                    ));
                }
            }
        }
    }

    fn on_shuffle(
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

    /// Starts a link swap (a degree-preserving rewiring): a server with a full view offers one
    /// of its links to a random passive peer. HyParView's active views change only when a
    /// node joins or fails, so a few nodes that the joins left linked only among themselves
    /// would stay an island for good; swapping links with passive peers, which the joins'
    /// walks drew from the whole grid, reconnects them, and keeps the overlay a random graph.
    fn start_swap(&mut self, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
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
    fn on_swap(
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
    fn on_swap_reply(
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
    fn hand_over(
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

    /// Adds a peer that asked to connect: a client goes to the client set, a server to the
    /// active view.
    fn add_peer(&mut self, peer: NodeId, role: Role, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
        match role {
            Role::Client => {
                if peer != self.me && self.clients.insert(peer) {
                    out.push(OverlayOutput::Up(peer, Role::Client));
                }
            }
            Role::Server => self.add_active(peer, Role::Server, rng, out),
        }
    }

    fn add_active(
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
    fn add_active_within(
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
    fn add_passive(&mut self, peer: NodeId, rng: &mut Rng) -> bool {
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

    fn keep_in_reserve(&mut self, peer: NodeId, rng: &mut Rng) {
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

    /// Asks a random passive peer to become a neighbour, unless the active view and the
    /// requests already out fill it.
    pub fn refill(&mut self, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
        if self.active.len() + self.pending.len() >= self.active_max() {
            return;
        }
        let excluded: Vec<NodeId> = self.pending.iter().copied().collect();
        let Some(candidate) = pick(&self.passive, rng, &excluded) else { return };
        self.pending.insert(candidate);
        // HyParView asks with high priority only when the active view is empty. We also do so
        // with one neighbour left, and after a view stayed short for several periods: a few
        // nodes that hold only each other otherwise form an island that low-priority requests,
        // refused by the full views around it, never reconnect.
        let high_priority = self.active.len() <= 1 || self.short_periods >= STARVED_PERIODS;
        out.push(OverlayOutput::Send(
            candidate,
            OverlayMessage::Neighbor { high_priority, role: self.role },
        ));
    }
}

/// The time to the next shuffle or swap, drawn from [interval / 2, 3 × interval / 2).
fn jittered(interval: Duration, rng: &mut Rng) -> Duration {
    interval / 2 + interval.mul_f64(rng.unit())
}

/// A uniformly random member of `set` that is not in `excluded`.
fn pick(set: &BTreeSet<NodeId>, rng: &mut Rng, excluded: &[NodeId]) -> Option<NodeId> {
    let candidates: Vec<NodeId> =
        set.iter().copied().filter(|peer| !excluded.contains(peer)).collect();
    (!candidates.is_empty()).then(|| candidates[rng.index(candidates.len())])
}

/// Up to `count` distinct random members of `set`, none in `excluded`.
fn pick_many(
    set: &BTreeSet<NodeId>,
    count: usize,
    rng: &mut Rng,
    excluded: &[NodeId],
) -> Vec<NodeId> {
    let mut candidates: Vec<NodeId> =
        set.iter().copied().filter(|peer| !excluded.contains(peer)).collect();
    rng.shuffle(&mut candidates);
    candidates.truncate(count);
    candidates
}
