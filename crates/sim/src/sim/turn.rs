//! A node's turn under the service model ([`crate::service::ServiceModel`]): it takes its
//! inputs, works on them, and sends its outputs once the work, and the commit it owes, are done.
//!
//! A node that is free takes an input at once. Inputs that come while it is busy wait in its
//! backlog, and it takes them all (up to `inputs_per_turn`) in its next turn, as
//! herald-node's actor takes every input that is ready, its timers last. Each input's outputs are drained when
//! its work is done: its transmits leave then, unless they follow an operation the node owes,
//! in which case they wait for the one commit that ends the turn (group commit).

use std::sync::Arc;
use std::time::Duration;

use herald_core::{Input, Instant, Node, NodeId, Output};
use herald_store::Store;

use super::{Sim, SimEvent, Violation};
use crate::network::NodeIndex;

/// What a turn keeps until its commit.
#[derive(Default)]
struct Turn {
    /// Whether an operation the node owes waits for the commit.
    owed: bool,
    /// Transmits that follow it, in order.
    held: Vec<(NodeId, Arc<[u8]>)>,
}

impl Sim {
    /// A busy node became free: it takes what waited in its backlog, one input after the
    /// other, sending what each input produced as soon as its work is done, and commits once.
    pub(super) fn take_turn(&mut self, node: NodeIndex) -> Result<(), Violation> {
        let backlog = &mut self.nodes[node as usize].backlog;
        let mut inputs: Vec<SimEvent> =
            backlog.drain(..backlog.len().min(self.service.inputs_per_turn.max(1))).collect();
        // As in herald-node's actor, the timers go after every input that waited with them.
        inputs.sort_by_key(|input| matches!(input, SimEvent::Wake { .. }));
        let mut clock = self.now;
        let mut turn = Turn::default();
        let mut result = Ok(());
        let mut touched = false;
        for input in inputs {
            if let Some((_, work)) = self.take(input)? {
                clock = clock + work;
                touched = true;
                let drained = self.drain_outputs(node, clock, &mut turn);
                result = result.and(drained);
            }
        }
        if touched {
            self.end_turn(node, clock, turn);
        }
        let sim_node = &self.nodes[node as usize];
        if !sim_node.backlog.is_empty() {
            let at = sim_node.busy_until.max(self.now);
            self.schedule(at, SimEvent::Turn { node });
        }
        result
    }

    /// Hands `input` to a node; returns the CPU it cost under the service model.
    pub(super) fn handle_at(&mut self, index: NodeIndex, input: Input) -> Duration {
        let now = self.now;
        let instant = self.service.is_instant();
        let checked_before = if instant { 0 } else { self.memo.checks() };
        if let Some(node) = self.nodes[index as usize].node.as_mut() {
            node.handle(now, input);
        }
        if instant {
            return Duration::ZERO;
        }
        self.service.work(self.memo.checks() - checked_before)
    }

    /// A turn of one input, which cost `work`: its outputs, then its commit.
    pub(super) fn drain(&mut self, index: NodeIndex, work: Duration) -> Result<(), Violation> {
        let clock = self.now + work;
        let mut turn = Turn::default();
        let result = self.drain_outputs(index, clock, &mut turn);
        self.end_turn(index, clock, turn);
        result
    }

    /// Carries out a node's outputs in order: persists at once (the in-memory store is
    /// durable the moment it returns), transmits through the network, events to the checkers.
    /// Transmits leave at `clock`, but those that follow an operation the node owes, which
    /// wait in `turn` for the commit that ends it.
    fn drain_outputs(
        &mut self,
        index: NodeIndex,
        clock: Instant,
        turn: &mut Turn,
    ) -> Result<(), Violation> {
        let me = self.id(index);
        self.observed_at = clock;
        let mut result = Ok(());
        while let Some(output) =
            self.nodes[index as usize].node.as_mut().and_then(Node::poll_output)
        {
            match output {
                Output::Persist(op) => {
                    self.nodes[index as usize]
                        .store
                        .apply(std::slice::from_ref(&op))
                        .expect("the in-memory store cannot fail to apply");
                    if op.is_owed_by(me) {
                        turn.owed = true;
                    } else {
                        self.nodes[index as usize].lazy_waiting = true;
                    }
                }
                Output::Transmit { to, frame } if turn.owed => turn.held.push((to, frame)),
                Output::Transmit { to, frame } => self.transmit(index, clock, &to, frame),
                Output::Event(event) => {
                    self.observe(index, &event);
                    if result.is_ok() {
                        result = self.run_checkers(index, &event);
                    }
                }
            }
        }
        self.issued_at = None;
        result
    }

    /// Ends a turn whose work was done at `clock`: commits if anything owed waits, or the
    /// relayed records are due, then sends what waited; the node is busy until then.
    fn end_turn(&mut self, index: NodeIndex, clock: Instant, turn: Turn) {
        let sim_node = &self.nodes[index as usize];
        let lazy_due =
            sim_node.lazy_waiting && clock >= sim_node.last_commit + self.service.lazy_commit_delay;
        let done = if turn.owed || lazy_due { self.commit(index, clock) } else { clock };
        for (to, frame) in turn.held {
            self.transmit(index, done, &to, frame);
        }
        self.nodes[index as usize].busy_until = done;
        self.rearm(index);
    }

    /// Sends `frame` from `index` to `to`, leaving at `at`.
    fn transmit(&mut self, index: NodeIndex, at: Instant, to: &NodeId, frame: Arc<[u8]>) {
        let Some(to) = self.index(to) else { return };
        if !self.is_up(to) {
            // A connection attempt to a crashed node fails after a round trip.
            let round_trip = (self.network.latency + self.network.jitter) * 2;
            self.schedule(at + round_trip, SimEvent::PeerDown { node: index, peer: to });
            return;
        }
        if let Some(arrival) = self.network.arrival(at, &mut self.rng, index, to) {
            self.schedule(arrival, SimEvent::Deliver { from: index, to, frame });
        }
    }

    /// A commit of everything `index` has not committed, started at `at`; returns when it ends.
    fn commit(&mut self, index: NodeIndex, at: Instant) -> Instant {
        let done = at + self.service.commit;
        let sim_node = &mut self.nodes[index as usize];
        sim_node.lazy_waiting = false;
        sim_node.last_commit = done;
        done
    }

    pub(super) fn rearm(&mut self, index: NodeIndex) {
        let sim_node = &self.nodes[index as usize];
        let Some(deadline) = sim_node.node.as_ref().map(Node::poll_timeout) else { return };
        if sim_node.wake_at.is_some_and(|at| at <= deadline) {
            return;
        }
        let at = deadline.max(self.now);
        self.nodes[index as usize].wake_at = Some(at);
        self.schedule(at, SimEvent::Wake { node: index, at });
    }
}
