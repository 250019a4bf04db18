//! Graph reachability over recommendations, as seed 000 feeds grid-control announcements into
//! it: which nodes a node reaches by following edges of one kind, each at the fewest hops.
//!
//! The walk is breadth-first and asks a lookup for each node's recommendations as it reaches
//! it, so a caller can read them from the record set, from an index it keeps, or from a
//! simulator's shared cache. The answer depends only on what the lookups return: every level is
//! sorted, so two nodes that hold the same announcements give the same list.

use std::collections::BTreeSet;

use crate::id::NodeId;

use super::Recommendation;

/// A node reached, and over how many edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reached {
    /// Edges from the start, at least 1.
    pub hops: u32,
    /// The node.
    pub node: NodeId,
}

/// The nodes reachable from `from` over edges of kind `what`, nearest first and by node id
/// within a distance; `from` itself is not listed. `depth` limits the edges followed (`None`:
/// no limit). `lookup` gives a node's recommendations, or `None` if it has announced none.
pub fn reachable<L, R>(from: NodeId, what: &str, depth: Option<u32>, mut lookup: L) -> Vec<Reached>
where
    L: FnMut(&NodeId) -> Option<R>,
    R: AsRef<[Recommendation]>,
{
    let mut seen = BTreeSet::from([from]);
    let mut reached = Vec::new();
    let mut frontier = vec![from];
    let mut hops = 0u32;
    while !frontier.is_empty() && depth.is_none_or(|limit| hops < limit) {
        hops += 1;
        let mut next = Vec::new();
        for node in &frontier {
            let Some(recommendations) = lookup(node) else { continue };
            for recommendation in recommendations.as_ref() {
                if recommendation.what == what && seen.insert(recommendation.who) {
                    next.push(recommendation.who);
                }
            }
        }
        next.sort_unstable();
        reached.extend(next.iter().map(|&node| Reached { hops, node }));
        frontier = next;
    }
    reached
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::id::Keypair;

    fn id(seed: u8) -> NodeId {
        Keypair::from_secret([seed; 32]).id()
    }

    fn graph(edges: &[(u8, u8, &str)]) -> BTreeMap<NodeId, Vec<Recommendation>> {
        let mut graph: BTreeMap<NodeId, Vec<Recommendation>> = BTreeMap::new();
        for &(a, b, what) in edges {
            graph.entry(id(a)).or_default().push(Recommendation::new(id(b), "", what).unwrap());
        }
        graph
    }

    fn walk(
        graph: &BTreeMap<NodeId, Vec<Recommendation>>,
        from: u8,
        what: &str,
        depth: Option<u32>,
    ) -> Vec<(u32, NodeId)> {
        reachable(id(from), what, depth, |node| graph.get(node))
            .into_iter()
            .map(|reached| (reached.hops, reached.node))
            .collect()
    }

    #[test]
    fn a_chain_is_followed_and_stops_at_the_depth() {
        let g = graph(&[(1, 2, "send"), (2, 3, "send"), (3, 1, "send")]);
        assert_eq!(walk(&g, 1, "send", None), [(1, id(2)), (2, id(3))], "the start is not listed");
        assert_eq!(walk(&g, 1, "send", Some(1)), [(1, id(2))]);
        assert!(walk(&g, 1, "send", Some(0)).is_empty());
    }

    #[test]
    fn only_edges_of_the_kind_count() {
        let g = graph(&[(1, 2, "send"), (2, 3, "accept"), (1, 4, "accept")]);
        assert_eq!(walk(&g, 1, "send", None), [(1, id(2))]);
        assert_eq!(walk(&g, 1, "accept", None), [(1, id(4))]);
        assert!(
            walk(&g, 5, "send", None).is_empty(),
            "a node with no announcement reaches nothing"
        );
    }

    #[test]
    fn each_node_is_listed_once_at_its_fewest_hops_in_id_order() {
        let g = graph(&[(1, 2, "x"), (1, 3, "x"), (2, 4, "x"), (3, 4, "x"), (4, 2, "x")]);
        let walked = walk(&g, 1, "x", None);
        let mut first = [(1, id(2)), (1, id(3))];
        first.sort();
        assert_eq!(walked[..2], first[..]);
        assert_eq!(walked[2], (2, id(4)));
        assert_eq!(walked.len(), 3);
    }
}
