//! When the actor commits to its store: durability where it is owed, in groups.
//!
//! A node owes durability for its own records and for the highest version it issued
//! ([`PersistOp::is_owed_by`]): they are committed before any transmit that follows them goes
//! out and before a command is answered, so nothing sent or acknowledged can be taken back by a
//! `kill -9`. A record it only relays is not owed, because anti-entropy refills it after a
//! crash; it is committed with the next owed commit, or [`RELAYED_COMMIT_DELAY`] after it was
//! stored, or once [`LAZY_OPS_MAX`] operations wait.
//!
//! Commits are grouped: the actor's loop takes every input that is ready, up to
//! [`INPUTS_PER_TURN_MAX`], draining each one's outputs as it goes, and one commit at the end
//! of the turn covers them all. Transmits that follow an owed operation wait in `held` for the
//! commit, in order; so do the answers of commands ([`Actor::after_commit`]).
//!
//! On a multi-thread runtime the commit runs in `block_in_place`, so the other tasks of this
//! worker thread (other nodes of `herald demo`, the API) move to another thread while this one
//! waits on the disk.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use herald_core::{NodeId, PersistOp};
use herald_store::Store;
use tokio::runtime::{Handle, RuntimeFlavor};

use super::Actor;

/// Inputs taken in one turn of the loop, and so under one commit, at most.
pub(super) const INPUTS_PER_TURN_MAX: usize = 256;
/// How long a relayed record may wait for its commit: a `kill -9` within this time of its
/// arrival may lose it (its peers hand it back).
pub const RELAYED_COMMIT_DELAY: Duration = Duration::from_millis(100);
/// Operations that may wait for a commit before one is taken anyway.
const LAZY_OPS_MAX: usize = 1024;

/// What a command's answer does once the commit it waits for is done: it gets `Ok`, or the
/// commit's error.
pub(crate) type Ack = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What waits for the next commit.
#[derive(Default)]
pub(super) struct Commits {
    pending: Vec<PersistOp>,
    /// Whether `pending` holds an owed operation.
    owed: bool,
    /// Transmits that follow an owed operation, in order.
    held: Vec<(NodeId, Arc<[u8]>)>,
    acks: Vec<Ack>,
    /// When the oldest operation not yet committed was stored.
    waiting_since: Option<std::time::Instant>,
    /// Set when a commit failed: nothing more is committed, sent or acknowledged.
    broken: bool,
}

impl Commits {
    /// When the operations that wait must be committed even if nothing owed comes.
    pub(super) fn lazy_deadline(&self) -> Option<std::time::Instant> {
        self.waiting_since.map(|since| since + RELAYED_COMMIT_DELAY)
    }

    /// Operations waiting for the next commit.
    pub(super) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Frames held until the next commit.
    pub(super) fn held_len(&self) -> usize {
        self.held.len()
    }

    fn commit_due(&self) -> bool {
        self.owed
            || self.pending.len() >= LAZY_OPS_MAX
            || self.lazy_deadline().is_some_and(|at| at <= std::time::Instant::now())
    }
}

impl Actor {
    /// Queues `op` for the next commit.
    pub(super) fn persist(&mut self, op: PersistOp) {
        self.services.persisted(&op);
        if let PersistOp::DeleteGroupMessage { group, origin, version } = &op {
            self.messages.forget(group, *origin, *version);
        }
        self.commits.owed |= op.is_owed_by(self.node.id()) || self.grid_control.owes(&op);
        self.commits.pending.push(op);
        self.commits.waiting_since.get_or_insert_with(std::time::Instant::now);
    }

    /// Sends `frame` to `to` now, or after the next commit if it follows an owed operation.
    pub(super) fn transmit(&mut self, to: NodeId, frame: Arc<[u8]>) {
        if self.commits.owed || !self.commits.held.is_empty() {
            self.commits.held.push((to, frame));
        } else {
            let addresses = self.addresses.of(&to);
            self.transport.send(to, &addresses, frame);
        }
    }

    /// Runs `ack` once everything queued so far is durable (at the end of this turn).
    pub(crate) fn after_commit(&mut self, ack: Ack) {
        self.commits.acks.push(ack);
    }

    /// Ends a turn: commits if anything owed waits or lazy operations are due, then sends the
    /// held transmits and runs the acks. Acks with nothing owed before them run at once.
    pub(super) fn end_turn(&mut self) -> Result<()> {
        if self.commits.commit_due() {
            self.flush()?;
        } else if !self.commits.acks.is_empty() && self.commits.held.is_empty() {
            for ack in std::mem::take(&mut self.commits.acks) {
                ack(Ok(()));
            }
        }
        Ok(())
    }

    /// Commits everything that waits, then releases what waited for it. A failure is fatal:
    /// the node stops at once, and nothing it could not commit is ever sent or acknowledged,
    /// not even by a later retry.
    pub(super) fn flush(&mut self) -> Result<()> {
        if self.commits.broken {
            anyhow::bail!("a store commit failed earlier; the node is stopping");
        }
        if !self.commits.pending.is_empty() {
            let store = self.data.store();
            let pending = &self.commits.pending;
            let started = std::time::Instant::now();
            let committed = match Handle::try_current().map(|handle| handle.runtime_flavor()) {
                Ok(RuntimeFlavor::MultiThread) => {
                    tokio::task::block_in_place(|| store.apply(pending))
                }
                _ => store.apply(pending),
            };
            self.metrics.observe_commit(started.elapsed());
            if let Err(error) = committed {
                self.commits.broken = true;
                self.stopping = true;
                let message = format!("{error:#}");
                self.commits.held.clear();
                for ack in std::mem::take(&mut self.commits.acks) {
                    ack(Err(message.clone()));
                }
                return Err(error).context("committing to the store; the node stops");
            }
            self.commits.pending.clear();
        }
        self.commits.owed = false;
        self.commits.waiting_since = None;
        for (to, frame) in std::mem::take(&mut self.commits.held) {
            let addresses = self.addresses.of(&to);
            self.transport.send(to, &addresses, frame);
        }
        for ack in std::mem::take(&mut self.commits.acks) {
            ack(Ok(()));
        }
        Ok(())
    }
}
