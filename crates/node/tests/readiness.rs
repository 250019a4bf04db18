//! Readiness on real nodes: a joined node becomes ready once it has caught up, and a node whose
//! stored contacts are all down stays not ready and says why.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use herald_node::api::model::{InvitationRequest, NodeApi, StatusView};
use herald_node::join::{JoinOptions, join};
use herald_node::{NodeOptions, RunningNode};

async fn start(dir: &Path) -> RunningNode {
    let mut options = NodeOptions::new(dir.to_owned());
    options.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    options.http = None;
    options.client_port = None;
    RunningNode::start(options).await.expect("starting a node")
}

async fn status(node: &RunningNode) -> StatusView {
    node.handle().status().await.expect("a status")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_is_ready_once_caught_up_and_says_why_it_is_not() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let first = start(&root.path().join("node-0")).await;
    assert!(status(&first).await.ready, "the grid's first node has nobody to catch up with");
    let request = InvitationRequest { role: Some("server".into()), uses: Some(1), expires_s: None };
    let code = first.handle().invite(request).await.expect("an invitation").code;
    let second_dir = root.path().join("node-1");
    join(&code, &JoinOptions { data_dir: second_dir.clone(), name: None }).await.expect("joining");

    let second = start(&second_dir).await;
    let started = Instant::now();
    loop {
        let view = status(&second).await;
        if view.ready {
            assert_eq!(view.not_ready_reason, None);
            break;
        }
        assert!(view.not_ready_reason.is_some(), "a node that is not ready says why");
        assert!(started.elapsed() < Duration::from_secs(30), "not ready after 30 s: {view:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Caught up means anti-entropy rounds ran; the overlay names their partner, newest first.
    let overlay = second.handle().overlay().await.expect("the overlay");
    let rounds = overlay["anti_entropy"].as_array().expect("anti-entropy partners");
    assert!(!rounds.is_empty(), "{overlay}");
    let numbers: Vec<u64> = rounds.iter().filter_map(|round| round["round"].as_u64()).collect();
    assert_eq!(numbers.len(), rounds.len(), "{overlay}");
    assert!(numbers.windows(2).all(|pair| pair[0] > pair[1]), "newest first: {overlay}");
    let first_id = first.id.to_string();
    assert!(rounds.iter().all(|round| round["partner"] == first_id.as_str()), "{overlay}");

    // Both stop; the joined node comes back alone, and its only contact is down.
    second.shutdown().await.expect("stopping node 1");
    first.shutdown().await.expect("stopping node 0");
    let alone = start(&second_dir).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let view = status(&alone).await;
    assert!(!view.ready, "{view:?}");
    let reason = view.not_ready_reason.expect("a reason");
    assert!(reason.contains("none of the 1 stored contacts has answered"), "{reason}");
    alone.shutdown().await.expect("stopping");
}
