//! A crash ([`RunningNode::crash`], the demo's `kill -9`) on real nodes over QUIC on 127.0.0.1:
//! it tells the peers nothing, so they find it by probing. (That a clean shutdown's closed
//! connections are heard at once is tested on the transport, in `transport.rs`.)
//!
//! The silence is observed in the survivors' overlay: a connection that a peer closes, or loses,
//! makes the transport report the peer down, and the overlay drops it from the active view
//! within milliseconds. Nothing else removes a neighbour from a three-node grid's active view
//! that quickly: a failed probe only starts a suspicion, which lasts at least a second.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use herald_node::api::model::{InvitationRequest, NodeApi};
use herald_node::join::{JoinOptions, join};
use herald_node::{NodeOptions, RunningNode};

/// How long after a crash every survivor must still count the crashed node as a neighbour.
/// A closed connection is noticed within a few milliseconds on loopback.
const SILENT_FOR: Duration = Duration::from_millis(500);
/// How long anything below may take; the failure detector needs about 2–10 s.
const PATIENCE: Duration = Duration::from_secs(60);

/// Starts node `index` under `root` on a free loopback port, with an API if `http`.
async fn start(root: &Path, index: usize, http: bool) -> RunningNode {
    let mut options = NodeOptions::new(root.join(format!("node-{index}")));
    options.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    options.http = http.then(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    options.name = Some(format!("node-{index}"));
    RunningNode::start(options).await.expect("starting a node")
}

/// A grid of `count` nodes joined by one invitation, every node seeing every other alive and
/// as a neighbour. Only the last node serves an API.
async fn grid(root: &Path, count: usize) -> Vec<RunningNode> {
    let mut nodes = vec![start(root, 0, false).await];
    let request = InvitationRequest {
        role: Some("server".into()),
        uses: Some(count as u32),
        expires_s: Some(600),
    };
    let code = nodes[0].handle().invite(request).await.expect("an invitation").code;
    for index in 1..count {
        let options = JoinOptions { data_dir: root.join(format!("node-{index}")), name: None };
        join(&code, &options).await.expect("joining");
        nodes.push(start(root, index, index == count - 1).await);
    }
    let ids: Vec<String> = nodes.iter().map(|node| node.id.to_string()).collect();
    let started = Instant::now();
    loop {
        let mut settled = true;
        for node in &nodes {
            settled &= sees(node, &ids, "alive").await && neighbours(node, &ids).await;
        }
        if settled {
            return nodes;
        }
        assert!(started.elapsed() < PATIENCE, "the grid did not settle within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `node` sees every other node of `ids` in `state`.
async fn sees(node: &RunningNode, ids: &[String], state: &str) -> bool {
    let members = node.handle().members().await.expect("members");
    let own = node.id.to_string();
    ids.iter()
        .filter(|id| **id != own)
        .all(|id| members.iter().any(|member| member.node_id == *id && member.state == state))
}

/// Whether every other node of `ids` is in `node`'s active view.
async fn neighbours(node: &RunningNode, ids: &[String]) -> bool {
    let overlay = node.handle().overlay().await.expect("overlay");
    let active = overlay["active"].as_array().expect("an active view");
    let own = node.id.to_string();
    ids.iter().filter(|id| **id != own).all(|id| active.iter().any(|member| member == id))
}

/// Polls until every node of `observers` sees `ids` in `state`; returns how long that took.
async fn until_all_see(observers: &[RunningNode], ids: &[String], state: &str) -> Duration {
    let started = Instant::now();
    loop {
        let mut seen = true;
        for node in observers {
            seen &= sees(node, ids, state).await;
        }
        if seen {
            return started.elapsed();
        }
        assert!(started.elapsed() < PATIENCE, "not every node saw {ids:?} {state} in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_node_tells_no_peer_and_is_found_dead_by_probing() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let mut nodes = grid(root.path(), 3).await;
    let victim = nodes.pop().expect("three nodes");
    let (id, http) = (victim.id.to_string(), victim.http_addr.expect("the last node has an API"));
    victim.crash().await;
    let crashed_at = Instant::now();

    while crashed_at.elapsed() < SILENT_FOR {
        for node in &nodes {
            assert!(
                neighbours(node, std::slice::from_ref(&id)).await,
                "{} dropped the crashed node {:?} after the crash: it was told",
                node.id,
                crashed_at.elapsed()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        tokio::net::TcpStream::connect(http).await.is_err(),
        "the crashed node's API still accepts connections"
    );
    let dead = until_all_see(&nodes, &[id], "dead").await;
    eprintln!("the crashed node was dead to both survivors {dead:?} after the crash");
    for node in nodes {
        node.shutdown().await.expect("a clean shutdown");
    }
}
