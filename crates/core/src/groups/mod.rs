//! floodd groups: named sets of member nodes, the overlay topology each group floods over, and
//! the data messages flooded to its members (seed 004).
//!
//! A data message ([`GroupData`]) is published by one member and flooded over the group's
//! topology: each member that gets it whole sends it on to its topology neighbours but the one
//! it came from and those known to hold it. A body of one chunk or less is pushed; a longer one
//! is offered and pulled by the neighbour in chunks, so that each topology edge carries it at
//! most once. Each origin numbers its messages in the group (epoch, seq); members deliver them
//! exactly once and in that order (the `log` module), and repair gaps by exchanging digests of
//! what they delivered with a topology neighbour every `repair_interval`, which floodd left to
//! the applications. Messages are kept for `log_purge_period` within `data_storage_max` bytes;
//! when storage is full they are dropped in floodd's order (the `retention` module). A
//! publisher whose neighbours have not taken its messages yet gets backpressure.
//!
//! Which nodes are members and which are neighbours is decided by the node from the group's
//! definition and topology, and set here with [`Groups::set_neighbors`].

mod config;
mod data;
mod decree;
mod estimates;
mod flood;
mod log;
mod measure;
mod members;
mod message;
mod probe;
mod pull;
mod repair;
mod retention;
mod spec;
pub mod topology;

use std::collections::BTreeMap;

pub use config::{GroupsConfig, MESSAGE_LEN_MAX_DEFAULT};
pub use data::{BodySeal, GroupData, header_seal, message_id_text};
pub use decree::{DECREE_EDGES_PER_MEMBER_MAX, TopologyDecree};
pub use estimates::{BANDWIDTH_ESTIMATES_MAX, ESTIMATES_MAX, Estimates};
pub use measure::PINGS_PENDING_MAX;
pub use members::{ComputedBy, GroupTopology};
pub use message::{GroupsMessage, GroupsOutput};
pub use probe::{BANDWIDTH_MAX_KBPS, PROBE_LEN, TRANSFER_FLOOR, chunk_transfer_ms};
pub use pull::{CHUNK_LEN, chunk_count};
pub use spec::{
    GROUP_SITES_MAX, GroupAccess, GroupParams, GroupSpec, SITE_NAME_LEN_MAX, SpecError,
    winning_definition,
};
pub use topology::{CostMatrix, Edge};

use crate::id::NodeId;
use crate::record::{SignedRecord, Version};
use crate::rng::Rng;
use crate::time::Instant;

use flood::offer_or_push;
use log::{Held, OriginLog, Waits};
use pull::Pull;

/// Why a message could not be published.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// This node is not a member of the group.
    #[error("this node is not a member of group {0:?}")]
    NotMember(String),
    /// The body is larger than the configured maximum.
    #[error("the message has {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// The body's length.
        len: u64,
        /// The maximum.
        max: u64,
    },
    /// The neighbours have not yet taken enough of this node's earlier messages.
    #[error("{pending} bytes of earlier messages wait for the group's neighbours; try again")]
    Busy {
        /// Bytes of this node's messages no neighbour is known to hold.
        pending: u64,
    },
    /// The storage limit leaves no room for the message, even after dropping what may go.
    #[error("data-storage-max leaves no room for a message of {0} bytes")]
    NoRoom(u64),
}

/// Counters of group traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GroupsCounters {
    /// Messages published by this node.
    pub published: u64,
    /// Messages received whole from others, new.
    pub received: u64,
    /// Messages (or their chunks) received again, and offers of messages held.
    pub duplicates: u64,
    /// Messages delivered to the application.
    pub delivered: u64,
    /// Messages received whole through repair: offered after a digest.
    pub repaired: u64,
    /// Gaps in an origin's sequence given up on after waiting.
    pub gaps_skipped: u64,
    /// Messages forgotten after `log_purge_period`.
    pub expired: u64,
    /// Messages dropped for space that every live neighbour already held.
    pub dropped_held_by_neighbors: u64,
    /// Messages dropped for space, oldest first, though a neighbour might still want them.
    pub dropped_oldest: u64,
    /// Messages dropped for space before they were delivered.
    pub dropped_undelivered: u64,
    /// Publishes refused: busy, or no room.
    pub publishes_refused: u64,
    /// Chunks, offers and digests refused as malformed, forged or out of place.
    pub refused: u64,
    /// Pulls abandoned: every neighbour that offered the message stalled.
    pub pulls_abandoned: u64,
}

/// One group, as this node takes part in it.
#[derive(Debug, Default)]
struct Group {
    topology: Option<GroupTopology>,
    neighbors: Vec<NodeId>,
    logs: BTreeMap<NodeId, OriginLog>,
    pulls: BTreeMap<(NodeId, Version), Pull>,
    /// What each neighbour said it delivered from each origin, in its last digest.
    peer_heads: BTreeMap<NodeId, BTreeMap<NodeId, Version>>,
    /// When a message's body was last sent to a peer that asked: (peer, origin, version).
    served: BTreeMap<(NodeId, NodeId, Version), Instant>,
}

impl Group {
    /// Whether neighbour `peer` said it delivered this message.
    fn peer_holds(&self, peer: NodeId, origin: NodeId, version: Version) -> bool {
        self.peer_heads
            .get(&peer)
            .and_then(|heads| heads.get(&origin))
            .is_some_and(|head| version <= *head)
    }
}

/// The groups component of one node.
#[derive(Debug)]
pub struct Groups {
    me: NodeId,
    config: GroupsConfig,
    groups: BTreeMap<String, Group>,
    /// Bytes of the bodies held.
    stored_bytes: u64,
    /// Bytes set aside for bodies being pulled.
    pulling_bytes: u64,
    next_repair: Instant,
    /// With an export command: up to where each (group, origin) was exported. A delivered
    /// message above it is kept past `log_purge_period` until it is exported.
    exported: Option<BTreeMap<(String, NodeId), Version>>,
    /// Repair rounds run.
    rounds: u64,
    /// Round trips measured to other members, and the estimates shared.
    measurements: measure::Measurements,
    counters: GroupsCounters,
}

impl Groups {
    /// The groups component of node `me`, in no group yet.
    pub fn new(me: NodeId, config: GroupsConfig, now: Instant) -> Groups {
        let next_repair = now + config.repair_interval;
        Groups {
            me,
            config,
            groups: BTreeMap::new(),
            stored_bytes: 0,
            pulling_bytes: 0,
            next_repair,
            exported: None,
            rounds: 0,
            measurements: measure::Measurements::default(),
            counters: GroupsCounters::default(),
        }
    }

    /// The counters.
    pub fn counters(&self) -> GroupsCounters {
        self.counters
    }

    /// The tunables.
    pub fn config(&self) -> &GroupsConfig {
        &self.config
    }

    /// Bytes of message bodies held.
    pub fn stored_bytes(&self) -> u64 {
        self.stored_bytes
    }

    /// The groups this node takes part in.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// Whether this node takes part in `group`.
    pub fn is_member(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }

    /// This node's topology neighbours in `group`.
    pub fn neighbors(&self, group: &str) -> &[NodeId] {
        self.groups.get(group).map_or(&[], |group| &group.neighbors)
    }

    /// The messages held in `group`, by origin, oldest first, with when they arrived.
    pub fn messages(&self, group: &str) -> impl Iterator<Item = (&GroupData, Instant)> {
        self.groups
            .get(group)
            .into_iter()
            .flat_map(|group| group.logs.values())
            .flat_map(OriginLog::held)
            .map(|held| (&held.data, held.received_at))
    }

    /// Keeps delivered messages of other origins until they are exported ([`Groups::exported`]),
    /// however old: the driver runs an export command.
    pub fn hold_for_export(&mut self) {
        self.exported.get_or_insert_with(BTreeMap::new);
    }

    /// Everything from `origin` in `group` up to `version` was exported.
    pub fn exported(&mut self, group: &str, origin: NodeId, version: Version) {
        if let Some(exported) = &mut self.exported {
            let held = exported.entry((group.to_owned(), origin)).or_insert(version);
            *held = (*held).max(version);
        }
    }

    /// Whether the message of `origin` at `version` in `group` waits for its export.
    fn awaits_export(&self, group: &str, origin: NodeId, version: Version) -> bool {
        origin != self.me
            && self.exported.as_ref().is_some_and(|exported| {
                exported.get(&(group.to_owned(), origin)).is_none_or(|done| version > *done)
            })
    }

    /// The version up to which everything from `origin` in `group` was delivered.
    pub fn cursor(&self, group: &str, origin: NodeId) -> Option<Version> {
        self.groups.get(group)?.logs.get(&origin)?.cursor()
    }

    /// The message of `origin` at `version` in `group`, if held.
    pub fn get(&self, group: &str, origin: NodeId, version: Version) -> Option<&GroupData> {
        let log = self.groups.get(group)?.logs.get(&origin)?;
        log.get(version).map(|held| &held.data)
    }

    /// A message restored from the store, as it was before a restart.
    pub fn restore(&mut self, data: GroupData, now: Instant) {
        let group = self.groups.entry(data.group().to_owned()).or_default();
        let log = group.logs.entry(data.origin()).or_default();
        self.stored_bytes += data.body.len() as u64;
        log.restore(Held { data, received_at: now });
    }

    /// A durable cursor restored from the store.
    pub fn restore_cursor(&mut self, group: &str, origin: NodeId, version: Version) {
        let state = self.groups.entry(group.to_owned()).or_default();
        let log = state.logs.entry(origin).or_insert_with(|| OriginLog::with_cursor(version));
        if log.cursor().is_none_or(|cursor| cursor < version) {
            let held: Vec<Held> = log.held().cloned().collect();
            *log = OriginLog::with_cursor(version);
            held.into_iter().for_each(|held| log.restore(held));
        }
    }

    /// The version of this node's next message in `group`: the next seq in its current
    /// epoch, or seq 1 of `epoch` if that is later (the store was lost).
    pub fn next_version(&self, group: &str, epoch: u64) -> Version {
        let cursor = self
            .groups
            .get(group)
            .and_then(|state| state.logs.get(&self.me))
            .and_then(OriginLog::cursor);
        match cursor {
            Some(cursor) if cursor.epoch >= epoch => Version::new(cursor.epoch, cursor.seq + 1),
            _ => Version::new(epoch, 1),
        }
    }

    /// Whether a message of `len` bytes may be published to `group` now.
    pub fn check_publish(&self, group: &str, len: u64) -> Result<(), PublishError> {
        let Some(state) = self.groups.get(group) else {
            return Err(PublishError::NotMember(group.to_owned()));
        };
        if len > self.config.message_len_max {
            return Err(PublishError::TooLarge { len, max: self.config.message_len_max });
        }
        let pending = self.pending_own_bytes(state);
        if pending > 0 && pending + len > self.config.publish_queue_max {
            return Err(PublishError::Busy { pending });
        }
        if len > self.config.data_storage_max {
            return Err(PublishError::NoRoom(len));
        }
        Ok(())
    }

    /// Publishes a message this node signed, after [`Groups::check_publish`] allowed it: it is
    /// stored, delivered here and flooded.
    pub fn publish(
        &mut self,
        now: Instant,
        data: GroupData,
        out: &mut Vec<GroupsOutput>,
    ) -> Result<(), PublishError> {
        let len = data.body.len() as u64;
        if let Err(refusal) = self.check_publish(data.group(), len) {
            self.counters.publishes_refused += 1;
            return Err(refusal);
        }
        if !self.accept(now, data, None, out) {
            self.counters.publishes_refused += 1;
            return Err(PublishError::NoRoom(len));
        }
        self.counters.published += 1;
        Ok(())
    }

    /// Handles a message from a peer. `verify` checks a header's signature; it is asked once
    /// per message, not once per chunk.
    pub fn handle(
        &mut self,
        now: Instant,
        from: NodeId,
        message: GroupsMessage,
        verify: &mut dyn FnMut(&SignedRecord) -> bool,
        out: &mut Vec<GroupsOutput>,
    ) {
        match message {
            GroupsMessage::Chunk { header, offset, bytes } => {
                self.on_chunk(now, from, (header, offset, &bytes), verify, out);
            }
            GroupsMessage::Offer { header } => self.on_offer(now, from, header, verify, out),
            GroupsMessage::Want { group, origin, version } => {
                self.on_want(now, from, &group, origin, version, out);
            }
            GroupsMessage::Digest { group, heads, reply } => {
                self.on_digest(now, from, &group, heads, reply, out);
            }
            GroupsMessage::Ping { nonce } => self.on_ping(from, nonce, out),
            GroupsMessage::Pong { nonce } => self.on_pong(now, from, nonce),
            GroupsMessage::Probe { nonce, .. } => self.on_ping(from, nonce, out),
        }
    }

    /// When the next repair round is due, if this node takes part in a group.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.groups.is_empty()).then_some(self.next_repair)
    }

    /// Runs what is due: a repair round, deliveries that waited long enough, stalled pulls,
    /// and expiry.
    pub fn on_timeout(&mut self, now: Instant, rng: &mut Rng, out: &mut Vec<GroupsOutput>) {
        if now < self.next_repair {
            return;
        }
        self.next_repair = now + self.config.repair_interval;
        self.send_digests(rng, out);
        self.measure(now, rng, out);
        self.retry_stalled_pulls(now, out);
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for name in names {
            let origins: Vec<NodeId> = self.groups[&name].logs.keys().copied().collect();
            for origin in origins {
                self.advance(now, &name, origin, out);
            }
        }
        self.expire(now, out);
    }

    /// Delivers what `origin`'s log in `group` has next.
    fn advance(&mut self, now: Instant, name: &str, origin: NodeId, out: &mut Vec<GroupsOutput>) {
        let waits = Waits { start: self.config.start_wait, gap: self.config.log_purge_period };
        let Some(group) = self.groups.get_mut(name) else {
            return;
        };
        let pulling = group.pulls.keys().any(|(pulled, _)| *pulled == origin);
        let Some(log) = group.logs.get_mut(&origin) else {
            return;
        };
        let (delivered, skipped) = log.advance(now, waits, pulling);
        self.counters.gaps_skipped += skipped;
        let Some(cursor) = log.cursor().filter(|_| !delivered.is_empty()) else {
            return;
        };
        self.counters.delivered += delivered.len() as u64;
        out.extend(delivered.into_iter().map(GroupsOutput::Deliver));
        out.push(GroupsOutput::Cursor { group: name.to_owned(), origin, version: cursor });
    }

    /// Bytes of this node's messages in `group` that no neighbour is known to hold.
    fn pending_own_bytes(&self, group: &Group) -> u64 {
        if group.neighbors.is_empty() {
            return 0;
        }
        let taken =
            group.peer_heads.values().filter_map(|heads| heads.get(&self.me)).max().copied();
        group
            .logs
            .get(&self.me)
            .map_or(0, |log| log.held_above(taken).map(|held| held.data.body.len() as u64).sum())
    }
}
