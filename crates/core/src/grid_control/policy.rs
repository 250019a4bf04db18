//! The forwarding policy of seed 000's first open question: a node keeps and forwards
//! announcements only from nodes it reaches over recommendations of one chosen kind, so that
//! records injected by nodes nobody recommends do not spread through it.
//!
//! Off by default. When on, an announcement (or withdrawal) whose origin this node does not
//! reach is refused at intake, like a record that fails its signature: not stored, not
//! forwarded, counted (`records_unreachable`). Its own announcements always pass, and so do a
//! withdrawal of an announcement the node holds and every other kind of record (liveness,
//! profiles, routing), which the protocol needs whoever the origin is. The set is computed
//! again when a `grid-control` announcement expires.
//!
//! The trade-off, recorded in docs/decisions.md ("Forwarding only what is reachable"):
//! - a recommended node's announcements arrive only once the recommendation does; one that came
//!   first is refused and arrives again by anti-entropy, a round or more later;
//! - a neighbour that holds refused records keeps offering them by anti-entropy, within its
//!   per-round push budget, because the two stores never agree;
//! - the records still spread through nodes that do not filter: the policy protects a grid only
//!   as far as its nodes run it;
//! - over herald's random overlay, a node's neighbours seldom reach what it reaches, so with the
//!   policy on everywhere the announcements that should spread stop too (measured in the
//!   simulator: 0.02% of them held).
//!
//! The reachable set is kept between records. A new `grid-control` announcement from a node
//! already reached only adds edges, so the set is extended from it; one that replaces or
//! withdraws an older one may remove edges, so the set is computed again when next asked.

use std::collections::BTreeSet;

use crate::id::NodeId;

use super::Recommendation;

/// The policy's settings in a node's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GridControlConfig {
    /// Keep and forward announcements only from nodes reachable over recommendations of this
    /// kind (`None`: all of them, the default).
    pub forward_only_reachable: Option<String>,
}

/// The policy's state: the kind followed, and the nodes reached over it.
#[derive(Clone, Debug)]
pub struct ReachableOnly {
    what: String,
    /// `None` when it must be computed again.
    reached: Option<BTreeSet<NodeId>>,
}

impl ReachableOnly {
    /// The policy over edges of kind `what`.
    pub fn new(what: impl Into<String>) -> ReachableOnly {
        ReachableOnly { what: what.into(), reached: None }
    }

    /// Whether announcements of `origin` are admitted. `me` is this node; `lookup` gives a
    /// node's recommendations, and is used only when the set must be computed again.
    pub fn admits<L, R>(&mut self, me: NodeId, origin: NodeId, lookup: L) -> bool
    where
        L: FnMut(&NodeId) -> Option<R>,
        R: AsRef<[Recommendation]>,
    {
        if origin == me {
            return true;
        }
        let what = &self.what;
        let reached = self.reached.get_or_insert_with(|| {
            let mut reached: BTreeSet<NodeId> =
                super::reachable(me, what, None, lookup).into_iter().map(|r| r.node).collect();
            reached.insert(me);
            reached
        });
        reached.contains(&origin)
    }

    /// Makes the set be computed again when next asked (an announcement expired).
    pub fn forget_reached(&mut self) {
        self.reached = None;
    }

    /// `origin`'s `grid-control` announcement was stored: `replaced` if it took the place of an
    /// older one (or is a withdrawal). A first announcement from a node already reached extends
    /// the set along its new edges; anything else makes the set be computed again.
    pub fn grid_control_stored<L, R>(&mut self, origin: NodeId, replaced: bool, mut lookup: L)
    where
        L: FnMut(&NodeId) -> Option<R>,
        R: AsRef<[Recommendation]>,
    {
        let Some(reached) = &mut self.reached else { return };
        if replaced {
            self.reached = None;
            return;
        }
        if !reached.contains(&origin) {
            return;
        }
        let mut frontier = vec![origin];
        while let Some(node) = frontier.pop() {
            let Some(recommendations) = lookup(&node) else { continue };
            for recommendation in recommendations.as_ref() {
                if recommendation.what == self.what && reached.insert(recommendation.who) {
                    frontier.push(recommendation.who);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::id::Keypair;

    fn id(seed: u8) -> NodeId {
        Keypair::from_secret([seed; 32]).id()
    }

    type Graph = BTreeMap<NodeId, Vec<Recommendation>>;

    fn recommend(graph: &mut Graph, from: u8, to: u8, what: &str) {
        graph.entry(id(from)).or_default().push(Recommendation::new(id(to), "", what).unwrap());
    }

    #[test]
    fn only_reached_origins_and_this_node_are_admitted() {
        let mut graph = Graph::new();
        recommend(&mut graph, 1, 2, "send");
        recommend(&mut graph, 2, 3, "accept");
        let mut policy = ReachableOnly::new("send");
        assert!(policy.admits(id(1), id(1), |n| graph.get(n)), "this node's own");
        assert!(policy.admits(id(1), id(2), |n| graph.get(n)));
        assert!(!policy.admits(id(1), id(3), |n| graph.get(n)), "over another kind only");
        assert!(!policy.admits(id(1), id(9), |n| graph.get(n)), "recommended by nobody");
    }

    #[test]
    fn a_first_announcement_extends_the_set_and_a_replacement_recomputes_it() {
        let mut graph = Graph::new();
        recommend(&mut graph, 1, 2, "send");
        let mut policy = ReachableOnly::new("send");
        assert!(!policy.admits(id(1), id(3), |n| graph.get(n)));
        // 2's first announcement recommends 3, then 3's recommends 4.
        recommend(&mut graph, 2, 3, "send");
        recommend(&mut graph, 3, 4, "send");
        let panics = |_: &NodeId| -> Option<&Vec<Recommendation>> { panic!("no full walk") };
        policy.grid_control_stored(id(2), false, |n| graph.get(n));
        assert!(policy.admits(id(1), id(4), panics), "extended along the new edges, no walk");
        // 1 withdraws its recommendation of 2: everything past it goes.
        graph.remove(&id(1));
        policy.grid_control_stored(id(1), true, |n| graph.get(n));
        assert!(!policy.admits(id(1), id(2), |n| graph.get(n)));
        assert!(!policy.admits(id(1), id(4), |n| graph.get(n)));
    }

    #[test]
    fn an_unreached_nodes_announcement_changes_nothing() {
        let mut graph = Graph::new();
        recommend(&mut graph, 1, 2, "send");
        let mut policy = ReachableOnly::new("send");
        assert!(policy.admits(id(1), id(2), |n| graph.get(n)));
        recommend(&mut graph, 7, 8, "send");
        policy.grid_control_stored(id(7), false, |n| graph.get(n));
        assert!(!policy.admits(id(1), id(8), |n| graph.get(n)));
    }
}
