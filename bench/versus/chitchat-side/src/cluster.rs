//! The nodes of one run: started on free loopback ports with node 0 as everyone's seed, one of
//! them stopped dead without a word, the rest shut down at the end.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chitchat::transport::UdpTransport;
use chitchat::{ChitchatHandle, ChitchatId, ProtocolVersion, spawn_chitchat};

use crate::config::node_config;

/// Attempts at binding one node before giving up: a port found free may be taken by another
/// process before chitchat binds it.
const BIND_ATTEMPTS: usize = 5;

/// How long a stopped node's task may take to end once aborted.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The running nodes of a run, by index; node 0 is every node's seed.
pub(crate) struct Cluster {
    /// Every node's id, stopped ones included.
    pub(crate) ids: Vec<ChitchatId>,
    /// Every node's handle; `None` once stopped.
    handles: Vec<Option<ChitchatHandle>>,
}

impl Cluster {
    /// Starts `nodes` nodes one right after the other, node 0 first; returns them and the
    /// moment the last one was started.
    pub(crate) async fn start(
        nodes: usize,
        gossip_interval: Duration,
        protocol_version: ProtocolVersion,
    ) -> Result<(Cluster, Instant)> {
        let mut cluster = Cluster { ids: Vec::with_capacity(nodes), handles: Vec::new() };
        let mut seed = None;
        for index in 0..nodes {
            let handle = start_node(index, seed, gossip_interval, protocol_version).await?;
            let id = handle.chitchat_id().clone();
            seed.get_or_insert(id.gossip_advertise_addr);
            cluster.ids.push(id);
            cluster.handles.push(Some(handle));
        }
        Ok((cluster, Instant::now()))
    }

    /// The nodes still running, with their indices.
    pub(crate) fn running(&self) -> impl Iterator<Item = (usize, &ChitchatHandle)> {
        self.handles
            .iter()
            .enumerate()
            .filter_map(|(index, handle)| Some((index, handle.as_ref()?)))
    }

    /// Stops node `index` as `kill -9` would: its task is aborted, so it sends nothing more and
    /// says no goodbye (chitchat has no leave message anyway), and its socket is closed. Returns
    /// the moment of the abort.
    pub(crate) async fn crash(&mut self, index: usize) -> Result<Instant> {
        let handle = self
            .handles
            .get_mut(index)
            .and_then(Option::take)
            .with_context(|| format!("node {index} is not running"))?;
        let ended = handle.termination_watcher();
        let crashed = Instant::now();
        handle.abort();
        // An aborted task ends at its next await point; wait for it, so the node is surely
        // silent from here on. The watcher reports the abort as an error, which is expected.
        if tokio::time::timeout(STOP_GRACE, ended).await.is_err() {
            bail!("node {index} was still running {} s after it was aborted", STOP_GRACE.as_secs());
        }
        Ok(crashed)
    }

    /// Shuts every running node down and waits for each to end; reports the first node whose
    /// server had failed.
    pub(crate) async fn shutdown(self) -> Result<()> {
        let mut first_error = None;
        for (index, handle) in self.handles.into_iter().enumerate() {
            let Some(handle) = handle else { continue };
            if let Err(error) = handle.shutdown().await {
                first_error.get_or_insert(error.context(format!("node {index}")));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Starts node `index` on a free port of 127.0.0.1, with `seed` as its seed (itself, for node
/// 0), trying again on another port if the one found free is taken meanwhile.
async fn start_node(
    index: usize,
    seed: Option<SocketAddr>,
    gossip_interval: Duration,
    protocol_version: ProtocolVersion,
) -> Result<ChitchatHandle> {
    let mut last_error = anyhow!("no attempt made");
    for _ in 0..BIND_ATTEMPTS {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_udp_port()?));
        // Generation 0: no node of a run ever restarts.
        let id = ChitchatId::new(format!("node-{index}"), 0, addr);
        let config = node_config(id, seed.unwrap_or(addr), gossip_interval, protocol_version);
        match spawn_chitchat(config, Vec::new(), &UdpTransport).await {
            Ok(handle) => return Ok(handle),
            Err(error) => last_error = error,
        }
    }
    Err(last_error.context(format!("starting node {index} ({BIND_ATTEMPTS} attempts)")))
}

/// A UDP port of 127.0.0.1 free at the time of asking. chitchat binds the address it
/// advertises, so the port must be known before the node starts: port 0 would leave the node
/// advertising port 0.
fn free_udp_port() -> Result<u16> {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .context("binding a UDP socket to find a free port")?;
    Ok(socket.local_addr().context("reading a UDP socket's address")?.port())
}
