//! Forming the topic's overlay: node 0 subscribes alone, then each further node subscribes
//! bootstrapping from a few nodes that already joined and waits for its first neighbor before
//! the next one joins; then the run waits until the overlay is formed.
//!
//! "Formed" means: every node's application has at least one neighbor (`NeighborUp` not
//! followed by `NeighborDown`), and the graph of those neighbor relations, taken as undirected
//! edges, is connected, so a broadcast from any node can reach every node through active
//! views alone. That must hold once, and again after a fixed settle of [`SETTLE`], which lets
//! HyParView's forward-join random walks and neighbor requests (500 ms timeout by default)
//! finish reshaping the active views before the burst starts.

use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use iroh::EndpointId;
use iroh_gossip::{TopicId, api::GossipSender};
use tokio::{sync::watch, time::Instant};

use crate::{
    listen::{Listener, Progress},
    node::Node,
};

/// The topic every node joins.
const TOPIC: [u8; 32] = *b"versus-iroh-broadcast-topic-0001";
/// The settle after the overlay first looks formed.
pub(crate) const SETTLE: Duration = Duration::from_millis(1500);
/// Longest wait for one joining node's first neighbor.
const JOIN_LIMIT: Duration = Duration::from_secs(10);
/// How often the formation check looks at the neighbor sets.
const POLL: Duration = Duration::from_millis(20);

/// The subscriptions of every node, in node order.
pub(crate) struct Overlay {
    pub senders: Vec<GossipSender>,
    pub listeners: Vec<Listener>,
}

/// The nodes node `index` bootstraps from: node 0, the middle of the nodes already joined, and
/// the last one that joined; a few earlier nodes, spread so joins do not all land on node 0.
fn bootstrap_of(index: usize) -> BTreeSet<usize> {
    if index == 0 {
        return BTreeSet::new();
    }
    [0, (index - 1) / 2, index - 1].into_iter().collect()
}

/// Subscribes every node to the topic, one after another (see the module's doc), with a
/// listener per node started at its subscription. Node 0's listener does not count arrivals:
/// node 0 is the origin.
pub(crate) async fn join(
    nodes: &[Node],
    messages: usize,
    progress: &std::sync::Arc<Progress>,
    stop: &watch::Receiver<bool>,
) -> Result<Overlay> {
    let topic = TopicId::from_bytes(TOPIC);
    let mut senders = Vec::with_capacity(nodes.len());
    let mut listeners: Vec<Listener> = Vec::with_capacity(nodes.len());
    for (index, node) in nodes.iter().enumerate() {
        let bootstrap: Vec<EndpointId> =
            bootstrap_of(index).into_iter().map(|earlier| nodes[earlier].id).collect();
        let subscription = node
            .gossip
            .subscribe(topic, bootstrap)
            .await
            .with_context(|| format!("node {index} subscribing to the topic"))?;
        let (sender, events) = subscription.split();
        senders.push(sender);
        let counts = index != 0;
        let listener =
            Listener::spawn(index, events, messages, counts, progress.clone(), stop.clone());
        if index > 0 {
            let mut neighbors = listener.neighbors.clone();
            tokio::time::timeout(JOIN_LIMIT, neighbors.wait_for(|set| !set.is_empty()))
                .await
                .with_context(|| format!("node {index} found no neighbor within {JOIN_LIMIT:?}"))?
                .with_context(|| format!("node {index}'s event task ended while joining"))?;
        }
        listeners.push(listener);
    }
    Ok(Overlay { senders, listeners })
}

/// Waits until the overlay is formed (see the module's doc), at most `limit`.
pub(crate) async fn wait_formed(nodes: &[Node], overlay: &Overlay, limit: Duration) -> Result<()> {
    let give_up = Instant::now() + limit;
    let index_of: HashMap<EndpointId, usize> =
        nodes.iter().enumerate().map(|(index, node)| (node.id, index)).collect();
    loop {
        wait_connected(&index_of, overlay, give_up).await?;
        tokio::time::sleep(SETTLE).await;
        if connected(&index_of, overlay)? {
            return Ok(());
        }
    }
}

async fn wait_connected(
    index_of: &HashMap<EndpointId, usize>,
    overlay: &Overlay,
    give_up: Instant,
) -> Result<()> {
    while !connected(index_of, overlay)? {
        if Instant::now() >= give_up {
            let lonely = overlay
                .listeners
                .iter()
                .filter(|listener| listener.neighbors.borrow().is_empty())
                .count();
            bail!(
                "the overlay did not form in time: {lonely} node(s) without a neighbor, or the \
                 neighbor graph is split"
            );
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

/// Whether every node has a neighbor and the neighbor graph is connected.
fn connected(index_of: &HashMap<EndpointId, usize>, overlay: &Overlay) -> Result<bool> {
    let count = overlay.listeners.len();
    let mut edges = vec![Vec::new(); count];
    for (index, listener) in overlay.listeners.iter().enumerate() {
        if listener.neighbors.has_changed().is_err() {
            bail!("node {index}'s event task ended while the overlay was forming");
        }
        let neighbors = listener.neighbors.borrow();
        if neighbors.is_empty() {
            return Ok(false);
        }
        for peer in neighbors.iter() {
            let &other = index_of.get(peer).with_context(|| {
                format!("node {index} reports a neighbor that is none of the nodes")
            })?;
            edges[index].push(other);
            edges[other].push(index);
        }
    }
    let mut seen = vec![false; count];
    let mut queue = VecDeque::from([0]);
    seen[0] = true;
    while let Some(index) = queue.pop_front() {
        for &other in &edges[index] {
            if !seen[other] {
                seen[other] = true;
                queue.push_back(other);
            }
        }
    }
    Ok(seen.iter().all(|&reached| reached))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_peers_joined_earlier() {
        assert!(bootstrap_of(0).is_empty());
        assert_eq!(bootstrap_of(1), BTreeSet::from([0]));
        assert_eq!(bootstrap_of(2), BTreeSet::from([0, 1]));
        assert_eq!(bootstrap_of(9), BTreeSet::from([0, 4, 8]));
        for index in 1..100 {
            assert!(bootstrap_of(index).iter().all(|&earlier| earlier < index));
        }
    }
}
