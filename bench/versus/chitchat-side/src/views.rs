//! What the nodes know, read every [`POLL`] from each running node's state under its lock:
//! how many hold every node live, and how many hold a stopped node dead.
//!
//! "Live" is `Chitchat::live_nodes()`: the node itself plus the failure detector's live set,
//! the same set chitchat publishes through `live_nodes_watcher` (no extra liveness predicate
//! is configured). "Dead" is `Chitchat::dead_nodes()`: the failure detector's dead set, which a
//! node enters when its phi value passes the threshold and which it leaves only for the live
//! set; a node is counted as holding the victim dead when the victim is in its dead set and not
//! in its live set. Both sets change only when a node ends one of its gossip rounds
//! (`Chitchat::update_nodes_liveness`, called at the end of `gossip_multiple` in
//! `src/server.rs`), so views move in steps of a gossip round.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chitchat::ChitchatId;

use crate::cluster::Cluster;

/// How often views are read. Times that come from polls are late by up to this much.
pub(crate) const POLL: Duration = Duration::from_millis(25);

/// How many running nodes hold every node of the run (themselves included) live.
pub(crate) async fn seeing_everyone(cluster: &Cluster) -> usize {
    let everyone: HashSet<&ChitchatId> = cluster.ids.iter().collect();
    let mut count = 0;
    for (_, handle) in cluster.running() {
        let chitchat = handle.chitchat();
        let chitchat = chitchat.lock().await;
        let live = chitchat.live_nodes().filter(|id| everyone.contains(id)).count();
        if live == everyone.len() {
            count += 1;
        }
    }
    count
}

/// How many running nodes hold `victim` dead: in their dead set, not in their live set.
pub(crate) async fn holding_dead(cluster: &Cluster, victim: &ChitchatId) -> usize {
    let mut count = 0;
    for (_, handle) in cluster.running() {
        let chitchat = handle.chitchat();
        let chitchat = chitchat.lock().await;
        let dead = chitchat.dead_nodes().any(|id| id == victim);
        let live = chitchat.live_nodes().any(|id| id == victim);
        if dead && !live {
            count += 1;
        }
    }
    count
}

/// Reads `count` every [`POLL`] from `since` on until it reaches `target`, and returns the
/// moment it did; fails after `deadline` with how far it got, e.g. "convergence: after 60 s,
/// 97 of 100 nodes saw everyone".
pub(crate) async fn wait_until(
    since: Instant,
    deadline: Duration,
    target: usize,
    what: &str,
    reached: &str,
    mut count: impl AsyncFnMut() -> usize,
) -> Result<Instant> {
    let mut ticks = tokio::time::interval(POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let got = count().await;
        let now = Instant::now();
        if got >= target {
            return Ok(now);
        }
        let waited = now.duration_since(since);
        if waited >= deadline {
            bail!("{what}: after {:.1} s, {got} of {target} {reached}", waited.as_secs_f64());
        }
    }
}
