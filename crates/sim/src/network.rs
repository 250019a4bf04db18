//! The simulated network: per-message latency with jitter, random loss, and partitions.
//!
//! Every decision draws from the simulation's seeded generator, so the same seed loses and
//! delays the same messages.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use herald_core::{Instant, Rng};

/// Index of a simulated node.
pub type NodeIndex = u32;

/// How messages cross the simulated network.
#[derive(Clone, Debug)]
pub struct NetworkModel {
    /// Smallest one-way latency.
    pub latency: Duration,
    /// Extra one-way latency, drawn uniformly from `0..=jitter` per message.
    pub jitter: Duration,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Directed links that drop everything: (from, to).
    blocked: BTreeSet<(NodeIndex, NodeIndex)>,
    /// When the last message on each directed link arrives: a link delivers in order, as a
    /// QUIC stream does, so jitter never reorders two messages between the same two nodes.
    last_arrival: BTreeMap<(NodeIndex, NodeIndex), Instant>,
}

impl NetworkModel {
    /// A network with this latency, jitter and loss, and no partitions.
    pub fn new(latency: Duration, jitter: Duration, loss: f64) -> NetworkModel {
        NetworkModel {
            latency,
            jitter,
            loss,
            blocked: BTreeSet::new(),
            last_arrival: BTreeMap::new(),
        }
    }

    /// When a message sent at `now` from `from` to `to` arrives, or `None` if it is lost.
    /// Messages on one link arrive in the order they were sent.
    pub fn arrival(
        &mut self,
        now: Instant,
        rng: &mut Rng,
        from: NodeIndex,
        to: NodeIndex,
    ) -> Option<Instant> {
        let delay = self.transit(rng, from, to)?;
        let last = self.last_arrival.entry((from, to)).or_insert(Instant::ZERO);
        let at = (now + delay).max(*last);
        *last = at;
        Some(at)
    }

    /// Forgets the in-order state of links from and to a crashed node (its connections are
    /// gone).
    pub fn reset_links(&mut self, node: NodeIndex) {
        self.last_arrival.retain(|(from, to), _| *from != node && *to != node);
    }

    /// The one-way delay of a message from `from` to `to`, or `None` if it is lost.
    pub fn transit(&self, rng: &mut Rng, from: NodeIndex, to: NodeIndex) -> Option<Duration> {
        if self.blocked.contains(&(from, to)) {
            return None;
        }
        if self.loss > 0.0 && rng.chance(self.loss) {
            return None;
        }
        let jitter_micros = self.jitter.as_micros() as u64;
        let extra = if jitter_micros == 0 { 0 } else { rng.below(jitter_micros + 1) };
        Some(self.latency + Duration::from_micros(extra))
    }

    /// Drops every message from a node of `from` to a node of `to` (a one-way partition).
    pub fn partition_one_way(&mut self, from: &[NodeIndex], to: &[NodeIndex]) {
        for a in from {
            for b in to {
                self.blocked.insert((*a, *b));
            }
        }
    }

    /// Drops every message between the two sides, both ways.
    pub fn partition(&mut self, side_a: &[NodeIndex], side_b: &[NodeIndex]) {
        self.partition_one_way(side_a, side_b);
        self.partition_one_way(side_b, side_a);
    }

    /// Removes every partition.
    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    /// Whether any link is partitioned.
    pub fn is_partitioned(&self) -> bool {
        !self.blocked.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitioned_links_drop_in_their_direction_only_until_healed() {
        let mut rng = Rng::from_seed(1);
        let mut net = NetworkModel::new(Duration::from_millis(10), Duration::ZERO, 0.0);
        net.partition_one_way(&[0], &[1]);
        assert_eq!(net.transit(&mut rng, 0, 1), None);
        assert_eq!(net.transit(&mut rng, 1, 0), Some(Duration::from_millis(10)));
        net.heal();
        assert!(net.transit(&mut rng, 0, 1).is_some());
    }

    #[test]
    fn loss_drops_about_the_given_fraction_and_latency_stays_in_range() {
        let mut rng = Rng::from_seed(2);
        let net = NetworkModel::new(Duration::from_millis(10), Duration::from_millis(40), 0.2);
        let mut lost = 0;
        for _ in 0..10_000 {
            match net.transit(&mut rng, 0, 1) {
                None => lost += 1,
                Some(delay) => {
                    assert!(
                        delay >= Duration::from_millis(10) && delay <= Duration::from_millis(50)
                    )
                }
            }
        }
        assert!((1_800..2_200).contains(&lost), "lost {lost} of 10000 at 20% loss");
    }
}
