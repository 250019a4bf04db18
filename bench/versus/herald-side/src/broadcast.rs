//! The broadcast workload on herald: one origin announces `messages` distinct services, each
//! with a payload of `payload` bytes, all asked for at once, and every other node's event
//! stream says when each arrived. An announcement is herald's signed, flooded record, the unit
//! issue 15's burst measured. Each call returns once the origin committed it; the calls are not
//! waited on one by one, so the offered load is iroh-gossip's, whose `broadcast` returns once
//! the message is queued (a client waiting for each acknowledgement would pace the burst).

use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use herald_node::api::model::{ApiEvent, NodeApi};
use tokio::sync::{broadcast::error::RecvError, watch};
use versus_common::{BroadcastOutcome, BroadcastParams, Meter};

use crate::grid::Grid;

/// The index of the origin node.
const ORIGIN: usize = 0;
/// The prefix of the burst's service names; the rest is the message's index.
const SERVICE_PREFIX: &str = "burst-";

/// Runs the broadcast workload on a fresh grid in a temporary directory.
pub fn broadcast(params: &BroadcastParams) -> Result<BroadcastOutcome> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(run(*params))
}

async fn run(params: BroadcastParams) -> Result<BroadcastOutcome> {
    if params.nodes < 2 {
        bail!("a broadcast needs at least 2 nodes, not {}", params.nodes);
    }
    let root = tempfile::Builder::new().prefix("versus-herald-").tempdir()?;
    let (grid, _) = Grid::start(root.path(), params.nodes, false).await?;
    let everyone: Vec<usize> = (0..params.nodes).collect();
    grid.wait_seen(&everyone, &["alive"], params.deadline, "every node to see every other alive")
        .await?;

    let (stop, stopped) = watch::channel(false);
    let origin_id = grid.ids[ORIGIN].clone();
    let watchers: Vec<_> = grid
        .nodes
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != ORIGIN)
        .filter_map(|(_, node)| node.as_ref())
        .map(|node| {
            let events = node.handle().subscribe();
            tokio::spawn(watch_arrivals(
                events,
                origin_id.clone(),
                params.messages,
                stopped.clone(),
            ))
        })
        .collect();

    let origin = grid.nodes[ORIGIN].as_ref().context("the origin is not running")?.handle().clone();
    let meter = Meter::start()?;
    let mut published = Vec::with_capacity(params.messages);
    let mut calls = Vec::with_capacity(params.messages);
    for index in 0..params.messages {
        let (origin, payload) = (origin.clone(), payload_of(index, params.payload));
        published.push(Instant::now());
        calls.push(tokio::spawn(async move {
            origin.announce(format!("{SERVICE_PREFIX}{index}"), payload, None).await
        }));
    }
    for (index, call) in calls.into_iter().enumerate() {
        call.await
            .context("an announce call failed")?
            .map_err(|error| anyhow!("announcing message {index}: {error}"))?;
    }
    let give_up = tokio::spawn(async move {
        tokio::time::sleep(params.deadline).await;
        stop.send_replace(true);
    });
    let mut latencies_ms = Vec::with_capacity(params.messages * (params.nodes - 1));
    for watcher in watchers {
        let arrivals = watcher.await.context("a watcher failed")??;
        for (index, arrived) in arrivals.iter().enumerate() {
            if let Some(at) = arrived {
                latencies_ms
                    .push(at.saturating_duration_since(published[index]).as_secs_f64() * 1e3);
            }
        }
    }
    let cost = meter.stop()?;
    give_up.abort();
    grid.shutdown().await?;
    Ok(BroadcastOutcome { latencies_ms, expected: params.messages * (params.nodes - 1), cost })
}

/// A JSON object of exactly `bytes` bytes as herald stores it (serde_json's compact form),
/// carrying the message's index; at least the bytes the index needs.
fn payload_of(index: usize, bytes: usize) -> serde_json::Map<String, serde_json::Value> {
    let mut payload = serde_json::Map::new();
    payload.insert("i".into(), index.into());
    payload.insert("fill".into(), String::new().into());
    let overhead = serde_json::Value::Object(payload.clone()).to_string().len();
    payload.insert("fill".into(), "x".repeat(bytes.saturating_sub(overhead)).into());
    payload
}

/// Reads one node's events until every message of the burst from `origin` arrived, or
/// `stopped` says the deadline passed; returns each message's first arrival. Events the stream
/// dropped because this reader lagged never reached the application: their messages count as
/// undelivered, as iroh-gossip's `Lagged` does on its side, and stderr says so.
async fn watch_arrivals(
    mut events: tokio::sync::broadcast::Receiver<ApiEvent>,
    origin: String,
    messages: usize,
    mut stopped: watch::Receiver<bool>,
) -> Result<Vec<Option<Instant>>> {
    let mut arrivals = vec![None; messages];
    let mut missing = messages;
    while missing > 0 {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        match event {
            Ok(ApiEvent::Announcement(view)) if view.origin == origin => {
                let index = view.service.strip_prefix(SERVICE_PREFIX).and_then(|i| i.parse().ok());
                if let Some(slot) = index.and_then(|index: usize| arrivals.get_mut(index))
                    && slot.is_none()
                {
                    *slot = Some(Instant::now());
                    missing -= 1;
                }
            }
            Ok(_) => {}
            Err(RecvError::Lagged(lost)) => {
                eprintln!(
                    "versus: a herald node's event stream lagged and dropped {lost} events; the \
                     messages they held count as undelivered"
                );
            }
            Err(RecvError::Closed) => break,
        }
    }
    Ok(arrivals)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn payloads_have_the_size_asked_for() {
        for bytes in [64, 1024, 4096] {
            let payload = payload_of(123, bytes);
            assert_eq!(serde_json::Value::Object(payload).to_string().len(), bytes);
        }
    }

    #[test]
    fn five_nodes_get_every_message() {
        let params = BroadcastParams {
            nodes: 5,
            messages: 20,
            payload: 1024,
            deadline: Duration::from_secs(30),
        };
        let outcome = broadcast(&params).unwrap();
        assert_eq!(outcome.expected, 80);
        assert_eq!(outcome.latencies_ms.len(), 80, "every (message, node) pair arrives");
        assert!(outcome.latencies_ms.iter().all(|ms| ms.is_finite() && *ms >= 0.0));
    }
}
