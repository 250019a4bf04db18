//! What anti-entropy peers say to each other, and what anti-entropy asks of the node.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{SignedRecord, Version};

/// Anti-entropy messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AntiEntropyMessage {
    /// What the sender holds for the origins in `[start, end)` (`None`: unbounded).
    Digest {
        /// First origin of the range, inclusive.
        start: Option<NodeId>,
        /// End of the range, exclusive.
        end: Option<NodeId>,
        /// (origin, fingerprint, highest version held) for every origin the sender holds in
        /// the range.
        entries: Vec<(NodeId, u64, Version)>,
    },
    /// Origins whose records the sender wants.
    Want {
        /// (origin, the highest version the sender holds from it): records above it are
        /// wanted, all of them for `None`.
        origins: Vec<(NodeId, Option<Version>)>,
    },
    /// Records the receiver lacked.
    Records {
        /// The records, verified by the receiver.
        records: Vec<Arc<SignedRecord>>,
        /// Whether the push was cut short by the size bound.
        more: bool,
    },
    /// The records the sender holds of origins whose highest versions agreed with the
    /// receiver's but whose fingerprints did not, each named by the first 8 bytes of its
    /// digest. The receiver pushes what is not listed and, unless this is a `reply`, lists its
    /// own records of the origins where it lacks some.
    Held {
        /// (origin, the digest heads of every record held from it).
        origins: Vec<(NodeId, Vec<u64>)>,
        /// Whether this answers a `Held`; a reply is not answered with another list.
        reply: bool,
    },
    /// The fingerprint of everything the sender holds. A peer holding the same answers
    /// nothing, so an idle grid exchanges one small message per node per round; a peer that
    /// differs answers with a digest page.
    Root {
        /// XOR of the sender's origin fingerprints.
        fingerprint: u64,
    },
    /// The answer to a root that differs, from a node holding more origins than there are
    /// buckets: the fingerprint of each bucket of origins. The receiver answers with a
    /// [`AntiEntropyMessage::BucketDigest`] of its own origins in the buckets that differ, so
    /// that two nodes that differ in a few origins do not list all of them.
    Buckets {
        /// One fingerprint per bucket, in bucket order (`record_set::FINGERPRINT_BUCKETS`).
        fingerprints: Vec<u64>,
    },
    /// What the sender holds for the origins in a set of buckets, answered as a
    /// [`AntiEntropyMessage::Digest`] is.
    BucketDigest {
        /// Bit `b` is set when bucket `b` is covered; every origin the sender holds in a
        /// covered bucket is listed.
        buckets: u64,
        /// (origin, fingerprint, highest version held), as in a digest.
        entries: Vec<(NodeId, u64, Version)>,
    },
}

/// What anti-entropy asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AntiEntropyOutput {
    /// Send a message.
    Send(NodeId, AntiEntropyMessage),
}
