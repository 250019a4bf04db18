//! A master site's topology of its group (floodd's `master-site`): the payload of its
//! [`RecordKind::GroupTopology`](crate::RecordKind::GroupTopology) record, keyed by the group's
//! name. Members that see the same members as the master flood over it; without a live master,
//! every member computes the topology itself.

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{decode_payload, encode_payload};

use super::spec::GROUP_SITES_MAX;
use super::topology::Edge;

/// Edges per member a decree may hold, at most.
pub const DECREE_EDGES_PER_MEMBER_MAX: usize = 16;

/// A topology as its master computed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopologyDecree {
    /// The members it joins, sorted, each once.
    pub members: Vec<NodeId>,
    /// Its edges as (index of one end, index of the other, cost in milliseconds), the first
    /// index below the second.
    pub edges: Vec<(u16, u16, u32)>,
}

impl TopologyDecree {
    /// The decree of a topology over `members` (sorted) with `edges` between them.
    pub fn of(members: &[NodeId], edges: &[Edge]) -> TopologyDecree {
        let index =
            |id: &NodeId| members.binary_search(id).ok().and_then(|i| u16::try_from(i).ok());
        let edges = edges
            .iter()
            .filter_map(|edge| Some((index(&edge.a)?, index(&edge.b)?, edge.cost_ms)))
            .collect();
        TopologyDecree { members: members.to_vec(), edges }
    }

    /// Its edges, with node ids.
    pub fn edges(&self) -> Vec<Edge> {
        self.edges
            .iter()
            .map(|&(a, b, cost_ms)| Edge {
                a: self.members[usize::from(a)],
                b: self.members[usize::from(b)],
                cost_ms,
            })
            .collect()
    }

    /// The record payload.
    pub fn encode(&self) -> Vec<u8> {
        encode_payload(self)
    }

    /// Reads a record payload; `None` unless it is one decree within bounds: members sorted and
    /// distinct, at most [`GROUP_SITES_MAX`], every edge between two of them.
    pub fn decode(bytes: &[u8]) -> Option<TopologyDecree> {
        let decree: TopologyDecree = decode_payload(bytes)?;
        let members = decree.members.len();
        let sorted = decree.members.windows(2).all(|pair| pair[0] < pair[1]);
        let edges_fit = decree.edges.len() <= members * DECREE_EDGES_PER_MEMBER_MAX
            && decree.edges.iter().all(|&(a, b, _)| a < b && usize::from(b) < members);
        (members <= GROUP_SITES_MAX && sorted && edges_fit).then_some(decree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> NodeId {
        NodeId::from_bytes([n; 32])
    }

    #[test]
    fn a_decree_round_trips_and_bad_ones_are_refused() {
        let members = vec![id(1), id(2), id(3)];
        let edges = vec![Edge { a: id(1), b: id(3), cost_ms: 7 }];
        let decree = TopologyDecree::of(&members, &edges);
        assert_eq!(decree.edges, vec![(0, 2, 7)]);
        assert_eq!(TopologyDecree::decode(&decree.encode()), Some(decree.clone()));
        assert_eq!(decree.edges(), edges);
        let out_of_range = TopologyDecree { members: members.clone(), edges: vec![(0, 3, 1)] };
        assert_eq!(TopologyDecree::decode(&out_of_range.encode()), None);
        let backwards = TopologyDecree { members: members.clone(), edges: vec![(2, 1, 1)] };
        assert_eq!(TopologyDecree::decode(&backwards.encode()), None);
        let unsorted = TopologyDecree { members: vec![id(2), id(1)], edges: vec![] };
        assert_eq!(TopologyDecree::decode(&unsorted.encode()), None);
    }
}
