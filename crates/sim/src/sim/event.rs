//! What the simulator schedules: events on its queue, the local commands it carries out at a
//! node, and changes to the network.

use std::sync::Arc;

use herald_core::grid_control::ManagerList;
use herald_core::groups::GroupSpec;
use herald_core::{Announcement, Instant, Keypair, NodeId};

use crate::network::NodeIndex;

/// Something scheduled to happen at a virtual time.
#[derive(Clone, Debug)]
pub(super) enum SimEvent {
    /// A frame arrives at `to`.
    Deliver { from: NodeIndex, to: NodeIndex, frame: Arc<[u8]> },
    /// The transport of `node` gives up on `peer`, which is down.
    PeerDown { node: NodeIndex, peer: NodeIndex },
    /// A node's timer, if `at` is still its deadline.
    Wake { node: NodeIndex, at: Instant },
    /// A local command at a node. Boxed, as is a network change: every pending event takes a
    /// slot of the queue, and the rare large ones would otherwise set every slot's size.
    /// `issued` is when it was asked for: a busy node carries it out later.
    Command { node: NodeIndex, issued: Instant, command: Box<SimCommand> },
    /// A node crashes, losing everything but its store.
    Crash { node: NodeIndex },
    /// A crashed node restarts from its store, or with `wiped` (the epoch it starts its
    /// sequence space at) from an empty one, as after a lost disk.
    Restart { node: NodeIndex, wiped: Option<u64> },
    /// The network changes.
    Network(Box<NetworkChange>),
    /// A busy node is free: it takes the inputs that waited, in one turn.
    Turn { node: NodeIndex },
}

/// A local command the simulator carries out at a node at a scheduled time.
#[derive(Clone, Debug)]
pub enum SimCommand {
    /// [`herald_core::Node::join`] through these contacts.
    Join {
        /// Servers to contact, in order of preference.
        contacts: Vec<NodeId>,
    },
    /// [`herald_core::Node::announce`].
    Announce(Announcement),
    /// [`herald_core::Node::define_group`].
    DefineGroup {
        /// The group's name.
        name: String,
        /// Its definition.
        spec: GroupSpec,
    },
    /// [`herald_core::Node::publish_group_message`].
    PublishGroup {
        /// The group.
        group: String,
        /// The message's body.
        body: Vec<u8>,
    },
    /// [`herald_core::Node::publish_manager_list`].
    PublishManagerList {
        /// The manager's key.
        manager: Box<Keypair>,
        /// The list.
        list: ManagerList,
    },
}

// The queue's slots stay small; a boxed variant must not grow them back.
const _: () = assert!(std::mem::size_of::<SimEvent>() <= 32);

impl SimEvent {
    /// The node that works on this event, if it is an input to one: a busy node takes it
    /// when it is free.
    pub(super) fn worker(&self) -> Option<NodeIndex> {
        match self {
            SimEvent::Deliver { to, .. } => Some(*to),
            SimEvent::PeerDown { node, .. }
            | SimEvent::Wake { node, .. }
            | SimEvent::Command { node, .. } => Some(*node),
            SimEvent::Crash { .. }
            | SimEvent::Restart { .. }
            | SimEvent::Network(_)
            | SimEvent::Turn { .. } => None,
        }
    }

    pub(super) fn tag(&self) -> u8 {
        match self {
            SimEvent::Deliver { .. } => 0,
            SimEvent::Wake { .. } => 1,
            SimEvent::Command { .. } => 2,
            SimEvent::Crash { .. } => 3,
            SimEvent::Restart { .. } => 4,
            SimEvent::PeerDown { .. } => 5,
            SimEvent::Network(_) => 6,
            SimEvent::Turn { .. } => 7,
        }
    }
}

/// A change to the network, scheduled like any other event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkChange {
    /// Drop messages from the first side to the second, and back unless `one_way`.
    Partition {
        /// One side.
        side_a: Vec<NodeIndex>,
        /// The other side.
        side_b: Vec<NodeIndex>,
        /// Whether only messages from `side_a` to `side_b` are dropped.
        one_way: bool,
    },
    /// Clog one node.
    Clog(NodeIndex),
    /// Unclog one node.
    Unclog(NodeIndex),
    /// Remove every partition and clog.
    Heal,
}
