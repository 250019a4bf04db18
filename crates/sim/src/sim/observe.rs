//! What the simulator records of a run as it goes, and the questions a report asks of it:
//! deliveries, publications, crash detection, false deaths, membership convergence, counters.

use std::collections::BTreeMap;
use std::time::Duration;

use herald_core::groups::GroupData;
use herald_core::{Digest, Event, Instant, MemberState, Node, Stats};

use super::{Delivery, GroupLog, Sim, Violation};
use crate::network::NodeIndex;

impl Sim {
    /// Every record a node published, with when.
    pub fn published(&self) -> &BTreeMap<Digest, Instant> {
        &self.published
    }

    /// Every delivery to a node other than the origin.
    pub fn deliveries(&self) -> &[Delivery] {
        &self.deliveries
    }

    /// What the run's group messages did.
    pub fn group_log(&self) -> &GroupLog {
        &self.group_log
    }

    /// For a node that crashed and stayed down: how long after its crash the given fraction of
    /// the running nodes had seen it dead. `None` if that many never did.
    pub fn crash_known_after(&self, subject: NodeIndex, fraction: f64) -> Option<Duration> {
        let crashed_at = *self.crashed_at.get(&subject)?;
        let observers: Vec<NodeIndex> = (0..self.len()).filter(|node| self.is_up(*node)).collect();
        let notices = self.death_notices.get(&subject);
        let mut delays: Vec<Duration> = observers
            .iter()
            .filter_map(|observer| notices?.get(observer))
            .filter(|at| **at >= crashed_at)
            .map(|at| at.saturating_since(crashed_at))
            .collect();
        delays.sort();
        let needed = ((fraction * observers.len() as f64).ceil() as usize).max(1);
        delays.get(needed - 1).copied()
    }

    /// Times a node declared a running node dead at the incarnation it is at, while the network
    /// was whole.
    pub fn false_suspicions(&self) -> u64 {
        self.false_suspicions
    }

    /// Whether every running node sees exactly the running nodes as alive (and every other
    /// node as dead, left or forgotten). Always false when membership is off.
    pub fn membership_converged(&self) -> bool {
        let up: Vec<bool> = (0..self.len()).map(|node| self.is_up(node)).collect();
        for observer in (0..self.len()).filter(|node| up[*node as usize]) {
            let Some(membership) = self.node(observer).and_then(Node::membership) else {
                return false;
            };
            let mut alive_seen = 0;
            for (id, member) in membership.members() {
                let Some(subject) = self.index(id) else { continue };
                let is_up = up[subject as usize];
                match (is_up, member.state) {
                    (true, MemberState::Alive) => alive_seen += 1,
                    (false, state) if state.is_gone() => {}
                    _ => return false,
                }
            }
            if alive_seen + 1 != up.iter().filter(|u| **u).count() {
                return false;
            }
        }
        true
    }

    /// The sum of every node's counters, crashed incarnations included.
    pub fn total_stats(&self) -> Stats {
        let mut total = Stats::default();
        for sim_node in &self.nodes {
            total += &sim_node.past_stats;
            if let Some(node) = &sim_node.node {
                total += node.stats();
            }
        }
        total
    }

    /// Records what a node's event says of the run: deliveries, publications, death
    /// notices, false deaths, and the trace.
    pub(super) fn observe(&mut self, index: NodeIndex, event: &Event) {
        if let Event::MemberChanged { id, state: MemberState::Dead, .. } = event
            && let Some(subject) = self.index(id)
        {
            self.death_notices.entry(subject).or_default().entry(index).or_insert(self.observed_at);
        }
        // A false death is one declared about the incarnation a running node is at now; the
        // death of an incarnation that crashed, heard after its restart, was true.
        if let Event::MemberChanged { id, state: MemberState::Dead, incarnation } = event
            && let Some(subject) = self.index(id)
            && !self.network.is_partitioned()
            && self
                .node(subject)
                .and_then(Node::membership)
                .is_some_and(|membership| membership.incarnation() <= *incarnation)
        {
            self.false_suspicions += 1;
        }
        if let Event::GroupDelivered(data) = event {
            self.observe_group_delivery(index, data);
        }
        if let Event::RecordStored { record, from, hops } = event {
            let digest = record.digest();
            self.trace.update(&index.to_le_bytes());
            self.trace.update(&digest);
            match from {
                None => {
                    self.published.insert(digest, self.issued_at.unwrap_or(self.observed_at));
                    self.published_set.insert(digest);
                }
                Some(_) => self.deliveries.push(Delivery {
                    node: index,
                    digest,
                    at: self.observed_at,
                    hops: *hops,
                }),
            }
        }
    }

    /// A group message delivered at `index`: published there, or delivered to a member. While
    /// the network is split, a publication notes the nodes its origin cannot reach, and a
    /// delivery that it came before the heal.
    fn observe_group_delivery(&mut self, index: NodeIndex, data: &GroupData) {
        let (origin, id, version) = (data.origin(), data.id(), data.version());
        self.trace.update(&index.to_le_bytes());
        self.trace.update(&id);
        let split = self.network.is_partitioned();
        let log = &mut self.group_log;
        if origin == self.nodes[index as usize].keypair.id() {
            let at = self.issued_at.unwrap_or(self.observed_at);
            if log.published.contains_key(&id) {
                return;
            }
            log.published.insert(id, (at, index));
            if split {
                let cut_off = (0..self.nodes.len() as NodeIndex)
                    .filter(|node| self.network.is_blocked(index, *node))
                    .collect();
                log.published_while_split.insert(id, cut_off);
            }
            return;
        }
        let restarts = self.nodes[index as usize].restarts;
        match log.seen.insert((index, id), restarts) {
            None => {
                let delivery = Delivery { node: index, digest: id, at: self.observed_at, hops: 0 };
                log.deliveries.push(delivery);
                if split {
                    log.delivered_while_split.insert((index, id));
                }
                let last = log.last_delivered.entry((index, origin)).or_insert(version);
                if version < *last {
                    log.order_violations += 1;
                } else {
                    *last = version;
                }
            }
            Some(before) if before < restarts => log.redelivered_after_crash += 1,
            Some(_) => log.duplicates += 1,
        }
    }

    /// Runs every checker on a node's event.
    pub(super) fn run_checkers(
        &mut self,
        index: NodeIndex,
        event: &Event,
    ) -> Result<(), Violation> {
        for checker in &mut self.checkers {
            if let Err(message) = checker.check(index, event, &self.published_set) {
                return Err(Violation {
                    checker: checker.name(),
                    at_ms: self.now.as_micros() / 1000,
                    message,
                });
            }
        }
        Ok(())
    }
}
