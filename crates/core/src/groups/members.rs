//! Which groups this node takes part in, with which topology, and so which neighbours it floods
//! to: what the node decides from the group's definition and estimates, set here.

use crate::id::NodeId;

use super::topology::{CostMatrix, Edge};
use super::{GroupSpec, Groups, GroupsOutput, Pull};

/// A group's topology, as this node computed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupTopology {
    /// The definition it was computed from.
    pub spec: Option<GroupSpec>,
    /// The members it joins, sorted.
    pub members: Vec<NodeId>,
    /// The costs between the members it was computed from.
    pub costs: CostMatrix,
    /// Its edges, sorted.
    pub edges: Vec<Edge>,
    /// The vertex connectivity the edges achieve (the definition's, unless the group is too
    /// small for it).
    pub connectivity: usize,
    /// Who computed it.
    pub computed_by: ComputedBy,
    /// How many topologies of the group this node computed that differed from the one before
    /// (1 for the first).
    pub version: u64,
}

/// Who computed a group's topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComputedBy {
    /// Every member, the same way (no live master site).
    Members,
    /// The group's master site, this node or another.
    Master(NodeId),
}

impl Groups {
    /// The topology of `group`, if this node takes part in it.
    pub fn topology(&self, group: &str) -> Option<&GroupTopology> {
        self.groups.get(group).and_then(|group| group.topology.as_ref())
    }

    /// Takes part in `group` with this topology; this node's neighbours are its edges' other
    /// ends. The topology's version counts the changes of its edges and members.
    pub fn set_topology(&mut self, group: &str, mut topology: GroupTopology) {
        let state = self.groups.entry(group.to_owned()).or_default();
        topology.version = match &state.topology {
            Some(held) => {
                let changed = held.edges != topology.edges
                    || held.members != topology.members
                    || held.spec != topology.spec
                    || held.computed_by != topology.computed_by;
                held.version + u64::from(changed)
            }
            None => 1,
        };
        let me = self.me;
        let neighbors = topology
            .edges
            .iter()
            .filter_map(|edge| match (edge.a == me, edge.b == me) {
                (true, _) => Some(edge.b),
                (_, true) => Some(edge.a),
                _ => None,
            })
            .collect();
        state.topology = Some(topology);
        self.set_neighbors(group, neighbors);
    }

    /// Stops taking part in `group`, and forgets the messages held in it.
    pub fn leave(&mut self, group: &str, out: &mut Vec<GroupsOutput>) {
        let Some(state) = self.groups.remove(group) else {
            return;
        };
        for (origin, log) in &state.logs {
            for held in log.held() {
                self.stored_bytes -= held.data.body.len() as u64;
                let version = held.data.version();
                out.push(GroupsOutput::Forget {
                    group: group.to_owned(),
                    origin: *origin,
                    version,
                });
            }
        }
        self.pulling_bytes -= state.pulls.values().map(Pull::len).sum::<u64>();
    }

    /// Sets this node's topology neighbours in `group`, which it takes part in from now on.
    pub fn set_neighbors(&mut self, group: &str, mut neighbors: Vec<NodeId>) {
        neighbors.retain(|peer| *peer != self.me);
        neighbors.sort_unstable();
        neighbors.dedup();
        let state = self.groups.entry(group.to_owned()).or_default();
        state.peer_heads.retain(|peer, _| neighbors.binary_search(peer).is_ok());
        state.neighbors = neighbors;
    }
}
