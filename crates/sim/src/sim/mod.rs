//! The discrete-event loop: a heap of events ordered by (time, insertion sequence), a network
//! model, and one herald-core [`Node`] per simulated node.
//!
//! Everything that happens is an event on the heap, so a run is a pure function of its seed:
//! the same seed processes the same events in the same order and yields the same trace hash.
//! Crashed nodes lose their in-memory state and keep their [`MemStore`]; a restart rebuilds the
//! node from it, exactly as the real node restarts from redb. What a run records of itself
//! and the questions a report asks of it are in `observe`.

mod event;
mod observe;
mod rtt;
mod turn;

use event::SimEvent;
pub use event::{NetworkChange, SimCommand};

#[allow(clippy::disallowed_types)]
use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use herald_core::{Config, Digest, Input, Instant, Keypair, Node, NodeId, Rng, Stats, Version};
use herald_store::{MemStore, Store};

use crate::checkers::Checker;
use crate::memo::MemoVerifier;
use crate::network::{NetworkModel, NodeIndex};
use crate::queue::EventQueue;
use crate::service::ServiceModel;

/// One simulated node: its identity, its store, and its protocol state while it is up.
struct SimNode {
    keypair: Keypair,
    store: MemStore,
    node: Option<Node>,
    wake_at: Option<Instant>,
    /// Counters of earlier incarnations, so crashes do not lose them.
    past_stats: Stats,
    restarts: u64,
    /// Until when the node is busy with inputs it took (see [`ServiceModel`]).
    busy_until: Instant,
    /// Inputs that came while the node was busy, in order: it takes them in its next turn.
    backlog: VecDeque<SimEvent>,
    /// Whether persist operations the node does not owe wait for a commit, and when it last
    /// committed.
    lazy_waiting: bool,
    last_commit: Instant,
}

/// Bytes of each delivered frame that go into the trace hash.
const TRACE_FRAME_PREFIX: usize = 48;

/// A delivery of a record to a node other than its origin.
#[derive(Clone, Copy, Debug)]
pub struct Delivery {
    /// Which node.
    pub node: NodeIndex,
    /// The record's digest.
    pub digest: Digest,
    /// When it arrived.
    pub at: Instant,
    /// Hops travelled.
    pub hops: u16,
}

/// A safety violation found by a checker.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("checker {checker} failed at {at_ms} ms: {message}")]
pub struct Violation {
    /// The checker's name.
    pub checker: &'static str,
    /// Virtual time of the step, in milliseconds.
    pub at_ms: u64,
    /// What went wrong.
    pub message: String,
}

/// A deterministic simulation of many herald nodes.
pub struct Sim {
    now: Instant,
    queue: EventQueue<SimEvent>,
    rng: Rng,
    network: NetworkModel,
    nodes: Vec<SimNode>,
    /// Lookup only, never iterated, so its order cannot leak into a run: a hash map is safe
    /// here and spares a 32-byte comparison per tree level on every transmit.
    #[allow(clippy::disallowed_types)]
    index_of: HashMap<NodeId, NodeIndex>,
    config: Config,
    service: ServiceModel,
    memo: MemoVerifier,
    checkers: Vec<Box<dyn Checker>>,
    published: BTreeMap<Digest, Instant>,
    published_set: BTreeSet<Digest>,
    deliveries: Vec<Delivery>,
    trace: blake3::Hasher,
    steps: u64,
    false_suspicions: u64,
    /// When each node was first seen dead by each observer: subject → (observer → time).
    death_notices: BTreeMap<NodeIndex, BTreeMap<NodeIndex, Instant>>,
    /// When each node last crashed.
    crashed_at: BTreeMap<NodeIndex, Instant>,
    /// When the outputs being drained happened: after the work of the input that made them.
    observed_at: Instant,
    /// When the command being drained was asked for: its records count as published then.
    issued_at: Option<Instant>,
    /// With routing on: when each node (first) was last told the round trip to each neighbour
    /// (second).
    rtt_told: BTreeMap<(NodeIndex, NodeIndex), Instant>,
    /// What the run's group messages did (see `observe`).
    group_log: GroupLog,
}

/// The group messages of a run: when each was published, every delivery to a member other
/// than its origin, and deliveries that came twice.
#[derive(Debug, Default)]
pub struct GroupLog {
    /// Message id to when it was published, and by which node.
    pub published: BTreeMap<Digest, (Instant, NodeIndex)>,
    /// Every delivery to a member other than the message's origin.
    pub deliveries: Vec<Delivery>,
    /// (member, message id) delivered, with the member's restart count then.
    pub(super) seen: BTreeMap<(NodeIndex, Digest), u64>,
    /// Deliveries of a message a member had delivered before, in the same incarnation or one
    /// that followed a clean restart: exactly-once was broken.
    pub duplicates: u64,
    /// Deliveries of a message again after a crash that came before its delivery was
    /// committed: allowed (the real node commits the delivery with its export).
    pub redelivered_after_crash: u64,
    /// The newest version each member delivered of each origin's messages, first deliveries
    /// only: (member, origin) → version.
    pub(super) last_delivered: BTreeMap<(NodeIndex, NodeId), Version>,
    /// First deliveries of a message older than one the member had delivered from the same
    /// origin: per-origin order was broken.
    pub order_violations: u64,
    /// Messages published while the network was split, with the nodes their origin could not
    /// reach then.
    pub published_while_split: BTreeMap<Digest, BTreeSet<NodeIndex>>,
    /// (member, message id) first delivered while the network was split.
    pub delivered_while_split: BTreeSet<(NodeIndex, Digest)>,
}

impl Sim {
    /// `count` nodes with identities derived from `seed`, none started yet.
    pub fn new(count: u32, seed: u64, network: NetworkModel, config: Config) -> Sim {
        let mut rng = Rng::from_seed(seed);
        let mut nodes = Vec::with_capacity(count as usize);
        #[allow(clippy::disallowed_types)]
        let mut index_of = HashMap::with_capacity(count as usize);
        for index in 0..count {
            let keypair = Keypair::from_secret(rng.bytes32());
            index_of.insert(keypair.id(), index);
            nodes.push(SimNode {
                keypair,
                store: MemStore::new(),
                node: None,
                wake_at: None,
                past_stats: Stats::default(),
                restarts: 0,
                busy_until: Instant::ZERO,
                backlog: VecDeque::new(),
                lazy_waiting: false,
                last_commit: Instant::ZERO,
            });
        }
        Sim {
            now: Instant::ZERO,
            queue: EventQueue::new(),
            rng,
            network,
            nodes,
            index_of,
            config,
            service: ServiceModel::INSTANT,
            memo: MemoVerifier::default(),
            checkers: Vec::new(),
            published: BTreeMap::new(),
            published_set: BTreeSet::new(),
            deliveries: Vec::new(),
            trace: blake3::Hasher::new(),
            steps: 0,
            false_suspicions: 0,
            death_notices: BTreeMap::new(),
            crashed_at: BTreeMap::new(),
            observed_at: Instant::ZERO,
            issued_at: None,
            rtt_told: BTreeMap::new(),
            group_log: GroupLog::default(),
        }
    }

    /// Adds a checker that runs after every step.
    pub fn add_checker(&mut self, checker: Box<dyn Checker>) {
        self.checkers.push(checker);
    }

    /// The network model, to partition or heal it between steps.
    pub fn network_mut(&mut self) -> &mut NetworkModel {
        &mut self.network
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Number of simulated nodes, up or down.
    pub fn len(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A node's id.
    pub fn id(&self, node: NodeIndex) -> NodeId {
        self.nodes[node as usize].keypair.id()
    }

    /// The index of a node id.
    pub fn index(&self, id: &NodeId) -> Option<NodeIndex> {
        self.index_of.get(id).copied()
    }

    /// Whether a node is running.
    pub fn is_up(&self, node: NodeIndex) -> bool {
        self.nodes[node as usize].node.is_some()
    }

    /// A running node's protocol state.
    pub fn node(&self, node: NodeIndex) -> Option<&Node> {
        self.nodes[node as usize].node.as_ref()
    }

    /// A running node's protocol state, for the calls that read it through a cache (its
    /// routing table is computed when first asked for).
    pub fn node_mut(&mut self, node: NodeIndex) -> Option<&mut Node> {
        self.nodes[node as usize].node.as_mut()
    }

    /// Starts every node at the current time.
    pub fn start_all(&mut self) -> Result<(), Violation> {
        for node in 0..self.len() {
            self.start(node)?;
        }
        Ok(())
    }

    /// Schedules a local command.
    pub fn schedule_command(&mut self, at: Instant, node: NodeIndex, command: SimCommand) {
        self.schedule(at, SimEvent::Command { node, issued: at, command: Box::new(command) });
    }

    /// Schedules a join of `node` through `contact`.
    pub fn schedule_join(&mut self, at: Instant, node: NodeIndex, contact: NodeIndex) {
        let contacts = vec![self.id(contact)];
        let command = Box::new(SimCommand::Join { contacts });
        self.schedule(at, SimEvent::Command { node, issued: at, command });
    }

    /// Schedules a crash.
    pub fn schedule_crash(&mut self, at: Instant, node: NodeIndex) {
        self.schedule(at, SimEvent::Crash { node });
    }

    /// Schedules a change to the network.
    pub fn schedule_network(&mut self, at: Instant, change: NetworkChange) {
        self.schedule(at, SimEvent::Network(Box::new(change)));
    }

    /// Schedules a restart from the store.
    pub fn schedule_restart(&mut self, at: Instant, node: NodeIndex) {
        self.schedule(at, SimEvent::Restart { node, wiped: None });
    }

    /// Schedules a restart from an empty store, as after a lost disk: the node keeps its key,
    /// and starts its sequence space at `epoch` (the real node: the time its new store was
    /// made). It knows nobody, so it needs a join.
    pub fn schedule_restart_wiped(&mut self, at: Instant, node: NodeIndex, epoch: u64) {
        self.schedule(at, SimEvent::Restart { node, wiped: Some(epoch) });
    }

    /// Runs every event up to and including `until`. Stops at the first checker violation.
    pub fn run_until(&mut self, until: Instant) -> Result<(), Violation> {
        while self.queue.next_at().is_some_and(|at| at <= until) {
            let (at, seq, event) = self.queue.pop().expect("an event is due");
            self.now = at;
            self.step(seq, event)?;
        }
        self.now = self.now.max(until);
        Ok(())
    }

    /// Runs until only timers remain or `limit` is reached.
    pub fn run_until_quiet(&mut self, limit: Instant) -> Result<(), Violation> {
        while self.queue.next_at().is_some_and(|at| at <= limit) {
            let only_timers = self.queue.all(|event| matches!(event, SimEvent::Wake { .. }));
            if only_timers {
                break;
            }
            let (at, seq, event) = self.queue.pop().expect("an event is due");
            self.now = at;
            self.step(seq, event)?;
        }
        Ok(())
    }

    /// A hash of everything that happened so far: the same seed must give the same hash.
    pub fn trace_hash(&self) -> String {
        self.trace.finalize().to_hex().to_string()
    }

    /// Makes every node take time over its inputs (instant by default).
    pub fn set_service(&mut self, service: ServiceModel) {
        self.service = service;
    }

    /// Steps run so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Verification memo (hits, misses).
    pub fn memo_counts(&self) -> (u64, u64) {
        self.memo.counts()
    }

    fn schedule(&mut self, at: Instant, event: SimEvent) {
        self.queue.push(at, event);
    }

    fn start(&mut self, index: NodeIndex) -> Result<(), Violation> {
        self.start_with(index, self.config.clone())
    }

    /// Starts a node from its store with `config`.
    fn start_with(&mut self, index: NodeIndex, config: Config) -> Result<(), Violation> {
        let now = self.now;
        let seed = self.rng.next_u64();
        let sim_node = &mut self.nodes[index as usize];
        let snapshot = sim_node.store.load().expect("the in-memory store cannot fail to load");
        let node = Node::restore(sim_node.keypair.clone(), config, seed, now, snapshot)
            .with_verifier(Box::new(self.memo.clone()));
        sim_node.node = Some(node);
        self.drain(index, Duration::ZERO)
    }

    fn step(&mut self, seq: u64, event: SimEvent) -> Result<(), Violation> {
        self.steps += 1;
        self.trace.update(&self.now.as_micros().to_le_bytes());
        self.trace.update(&seq.to_le_bytes());
        self.trace.update(&[event.tag()]);
        if let Some(worker) = event.worker() {
            let sim_node = &mut self.nodes[worker as usize];
            // What comes while the node is busy, or while inputs still wait for it, waits in
            // its backlog, in the order it came.
            if sim_node.busy_until > self.now || !sim_node.backlog.is_empty() {
                let free_at = sim_node.busy_until.max(self.now);
                sim_node.backlog.push_back(event);
                if sim_node.backlog.len() == 1 {
                    self.schedule(free_at, SimEvent::Turn { node: worker });
                }
                return Ok(());
            }
        }
        if let SimEvent::Turn { node } = event {
            return self.take_turn(node);
        }
        match self.take(event)? {
            Some((node, work)) => self.drain(node, work),
            None => Ok(()),
        }
    }

    /// Hands one event to the network or to a node; returns the node it gave an input to,
    /// with the work that cost, so that its outputs can be drained.
    fn take(&mut self, event: SimEvent) -> Result<Option<(NodeIndex, Duration)>, Violation> {
        let touched = match event {
            SimEvent::Deliver { from, to, frame } => {
                self.trace.update(&from.to_le_bytes());
                self.trace.update(&to.to_le_bytes());
                // The frame's length and its first bytes (version, message kind, and the start
                // of its content) are enough to tell two runs apart, at a fraction of the cost
                // of hashing every byte of every delivery.
                self.trace.update(&(frame.len() as u64).to_le_bytes());
                self.trace.update(&frame[..frame.len().min(TRACE_FRAME_PREFIX)]);
                if !self.is_up(to) {
                    return Ok(None);
                }
                let from_id = self.id(from);
                let work = self.tell_rtt(from, to);
                Some((to, work + self.handle_at(to, Input::Frame { from: from_id, bytes: frame })))
            }
            SimEvent::Network(change) => {
                match *change {
                    NetworkChange::Partition { side_a, side_b, one_way: true } => {
                        self.network.partition_one_way(&side_a, &side_b)
                    }
                    NetworkChange::Partition { side_a, side_b, one_way: false } => {
                        self.network.partition(&side_a, &side_b)
                    }
                    NetworkChange::Clog(node) => self.network.clog(node),
                    NetworkChange::Unclog(node) => self.network.unclog(node),
                    NetworkChange::Heal => self.network.heal(),
                }
                None
            }
            SimEvent::PeerDown { node, peer } => {
                if !self.is_up(node) || self.is_up(peer) {
                    return Ok(None);
                }
                let peer_id = self.id(peer);
                Some((node, self.handle_at(node, Input::PeerDown(peer_id))))
            }
            SimEvent::Wake { node, at } => {
                let sim_node = &mut self.nodes[node as usize];
                if sim_node.node.is_none() || sim_node.wake_at != Some(at) {
                    return Ok(None);
                }
                sim_node.wake_at = None;
                Some((node, self.handle_at(node, Input::Timeout)))
            }
            SimEvent::Command { node, issued, command } => {
                if !self.is_up(node) {
                    return Ok(None);
                }
                self.issued_at = Some(issued);
                let now = self.now;
                if let Some(state) = self.nodes[node as usize].node.as_mut() {
                    match *command {
                        SimCommand::Join { contacts } => state.join(now, &contacts),
                        // A refused announcement publishes nothing, which the report shows as
                        // a record nobody received.
                        SimCommand::Announce(announcement) => {
                            let _ = state.announce(now, announcement);
                        }
                        SimCommand::DefineGroup { name, spec } => {
                            let issued_at_ms = now.as_micros() / 1000;
                            let _ = state.define_group(now, &name, &spec, issued_at_ms);
                        }
                        // A refused message is counted by the node and reported as refused.
                        SimCommand::PublishGroup { group, body } => {
                            let issued_at_ms = now.as_micros() / 1000;
                            let _ = state.publish_group_message(now, &group, body, issued_at_ms);
                        }
                        SimCommand::PublishManagerList { manager, list } => {
                            let issued_at_ms = now.as_micros() / 1000;
                            let _ = state.publish_manager_list(now, &manager, &list, issued_at_ms);
                        }
                    }
                }
                Some((node, self.service.work(0)))
            }
            SimEvent::Crash { node } => {
                let sim_node = &mut self.nodes[node as usize];
                self.crashed_at.insert(node, self.now);
                if let Some(state) = sim_node.node.take() {
                    sim_node.past_stats += state.stats();
                }
                sim_node.wake_at = None;
                sim_node.busy_until = self.now;
                sim_node.backlog.clear();
                self.network.reset_links(node);
                None
            }
            // A turn never reaches `take`: `step` hands it to `take_turn`.
            SimEvent::Turn { .. } => None,
            SimEvent::Restart { node, wiped } => {
                if self.is_up(node) {
                    return Ok(None);
                }
                self.nodes[node as usize].restarts += 1;
                for checker in &mut self.checkers {
                    checker.on_restart(node);
                }
                if let Some(epoch) = wiped {
                    self.nodes[node as usize].store = MemStore::new();
                    self.start_with(node, Config { epoch, ..self.config.clone() })?;
                } else {
                    self.start(node)?;
                }
                None
            }
        };
        Ok(touched)
    }
}
