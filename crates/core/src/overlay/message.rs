//! What overlay peers say to each other, and what the overlay asks of the node.

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::role::Role;

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
        /// How hard the sender asks.
        priority: Priority,
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

/// How hard a [`OverlayMessage::Neighbor`] request asks.
///
/// Encoded as 0 and 1, as the boolean it replaced was, so frames are unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Priority {
    /// The receiver accepts if its active view has room.
    Normal,
    /// The sender has at most one neighbour, or has starved for several periods: a server
    /// receiver must accept.
    High,
}

/// Largest shuffle sample accepted from a peer; larger samples are truncated.
pub(super) const SAMPLE_LEN_MAX: usize = 64;

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
