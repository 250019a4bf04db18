//! iroh-gossip's side of the broadcast comparison: `nodes` iroh endpoints in this process on
//! loopback, each with its own iroh-gossip instance in its default configuration, joined to
//! one topic; node 0 broadcasts a burst of `messages` messages of `payload` bytes back to back
//! and every other node's application records when each message first arrived.
//!
//! No relay, no address lookup beyond an in-memory table of the nodes' loopback addresses:
//! nothing leaves the machine (see `node.rs`). The run's steps, in order: start the nodes
//! (`node.rs`), subscribe them one by one and wait for the overlay to form (`overlay.rs`), then
//! the measured burst (here), with per-node event tasks recording arrivals (`listen.rs`), and
//! last a clean shutdown of every node, also when the run failed.

mod listen;
mod message;
mod node;
mod overlay;

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use iroh::address_lookup::memory::MemoryLookup;
use tokio::sync::watch;
use versus_common::{BroadcastOutcome, BroadcastParams, Meter};

use crate::{
    listen::{Progress, Tally},
    node::Node,
    overlay::Overlay,
};

/// The index of the node that broadcasts.
const ORIGIN: usize = 0;
/// How long the runtime may take to wind down its last tasks once the nodes are shut down.
const RUNTIME_WIND_DOWN: Duration = Duration::from_secs(5);

/// Runs the broadcast workload on a fresh set of iroh-gossip nodes and shuts them down.
pub fn broadcast(params: &BroadcastParams) -> Result<BroadcastOutcome> {
    if params.nodes < 2 {
        bail!("a broadcast needs at least 2 nodes, not {}", params.nodes);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(run(*params));
    runtime.shutdown_timeout(RUNTIME_WIND_DOWN);
    outcome
}

/// Starts the nodes, runs the workload, and shuts every node down whatever the outcome.
async fn run(params: BroadcastParams) -> Result<BroadcastOutcome> {
    let lookup = MemoryLookup::new();
    let mut nodes = Vec::with_capacity(params.nodes);
    let mut started = Ok(());
    for index in 0..params.nodes {
        match Node::start(&lookup).await.with_context(|| format!("starting node {index}")) {
            Ok(node) => nodes.push(node),
            Err(error) => {
                started = Err(error);
                break;
            }
        }
    }
    let outcome = match started {
        Ok(()) => measure(&nodes, params).await,
        Err(error) => Err(error),
    };
    let shut = node::shutdown_all(nodes).await;
    let outcome = outcome?;
    shut?;
    Ok(outcome)
}

/// Forms the overlay, then broadcasts the burst and collects the arrivals.
async fn measure(nodes: &[Node], params: BroadcastParams) -> Result<BroadcastOutcome> {
    message::check_payload(params.payload, nodes[ORIGIN].gossip.max_message_size())?;
    let expected = params.messages * (params.nodes - 1);
    let progress = Arc::new(Progress::default());
    let (stop, stopped) = watch::channel(false);

    let overlay = overlay::join(nodes, params.messages, &progress, &stopped).await?;
    let formation_limit = Duration::from_secs(30) + Duration::from_millis(200) * nodes.len() as u32;
    let burst = match overlay::wait_formed(nodes, &overlay, formation_limit).await {
        Ok(()) => publish_and_wait(&overlay, &progress, params, expected).await,
        Err(error) => Err(error),
    };
    // Stop the event tasks in every case, and read what they saw.
    stop.send_replace(true);
    let Overlay { senders, listeners } = overlay;
    let mut tallies = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        tallies.push(listener.finish().await.with_context(|| format!("node {index}'s events")));
    }
    drop(senders);
    let (published, cutoff, cost) = burst?;
    let tallies: Vec<Tally> = tallies.into_iter().collect::<Result<_>>()?;
    let latencies_ms = latencies(&published, &tallies, cutoff)?;
    Ok(BroadcastOutcome { latencies_ms, expected, cost })
}

/// The measured part: publishes the burst from the origin, then waits until every expected
/// delivery arrived or `params.deadline` passed after the last publication. Returns when each
/// message was handed to the origin, the instant the wait ended, and the phase's cost.
async fn publish_and_wait(
    overlay: &Overlay,
    progress: &Progress,
    params: BroadcastParams,
    expected: usize,
) -> Result<(Vec<Instant>, Instant, versus_common::PhaseCost)> {
    let origin = &overlay.senders[ORIGIN];
    let mut published = Vec::with_capacity(params.messages);
    let meter = Meter::start()?;
    for index in 0..params.messages {
        let content = message::encode(index, params.payload);
        published.push(Instant::now());
        origin
            .broadcast(content.into())
            .await
            .with_context(|| format!("the origin broadcasting message {index}"))?;
    }
    let give_up = tokio::time::Instant::now() + params.deadline;
    loop {
        // Registered before the count is read, so an arrival between the two is not missed.
        let arrived = progress.arrived.notified();
        if progress.delivered.load(Ordering::Relaxed) >= expected {
            break;
        }
        tokio::select! {
            () = arrived => {}
            () = tokio::time::sleep_until(give_up) => break,
        }
    }
    let cutoff = Instant::now();
    let cost = meter.stop()?;
    Ok((published, cutoff, cost))
}

/// Every (message, receiving node) latency that arrived by `cutoff`, in milliseconds. A
/// `Lagged` report means iroh-gossip dropped events between its gossip actor and the
/// application: those messages never reached the application, so they count as undelivered,
/// and stderr says how often it happened where.
fn latencies(published: &[Instant], tallies: &[Tally], cutoff: Instant) -> Result<Vec<f64>> {
    let lagged: Vec<String> = tallies
        .iter()
        .enumerate()
        .filter(|(_, tally)| tally.lagged > 0)
        .map(|(index, tally)| format!("node {index} ×{}", tally.lagged))
        .collect();
    let foreign: usize = tallies.iter().map(|tally| tally.foreign).sum();
    let mut latencies_ms = Vec::new();
    for tally in tallies.iter().skip(ORIGIN + 1) {
        for (index, arrival) in tally.first_arrival.iter().enumerate() {
            let Some(arrival) = arrival.filter(|arrival| *arrival <= cutoff) else {
                continue;
            };
            let publication = published
                .get(index)
                .with_context(|| format!("message {index} arrived but was never published"))?;
            let latency = arrival
                .checked_duration_since(*publication)
                .with_context(|| format!("message {index} arrived before it was published"))?;
            latencies_ms.push(latency.as_secs_f64() * 1e3);
        }
    }
    if !lagged.is_empty() {
        eprintln!(
            "versus: iroh-gossip reported Lagged (its subscriber channel dropped events before \
             the application saw them) on {}; the messages they held count as undelivered",
            lagged.join(", ")
        );
    }
    if foreign > 0 {
        bail!("{foreign} received message(s) carried no index of the burst");
    }
    Ok(latencies_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(first_arrival: Vec<Option<Instant>>, lagged: usize) -> Tally {
        Tally { first_arrival, lagged, foreign: 0 }
    }

    #[test]
    fn latencies_count_arrivals_by_the_cutoff_and_skip_the_origin() {
        let start = Instant::now();
        let at = |ms| Some(start + Duration::from_millis(ms));
        let published = [start, start + Duration::from_millis(10)];
        let tallies = [
            tally(vec![at(1), at(11)], 0),
            tally(vec![at(5), None], 0),
            tally(vec![at(7), at(500)], 0),
        ];
        let latencies =
            latencies(&published, &tallies, start + Duration::from_millis(100)).unwrap();
        assert_eq!(latencies, [5.0, 7.0]);
    }

    #[test]
    fn a_lagged_subscribers_lost_events_are_undelivered() {
        let start = Instant::now();
        let tallies = [tally(vec![None, None], 0), tally(vec![Some(start), None], 1)];
        let latencies = latencies(&[start, start], &tallies, start).unwrap();
        assert_eq!(latencies, [0.0], "only the message that reached the application counts");
    }
}
