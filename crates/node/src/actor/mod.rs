//! The node actor: one tokio task that owns a herald-core `Node`, its store and its transport,
//! and is the only thing that touches them.
//!
//! The loop waits for the first of: a call from a [`crate::handle::NodeHandle`] (an API request),
//! a transport event (a frame, a request, a lost peer), or the core's next deadline. It then
//! takes whatever else is ready, up to a bound, and drains the core's output queue in order.
//! `commit` says when persist operations are committed: what the node owes is durable before
//! anything that follows it is sent and before a command is answered, so nothing is sent or
//! acknowledged that a `kill -9` could take back; one commit covers the whole turn.
//!
//! The actor's state is private to this module. Its parts: `views` builds what the API shows
//! from it, `admit` answers peers' hellos and join requests and signs invitations, `commit`
//! groups commits, `grid_control` keeps the manager key and the followed managers, and
//! `routing` feeds link round trips to the core and keeps routed pings;
//! the handle and the start-up code call the methods these define.

mod admit;
mod commit;
mod export;
mod grid_control;
mod groups;
mod readiness;
mod routing;
mod services;
mod views;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use herald_core::admission::CertChain;
use herald_core::{
    CommandError, Event, Input, Instant, MemberState, MessageKind, Node, NodeId, Output, Profile,
    RecordKind, SignedRecord, Version,
};
use tokio::sync::{broadcast, mpsc};

use crate::address_book::AddressBook;
use crate::api::model::ApiEvent;
use crate::clock::Clock;
use crate::datadir::{Contact, DataDir, StoredProfile, unix_ms};
use crate::floodd::generator::TopologyJob;
use crate::metrics::NodeMetrics;
use crate::policy::GridPolicy;
use crate::tls::PeerIdentity;
use crate::transport::{Transport, TransportEvent};
pub use commit::RELAYED_COMMIT_DELAY;
use commit::{Commits, INPUTS_PER_TURN_MAX};
use export::ExportQueue;
pub(crate) use grid_control::GridControl;
use groups::MessageIndex;
use readiness::Readiness;
use routing::{LINK_RTT_INTERVAL, ROUTE_EVENTS_INTERVAL, RoutingWatch};
use services::ServiceIndex;

/// A unit of work the actor runs on its own state: how handles talk to it.
pub(crate) type Call = Box<dyn FnOnce(&mut Actor) + Send>;

/// How often the contacts kept for the next start are refreshed.
const CONTACTS_INTERVAL: Duration = Duration::from_secs(30);
/// At most this many contacts are stored.
pub(crate) const CONTACTS_MAX: usize = 16;

/// Everything the actor owns.
pub(crate) struct Actor {
    node: Node,
    data: DataDir,
    transport: Transport,
    addresses: AddressBook,
    clock: Clock,
    policy: GridPolicy,
    chain: CertChain,
    profile: StoredProfile,
    /// Addresses this node announces in its profile.
    advertised: Vec<SocketAddr>,
    events: broadcast::Sender<ApiEvent>,
    started: std::time::Instant,
    /// Whether the node has caught up with its peers, and why not.
    readiness: Readiness,
    /// The live announcements, as the API shows them.
    services: ServiceIndex,
    /// The overlay's neighbours as the transport was last told them.
    kept_open: BTreeSet<NodeId>,
    commits: Commits,
    /// Routed pings the API waits on, and the routes told to the event stream.
    routing_watch: RoutingWatch,
    /// Delivered group messages, numbered for the API.
    messages: MessageIndex,
    /// Delivered messages waiting for the export command.
    export: ExportQueue,
    /// Runs of groups' topology generators, for the generator worker.
    topology_jobs: mpsc::Sender<TopologyJob>,
    /// The grid-manager key, and the managers followed.
    grid_control: GridControl,
    /// The page of `/metrics`, and the histograms and counts only the actor sees.
    metrics: NodeMetrics,
    stopping: bool,
}

/// What the actor is built from.
pub(crate) struct ActorParts {
    pub node: Node,
    pub data: DataDir,
    pub transport: Transport,
    pub clock: Clock,
    pub policy: GridPolicy,
    pub chain: CertChain,
    pub profile: StoredProfile,
    pub advertised: Vec<SocketAddr>,
    pub contacts: Vec<Contact>,
    pub events: broadcast::Sender<ApiEvent>,
    pub topology_jobs: mpsc::Sender<TopologyJob>,
    pub grid_control: GridControl,
}

impl Actor {
    pub(crate) fn new(parts: ActorParts) -> Actor {
        let mut addresses = AddressBook::default();
        for contact in &parts.contacts {
            for address in contact.addresses.iter().rev() {
                addresses.learn(contact.id, *address);
            }
        }
        for record in parts.node.records().iter() {
            let profile = (record.record.kind == RecordKind::Profile)
                .then(|| Profile::decode(&record.record.payload))
                .flatten();
            if let Some(profile) = profile {
                addresses.set_announced(record.record.origin, profile.addresses);
            }
        }
        let readiness = Readiness::new(parts.contacts.len());
        let services = ServiceIndex::of(parts.node.records().iter().map(|record| &**record));
        Actor {
            node: parts.node,
            data: parts.data,
            transport: parts.transport,
            addresses,
            clock: parts.clock,
            policy: parts.policy,
            chain: parts.chain,
            profile: parts.profile,
            advertised: parts.advertised,
            events: parts.events,
            started: std::time::Instant::now(),
            readiness,
            services,
            kept_open: BTreeSet::new(),
            commits: Commits::default(),
            routing_watch: RoutingWatch::default(),
            messages: MessageIndex::default(),
            export: ExportQueue::default(),
            topology_jobs: parts.topology_jobs,
            grid_control: parts.grid_control,
            metrics: NodeMetrics::new(),
            stopping: false,
        }
        .with_restored_messages()
    }

    fn with_restored_messages(mut self) -> Actor {
        self.index_restored_messages();
        self
    }

    /// This node's id.
    pub(crate) fn id(&self) -> NodeId {
        self.node.id()
    }

    /// Whether this node holds a live announcement of its own of `service`.
    pub(crate) fn announces(&self, service: &str) -> bool {
        self.services.announces(self.id(), service)
    }

    /// Learns that the peer that proved `identity` is reached at `address`, if it is a member
    /// of this grid; returns whether it is.
    pub(crate) fn learn_member_address(
        &mut self,
        identity: &PeerIdentity,
        address: SocketAddr,
    ) -> bool {
        let member = self.policy.is_member(identity);
        if member {
            self.addresses.learn(identity.id, address);
        }
        member
    }

    /// Runs until a shutdown call, or until every handle is gone.
    pub(crate) async fn run(
        mut self,
        mut calls: mpsc::Receiver<Call>,
        mut transport_events: mpsc::Receiver<TransportEvent>,
    ) -> Result<()> {
        let mut contacts_tick = tokio::time::interval(CONTACTS_INTERVAL);
        contacts_tick.tick().await;
        let mut rtt_tick = tokio::time::interval(LINK_RTT_INTERVAL);
        let mut route_tick = tokio::time::interval(ROUTE_EVENTS_INTERVAL);
        self.drain()?;
        while !self.stopping {
            let sleep =
                tokio::time::sleep_until(self.clock.tokio_instant(self.node.poll_timeout()));
            let lazy_deadline = self.commits.lazy_deadline();
            let lazy_commit = async move {
                match lazy_deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let mut timer_due = false;
            tokio::select! {
                call = calls.recv() => match call {
                    Some(call) => call(&mut self),
                    None => self.leave(),
                },
                Some(event) = transport_events.recv() => self.on_transport_event(event),
                () = sleep => timer_due = true,
                () = lazy_commit => {}
                _ = contacts_tick.tick() => self.save_contacts()?,
                _ = rtt_tick.tick() => self.feed_link_rtts(),
                _ = route_tick.tick() => self.tell_route_changes(),
            }
            // Whatever else is ready joins this turn, and its commit. Each input's outputs go
            // out as soon as it is handled, but those that wait for the commit.
            self.drain_outputs();
            for _ in 1..INPUTS_PER_TURN_MAX {
                if self.stopping {
                    break;
                }
                if let Ok(event) = transport_events.try_recv() {
                    self.on_transport_event(event);
                } else if let Ok(call) = calls.try_recv() {
                    call(&mut self);
                } else {
                    break;
                }
                self.drain_outputs();
            }
            // The core's timers go last in the turn, after every input that was ready: a graft
            // is not sent for a record whose copy already waits here, nor a probe timed out
            // whose answer does.
            if timer_due || self.node.poll_timeout() <= self.clock.now() {
                self.node.handle(self.clock.now(), Input::Timeout);
                self.drain_outputs();
            }
            self.end_turn()?;
        }
        self.flush()?;
        Ok(())
    }

    /// Announces departure and stops the loop after the current turn.
    pub(crate) fn leave(&mut self) {
        self.node.leave(self.clock.now(), unix_ms());
        self.stopping = true;
    }

    /// Runs a local command on the core and returns its outcome once whatever it changed is
    /// durable. (The API's announcements use [`Actor::publish`], which waits for the turn's
    /// commit instead.)
    pub(crate) fn command(
        &mut self,
        command: impl FnOnce(&mut Node, Instant) -> Result<Version, CommandError>,
    ) -> Result<Result<Version, CommandError>> {
        let outcome = command(&mut self.node, self.clock.now());
        self.drain()?;
        Ok(outcome)
    }

    /// Runs a local command on the core. Its records are committed at the end of the turn;
    /// answer it through [`Actor::after_commit`].
    pub(crate) fn publish(
        &mut self,
        command: impl FnOnce(&mut Node, Instant) -> Result<Version, CommandError>,
    ) -> Result<Version, CommandError> {
        command(&mut self.node, self.clock.now())
    }

    fn on_transport_event(&mut self, event: TransportEvent) {
        match event {
            // The transport delivers a guest's frames only where guests may gossip (open grids).
            TransportEvent::Frame { from, remote, bytes, .. } => {
                self.addresses.learn(from, remote);
                self.node.handle(self.clock.now(), Input::Frame { from, bytes });
            }
            TransportEvent::PeerDown(peer) => {
                self.node.handle(self.clock.now(), Input::PeerDown(peer));
            }
            TransportEvent::Request { from, remote, admitted, bytes, reply } => {
                let answer = self.answer_request(from, remote, admitted, &bytes);
                // A joiner that went away before the answer is not an error.
                let _ = reply.send(answer);
            }
        }
    }

    /// Drains the core's outputs in order, and ends the turn: what the node owes is durable,
    /// and what waited for it sent, before this returns (see `commit`).
    fn drain(&mut self) -> Result<()> {
        self.drain_outputs();
        self.end_turn()
    }

    /// Drains the core's outputs in order: transmits go out at once unless they follow an
    /// operation the node owes, which waits for the turn's commit.
    fn drain_outputs(&mut self) {
        while let Some(output) = self.node.poll_output() {
            match output {
                Output::Persist(op) => self.persist(op),
                Output::Transmit { to, frame } => self.transmit(to, frame),
                Output::Event(Event::RecordStored { record, .. }) => self.on_record_stored(&record),
                Output::Event(Event::MemberChanged { id, state, .. }) => {
                    self.metrics.note_member_state(id, state);
                    // A suspect or a dead member's connection may lead to a process that is
                    // gone; the next frame dials afresh (see the transport).
                    if state != MemberState::Alive {
                        self.transport.disconnect(&id);
                    }
                    if let Some(member) = self.member_view(id) {
                        let _ = self.events.send(ApiEvent::Member(member));
                    }
                }
                Output::Event(Event::ProbeAnswered { rtt, .. }) => {
                    self.metrics.observe_probe_rtt(rtt);
                }
                Output::Event(Event::PingAnswered { id, rtt, path }) => {
                    self.ping_answered(id, rtt, &path);
                }
                Output::Event(Event::GroupDelivered(data)) => self.on_group_delivered(&data),
                Output::Event(Event::TopologyWanted {
                    group,
                    command,
                    connectivity,
                    members,
                    costs,
                }) => {
                    self.want_topology(group, command, connectivity, &members, &costs);
                }
            }
        }
        self.tell_topology_changes();
        let neighbours = self.node.overlay().active().len();
        let stats = self.node.stats();
        let (repaired, heard) =
            (stats.records_repaired, stats.by_kind.get(MessageKind::AntiEntropy).frames_in);
        self.readiness.update(neighbours, self.node.anti_entropy_rounds(), repaired, heard);
        let overlay = self.node.overlay();
        let mut links = overlay.active().iter().chain(overlay.clients());
        let unchanged = overlay.active().len() + overlay.clients().len() == self.kept_open.len()
            && links.all(|peer| self.kept_open.contains(peer));
        if !unchanged {
            let links: BTreeSet<NodeId> =
                overlay.active().iter().chain(overlay.clients()).copied().collect();
            self.transport.keep_open(links.clone());
            self.kept_open = links;
        }
    }

    fn on_record_stored(&mut self, record: &Arc<SignedRecord>) {
        match record.record.kind {
            RecordKind::Profile => {
                if let Some(profile) = Profile::decode(&record.record.payload) {
                    self.addresses.set_announced(record.record.origin, profile.addresses);
                }
            }
            RecordKind::Announcement => {
                self.services.stored(record);
                let _ = self.events.send(ApiEvent::Announcement(services::view(record)));
            }
            RecordKind::Tombstone => {
                self.services.stored(record);
                let _ = self.events.send(ApiEvent::Withdrawal(services::view(record)));
            }
            _ => {}
        }
    }

    /// Publishes this node's profile (name, role, addresses) if it changed.
    pub(crate) fn publish_profile(&mut self) -> Result<()> {
        let profile = Profile {
            name: self.profile.name.clone(),
            role: self.profile.role,
            addresses: self.advertised.clone(),
        };
        self.command(|node, now| node.publish_profile(now, &profile, unix_ms()))?
            .context("publishing this node's profile")?;
        let chain = self.chain.clone();
        self.command(|node, now| node.publish_membership_cert(now, &chain, unix_ms()))?
            .context("publishing this node's membership certificate")?;
        Ok(())
    }

    /// Adds an address this node was seen at, and re-announces if it is new.
    pub(crate) fn add_advertised(&mut self, address: SocketAddr) -> Result<()> {
        if address.ip().is_unspecified() || self.advertised.contains(&address) {
            return Ok(());
        }
        if self.advertised.len() >= herald_core::PROFILE_ADDRESSES_MAX {
            return Ok(());
        }
        self.advertised.push(address);
        self.publish_profile()
    }

    /// Asks the overlay to join through `contacts`.
    pub(crate) fn join(&mut self, contacts: Vec<NodeId>) {
        if contacts.is_empty() {
            return;
        }
        self.node.join(self.clock.now(), &contacts);
    }

    /// Forgets the addresses of purged members, and stores the live servers this node knows,
    /// for the next start.
    fn save_contacts(&mut self) -> Result<()> {
        if let Some(membership) = self.node.membership() {
            let me = self.node.id();
            let members = membership.members();
            self.addresses.retain(|id| *id == me || members.contains_key(id));
        }
        let contacts = self
            .live_servers(CONTACTS_MAX)
            .into_iter()
            .filter(|contact| contact.id != self.id())
            .collect::<Vec<_>>();
        if !contacts.is_empty() && contacts != self.data.contacts()? {
            self.data.set_contacts(&contacts)?;
        }
        Ok(())
    }
}
