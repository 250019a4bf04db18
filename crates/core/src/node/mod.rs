//! The sans-IO node: one state machine per herald node, driven by `handle`, drained by
//! `poll_output`, woken at `poll_timeout`, and told what to publish by its command methods.
//!
//! The driver (the simulator or the tokio node) owns every socket, clock and disk. It feeds the
//! node received frames, timer expiries and transport failures with the time they happened, and
//! calls the command methods ([`Node::announce`], [`Node::withdraw`], ...), which answer at
//! once. It then drains the ordered output queue: transmits, application events and persist
//! operations. A persist operation always precedes the transmits that depend on it; the driver
//! must make those the node owes durable before sending them, or before it reports a command's
//! result ([`PersistOp::is_owed_by`]).
//!
//! This file is the composition root: it owns the record set and the protocol components, and
//! says which component each input goes to. The overlay ([`crate::overlay`]) says who the
//! neighbours are, broadcast ([`crate::broadcast`]) spreads new records over them, anti-entropy
//! ([`crate::anti_entropy`]) repairs what broadcast missed, membership
//! ([`crate::membership`]) probes members and publishes liveness claims as records,
//! routing ([`crate::routing`]) advertises this node's links and forwards routed messages
//! across the mesh (`routes` holds its calls from the node), and groups ([`crate::groups`])
//! flood floodd data messages to the members of each group (`groups` holds its calls from the
//! node, `group_topology` how it computes each group's members and topology). The rest of the node is split by concern:
//! - `driver`: the driver interface (config, inputs, outputs, events);
//! - `intake`: a frame's way from bytes to a stored record handed to the components;
//! - `publish`: the local commands, signing and versioning of this node's own records;
//! - `grid_control`: recommendations, reachability, manager lists and the forwarding policy;
//! - `wiring`: what each component's outputs become (sends, publishes, calls on the others).
//!
//! A new capability plugs in the same way each of these does (docs/protocol.md, "Where a new
//! capability goes"): a module folder with its state machine, messages and config; a variant of
//! [`crate::wire::Message`]; a field here with its dispatch arm in `intake::on_frame`, its turn
//! in [`Node::poll_timeout`] and the timeout handler below; and one `apply_*` function in
//! `wiring` for its outputs.

mod driver;
mod grid_control;
mod group_joins;
mod group_topology;
mod groups;
mod intake;
mod publish;
mod routes;
mod wiring;

use std::collections::VecDeque;
use std::sync::Arc;

pub use driver::{Announcement, CommandError, Config, Event, Input, Output, RecordsConfig};
pub use routes::Nearby;

use group_topology::GroupsRefresh;

use crate::anti_entropy::AntiEntropy;
use crate::broadcast::Broadcast;
use crate::grid_control::ReachableOnly;
use crate::groups::Groups;
use crate::id::{Keypair, NodeId};
use crate::liveness::{LivenessClaim, MemberState};
use crate::membership::{Membership, MembershipOutput};
use crate::overlay::Overlay;
use crate::persist::{PersistOp, Snapshot};
use crate::record::{RecordKind, Version};
use crate::record_set::{RecordSet, SlotKey};
use crate::rng::Rng;
use crate::routing::Routing;
use crate::stats::Stats;
use crate::time::Instant;
use crate::verify::{DirectVerifier, Verifier};

/// How a record reached this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arrival {
    /// Over the broadcast tree (or published here, at 0 hops).
    Tree {
        /// Hops from the origin.
        hops: u16,
    },
    /// Through anti-entropy.
    Repair,
}

/// One herald node's protocol state.
pub struct Node {
    keypair: Keypair,
    config: Config,
    rng: Rng,
    verifier: Box<dyn Verifier>,
    records: RecordSet,
    issued_high: Option<Version>,
    overlay: Overlay,
    broadcast: Broadcast,
    anti_entropy: AntiEntropy,
    membership: Option<Membership>,
    routing: Option<Routing>,
    groups: Groups,
    /// The forwarding policy of grid control, when it is on.
    reachable_only: Option<ReachableOnly>,
    /// When the groups' topologies are computed again (see `group_topology`).
    groups_refresh: GroupsRefresh,
    outputs: VecDeque<Output>,
    next_sweep: Instant,
    stats: Stats,
}

impl Node {
    /// A fresh node with no stored state.
    pub fn new(keypair: Keypair, config: Config, seed: u64, now: Instant) -> Node {
        Node::restore(keypair, config, seed, now, Snapshot::default())
    }

    /// A node rebuilt from what its store kept. Stored records are trusted: they were verified
    /// before they were persisted. A node that had announced itself comes back with a higher
    /// incarnation, and reconnects to the members it knew.
    pub fn restore(
        keypair: Keypair,
        config: Config,
        seed: u64,
        now: Instant,
        snapshot: Snapshot,
    ) -> Node {
        let me = keypair.id();
        let mut records = RecordSet::new();
        for record in snapshot.records {
            records.merge(Arc::new(record));
        }
        let own_claim = records
            .get(&SlotKey { origin: me, family: RecordKind::Liveness, key: me.to_string() })
            .and_then(|record| LivenessClaim::decode(&record.record.payload));
        let membership = config.membership.clone().map(|membership_config| {
            let incarnation = own_claim.map_or(0, |claim| claim.incarnation + 1);
            Membership::new(me, incarnation, membership_config, now)
        });
        let routing = config.routing.clone().map(|routing_config| Routing::new(me, routing_config));
        let next_sweep = now + config.records.expiry_interval;
        let mut groups = Groups::new(me, config.groups.clone(), now);
        for data in snapshot.group_messages {
            groups.restore(data, now);
        }
        for (group, origin, version) in &snapshot.group_cursors {
            groups.restore_cursor(group, *origin, *version);
        }
        let mut rng = Rng::from_seed(seed);
        let reachable_only =
            config.grid_control.forward_only_reachable.clone().map(ReachableOnly::new);
        let mut node = Node {
            overlay: Overlay::new(me, config.role, config.overlay.clone(), now, &mut rng),
            broadcast: Broadcast::new(config.broadcast.clone()),
            anti_entropy: AntiEntropy::new(config.anti_entropy.clone(), now),
            keypair,
            config,
            rng,
            verifier: Box::new(DirectVerifier::default()),
            records,
            issued_high: snapshot.issued_high,
            membership,
            routing,
            groups,
            reachable_only,
            groups_refresh: GroupsRefresh::default(),
            outputs: VecDeque::new(),
            next_sweep,
            stats: Stats::default(),
        };
        if node.records.iter().any(|record| record.record.kind == RecordKind::GroupDefinition) {
            node.note_groups_record(RecordKind::GroupDefinition);
        }
        node.rejoin_known_members(now);
        if let Some(claim) = node.membership.as_ref().map(Membership::alive_claim) {
            node.publish_claim(now, claim, 0);
        }
        node
    }

    /// Replaces the signature checker (the simulator memoises; the real node never does).
    pub fn with_verifier(mut self, verifier: Box<dyn Verifier>) -> Node {
        self.verifier = verifier;
        self
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.keypair.id()
    }

    /// The records this node holds.
    pub fn records(&self) -> &RecordSet {
        &self.records
    }

    /// The overlay's views.
    pub fn overlay(&self) -> &Overlay {
        &self.overlay
    }

    /// The broadcast tree's links.
    pub fn broadcast(&self) -> &Broadcast {
        &self.broadcast
    }

    /// The membership view, if membership is on.
    pub fn membership(&self) -> Option<&Membership> {
        self.membership.as_ref()
    }

    /// The routing state, if routing is on.
    pub fn routing(&self) -> Option<&Routing> {
        self.routing.as_ref()
    }

    /// This node's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Anti-entropy rounds this node started, with one neighbour each.
    pub fn anti_entropy_rounds(&self) -> u64 {
        self.anti_entropy.rounds()
    }

    /// The partners of the most recent anti-entropy rounds, newest first, with their rounds'
    /// numbers.
    pub fn anti_entropy_partners(&self) -> impl Iterator<Item = (u64, NodeId)> + '_ {
        self.anti_entropy.recent_partners()
    }

    /// The highest version this node has issued.
    pub fn issued_high(&self) -> Option<Version> {
        self.issued_high
    }

    /// Feeds one input that happened at `now`.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Frame { from, bytes } => self.on_frame(now, from, &bytes),
            Input::Timeout => self.on_timeout(now),
            Input::PeerDown(peer) => {
                // Only a neighbour's failure hints at a crash: refilling a view after a mass
                // failure tries many dead passive peers, and a neighbour's failure is enough to
                // find a crash. It also starts anti-entropy with every other neighbour, which
                // finds out any other dead one as fast (see `AntiEntropy::sweep`).
                let neighbor = self.overlay.is_neighbor(&peer);
                if neighbor {
                    self.broadcast.neighbor_failed(now);
                }
                if let Some(routing) = &mut self.routing {
                    routing.peer_failed(now, peer);
                }
                let mut out = Vec::new();
                self.overlay.peer_failed(peer, &mut self.rng, &mut out);
                self.apply_overlay(now, out);
                if neighbor {
                    if let Some(membership) = self.membership.as_mut() {
                        membership.peer_unreachable(peer);
                    }
                    let mut anti_entropy_out = Vec::new();
                    self.anti_entropy.sweep(
                        now,
                        self.overlay.active(),
                        &self.records,
                        &mut anti_entropy_out,
                    );
                    self.apply_anti_entropy(anti_entropy_out);
                }
            }
            Input::LinkRtt { peer, rtt } => {
                if let Some(routing) = &mut self.routing {
                    routing.measured(now, peer, rtt);
                }
                self.groups.measured(peer, rtt);
            }
        }
    }

    /// The next thing the driver must do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the node next needs an [`Input::Timeout`]. There is always a next deadline: the
    /// expiry sweep, the overlay's shuffle and anti-entropy's round recur for ever.
    pub fn poll_timeout(&self) -> Instant {
        let mut next =
            self.next_sweep.min(self.overlay.poll_timeout()).min(self.anti_entropy.poll_timeout());
        if let Some(at) = self.broadcast.poll_timeout() {
            next = next.min(at);
        }
        if let Some(membership) = &self.membership {
            next = next.min(membership.poll_timeout());
        }
        if let Some(at) = self.routing.as_ref().and_then(Routing::poll_timeout) {
            next = next.min(at);
        }
        if let Some(at) = self.groups.poll_timeout() {
            next = next.min(at);
        }
        if let Some(at) = self.groups_refresh.due() {
            next = next.min(at);
        }
        next
    }

    fn on_timeout(&mut self, now: Instant) {
        self.refresh_groups(now);
        self.resend_joins(now);
        if now >= self.next_sweep {
            self.next_sweep = now + self.config.records.expiry_interval;
            for slot in self.records.expire(now, self.config.records.departed_grace) {
                self.stats.records_expired += 1;
                self.note_graph_record(slot.family);
                self.note_grid_control_expired(&slot);
                self.outputs.push_back(Output::Persist(PersistOp::DeleteRecord(slot)));
            }
        }
        let mut overlay_out = Vec::new();
        self.overlay.on_timeout(now, &mut self.rng, &mut overlay_out);
        if self.overlay.has_run_dry() {
            let known = self.rescue_candidates();
            self.overlay.rescue(&known, &mut self.rng, &mut overlay_out);
        }
        self.apply_overlay(now, overlay_out);
        let mut broadcast_out = Vec::new();
        self.broadcast.on_timeout(now, &mut broadcast_out);
        self.apply_broadcast(broadcast_out);
        let mut anti_entropy_out = Vec::new();
        let peers: Vec<NodeId> = self.overlay.active().iter().copied().collect();
        self.anti_entropy.on_timeout(
            now,
            &peers,
            &self.records,
            &mut self.rng,
            &mut anti_entropy_out,
        );
        self.apply_anti_entropy(anti_entropy_out);
        if let Some(membership) = &mut self.membership {
            let mut membership_out = Vec::new();
            membership.on_timeout(now, &mut self.rng, &mut membership_out);
            self.apply_membership(now, membership_out);
        }
        if let Some(routing) = &mut self.routing {
            let mut routing_out = Vec::new();
            routing.on_timeout(now, &mut routing_out);
            self.apply_routing(now, routing_out);
        }
        let mut groups_out = Vec::new();
        self.groups.on_timeout(now, &mut self.rng, &mut groups_out);
        self.apply_groups(now, groups_out);
    }

    /// Nodes an overlay that ran dry may ask: the origins of the records held, but those that
    /// membership holds dead or departed.
    fn rescue_candidates(&self) -> Vec<NodeId> {
        let gone = |origin: &NodeId| {
            self.membership.as_ref().is_some_and(|membership| {
                membership.members().get(origin).is_some_and(|member| member.state.is_gone())
            })
        };
        self.records.origins().map(|(origin, _)| *origin).filter(|origin| !gone(origin)).collect()
    }

    /// After a restart: members known from stored claims become passive peers, and the
    /// overlay asks one of them to be a neighbour at once.
    fn rejoin_known_members(&mut self, now: Instant) {
        let me = self.id();
        let claims: Vec<(NodeId, LivenessClaim)> = self
            .records
            .iter()
            .filter(|record| record.record.kind == RecordKind::Liveness)
            .filter_map(|record| {
                Some((record.record.origin, LivenessClaim::decode(&record.record.payload)?))
            })
            .collect();
        if let Some(membership) = &mut self.membership {
            let mut out = Vec::new();
            for (claimant, claim) in &claims {
                membership.on_claim(now, *claimant, *claim, &mut self.rng, &mut out);
            }
            // Restoring old claims changes nothing the application has not been told before.
            out.retain(|output| !matches!(output, MembershipOutput::Changed { .. }));
            self.apply_membership(now, out);
        }
        let alive: Vec<NodeId> = claims
            .iter()
            .filter(|(_, claim)| claim.subject != me && claim.state == MemberState::Alive)
            .map(|(_, claim)| claim.subject)
            .collect();
        if !alive.is_empty() {
            self.overlay.learn(alive, &mut self.rng);
            let mut out = Vec::new();
            self.overlay.refill(&mut self.rng, &mut out);
            self.apply_overlay(now, out);
        }
    }
}
