//! What group members say to each other, and what the groups component asks of the node.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{SignedRecord, Version};

use super::data::GroupData;
use super::estimates::Estimates;

/// Messages between members of a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupsMessage {
    /// Part of a data message's body, with the header that names and seals it. A body of at
    /// most one chunk is pushed whole this way; a longer one is sent in chunks when pulled.
    Chunk {
        /// The signed header.
        header: Arc<SignedRecord>,
        /// Where the bytes start in the body; a multiple of the sender's chunk length.
        offset: u64,
        /// The bytes.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// The sender holds this message whole and will send it if asked.
    Offer {
        /// The signed header.
        header: Arc<SignedRecord>,
    },
    /// Asks for the body of a message that was offered.
    Want {
        /// The group.
        group: String,
        /// The message's origin.
        origin: NodeId,
        /// Its version.
        version: Version,
    },
    /// What the sender has delivered from each origin in the group. The receiver offers what
    /// it holds above those, and answers with its own digest (unless this is a `reply`) if it
    /// lacks something the sender has.
    Digest {
        /// The group.
        group: String,
        /// (origin, the version up to which everything from it was delivered).
        heads: Vec<(NodeId, Version)>,
        /// Whether this answers a digest.
        reply: bool,
    },
    /// Asks for a [`GroupsMessage::Pong`], to measure the round trip.
    Ping {
        /// Echoed in the answer.
        nonce: u64,
    },
    /// The answer to a ping or a probe.
    Pong {
        /// The ping's or the probe's nonce.
        nonce: u64,
    },
    /// A bandwidth probe: filler the receiver answers with a [`GroupsMessage::Pong`] once it
    /// has it all, so the sender times how long the bytes took beyond a round trip.
    Probe {
        /// Echoed in the answer.
        nonce: u64,
        /// Filler, [`PROBE_LEN`](super::PROBE_LEN) bytes from an honest sender.
        #[serde(with = "serde_bytes")]
        fill: Vec<u8>,
    },
}

/// What the groups component asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupsOutput {
    /// Send a message to a member.
    Send(NodeId, GroupsMessage),
    /// Make a message durable: it is held now (owed before acknowledging it, if this node
    /// published it).
    Store(GroupData),
    /// Forget a stored message (retention).
    Forget {
        /// The group.
        group: String,
        /// The origin.
        origin: NodeId,
        /// The version.
        version: Version,
    },
    /// Everything from `origin` in `group` up to `version` has been delivered (or skipped);
    /// durable with the deliveries it covers, so that a restart delivers none of them again.
    Cursor {
        /// The group.
        group: String,
        /// The origin.
        origin: NodeId,
        /// The version delivered up to.
        version: Version,
    },
    /// Hand a message to the application, in per-origin order, once.
    Deliver(GroupData),
    /// Publish this node's estimates record.
    ShareEstimates(Estimates),
}
