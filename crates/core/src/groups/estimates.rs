//! A member's shared measurements: the payload of its
//! [`RecordKind::Estimate`](crate::RecordKind::Estimate) record (one per origin, empty key),
//! from which every member computes the same group topology.

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{decode_payload, encode_payload};

/// Round trips an estimate record may list, at most.
pub const ESTIMATES_MAX: usize = 1024;

/// Bandwidths an estimate record may list, at most: with [`ESTIMATES_MAX`] round trips, the
/// payload stays within a record's (about 38 + 19 KB of 64 KiB).
pub const BANDWIDTH_ESTIMATES_MAX: usize = 512;

/// Smoothed measurements from the origin to its peers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimates {
    /// (peer, smoothed round trip in milliseconds), sorted by peer.
    pub rtt_ms: Vec<(NodeId, u32)>,
    /// (peer, estimated bandwidth in kilobytes per second), sorted by peer.
    pub bandwidth_kbps: Vec<(NodeId, u32)>,
}

impl Estimates {
    /// The record payload.
    pub fn encode(&self) -> Vec<u8> {
        encode_payload(self)
    }

    /// Reads a record payload; `None` unless it is exactly one set of estimates within bounds.
    pub fn decode(bytes: &[u8]) -> Option<Estimates> {
        decode_payload::<Estimates>(bytes).filter(|e| {
            e.rtt_ms.len() <= ESTIMATES_MAX && e.bandwidth_kbps.len() <= BANDWIDTH_ESTIMATES_MAX
        })
    }
}
