//! The simulated network: per-message latency with jitter, random loss, and partitions.
//!
//! Every decision draws from the simulation's seeded generator, so the same seed loses and
//! delays the same messages.

use std::collections::BTreeSet;
#[allow(clippy::disallowed_types)]
use std::collections::HashMap;
use std::time::Duration;

use herald_core::{Instant, Rng};

/// Index of a simulated node.
pub type NodeIndex = u32;

/// What happens to a message whose packet is lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossModel {
    /// herald's transport, QUIC streams: the packet is sent again after a probe timeout
    /// (three one-way latencies), doubled after each consecutive loss, so loss becomes delay.
    /// After `RETRANSMISSIONS_MAX` losses in a row the connection is given up and the message
    /// is lost.
    #[default]
    Retransmit,
    /// Datagram semantics: a lost packet is a lost message. A harsher model than herald's
    /// transport, kept to test the protocol's own repair.
    Drop,
}

/// Consecutive losses after which a retransmitting link gives the message up (QUIC's idle
/// timeout would close the connection at about this point).
pub const RETRANSMISSIONS_MAX: u32 = 8;

/// How messages cross the simulated network.
#[derive(Clone, Debug)]
pub struct NetworkModel {
    /// Smallest one-way latency.
    pub latency: Duration,
    /// Extra one-way latency, drawn uniformly from `0..=jitter` per message.
    pub jitter: Duration,
    /// Probability that one transmission of a message is lost.
    pub loss: f64,
    /// What a lost transmission does to the message.
    pub loss_model: LossModel,
    /// Partition rules: every message from a node of the first set to a node of the second is
    /// dropped.
    cuts: Vec<(BTreeSet<NodeIndex>, BTreeSet<NodeIndex>)>,
    /// Clogged nodes: everything to or from them is dropped (FoundationDB's "clog").
    clogged: BTreeSet<NodeIndex>,
    /// When the last message on each directed link arrives: a link delivers in order, as a
    /// QUIC stream does, so jitter never reorders two messages between the same two nodes.
    /// Looked up on every transmission and never iterated in an order that could leak into a
    /// run (`retain` keeps the same entries in any order), so a hash map is safe here.
    #[allow(clippy::disallowed_types)]
    last_arrival: HashMap<(NodeIndex, NodeIndex), Instant>,
}

impl NetworkModel {
    /// A network with this latency, jitter and loss, and no partitions.
    #[allow(clippy::disallowed_types)]
    pub fn new(latency: Duration, jitter: Duration, loss: f64) -> NetworkModel {
        NetworkModel {
            latency,
            jitter,
            loss,
            loss_model: LossModel::Retransmit,
            cuts: Vec::new(),
            clogged: BTreeSet::new(),
            last_arrival: HashMap::new(),
        }
    }

    /// The mean round trip of a link, without loss: what a transport's smoothed estimate of
    /// any link settles to in this model, where links differ only by per-message jitter.
    pub fn mean_round_trip(&self) -> Duration {
        (self.latency + self.jitter / 2) * 2
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
        if self.is_blocked(from, to) {
            return None;
        }
        let mut lost = 0;
        while self.loss > 0.0 && rng.chance(self.loss) {
            lost += 1;
            if self.loss_model == LossModel::Drop || lost == RETRANSMISSIONS_MAX {
                return None;
            }
        }
        let jitter_micros = self.jitter.as_micros() as u64;
        let extra = if jitter_micros == 0 { 0 } else { rng.below(jitter_micros + 1) };
        // Each loss costs a probe timeout, doubled after every consecutive loss (RFC 9002).
        let probe_timeout = (self.latency + self.jitter) * 3;
        let backoff = probe_timeout * ((1u32 << lost) - 1);
        Some(self.latency + Duration::from_micros(extra) + backoff)
    }

    /// Whether a message from `from` to `to` is dropped by a partition or a clog.
    pub fn is_blocked(&self, from: NodeIndex, to: NodeIndex) -> bool {
        self.clogged.contains(&from)
            || self.clogged.contains(&to)
            || self.cuts.iter().any(|(a, b)| a.contains(&from) && b.contains(&to))
    }

    /// Drops every message from a node of `from` to a node of `to` (a one-way partition).
    pub fn partition_one_way(&mut self, from: &[NodeIndex], to: &[NodeIndex]) {
        self.cuts.push((from.iter().copied().collect(), to.iter().copied().collect()));
    }

    /// Drops every message between the two sides, both ways.
    pub fn partition(&mut self, side_a: &[NodeIndex], side_b: &[NodeIndex]) {
        self.partition_one_way(side_a, side_b);
        self.partition_one_way(side_b, side_a);
    }

    /// Clogs a node: nothing reaches it or leaves it until it is unclogged.
    pub fn clog(&mut self, node: NodeIndex) {
        self.clogged.insert(node);
    }

    /// Unclogs a node.
    pub fn unclog(&mut self, node: NodeIndex) {
        self.clogged.remove(&node);
    }

    /// Removes every partition and clog.
    pub fn heal(&mut self) {
        self.cuts.clear();
        self.clogged.clear();
    }

    /// Whether any link is partitioned or clogged.
    pub fn is_partitioned(&self) -> bool {
        !self.cuts.is_empty() || !self.clogged.is_empty()
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
    fn a_clogged_node_neither_sends_nor_receives_until_unclogged() {
        let mut rng = Rng::from_seed(3);
        let mut net = NetworkModel::new(Duration::from_millis(10), Duration::ZERO, 0.0);
        net.clog(1);
        assert_eq!(net.transit(&mut rng, 0, 1), None);
        assert_eq!(net.transit(&mut rng, 1, 2), None);
        assert!(net.transit(&mut rng, 0, 2).is_some());
        assert!(net.is_partitioned());
        net.unclog(1);
        assert!(net.transit(&mut rng, 0, 1).is_some());
        assert!(!net.is_partitioned());
    }

    #[test]
    fn links_deliver_in_order_despite_jitter() {
        let mut rng = Rng::from_seed(4);
        let mut net = NetworkModel::new(Duration::from_millis(10), Duration::from_millis(40), 0.0);
        let mut last = Instant::ZERO;
        for step in 0..200 {
            let at = net.arrival(Instant::from_micros(step * 1000), &mut rng, 0, 1).unwrap();
            assert!(at >= last);
            last = at;
        }
    }

    #[test]
    fn dropping_loss_loses_about_the_given_fraction_and_latency_stays_in_range() {
        let mut rng = Rng::from_seed(2);
        let mut net = NetworkModel::new(Duration::from_millis(10), Duration::from_millis(40), 0.2);
        net.loss_model = LossModel::Drop;
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

    #[test]
    fn retransmitting_loss_turns_losses_into_probe_timeouts() {
        let mut rng = Rng::from_seed(2);
        let net = NetworkModel::new(Duration::from_millis(10), Duration::from_millis(40), 0.2);
        let probe_timeout = Duration::from_millis(150);
        let mut late = 0;
        for _ in 0..10_000 {
            let delay = net
                .transit(&mut rng, 0, 1)
                .expect("eight losses in a row are too rare to see here");
            if delay > Duration::from_millis(50) {
                late += 1;
                assert!(delay >= Duration::from_millis(10) + probe_timeout);
            }
        }
        assert!(
            (1_800..2_200).contains(&late),
            "{late} of 10000 messages retransmitted at 20% loss"
        );
    }
}
