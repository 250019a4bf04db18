//! What broadcast peers say to each other, and what broadcast asks of the node.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{Digest, SignedRecord};

/// A record's short id: the first 8 bytes of its digest. IHAVE announcements and grafts name
/// records by it, at a quarter of the digest's size, and without their origin, which the
/// receiver of a graft reads from the record it holds. Two records whose digests share their
/// first 8 bytes cost at worst one of them left to anti-entropy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ShortId(pub [u8; 8]);

impl ShortId {
    /// The short id of the record with this digest.
    pub fn of(digest: &Digest) -> ShortId {
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        ShortId(head)
    }
}

/// Broadcast messages between two nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BroadcastMessage {
    /// A whole record, pushed.
    Gossip {
        /// Hops from the origin before the sender (0 when the origin sends it).
        round: u16,
        /// The record, shared by every copy of one spread.
        record: Arc<SignedRecord>,
    },
    /// Ids of records the sender holds.
    IHave {
        /// (short id, round at the sender).
        entries: Vec<(ShortId, u16)>,
    },
    /// Pull a record, and make the link eager in its origin's tree.
    Graft {
        /// The wanted record.
        id: ShortId,
    },
    /// Make the link eager in `origin`'s tree without asking for a record (the sender got it
    /// by anti-entropy, and so was off the tree).
    GraftTree {
        /// Whose tree the link joins.
        origin: NodeId,
    },
    /// Make the link lazy in `origin`'s tree.
    Prune {
        /// Whose tree the link leaves.
        origin: NodeId,
    },
    /// Re-route `origin`'s tree onto or off the link, because a path fewer hops from the
    /// origin was found (tree optimisation). Unlike a graft or a prune it changes only
    /// `origin`'s own tree, not the shared split new origins start from (the `trees` module).
    Reroute {
        /// Whose tree the link joins or leaves.
        origin: NodeId,
        /// What the link becomes in that tree.
        link: Link,
    },
}

/// A record to spread: published here, or new from a peer.
#[derive(Clone, Debug)]
pub struct Arrived {
    /// The record.
    pub record: Arc<SignedRecord>,
    /// The peer it came from; `None` when published here.
    pub from: Option<NodeId>,
    /// Hops from its origin to this node (0 when published here).
    pub round: u16,
}

/// What the broadcast component asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BroadcastOutput {
    /// Send a message.
    Send(NodeId, BroadcastMessage),
}

/// What a link is in one origin's tree.
///
/// Encoded as 0 and 1, as the boolean `eager` it replaced was, so frames are unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Link {
    /// Off the tree: only IHAVE announcements cross it.
    Lazy,
    /// On the tree: whole records are pushed over it.
    Eager,
}
