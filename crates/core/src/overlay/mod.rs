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

mod config;
mod message;
mod swap;
mod views;
mod walks;

use std::collections::BTreeSet;
use std::time::Duration;

pub use config::OverlayConfig;
use message::SAMPLE_LEN_MAX;
pub use message::{OverlayMessage, OverlayOutput, Priority};

use crate::id::NodeId;
use crate::rng::Rng;
use crate::role::Role;
use crate::time::Instant;

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
            OverlayMessage::Neighbor { priority, role } => {
                let high_priority = priority == Priority::High;
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
                            OverlayMessage::Neighbor { priority: Priority::High, role: self.role },
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

    /// Asks a random passive peer to become a neighbour, unless the active view and the
    /// requests already out fill it. A node with no neighbour at all keeps two requests out:
    /// a restarted node's single request, sent to a peer that crashes before it answers, would
    /// otherwise leave it cut off until the next shuffle period (seed 14688817214839936184 of
    /// `scenarios/churn.toml` took 11.5 s to converge that way).
    pub fn refill(&mut self, rng: &mut Rng, out: &mut Vec<OverlayOutput>) {
        if self.request_neighbor(rng, out) && self.active.is_empty() && self.pending.len() < 2 {
            self.request_neighbor(rng, out);
        }
    }

    /// Sends one neighbour request to a random passive peer not already asked, unless the
    /// active view and the requests out fill the view. Whether a request went.
    fn request_neighbor(&mut self, rng: &mut Rng, out: &mut Vec<OverlayOutput>) -> bool {
        if self.active.len() + self.pending.len() >= self.active_max() {
            return false;
        }
        let excluded: Vec<NodeId> = self.pending.iter().copied().collect();
        let Some(candidate) = pick(&self.passive, rng, &excluded) else { return false };
        self.pending.insert(candidate);
        // HyParView asks with high priority only when the active view is empty. We also do so
        // with one neighbour left, and after a view stayed short for several periods: a few
        // nodes that hold only each other otherwise form an island that low-priority requests,
        // refused by the full views around it, never reconnect.
        let priority = if self.active.len() <= 1 || self.short_periods >= STARVED_PERIODS {
            Priority::High
        } else {
            Priority::Normal
        };
        out.push(OverlayOutput::Send(
            candidate,
            OverlayMessage::Neighbor { priority, role: self.role },
        ));
        true
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
