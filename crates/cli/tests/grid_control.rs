//! Tahoe grid control between real `herald run` processes: the seed's grid-control document
//! reaches a third node, a stale sequence number is refused, a chain of recommendations is
//! reachable, and a client that follows a grid manager sees exactly the listed servers.

// Shared with grid.rs, which uses all of it.
#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Node, grid, run, wait_for};

/// Time for a record to reach every node of a small grid.
const SPREAD: Duration = Duration::from_secs(30);

/// The seed's document (seed 000), with Bob's real id in place of BOB-PUBKEY.
fn seed_document(bob: &str, seq: u64) -> String {
    format!(
        r#"{{ "service-name": "grid-control",
  "sequence-number": {seq},
  "recommendations": [ {{"who": "{bob}", "petname": "Bob", "what": "send-shares-to"}},
                       {{"who": "{bob}", "petname": "Bob", "what": "accept-shares-from"}} ]
}}"#
    )
}

/// `herald reachable WHAT [--depth N] --json` at `node`.
fn reachable(node: &Node, what: &str, depth: Option<&str>) -> Vec<String> {
    let mut args = vec!["reachable", what, "--json"];
    if let Some(depth) = depth {
        args.extend(["--depth", depth]);
    }
    serde_json::from_str(&node.cli_ok(&args)).expect("reachable JSON")
}

/// The origins of `herald services SERVICE --followed --json` at `node`.
fn followed_origins(node: &Node, service: &str) -> BTreeSet<String> {
    let text = node.cli_ok(&["services", service, "--followed", "--json"]);
    let services: Vec<Value> = serde_json::from_str(&text).expect("services JSON");
    services.iter().filter_map(|view| view["origin"].as_str().map(str::to_owned)).collect()
}

/// Runs a command at `node` that must fail with exit 1; returns its stderr.
fn refused(node: &Node, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--data-dir", node.dir_str()]);
    let output = run(&all);
    assert_eq!(output.status.code(), Some(1), "herald {args:?} should fail with exit 1");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_seeds_document_spreads_stale_numbers_are_refused_and_recommendations_chain() {
    let root = tempfile::tempdir().unwrap();
    let nodes = grid(root.path(), 3);
    let (alice, bob, carol) = (&nodes[0], &nodes[1], &nodes[2]);
    let (bob_id, carol_id) = (bob.id(), carol.id());

    let document = root.path().join("grid-control.json");
    std::fs::write(&document, seed_document(&bob_id, 123)).unwrap();
    let document = document.to_str().unwrap();
    assert_eq!(
        alice.cli_ok(&["announce", "--file", document]),
        "announced grid-control (seq 123)\n"
    );

    // The document reaches the third node whole, under the seed's own field names.
    let alice_id = alice.id();
    let mut seen = Value::Null;
    wait_for("carol to hold alice's grid-control announcement", SPREAD, || {
        seen = carol
            .services("grid-control")
            .into_iter()
            .find(|view| view["origin"] == alice_id.as_str())
            .unwrap_or(Value::Null);
        !seen.is_null()
    });
    assert_eq!(seen["seq"], 123);
    assert_eq!(
        seen["payload"]["recommendations"][0],
        json!({"who": bob_id, "petname": "Bob", "what": "send-shares-to"})
    );

    // A number that is not newer is refused: exit 1 from the CLI, 409 from the API, and the
    // sentence names the number `herald services` shows.
    std::fs::write(root.path().join("stale.json"), seed_document(&bob_id, 122)).unwrap();
    let stale = root.path().join("stale.json");
    let stderr = refused(alice, &["announce", "--file", stale.to_str().unwrap()]);
    assert!(stderr.contains("not newer than the current one, 123"), "{stderr}");
    let url = format!("http://{}/v1/services/grid-control", alice.api());
    let answer =
        ureq::put(&url).send_json(json!({"service-name": "grid-control", "sequence-number": 123}));
    assert!(
        matches!(answer, Err(ureq::Error::StatusCode(409))),
        "the API answers 409 to a stale sequence-number: {answer:?}"
    );

    // alice → bob (from the document) → carol: reachable, and cut at depth 1.
    let answer =
        bob.cli_ok(&["recommend", &carol_id, "send-shares-to", "--petname", "Carol", "--json"]);
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["recommendations"][0]["petname"], "Carol");
    let shown = bob.services("grid-control");
    let bobs = shown.iter().find(|view| view["origin"] == bob_id.as_str()).expect("bob's own");
    assert_eq!(answer["seq"], bobs["seq"], "the answer names the seq the new announcement has");
    wait_for("alice to reach carol through bob", SPREAD, || {
        reachable(alice, "send-shares-to", None) == [bob_id.clone(), carol_id.clone()]
    });
    assert_eq!(reachable(alice, "send-shares-to", Some("1")), [bob_id.as_str()]);
    assert_eq!(reachable(alice, "accept-shares-from", None), [bob_id.as_str()]);

    // A withdrawn recommendation removes its edge everywhere.
    bob.cli_ok(&["unrecommend", &carol_id, "send-shares-to"]);
    wait_for("alice to lose the edge bob withdrew", SPREAD, || {
        reachable(alice, "send-shares-to", None) == [bob_id.clone()]
    });

    // Invalid recommendations are refused with a sentence.
    let stderr = refused(bob, &["recommend", "BOB-PUBKEY", "send-shares-to"]);
    assert!(stderr.contains("who \"BOB-PUBKEY\" is not a node id"), "{stderr}");
    let stderr = refused(bob, &["recommend", &carol_id, ""]);
    assert!(stderr.contains("what must be 1 to 64 bytes"), "{stderr}");
    let stderr = refused(bob, &["unrecommend", &carol_id, "send-shares-to"]);
    assert!(stderr.contains("is not recommended for"), "{stderr}");
}

#[test]
fn a_follower_sees_exactly_the_listed_servers_and_loses_a_removed_one() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = grid(root.path(), 4);
    let ids: Vec<String> = nodes.iter().map(Node::id).collect();
    let (manager, follower) = (&nodes[0], &nodes[3]);

    let made: Value =
        serde_json::from_str(&manager.cli_ok(&["manager", "create", "--json"])).unwrap();
    let key = made["key"].as_str().expect("a manager key").to_owned();
    assert_eq!(made["version"], 1);
    manager.cli_ok(&["manager", "add", &ids[1]]);
    manager.cli_ok(&["manager", "add", &ids[2]]);
    for (index, node) in nodes.iter().enumerate().take(3) {
        node.cli_ok(&["announce", "storage", &format!(r#"{{"furl": "pb://server-{index}"}}"#)]);
    }

    assert!(follower.cli_ok(&["follow", &key]).contains(&key));
    let listed: BTreeSet<String> = [ids[1].clone(), ids[2].clone()].into();
    wait_for("the follower to see the two listed servers", SPREAD, || {
        followed_origins(follower, "storage") == listed
    });
    assert_eq!(follower.services("storage").len(), 3, "unfiltered, the manager's own shows too");

    // An add of a listed server, or a remove of an unlisted one, is refused with a sentence.
    let stderr = refused(manager, &["manager", "add", &ids[1]]);
    assert!(stderr.contains("is on the list already"), "{stderr}");
    let stderr = refused(manager, &["manager", "remove", &ids[3]]);
    assert!(stderr.contains("is not on the list"), "{stderr}");

    // Out of service: every follower stops seeing it.
    manager.cli_ok(&["manager", "remove", &ids[2]]);
    let shown: Value =
        serde_json::from_str(&manager.cli_ok(&["manager", "show", "--json"])).unwrap();
    assert_eq!(shown, json!({"key": key, "version": 4, "servers": [ids[1]]}));
    wait_for("the follower to stop seeing the removed server", SPREAD, || {
        followed_origins(follower, "storage") == [ids[1].clone()].into()
    });

    // A listed server still rewrites its own announcement (self-report).
    nodes[1].cli_ok(&["announce", "storage", r#"{"furl": "pb://moved"}"#]);
    wait_for("the follower to see the server's new address", SPREAD, || {
        let text = follower.cli_ok(&["services", "storage", "--followed", "--json"]);
        text.contains("pb://moved")
    });

    // What the follower acknowledged, its follow, survives kill -9. The lists it relayed may be
    // a commit behind (a relayed record waits up to 100 ms for its commit); its peers hand the
    // newest back.
    let follower_dir = nodes[3].dir.clone();
    nodes[3].kill9();
    let follower = Node::start(&follower_dir, &[]);
    let follows: Value = serde_json::from_str(&follower.cli_ok(&["follow", "--json"])).unwrap();
    assert_eq!(follows[0]["key"], key.as_str(), "{follows}");
    wait_for("the restarted follower to see only the listed server", SPREAD, || {
        followed_origins(&follower, "storage") == [ids[1].clone()].into()
    });
    let stderr = refused(&nodes[0], &["manager", "create"]);
    assert!(stderr.contains("keeps grid-manager key"), "{stderr}");

    // The manager's acknowledged edit survives a kill -9 straight after the answer.
    nodes[0].cli_ok(&["manager", "add", &ids[2]]);
    let manager_dir = nodes[0].dir.clone();
    nodes[0].kill9();
    let manager = Node::start(&manager_dir, &[]);
    let shown: Value =
        serde_json::from_str(&manager.cli_ok(&["manager", "show", "--json"])).unwrap();
    assert_eq!(shown["version"], 5, "{shown}");
    assert_eq!(shown["servers"].as_array().map(Vec::len), Some(2), "{shown}");
}
