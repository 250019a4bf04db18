//! The sans-IO node: one state machine per herald node, driven by `handle`, drained by
//! `poll_output`, woken at `poll_timeout`.
//!
//! The driver (the simulator or the tokio node) owns every socket, clock and disk. It feeds the
//! node received frames, timer expiries and local commands with the time they happened, then
//! drains the ordered output queue: transmits, application events and persist operations. A
//! persist operation always precedes the transmits that depend on it, and the driver must make it
//! durable before sending them.
//!
//! Dissemination here is plain flooding over the node's peers: a record stored for the first
//! time is passed to every peer but the one it came from (Receptor's route broadcast). The
//! overlay, Plumtree and anti-entropy build on this same shape.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use crate::id::{Keypair, NodeId};
use crate::persist::{PersistOp, Snapshot};
use crate::record::{KEY_LEN_MAX, PAYLOAD_LEN_MAX, Record, RecordKind, SignedRecord, Version};
use crate::record_set::{MergeOutcome, RecordSet};
use crate::rng::Rng;
use crate::stats::Stats;
use crate::time::Instant;
use crate::verify::{DirectVerifier, Verifier};
use crate::wire::{self, FRAME_SIZE_MAX, Message};

/// Tunables of one node.
#[derive(Clone, Debug)]
pub struct Config {
    /// The epoch of this node's sequence space when it has no stored high-water mark. Drivers
    /// pass something that grows across store losses (the real node: Unix seconds when its store
    /// was created), so a node that lost its store still issues versions that win.
    pub epoch: u64,
    /// How long records of a departed origin are kept. Default 600 s, floodd's sample
    /// `site-purge-period`.
    pub departed_grace: Duration,
    /// How often expired records are swept. Default 10 s (guess: a tenth of a minute-scale
    /// grace period is precise enough).
    pub expiry_interval: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            epoch: 0,
            departed_grace: Duration::from_secs(600),
            expiry_interval: Duration::from_secs(10),
        }
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
    /// A local command from the operator or the application.
    Command(Command),
    /// The transport has a working connection to this peer.
    PeerUp(NodeId),
    /// The transport lost its connection to this peer.
    PeerDown(NodeId),
}

/// A local request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
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

/// One herald node's protocol state.
pub struct Node {
    keypair: Keypair,
    config: Config,
    rng: Rng,
    verifier: Box<dyn Verifier>,
    records: RecordSet,
    issued_high: Option<Version>,
    peers: BTreeSet<NodeId>,
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
    /// before they were persisted.
    pub fn restore(
        keypair: Keypair,
        config: Config,
        seed: u64,
        now: Instant,
        snapshot: Snapshot,
    ) -> Node {
        let mut records = RecordSet::new();
        for record in snapshot.records {
            records.merge(Arc::new(record));
        }
        let next_sweep = now + config.expiry_interval;
        Node {
            keypair,
            config,
            rng: Rng::from_seed(seed),
            verifier: Box::new(DirectVerifier),
            records,
            issued_high: snapshot.issued_high,
            peers: BTreeSet::new(),
            outputs: VecDeque::new(),
            next_sweep,
            stats: Stats::default(),
        }
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

    /// The peers this node is connected to.
    pub fn peers(&self) -> &BTreeSet<NodeId> {
        &self.peers
    }

    /// This node's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The highest version this node has issued.
    pub fn issued_high(&self) -> Option<Version> {
        self.issued_high
    }

    /// Feeds one input that happened at `now`.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Frame { from, bytes } => self.on_frame(from, &bytes),
            Input::Timeout => self.on_timeout(now),
            Input::Command(command) => self.on_command(command),
            Input::PeerUp(peer) => {
                if peer != self.id() {
                    self.peers.insert(peer);
                }
            }
            Input::PeerDown(peer) => {
                self.peers.remove(&peer);
            }
        }
    }

    /// The next thing the driver must do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the node next needs an [`Input::Timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_sweep)
    }

    fn on_timeout(&mut self, now: Instant) {
        if now >= self.next_sweep {
            for slot in self.records.expire(now, self.config.departed_grace) {
                self.stats.records_expired += 1;
                self.outputs.push_back(Output::Persist(PersistOp::DeleteRecord(slot)));
            }
            self.next_sweep = now + self.config.expiry_interval;
        }
    }

    fn on_frame(&mut self, from: NodeId, bytes: &[u8]) {
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
            Message::Records { hops, records } => self.on_records(from, hops, records),
            Message::Ping { nonce } => self.send(from, &Message::Pong { nonce }),
            Message::Pong { .. } => {}
        }
    }

    fn on_records(&mut self, from: NodeId, hops: u16, records: Vec<SignedRecord>) {
        let mut fresh = Vec::new();
        for record in records {
            if self.verifier.verify(&record).is_err() {
                self.stats.records_rejected += 1;
                continue;
            }
            if record.record.origin == self.id() {
                self.resync_own_version(record.record.version);
            }
            let record = Arc::new(record);
            if self.store(record.clone(), Some(from), hops.saturating_add(1)) {
                fresh.push(record);
            }
        }
        if !fresh.is_empty() {
            self.flood(&fresh, hops.saturating_add(1), Some(from));
        }
    }

    /// A node that lost its store learns from its peers how far it had counted, and jumps past
    /// it, as Receptor's route broadcasts do.
    fn resync_own_version(&mut self, seen: Version) {
        if self.issued_high.is_none_or(|high| seen > high) {
            self.issued_high = Some(seen);
            self.outputs.push_back(Output::Persist(PersistOp::SetIssuedHigh(seen)));
        }
    }

    /// Merges a verified record; on change, queues its persist and event. Returns whether it
    /// was stored.
    fn store(&mut self, record: Arc<SignedRecord>, from: Option<NodeId>, hops: u16) -> bool {
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
        self.outputs.push_back(Output::Persist(PersistOp::PutRecord(record.clone())));
        self.outputs.push_back(Output::Event(Event::RecordStored {
            record,
            from,
            hops: if from.is_some() { hops } else { 0 },
        }));
        true
    }

    fn on_command(&mut self, command: Command) {
        match self.issue(command) {
            Ok(record) => {
                let version = record.record.version;
                let record = Arc::new(record);
                self.issued_high = Some(self.issued_high.map_or(version, |high| high.max(version)));
                self.outputs.push_back(Output::Persist(PersistOp::SetIssuedHigh(version)));
                self.store(record.clone(), None, 0);
                self.outputs.push_back(Output::Event(Event::CommandDone { version }));
                self.flood(&[record], 0, None);
            }
            Err(error) => {
                self.stats.commands_refused += 1;
                self.outputs.push_back(Output::Event(Event::CommandRefused(error)));
            }
        }
    }

    /// Builds and signs the record a command asks for.
    fn issue(&self, command: Command) -> Result<SignedRecord, CommandError> {
        let (kind, service, payload, issued_at_ms, requested) = match command {
            Command::Announce { service, payload, issued_at_ms, seq } => {
                (RecordKind::Announcement, service, payload, issued_at_ms, seq)
            }
            Command::Withdraw { service, issued_at_ms } => {
                (RecordKind::Tombstone, service, Vec::new(), issued_at_ms, None)
            }
        };
        if service.is_empty() || service.len() > KEY_LEN_MAX {
            return Err(CommandError::BadServiceName);
        }
        if payload.len() > PAYLOAD_LEN_MAX {
            return Err(CommandError::PayloadTooLarge(payload.len()));
        }
        let current = self.records.version_of(self.id(), kind.family(), &service);
        let version = self.next_version(current, requested)?;
        let record =
            Record { origin: self.id(), kind, key: service, version, issued_at_ms, payload };
        Ok(record.sign(&self.keypair).expect("bounds were checked above"))
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

    /// Sends `records` to every peer but `except`, in frames that fit the size limit. Peers are
    /// served in a random order so that no peer is always last.
    fn flood(&mut self, records: &[Arc<SignedRecord>], hops: u16, except: Option<NodeId>) {
        let mut targets: Vec<NodeId> =
            self.peers.iter().copied().filter(|peer| Some(*peer) != except).collect();
        if targets.is_empty() {
            return;
        }
        self.rng.shuffle(&mut targets);
        for batch in wire::pack_records(records) {
            let message = Message::Records {
                hops,
                records: batch.iter().map(|record| (**record).clone()).collect(),
            };
            let frame: Arc<[u8]> = match wire::encode(&message) {
                Ok(frame) => frame.into(),
                Err(_) => {
                    self.stats.records_dropped += batch.len() as u64;
                    continue;
                }
            };
            for peer in &targets {
                self.stats.records_out += batch.len() as u64;
                self.transmit(*peer, frame.clone());
            }
        }
    }

    fn send(&mut self, to: NodeId, message: &Message) {
        match wire::encode(message) {
            Ok(frame) => self.transmit(to, frame.into()),
            Err(_) => self.stats.frames_dropped += 1,
        }
    }

    fn transmit(&mut self, to: NodeId, frame: Arc<[u8]>) {
        debug_assert!(frame.len() <= FRAME_SIZE_MAX);
        self.stats.frames_out += 1;
        self.stats.bytes_out += frame.len() as u64;
        self.outputs.push_back(Output::Transmit { to, frame });
    }
}
