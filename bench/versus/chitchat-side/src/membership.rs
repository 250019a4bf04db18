//! The membership workload on chitchat: all nodes start at once, each knowing node 0; the run
//! times full views, measures idle traffic, then stops one node dead and times until every
//! survivor holds it dead.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use chitchat::ProtocolVersion;
use versus_common::{MembershipOutcome, MembershipParams, Meter};

use crate::cluster::Cluster;
use crate::config::DEFAULT_PROTOCOL_VERSION;
use crate::views::{holding_dead, seeing_everyone, wait_until};

/// How long the runtime may take to wind down once the run is over.
const RUNTIME_GRACE: Duration = Duration::from_secs(5);

/// Runs the membership workload on `params.nodes` chitchat nodes gossiping every
/// `gossip_interval`, in a tokio runtime of its own that is shut down before returning.
///
/// Views are polled every 25 ms (`POLL` in `views.rs`), so `converge_s` and `detect_s` are
/// late by up to that much. The node stopped is the last one, never node 0 (the seed).
pub fn membership(
    params: &MembershipParams,
    gossip_interval: Duration,
) -> Result<MembershipOutcome> {
    membership_with(params, gossip_interval, DEFAULT_PROTOCOL_VERSION)
}

/// [`membership`] with the digest wire format chosen, for comparing chitchat's two formats.
pub(crate) fn membership_with(
    params: &MembershipParams,
    gossip_interval: Duration,
    protocol_version: ProtocolVersion,
) -> Result<MembershipOutcome> {
    if params.nodes < 2 {
        bail!("the membership workload needs at least 2 nodes, not {}", params.nodes);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let outcome = runtime.block_on(async {
        let (mut cluster, started) =
            Cluster::start(params.nodes, gossip_interval, protocol_version).await?;
        let outcome = run(&mut cluster, params, started).await;
        let shutdown = cluster.shutdown().await.context("shutting the nodes down");
        // The run's own failure says more than one that follows from it.
        let outcome = outcome?;
        shutdown?;
        Ok(outcome)
    });
    // Anything still running (every node, when the run failed) is dropped here.
    runtime.shutdown_timeout(RUNTIME_GRACE);
    outcome
}

/// The phases of the run, from the moment the last node was started.
async fn run(
    cluster: &mut Cluster,
    params: &MembershipParams,
    started: std::time::Instant,
) -> Result<MembershipOutcome> {
    let nodes = params.nodes;
    let converged = wait_until(
        started,
        params.deadline,
        nodes,
        "no convergence",
        "nodes saw everyone",
        async || seeing_everyone(cluster).await,
    )
    .await?;
    let converge_s = converged.duration_since(started).as_secs_f64();

    tokio::time::sleep(params.settle).await;
    let meter = Meter::start()?;
    tokio::time::sleep(params.idle_window).await;
    let idle = meter.stop()?;

    let victim_index = nodes - 1;
    let victim = cluster.ids[victim_index].clone();
    let crashed = cluster.crash(victim_index).await?;
    let detected = wait_until(
        crashed,
        params.deadline,
        nodes - 1,
        "no detection",
        &format!("survivors held node {victim_index} dead"),
        async || holding_dead(cluster, &victim).await,
    )
    .await?;
    let detect_s = detected.duration_since(crashed).as_secs_f64();
    Ok(MembershipOutcome { converge_s, detect_s, idle })
}
