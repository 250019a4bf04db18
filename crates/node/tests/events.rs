//! The event stream of a real node: what `GET /v1/events` carries, event by event as each
//! lands.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use herald_node::api::model::{ApiEvent, NodeApi};
use herald_node::{NodeOptions, RunningNode};

#[tokio::test(flavor = "multi_thread")]
async fn an_announcement_and_its_withdrawal_are_events_of_their_own_kinds() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let mut options = NodeOptions::new(root.path().join("node"));
    options.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    options.http = None;
    options.client_port = None;
    let node = RunningNode::start(options).await.expect("starting a node");
    let mut events = node.handle().subscribe();
    let mut payload = serde_json::Map::new();
    payload.insert("port".into(), 80.into());
    node.handle().announce("web".into(), payload, None).await.expect("announcing");
    node.handle().withdraw("web".into()).await.expect("withdrawing");

    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("an event within 10 s")
            .expect("the stream is open");
        let name = event.name();
        if let ApiEvent::Announcement(view) | ApiEvent::Withdrawal(view) = event
            && view.service == "web"
        {
            seen.push((name, view.payload));
        }
    }
    assert_eq!(seen[0].0, "announcement");
    assert_eq!(seen[0].1["port"], 80);
    assert_eq!(seen[1].0, "withdrawal");
    assert!(seen[1].1.is_null(), "a withdrawal carries no payload");
    node.shutdown().await.expect("stopping");
}
