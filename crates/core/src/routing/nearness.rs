//! Latency groups and the near/far query order of seed 003 (gossip-to-gossip).
//!
//! Known peers are clustered by measured round trip: sorted nearest first, a peer joins the
//! group being built while its round trip is within [`GROUP_SPREAD`] times that of the group's
//! nearest peer plus [`GROUP_SLACK_MS`], and starts the next group otherwise. So peers in one
//! rack or region, whose round trips are alike, share a group, and a group is labelled by its
//! mean round trip. The seed leaves the clustering open; this one is deterministic, needs no
//! number of groups up front, and is one pass over the sorted peers.
//!
//! The *virtual query list* then alternates near and far groups, so that queries and repairs
//! reach varied parts of the grid early. With groups `0..n` ordered by latency, nearest first,
//! the seed's loop takes one peer from group `i` and one from group `n - i` for `i` up to
//! `n / 2`, until the groups are empty. Two corrections, so that it does what it says:
//! - the far group is `n - 1 - i`: group `n` does not exist;
//! - `i` runs to `(n + 1) / 2`, and the middle group of an odd `n` (where `i == n - 1 - i`) gives
//!   one peer per pass: the seed's bound `n / 2` never reached it, so its peers were never
//!   queried.

use crate::id::NodeId;

/// How far a group reaches: a peer joins while its round trip is at most this many times the
/// group's nearest (guess: a factor of two tells a rack from a region and a region from another
/// continent, whose round trips differ by an order of magnitude).
pub const GROUP_SPREAD: f64 = 2.0;

/// Round-trip slack added to a group's reach, in milliseconds, so that sub-millisecond
/// loopback and LAN peers, whose measured round trips jitter by more than a factor of two,
/// stay one group.
pub const GROUP_SLACK_MS: f64 = 2.0;

/// One latency group: its peers, nearest first, with their round trips in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyGroup {
    /// The group's peers and their round trips, nearest first.
    pub peers: Vec<(NodeId, f64)>,
}

impl LatencyGroup {
    /// The mean round trip of the group's peers, in milliseconds: its label.
    pub fn mean_ms(&self) -> f64 {
        let total: f64 = self.peers.iter().map(|(_, rtt)| rtt).sum();
        total / self.peers.len().max(1) as f64
    }
}

/// Clusters `peers` (id, round trip in ms) into latency groups, nearest group first. Ties in
/// round trip are broken by node id, so every node with the same measurements gets the same
/// groups. Round trips that are not finite are left out.
pub fn latency_groups(peers: &[(NodeId, f64)]) -> Vec<LatencyGroup> {
    let mut sorted: Vec<(NodeId, f64)> =
        peers.iter().copied().filter(|(_, rtt)| rtt.is_finite() && *rtt >= 0.0).collect();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut groups: Vec<LatencyGroup> = Vec::new();
    for (peer, rtt) in sorted {
        let reach = groups
            .last()
            .and_then(|group| group.peers.first())
            .map(|(_, nearest)| nearest * GROUP_SPREAD + GROUP_SLACK_MS);
        match (groups.last_mut(), reach) {
            (Some(group), Some(reach)) if rtt <= reach => group.peers.push((peer, rtt)),
            _ => groups.push(LatencyGroup { peers: vec![(peer, rtt)] }),
        }
    }
    groups
}

/// The virtual query list of seed 003 over `groups` (nearest group first): near and far groups
/// alternate, each group giving its nearest remaining peer first. Every peer appears once.
pub fn query_order(groups: &[LatencyGroup]) -> Vec<NodeId> {
    let n = groups.len();
    let mut next: Vec<usize> = vec![0; n];
    let total: usize = groups.iter().map(|group| group.peers.len()).sum();
    let mut order = Vec::with_capacity(total);
    while order.len() < total {
        for i in 0..n.div_ceil(2) {
            let far = n - 1 - i;
            let picks = if far == i { vec![i] } else { vec![i, far] };
            for group in picks {
                if let Some((peer, _)) = groups[group].peers.get(next[group]) {
                    order.push(*peer);
                    next[group] += 1;
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> NodeId {
        NodeId::from_bytes([n; 32])
    }

    fn ids(group: &LatencyGroup) -> Vec<NodeId> {
        group.peers.iter().map(|(peer, _)| *peer).collect()
    }

    #[test]
    fn peers_with_alike_round_trips_share_a_group() {
        // A rack (0.3-1.5 ms), a region (20-30 ms) and another continent (150-190 ms).
        let peers = [
            (id(1), 24.0),
            (id(2), 0.3),
            (id(3), 150.0),
            (id(4), 1.5),
            (id(5), 30.0),
            (id(6), 190.0),
            (id(7), 20.0),
            (id(8), f64::NAN),
        ];
        let groups = latency_groups(&peers);
        let members: Vec<Vec<NodeId>> = groups.iter().map(ids).collect();
        assert_eq!(
            members,
            vec![vec![id(2), id(4)], vec![id(7), id(1), id(5)], vec![id(3), id(6)]]
        );
        assert!((groups[1].mean_ms() - 24.666).abs() < 0.01);
        assert!(latency_groups(&[]).is_empty());
    }

    #[test]
    fn the_query_order_alternates_near_and_far_and_reaches_the_middle_group() {
        let group = |peers: &[u8]| LatencyGroup {
            peers: peers.iter().map(|n| (id(*n), f64::from(*n))).collect(),
        };
        // Three groups: the seed's bound n / 2 = 1 would never visit the middle one.
        let groups = [group(&[1, 2, 3]), group(&[10, 11]), group(&[100])];
        assert_eq!(query_order(&groups), vec![id(1), id(100), id(10), id(2), id(11), id(3)],);
        // Two groups: near, far, near, ...
        let groups = [group(&[1, 2]), group(&[100, 101, 102])];
        assert_eq!(query_order(&groups), vec![id(1), id(100), id(2), id(101), id(102)],);
        assert!(query_order(&[]).is_empty());
    }
}
