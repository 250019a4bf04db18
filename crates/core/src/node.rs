//! The sans-IO node: one state machine per herald node, driven by `handle`, drained by
//! `poll_output`, woken at `poll_timeout`.
//!
//! The driver (the simulator or the tokio node) owns every socket, clock and disk. It feeds the
//! node received frames, timer expiries, transport failures and local commands with the time
//! they happened, then drains the ordered output queue: transmits, application events and
//! persist operations. A persist operation always precedes the transmits that depend on it, and
//! the driver must make it durable before sending them.
//!
//! The node owns the record set and wires the protocol components together: the overlay
//! ([`crate::overlay`]) says who the neighbours are, broadcast ([`crate::broadcast`]) spreads new
//! records over them, anti-entropy ([`crate::sync`]) repairs what broadcast missed, and
//! membership ([`crate::membership`]) probes members and publishes liveness claims as records.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::broadcast::{
    Arrived, Broadcast, BroadcastConfig, BroadcastMessage, BroadcastMode, BroadcastOutput,
};
use crate::id::{Keypair, NodeId};
use crate::liveness::{LivenessClaim, MemberState};
use crate::membership::{Membership, MembershipConfig, MembershipOutput};
use crate::overlay::{Overlay, OverlayConfig, OverlayMessage, OverlayOutput, Role};
use crate::persist::{PersistOp, Snapshot};
use crate::record::{KEY_LEN_MAX, PAYLOAD_LEN_MAX, Record, RecordKind, SignedRecord, Version};
use crate::record_set::{MergeOutcome, RecordSet, SlotKey};
use crate::rng::Rng;
use crate::stats::Stats;
use crate::sync::{Sync, SyncConfig, SyncMessage, SyncOutput};
use crate::time::Instant;
use crate::verify::{DirectVerifier, Verifier};
use crate::wire::{self, Message};

/// Tunables of one node.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Server or client.
    pub role: Role,
    /// The epoch of this node's sequence space when it has no stored high-water mark. Drivers
    /// pass something that grows across store losses (the real node: Unix seconds when its store
    /// was created), so a node that lost its store still issues versions that win.
    pub epoch: u64,
    /// Record-store tunables.
    pub records: RecordsConfig,
    /// HyParView.
    pub overlay: OverlayConfig,
    /// Plumtree (or a baseline).
    pub broadcast: BroadcastConfig,
    /// Anti-entropy.
    pub sync: SyncConfig,
    /// Failure detection; `None` switches membership off (the simulator's 10,000-node
    /// broadcast runs, where full membership would not fit in memory).
    pub membership: Option<MembershipConfig>,
}

/// Record-store tunables.
#[derive(Clone, Debug)]
pub struct RecordsConfig {
    /// How long records of a departed origin are kept. Default 600 s, floodd's sample
    /// `site-purge-period`.
    pub departed_grace: Duration,
    /// How often expired records are swept. Default 10 s (guess: a tenth of a minute-scale
    /// grace period is precise enough).
    pub expiry_interval: Duration,
}

impl Default for RecordsConfig {
    fn default() -> RecordsConfig {
        RecordsConfig {
            departed_grace: Duration::from_secs(600),
            expiry_interval: Duration::from_secs(10),
        }
    }
}

impl Config {
    /// The defaults with membership switched on.
    pub fn with_membership() -> Config {
        Config { membership: Some(MembershipConfig::default()), ..Config::default() }
    }
}

/// Something that happened to the node.
#[derive(Clone, Debug)]
pub enum Input {
    /// A frame arrived from an authenticated peer.
    Frame {
        /// The peer the transport authenticated.
        from: NodeId,
        /// The frame's bytes, undecoded.
        bytes: Arc<[u8]>,
    },
    /// The deadline given by [`Node::poll_timeout`] passed.
    Timeout,
    /// The transport could not reach this peer, or lost its connection.
    PeerDown(NodeId),
    /// A local command from the operator or the application.
    Command(Command),
}

/// A local request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Join the grid through the first reachable contact; the others are kept as spares.
    Join {
        /// Servers to contact, in order of preference.
        contacts: Vec<NodeId>,
    },
    /// Publish or replace this node's announcement of `service`.
    Announce {
        /// The service name (the record key).
        service: String,
        /// The payload: a JSON object's bytes.
        payload: Vec<u8>,
        /// The issue time to sign, in Unix milliseconds (the driver reads the wall clock).
        issued_at_ms: u64,
        /// A sequence number the caller insists on (grid-control `sequence-number`); it must be
        /// newer than what the slot holds.
        seq: Option<u64>,
    },
    /// Withdraw this node's announcement of `service` with a tombstone.
    Withdraw {
        /// The service name.
        service: String,
        /// The issue time to sign, in Unix milliseconds.
        issued_at_ms: u64,
    },
    /// Publish or replace one of this node's own descriptive records: its profile, its
    /// membership certificate chain, or the note that it admitted a joiner. Publishing the exact
    /// payload the slot already holds changes nothing and answers with the held version.
    Publish {
        /// [`RecordKind::Profile`], [`RecordKind::MembershipCert`] or [`RecordKind::Admission`].
        kind: RecordKind,
        /// The record key.
        key: String,
        /// The payload, encoded by the caller.
        payload: Vec<u8>,
        /// The issue time to sign, in Unix milliseconds.
        issued_at_ms: u64,
    },
    /// Announce departure; the node stops probing and answering probes.
    Leave {
        /// The issue time to sign, in Unix milliseconds.
        issued_at_ms: u64,
    },
}

/// Why a local command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The requested sequence number is not newer than the one held.
    #[error("sequence number {requested} is not newer than the current {current}")]
    Stale {
        /// What the caller asked for.
        requested: u64,
        /// What the slot holds.
        current: Version,
    },
    /// The service name is empty or too long.
    #[error("a service name has 1 to {KEY_LEN_MAX} bytes")]
    BadServiceName,
    /// The payload is too large.
    #[error("the payload has {0} bytes, more than the {PAYLOAD_LEN_MAX} allowed")]
    PayloadTooLarge(usize),
    /// This kind of record has its own command, or is never published locally.
    #[error("records of kind {0} cannot be published with a publish command")]
    NotPublishable(&'static str),
}

/// What the node tells the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A record was stored because it was new: from a peer, or published locally.
    RecordStored {
        /// The record now held.
        record: Arc<SignedRecord>,
        /// The peer it came from; `None` when this node published it.
        from: Option<NodeId>,
        /// Hops it travelled from its origin (0 for local).
        hops: u16,
    },
    /// A local command was carried out; the record it made is stored and sent.
    CommandDone {
        /// The version the new record carries.
        version: Version,
    },
    /// A local command was refused.
    CommandRefused(CommandError),
    /// A member changed state in this node's view.
    MemberChanged {
        /// The member.
        id: NodeId,
        /// Its new state.
        state: MemberState,
        /// The incarnation the state refers to.
        incarnation: u64,
    },
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send `frame` to peer `to`.
    Transmit {
        /// The destination peer.
        to: NodeId,
        /// The encoded frame, shared between the copies of one broadcast.
        frame: Arc<[u8]>,
    },
    /// Tell the application.
    Event(Event),
    /// Make this durable before any later transmit goes out.
    Persist(PersistOp),
}

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
    sync: Sync,
    membership: Option<Membership>,
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
        let next_sweep = now + config.records.expiry_interval;
        let mut rng = Rng::from_seed(seed);
        let mut node = Node {
            overlay: Overlay::new(me, config.role, config.overlay.clone(), now, &mut rng),
            broadcast: Broadcast::new(config.broadcast.clone()),
            sync: Sync::new(config.sync.clone(), now),
            keypair,
            config,
            rng,
            verifier: Box::new(DirectVerifier::default()),
            records,
            issued_high: snapshot.issued_high,
            membership,
            outputs: VecDeque::new(),
            next_sweep,
            stats: Stats::default(),
        };
        node.rejoin_known_members(now);
        if let Some(claim) = node.membership.as_ref().map(Membership::alive_claim) {
            node.publish_claim(now, claim);
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

    /// This node's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The live announcements held, newest per origin and service, optionally of one service
    /// only (withdrawn ones are tombstones and are left out).
    pub fn services<'a>(
        &'a self,
        service: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Arc<SignedRecord>> {
        self.records.iter().filter(move |record| {
            record.record.kind == RecordKind::Announcement
                && service.is_none_or(|name| record.record.key == name)
        })
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
                // finds out any other dead one as fast (see `Sync::sweep`).
                let neighbor = self.overlay.is_neighbor(&peer);
                let mut out = Vec::new();
                self.overlay.peer_failed(peer, &mut self.rng, &mut out);
                self.apply_overlay(out);
                if neighbor {
                    if let Some(membership) = self.membership.as_mut() {
                        membership.peer_unreachable(peer);
                    }
                    let mut sync_out = Vec::new();
                    self.sync.sweep(now, self.overlay.active(), &self.records, &mut sync_out);
                    self.apply_sync(sync_out);
                }
            }
            Input::Command(command) => self.on_command(now, command),
        }
    }

    /// The next thing the driver must do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the node next needs an [`Input::Timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next =
            self.next_sweep.min(self.overlay.poll_timeout()).min(self.sync.poll_timeout());
        if let Some(at) = self.broadcast.poll_timeout() {
            next = next.min(at);
        }
        if let Some(membership) = &self.membership {
            next = next.min(membership.poll_timeout());
        }
        Some(next)
    }

    fn on_timeout(&mut self, now: Instant) {
        if now >= self.next_sweep {
            self.next_sweep = now + self.config.records.expiry_interval;
            for slot in self.records.expire(now, self.config.records.departed_grace) {
                self.stats.records_expired += 1;
                self.outputs.push_back(Output::Persist(PersistOp::DeleteRecord(slot)));
            }
        }
        let mut overlay_out = Vec::new();
        self.overlay.on_timeout(now, &mut self.rng, &mut overlay_out);
        if self.overlay.has_run_dry() {
            let known = self.rescue_candidates();
            self.overlay.rescue(&known, &mut self.rng, &mut overlay_out);
        }
        self.apply_overlay(overlay_out);
        let mut broadcast_out = Vec::new();
        self.broadcast.on_timeout(now, &mut broadcast_out);
        self.apply_broadcast(broadcast_out);
        let mut sync_out = Vec::new();
        let peers: Vec<NodeId> = self.overlay.active().iter().copied().collect();
        self.sync.on_timeout(now, &peers, &self.records, &mut self.rng, &mut sync_out);
        self.apply_sync(sync_out);
        if let Some(membership) = &mut self.membership {
            let mut membership_out = Vec::new();
            membership.on_timeout(now, &mut self.rng, &mut membership_out);
            self.apply_membership(now, membership_out);
        }
    }

    fn on_frame(&mut self, now: Instant, from: NodeId, bytes: &[u8]) {
        self.stats.frames_in += 1;
        self.stats.bytes_in += bytes.len() as u64;
        let message = match wire::decode(bytes) {
            Ok(message) => message,
            Err(_) => {
                self.stats.decode_errors += 1;
                return;
            }
        };
        match message {
            Message::Overlay { message, profile } => {
                // Taken first, so that the driver knows the address of the node introduced
                // before it carries out any answer.
                match profile {
                    Some(profile) if profile.record.kind == RecordKind::Profile => {
                        self.accept(now, from, Arrival::Repair, profile);
                    }
                    Some(_) => self.stats.records_rejected += 1,
                    None => {}
                }
                let mut out = Vec::new();
                self.overlay.handle(from, message, &mut self.rng, &mut out);
                self.apply_overlay(out);
            }
            Message::Broadcast(message) if !self.overlay.is_neighbor(&from) => {
                self.on_stranger_broadcast(now, from, message);
            }
            Message::Broadcast(BroadcastMessage::Gossip { round, record }) => {
                self.on_gossip(now, from, round, record);
            }
            Message::Broadcast(control) => {
                let mut out = Vec::new();
                self.broadcast.handle_control(now, from, control, &mut out);
                self.apply_broadcast(out);
            }
            Message::Sync(message) => {
                let mut out = Vec::new();
                let received =
                    self.sync.handle(now, from, message, &self.records, &mut self.rng, &mut out);
                self.apply_sync(out);
                for record in received {
                    self.stats.records_repaired +=
                        u64::from(self.accept(now, from, Arrival::Repair, record));
                }
            }
            Message::Membership(message) => {
                if let Some(membership) = &mut self.membership {
                    let mut out = Vec::new();
                    membership.handle(now, from, message, &mut out);
                    self.apply_membership(now, out);
                }
            }
        }
    }

    /// Broadcast traffic from a peer that is not a neighbour: the peer holds a stale link to
    /// this node (a disconnect crossed a neighbour request). Its records are still taken, but
    /// it is told to drop the link so both views agree again. Push gossip talks to strangers by
    /// design and is exempt.
    fn on_stranger_broadcast(&mut self, now: Instant, from: NodeId, message: BroadcastMessage) {
        if let BroadcastMessage::Gossip { round, record } = message {
            self.on_gossip(now, from, round, record);
        }
        if !matches!(self.config.broadcast.mode, BroadcastMode::Gossip { .. }) {
            let message = OverlayMessage::Disconnect;
            self.send(from, &Message::Overlay { message, profile: None });
        }
    }

    fn on_gossip(&mut self, now: Instant, from: NodeId, round: u16, record: SignedRecord) {
        let id = record.digest();
        let hops = round.saturating_add(1);
        if self.broadcast.has_seen(&id) {
            self.stats.records_duplicate += 1;
        } else if self.accept(now, from, Arrival::Tree { hops }, record) {
            return;
        }
        let mut out = Vec::new();
        self.broadcast.duplicate(&id, from, hops, &mut out);
        self.apply_broadcast(out);
    }

    /// Verifies and merges a record from a peer; a new one is stored, handled and spread.
    /// Returns whether it was new.
    fn accept(
        &mut self,
        now: Instant,
        from: NodeId,
        arrival: Arrival,
        record: SignedRecord,
    ) -> bool {
        if self.verifier.verify(&record).is_err() {
            self.stats.records_rejected += 1;
            return false;
        }
        if record.record.origin == self.id() {
            self.resync_own_version(record.record.version);
        }
        let record = Arc::new(record);
        let hops = match arrival {
            Arrival::Tree { hops } => hops,
            Arrival::Repair => 0,
        };
        if !self.store(now, record.clone(), Some(from), hops) {
            return false;
        }
        self.spread(now, record, Some(from), arrival);
        true
    }

    /// Nodes an overlay that ran dry may ask: the origins of the records held, but those that
    /// membership holds dead or departed.
    fn rescue_candidates(&self) -> Vec<NodeId> {
        let gone = |origin: &NodeId| {
            self.membership.as_ref().is_some_and(|membership| {
                membership.members().get(origin).is_some_and(|member| member.state.is_gone())
            })
        };
        self.records.origins().keys().filter(|origin| !gone(origin)).copied().collect()
    }

    /// A node that lost its store learns from its peers how far it had counted, and jumps past
    /// it, as Receptor's route broadcasts do.
    fn resync_own_version(&mut self, seen: Version) {
        if self.issued_high.is_none_or(|high| seen > high) {
            self.issued_high = Some(seen);
            self.outputs.push_back(Output::Persist(PersistOp::SetIssuedHigh(seen)));
        }
    }

    /// Merges a verified record; on change, queues its persist and event, and hands liveness
    /// claims to membership. Returns whether it was stored.
    fn store(
        &mut self,
        now: Instant,
        record: Arc<SignedRecord>,
        from: Option<NodeId>,
        hops: u16,
    ) -> bool {
        let outcome = self.records.merge(record.clone());
        match outcome {
            MergeOutcome::Duplicate => self.stats.records_duplicate += 1,
            MergeOutcome::Stale => self.stats.records_stale += 1,
            MergeOutcome::Conflict { .. } => self.stats.records_conflicting += 1,
            MergeOutcome::Inserted | MergeOutcome::Replaced => {}
        }
        if !outcome.stored() {
            return false;
        }
        self.stats.records_stored += 1;
        self.sync.note_stored(now, &record);
        self.outputs.push_back(Output::Persist(PersistOp::PutRecord(record.clone())));
        let hops = if from.is_some() { hops } else { 0 };
        self.outputs.push_back(Output::Event(Event::RecordStored {
            record: record.clone(),
            from,
            hops,
        }));
        true
    }

    /// Hands a stored record to broadcast, and a liveness claim to membership.
    fn spread(
        &mut self,
        now: Instant,
        record: Arc<SignedRecord>,
        from: Option<NodeId>,
        arrival: Arrival,
    ) {
        let claim = (record.record.kind == RecordKind::Liveness)
            .then(|| LivenessClaim::decode(&record.record.payload))
            .flatten();
        let known: Vec<NodeId> =
            self.overlay.active().iter().chain(self.overlay.passive()).copied().collect();
        match arrival {
            Arrival::Tree { hops } => {
                let mut out = Vec::new();
                let arrived = Arrived { record: record.clone(), from, round: hops };
                self.broadcast.spread(now, arrived, &known, &mut self.rng, &mut out);
                self.apply_broadcast(out);
            }
            Arrival::Repair => {
                let mut out = Vec::new();
                self.broadcast.repaired(now, record.clone(), &mut out);
                self.apply_broadcast(out);
            }
        }
        if let (Some(claim), Some(membership)) = (claim, &mut self.membership) {
            let mut out = Vec::new();
            membership.on_claim(now, record.record.origin, claim, &mut self.rng, &mut out);
            self.apply_membership(now, out);
        }
    }

    fn on_command(&mut self, now: Instant, command: Command) {
        match command {
            Command::Join { contacts } => {
                let mut out = Vec::new();
                if let Some((first, spares)) = contacts.split_first() {
                    self.overlay.learn(spares.iter().copied(), &mut self.rng);
                    self.overlay.join(*first, &mut self.rng, &mut out);
                }
                self.apply_overlay(out);
            }
            Command::Leave { .. } => {
                if let Some(claim) = self.membership.as_mut().map(Membership::leave) {
                    self.publish_claim(now, claim);
                }
            }
            Command::Announce { service, payload, issued_at_ms, seq } => {
                let result = self.check_service(&service, &payload).and_then(|()| {
                    let current =
                        self.records.version_of(self.id(), RecordKind::Announcement, &service);
                    self.next_version(current, seq)
                });
                self.finish_command(
                    now,
                    RecordKind::Announcement,
                    service,
                    payload,
                    issued_at_ms,
                    result,
                );
            }
            Command::Publish { kind, key, payload, issued_at_ms } => {
                self.on_publish(now, kind, key, payload, issued_at_ms);
            }
            Command::Withdraw { service, issued_at_ms } => {
                let result =
                    self.check_service(&service, &[]).and_then(|()| self.next_version(None, None));
                self.finish_command(
                    now,
                    RecordKind::Tombstone,
                    service,
                    Vec::new(),
                    issued_at_ms,
                    result,
                );
            }
        }
    }

    fn on_publish(
        &mut self,
        now: Instant,
        kind: RecordKind,
        key: String,
        payload: Vec<u8>,
        issued_at_ms: u64,
    ) {
        if !matches!(kind, RecordKind::Profile | RecordKind::MembershipCert | RecordKind::Admission)
        {
            self.stats.commands_refused += 1;
            let refusal = CommandError::NotPublishable(kind.name());
            self.outputs.push_back(Output::Event(Event::CommandRefused(refusal)));
            return;
        }
        let slot = SlotKey { origin: self.id(), family: kind, key };
        if let Some(held) = self.records.get(&slot).filter(|held| held.record.payload == payload) {
            let version = held.record.version;
            self.outputs.push_back(Output::Event(Event::CommandDone { version }));
            return;
        }
        // Profile and certificate records have an empty key, which a service name may not.
        let result = if slot.key.len() > KEY_LEN_MAX {
            Err(CommandError::BadServiceName)
        } else if payload.len() > PAYLOAD_LEN_MAX {
            Err(CommandError::PayloadTooLarge(payload.len()))
        } else {
            self.next_version(None, None)
        };
        self.finish_command(now, kind, slot.key, payload, issued_at_ms, result);
    }

    fn check_service(&self, service: &str, payload: &[u8]) -> Result<(), CommandError> {
        if service.is_empty() || service.len() > KEY_LEN_MAX {
            return Err(CommandError::BadServiceName);
        }
        if payload.len() > PAYLOAD_LEN_MAX {
            return Err(CommandError::PayloadTooLarge(payload.len()));
        }
        Ok(())
    }

    fn finish_command(
        &mut self,
        now: Instant,
        kind: RecordKind,
        key: String,
        payload: Vec<u8>,
        issued_at_ms: u64,
        version: Result<Version, CommandError>,
    ) {
        match version {
            Ok(version) => {
                self.publish(now, kind, key, payload, issued_at_ms, version);
                self.outputs.push_back(Output::Event(Event::CommandDone { version }));
            }
            Err(error) => {
                self.stats.commands_refused += 1;
                self.outputs.push_back(Output::Event(Event::CommandRefused(error)));
            }
        }
    }

    /// Signs, persists, stores and spreads a record of this node's own.
    fn publish(
        &mut self,
        now: Instant,
        kind: RecordKind,
        key: String,
        payload: Vec<u8>,
        issued_at_ms: u64,
        version: Version,
    ) -> Arc<SignedRecord> {
        let record = Record { origin: self.id(), kind, key, version, issued_at_ms, payload };
        let record = Arc::new(
            record.sign(&self.keypair).expect("keys and payloads are checked before signing"),
        );
        self.issued_high = Some(self.issued_high.map_or(version, |high| high.max(version)));
        self.outputs.push_back(Output::Persist(PersistOp::SetIssuedHigh(version)));
        if self.store(now, record.clone(), None, 0) {
            self.spread(now, record.clone(), None, Arrival::Tree { hops: 0 });
        }
        record
    }

    fn publish_claim(&mut self, now: Instant, claim: LivenessClaim) {
        let version = self.next_version(None, None).expect("an unrequested version is never stale");
        // The issue time of a claim is informational; the core has no wall clock, so it signs 0.
        let key = claim.subject.to_string();
        let record = self.publish(now, RecordKind::Liveness, key, claim.encode(), 0, version);
        // The suspect hears of it straight away, not only when the broadcast reaches it, so it
        // can refute before the suspicion times out (SWIM sends it on the probe path too).
        if claim.state == MemberState::Suspect {
            let message = SyncMessage::Records { records: vec![(*record).clone()], more: false };
            self.send(claim.subject, &Message::Sync(message));
        }
    }

    /// The version of the next record in a slot that holds `current`.
    fn next_version(
        &self,
        current: Option<Version>,
        requested: Option<u64>,
    ) -> Result<Version, CommandError> {
        let epoch =
            self.issued_high.map_or(self.config.epoch, |high| high.epoch.max(self.config.epoch));
        let counted = match self.issued_high {
            Some(high) if high.epoch == epoch => high.seq + 1,
            _ => 1,
        };
        let Some(requested) = requested else {
            return Ok(Version::new(epoch, counted));
        };
        let version = Version::new(epoch, requested);
        match current {
            Some(current) if version <= current => Err(CommandError::Stale { requested, current }),
            _ => Ok(version),
        }
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
            self.apply_overlay(out);
        }
    }

    fn apply_overlay(&mut self, out: Vec<OverlayOutput>) {
        for output in out {
            match output {
                OverlayOutput::Send(to, message) => {
                    let profile = self.profile_introduced(to, &message);
                    self.send(to, &Message::Overlay { message, profile });
                }
                OverlayOutput::Up(peer, _) => self.broadcast.neighbor_up(peer),
                OverlayOutput::Down(peer) => self.broadcast.neighbor_down(peer),
            }
        }
    }

    /// The profile this node holds of the node `message` introduces, unless it is the receiver.
    fn profile_introduced(&self, to: NodeId, message: &OverlayMessage) -> Option<SignedRecord> {
        let origin = message.introduces(self.id()).filter(|id| *id != to)?;
        let slot = SlotKey { origin, family: RecordKind::Profile, key: String::new() };
        self.records.get(&slot).map(|record| (**record).clone())
    }

    fn apply_broadcast(&mut self, out: Vec<BroadcastOutput>) {
        for BroadcastOutput::Send(to, message) in out {
            match message {
                BroadcastMessage::Gossip { .. } => self.stats.records_out += 1,
                BroadcastMessage::Graft { .. } | BroadcastMessage::Reroute { eager: true, .. } => {
                    self.stats.grafts += 1
                }
                BroadcastMessage::Prune { .. } | BroadcastMessage::Reroute { eager: false, .. } => {
                    self.stats.prunes += 1
                }
                BroadcastMessage::IHave { .. } => {}
            }
            self.send(to, &Message::Broadcast(message));
        }
    }

    fn apply_sync(&mut self, out: Vec<SyncOutput>) {
        for SyncOutput::Send(to, message) in out {
            if let SyncMessage::Records { records, .. } = &message {
                // Repairs carry payloads too; redundancy counts every copy sent.
                self.stats.records_out += records.len() as u64;
                self.stats.records_out_repair += records.len() as u64;
            }
            self.send(to, &Message::Sync(message));
        }
    }

    fn apply_membership(&mut self, now: Instant, out: Vec<MembershipOutput>) {
        for output in out {
            match output {
                MembershipOutput::Send(to, message) => self.send(to, &Message::Membership(message)),
                MembershipOutput::Publish(claim) => self.publish_claim(now, claim),
                MembershipOutput::Changed { id, state, incarnation } => {
                    if state.is_gone() {
                        self.records.mark_departed(id, now);
                        let mut out = Vec::new();
                        self.overlay.peer_failed(id, &mut self.rng, &mut out);
                        self.apply_overlay(out);
                    } else {
                        self.records.mark_returned(id);
                    }
                    let event = Event::MemberChanged { id, state, incarnation };
                    self.outputs.push_back(Output::Event(event));
                }
                MembershipOutput::Purged(id) => {
                    // Claims others made about a forgotten member go with it.
                    let key = id.to_string();
                    for slot in self
                        .records
                        .remove_where(|slot| slot.family == RecordKind::Liveness && slot.key == key)
                    {
                        self.outputs.push_back(Output::Persist(PersistOp::DeleteRecord(slot)));
                    }
                }
            }
        }
    }

    fn send(&mut self, to: NodeId, message: &Message) {
        match wire::encode(message) {
            Ok(frame) => {
                self.stats.frames_out += 1;
                self.stats.bytes_out += frame.len() as u64;
                self.outputs.push_back(Output::Transmit { to, frame: frame.into() });
            }
            Err(_) => self.stats.frames_dropped += 1,
        }
    }
}
