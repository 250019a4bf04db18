//! What one node's application sees of the topic: a task per node reads its iroh-gossip event
//! stream from the moment it subscribes until the run stops it, keeps the node's current
//! neighbors (for the overlay check), and records the instant each message first arrived.
//! Only a message's first arrival counts. Nothing is dropped silently: every `Lagged` (events
//! lost in iroh-gossip's subscriber channel) is counted so the run can refuse its figures.

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use iroh::EndpointId;
use iroh_gossip::api::{Event, GossipReceiver};
use n0_future::StreamExt;
use tokio::sync::{Notify, watch};

use crate::message;

/// Progress shared by every node's task with the run: first arrivals so far, and a wake-up
/// each time one more arrived.
#[derive(Default)]
pub(crate) struct Progress {
    pub delivered: AtomicUsize,
    pub arrived: Notify,
}

/// What one node's application saw during the run.
pub(crate) struct Tally {
    /// For every message index, when the application first saw it.
    pub first_arrival: Vec<Option<Instant>>,
    /// `Event::Lagged` reports: times iroh-gossip's subscriber channel dropped events.
    pub lagged: usize,
    /// Messages whose index was missing or out of range.
    pub foreign: usize,
}

/// One node's event task, handed the receiving half of its subscription.
pub(crate) struct Listener {
    /// The node's neighbors in the topic's active view, as its event stream tells them.
    pub neighbors: watch::Receiver<BTreeSet<EndpointId>>,
    task: tokio::task::JoinHandle<Result<Tally>>,
}

impl Listener {
    /// Starts reading `events`, node `node`'s subscription. Arrivals count toward `progress`
    /// unless the node is the origin (`counts` false). The task ends when `stop` turns true.
    pub fn spawn(
        node: usize,
        events: GossipReceiver,
        messages: usize,
        counts: bool,
        progress: Arc<Progress>,
        stop: watch::Receiver<bool>,
    ) -> Listener {
        let (neighbors_tx, neighbors) = watch::channel(BTreeSet::new());
        let reader = Reader {
            node,
            tally: Tally { first_arrival: vec![None; messages], lagged: 0, foreign: 0 },
            counts,
            progress,
            neighbors: neighbors_tx,
        };
        let task = tokio::spawn(reader.run(events, stop));
        Listener { neighbors, task }
    }

    /// Waits for the task to end (after `stop`) and returns what it saw.
    pub async fn finish(self) -> Result<Tally> {
        self.task.await.context("an event task panicked or was cancelled")?
    }
}

struct Reader {
    node: usize,
    tally: Tally,
    counts: bool,
    progress: Arc<Progress>,
    neighbors: watch::Sender<BTreeSet<EndpointId>>,
}

impl Reader {
    async fn run(
        mut self,
        mut events: GossipReceiver,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Tally> {
        loop {
            tokio::select! {
                stopped = stop.wait_for(|stop| *stop) => {
                    stopped.context("the run dropped its stop signal")?;
                    break;
                }
                event = events.next() => self.handle(event)?,
            }
        }
        // Events already queued when the stop came are still read, so that a `Lagged` the
        // channel reported before the stop is not missed. A zero timeout polls the stream once.
        while let Ok(event) = tokio::time::timeout(Duration::ZERO, events.next()).await {
            self.handle(event)?;
        }
        Ok(self.tally)
    }

    fn handle(&mut self, event: Option<Result<Event, iroh_gossip::api::ApiError>>) -> Result<()> {
        let node = self.node;
        let Some(event) = event else {
            bail!("node {node}'s event stream ended before the run did");
        };
        match event.with_context(|| format!("node {node}'s event stream failed"))? {
            Event::Received(received) => {
                let seen = Instant::now();
                if !self.counts {
                    return Ok(());
                }
                let slot = message::decode(&received.content)
                    .and_then(|index| self.tally.first_arrival.get_mut(index));
                match slot {
                    Some(slot @ None) => {
                        *slot = Some(seen);
                        self.progress.delivered.fetch_add(1, Ordering::Relaxed);
                        self.progress.arrived.notify_one();
                    }
                    // A later arrival of a message already seen: only the first counts.
                    Some(Some(_)) => {}
                    None => self.tally.foreign += 1,
                }
            }
            Event::NeighborUp(peer) => {
                self.neighbors.send_modify(|neighbors| {
                    neighbors.insert(peer);
                });
            }
            Event::NeighborDown(peer) => {
                self.neighbors.send_modify(|neighbors| {
                    neighbors.remove(&peer);
                });
            }
            Event::Lagged => self.tally.lagged += 1,
        }
        Ok(())
    }
}
