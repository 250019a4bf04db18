//! A link-state advertisement's payload: the links its origin has up, each with its cost.
//!
//! It is the payload of the origin's one [`RecordKind::LinkState`] record, so it travels,
//! persists, versions and expires as every record does: freshness is the record's version
//! (epoch, then sequence number), and an origin that lost its store jumps past its own old
//! advertisement when it sees it (docs/protocol.md, "Re-synchronisation").

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{Record, RecordKind, Version, decode_payload, encode_payload};

/// Most links one advertisement lists: the active view's bound, with room to spare.
pub const LINKS_MAX: usize = 64;

/// The highest cost a link may have, in milliseconds (a minute of round trip).
pub const LINK_COST_MAX_MS: u32 = 60_000;

/// The links a node advertises.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    /// (neighbour, cost in milliseconds of round trip, at least 1), sorted by neighbour.
    pub links: Vec<(NodeId, u32)>,
}

impl LinkState {
    /// Whether the advertisement keeps its bounds: at most [`LINKS_MAX`] links, sorted by
    /// neighbour without repeats, each costing 1 to [`LINK_COST_MAX_MS`].
    pub fn is_within_bounds(&self) -> bool {
        self.links.len() <= LINKS_MAX
            && self.links.windows(2).all(|pair| pair[0].0 < pair[1].0)
            && self.links.iter().all(|(_, cost)| (1..=LINK_COST_MAX_MS).contains(cost))
    }

    /// The record payload. The caller keeps the bounds.
    pub fn encode(&self) -> Vec<u8> {
        debug_assert!(self.is_within_bounds(), "an advertisement is encoded within its bounds");
        encode_payload(self)
    }

    /// Reads a record payload; `None` if it is not exactly one advertisement within the
    /// bounds. Never panics.
    pub fn decode(bytes: &[u8]) -> Option<LinkState> {
        decode_payload(bytes).filter(LinkState::is_within_bounds)
    }

    /// The cost of the link to `peer`, if it is advertised.
    pub fn cost_to(&self, peer: &NodeId) -> Option<u32> {
        let at = self.links.binary_search_by(|(neighbor, _)| neighbor.cmp(peer)).ok()?;
        Some(self.links[at].1)
    }

    /// The unsigned record that publishes this advertisement for `origin`.
    pub fn record(&self, origin: NodeId, version: Version, issued_at_ms: u64) -> Record {
        Record {
            origin,
            kind: RecordKind::LinkState,
            key: String::new(),
            version,
            issued_at_ms,
            payload: self.encode(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> NodeId {
        NodeId::from_bytes([n; 32])
    }

    #[test]
    fn an_advertisement_round_trips_and_answers_costs() {
        let links = LinkState { links: vec![(id(1), 12), (id(3), 40)] };
        assert_eq!(LinkState::decode(&links.encode()), Some(links.clone()));
        assert_eq!(links.cost_to(&id(3)), Some(40));
        assert_eq!(links.cost_to(&id(2)), None);
    }

    #[test]
    fn advertisements_outside_the_bounds_are_refused() {
        let unsorted = LinkState { links: vec![(id(3), 1), (id(1), 1)] };
        let free = LinkState { links: vec![(id(1), 0)] };
        let too_dear = LinkState { links: vec![(id(1), LINK_COST_MAX_MS + 1)] };
        let too_many = LinkState { links: (0..=LINKS_MAX as u8).map(|n| (id(n), 1)).collect() };
        for bad in [unsorted, free, too_dear, too_many] {
            let bytes = postcard::to_allocvec(&bad).unwrap();
            assert_eq!(LinkState::decode(&bytes), None, "{bad:?}");
        }
        let good = LinkState { links: vec![(id(1), 1)] };
        let mut trailing = good.encode();
        trailing.push(0);
        assert_eq!(LinkState::decode(&trailing), None);
        assert_eq!(LinkState::decode(&[0xff; 3]), None);
    }
}
