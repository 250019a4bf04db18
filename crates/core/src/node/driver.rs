//! The node's driver interface: how it is configured, what a driver feeds it, and what it asks
//! the driver to do.

use std::sync::Arc;
use std::time::Duration;

use crate::anti_entropy::AntiEntropyConfig;
use crate::broadcast::BroadcastConfig;
use crate::grid_control::GridControlConfig;
use crate::groups::{GroupData, GroupsConfig};
use crate::id::NodeId;
use crate::liveness::MemberState;
use crate::membership::MembershipConfig;
use crate::overlay::OverlayConfig;
use crate::persist::PersistOp;
use crate::record::{KEY_LEN_MAX, PAYLOAD_LEN_MAX, SignedRecord};
use crate::role::Role;
use crate::routing::RoutingConfig;

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
    pub anti_entropy: AntiEntropyConfig,
    /// Failure detection; `None` switches membership off (the simulator's 10,000-node
    /// broadcast runs, where full membership would not fit in memory).
    pub membership: Option<MembershipConfig>,
    /// Link-state routing; `None` switches it off (no advertisements, no routed messages).
    pub routing: Option<RoutingConfig>,
    /// floodd groups and their data messages (idle until the node takes part in a group).
    pub groups: GroupsConfig,
    /// Grid control: whether announcements are kept only from reachable nodes.
    pub grid_control: GridControlConfig,
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
    /// The deadline given by [`crate::Node::poll_timeout`] passed.
    Timeout,
    /// The transport could not reach this peer, or lost its connection.
    PeerDown(NodeId),
    /// The round trip to a peer was measured (the real node: the QUIC connection's estimate;
    /// the simulator: the modelled one). Routing uses those of the overlay's links as costs.
    LinkRtt {
        /// The peer.
        peer: NodeId,
        /// The round trip.
        rtt: Duration,
    },
}

/// Why a local command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The requested sequence number is not newer than the one held.
    #[error(
        "sequence-number {requested} is not newer than the current one, {current} (the seq that `herald services` shows)"
    )]
    Stale {
        /// What the caller asked for.
        requested: u64,
        /// The sequence number of the announcement the slot holds.
        current: u64,
    },
    /// The service name is empty or too long.
    #[error("a service name has 1 to {KEY_LEN_MAX} bytes")]
    BadServiceName,
    /// The payload is too large.
    #[error("the payload has {0} bytes, more than the {PAYLOAD_LEN_MAX} allowed")]
    PayloadTooLarge(usize),
    /// A recommendation, or a `grid-control` announcement's list of them, is invalid.
    #[error("{0}")]
    Recommendation(#[from] crate::grid_control::RecommendationError),
    /// A grid manager's list edit was refused.
    #[error("{0}")]
    ManagerList(#[from] crate::grid_control::ManagerListError),
    /// A group definition is out of bounds.
    #[error("group {name:?}: {reason}")]
    BadGroup {
        /// The group's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
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
        /// Hops it travelled over the broadcast tree from its origin; 0 when it did not come
        /// over the tree: published here (`from` is `None`), or repaired by anti-entropy.
        hops: u16,
    },
    /// A member changed state in this node's view.
    MemberChanged {
        /// The member.
        id: NodeId,
        /// Its new state.
        state: MemberState,
        /// The incarnation the state refers to.
        incarnation: u64,
    },
    /// A member answered this node's direct membership probe: the round trip, for metrics.
    ProbeAnswered {
        /// The member.
        member: NodeId,
        /// The round trip.
        rtt: Duration,
    },
    /// A routed ping ([`crate::Node::ping`]) was answered.
    PingAnswered {
        /// The ping's id, as [`crate::Node::ping`] returned it.
        id: u64,
        /// The round trip.
        rtt: Duration,
        /// The path the ping took, this node first and the destination last.
        path: Vec<NodeId>,
    },
    /// A group data message is delivered: once, in its origin's order, this node's own
    /// included. Its [`crate::PersistOp::SetGroupCursor`] follows the last of a run.
    GroupDelivered(GroupData),
    /// This node is the master of a group with a topology generator, and the generator's
    /// inputs changed: the driver runs `command` on them and hands its edges to
    /// [`crate::Node::offer_topology`].
    TopologyWanted {
        /// The group.
        group: String,
        /// The generator's command (floodd's `topology-generator`).
        command: String,
        /// The connectivity the group asks for.
        connectivity: u8,
        /// The live members, sorted.
        members: Vec<NodeId>,
        /// The measured costs between them: (one, the other, milliseconds: the round trip
        /// plus a 64 KiB chunk's crossing time at the probed bandwidth).
        costs: Vec<(NodeId, NodeId, u32)>,
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
    /// Make this durable: before any later transmit goes out if the node owes it
    /// ([`PersistOp::is_owed_by`]), else in good time.
    Persist(PersistOp),
}

/// An announcement to publish with [`crate::Node::announce`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    /// The service name (the record key).
    pub service: String,
    /// The payload: a JSON object's bytes.
    pub payload: Vec<u8>,
    /// The issue time to sign, in Unix milliseconds (the driver reads the wall clock).
    pub issued_at_ms: u64,
    /// A sequence number the caller insists on (grid-control `sequence-number`); it must be
    /// newer than what the slot holds.
    pub seq: Option<u64>,
}
