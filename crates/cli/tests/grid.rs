//! A real grid of `herald run` processes on 127.0.0.1, driven through the CLI: invitations,
//! announcement spread, kill -9 and failure detection, restart from the store, admission with the
//! creator gone, and outsiders kept out.

mod support;

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::time::Duration;

use support::{Node, grid, run, run_ok, wait_for};

const SPREAD: Duration = Duration::from_secs(30);
const DETECT: Duration = Duration::from_secs(60);

fn everyone_holds(nodes: &[&Node], service: &str, seq_at_least: u64) -> bool {
    nodes.iter().all(|node| {
        node.services(service)
            .iter()
            .any(|view| view["seq"].as_u64().is_some_and(|seq| seq >= seq_at_least))
    })
}

#[test]
fn a_ten_node_grid_spreads_detects_failures_and_survives_restarts() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = grid(root.path(), 10);
    let ids: Vec<String> = nodes.iter().map(Node::id).collect();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 10, "ten distinct node ids");

    // Every node comes to see all ten alive.
    wait_for("every node to see ten alive members", SPREAD, || {
        nodes.iter().all(|node| {
            let members = node.members();
            ids.iter()
                .all(|id| members.iter().any(|m| m["node_id"] == *id && m["state"] == "alive"))
        })
    });

    // An announcement reaches every node.
    let seq: u64 = {
        let out = nodes[3].cli_ok(&["announce", "storage", r#"{"port": 3456}"#, "--json"]);
        let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
        answer["seq"].as_u64().expect("announce prints its seq")
    };
    let all: Vec<&Node> = nodes.iter().collect();
    wait_for("the announcement at every node", SPREAD, || everyone_holds(&all, "storage", seq));

    // Node 7 announces a service of its own; the answer is the acknowledgement.
    let first = nodes[7].cli_ok(&["announce", "mine", r#"{"v": 1}"#, "--json"]);
    let first_seq =
        serde_json::from_str::<serde_json::Value>(&first).unwrap()["seq"].as_u64().unwrap();

    // A burst of announcements from eight concurrent clients, answered by group commits;
    // node 7 is killed the moment the last answer is in.
    let api = nodes[7].api();
    let clients: Vec<_> = (0..8)
        .map(|client| {
            let api = api.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|call| {
                        let service = format!("burst-{client}-{call}");
                        ureq::put(format!("http://{api}/v1/services/{service}"))
                            .send_json(serde_json::json!({ "call": call }))
                            .expect("an announcement in the burst");
                        service
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let acknowledged: Vec<String> =
        clients.into_iter().flat_map(|client| client.join().unwrap()).collect();

    // kill -9 three nodes: the others mark them dead.
    for index in [7, 8, 9] {
        nodes[index].kill9();
    }
    wait_for("three killed nodes dead at every survivor", DETECT, || {
        nodes[..7]
            .iter()
            .all(|node| ids[7..].iter().all(|id| node.state_of(id).as_deref() == Some("dead")))
    });

    // Its store holds its own acknowledged announcement and what it stored from others: checked
    // before the restart, so that peers cannot hand the records back by gossip.
    let stored = nodes[7].stored_services();
    assert!(stored.iter().any(|service| service == "mine"), "kill -9 lost an ack: {stored:?}");
    assert!(stored.iter().any(|service| service == "storage"), "{stored:?}");
    let lost: Vec<&String> =
        acknowledged.iter().filter(|service| !stored.contains(service)).collect();
    assert_eq!(acknowledged.len(), 40);
    assert!(lost.is_empty(), "kill -9 lost acknowledged announcements of the burst: {lost:?}");

    // A restarted node is alive again, keeps its records, and its sequence numbers go on.
    nodes[7] = Node::start(&nodes[7].dir.clone(), &[]);
    assert!(!nodes[7].services("storage").is_empty(), "a restarted node keeps its records");
    assert!(!nodes[7].services("mine").is_empty(), "an acknowledged announcement survives kill -9");
    wait_for("the restarted node alive at every survivor", DETECT, || {
        nodes[..7].iter().all(|node| node.state_of(&ids[7]).as_deref() == Some("alive"))
    });
    let second = nodes[7].cli_ok(&["announce", "mine", r#"{"v": 2}"#, "--json"]);
    let second_seq =
        serde_json::from_str::<serde_json::Value>(&second).unwrap()["seq"].as_u64().unwrap();
    assert!(
        second_seq > first_seq,
        "sequence numbers never go back: {second_seq} after {first_seq}"
    );

    // The creator is stopped; another server still admits a newcomer.
    let code = nodes[1].cli_ok(&["invite", "--role", "client"]);
    assert!(nodes[0].terminate(), "SIGTERM exits 0");
    let newcomer_dir = root.path().join("newcomer");
    run_ok(&["join", code.trim(), "--data-dir", newcomer_dir.to_str().unwrap()]);
    let newcomer = Node::start(&newcomer_dir, &[]);
    let newcomer_id = newcomer.id();
    wait_for("the newcomer alive at node 1", DETECT, || {
        nodes[1].state_of(&newcomer_id).as_deref() == Some("alive")
    });
    wait_for("node 0 seen as left after SIGTERM", DETECT, || {
        nodes[1].state_of(&ids[0]).as_deref() == Some("left")
    });

    // A node of another grid, pointed at this one, never appears in its members.
    let stranger_dir = root.path().join("stranger");
    let stranger_peer = nodes[1].listen();
    let stranger = Node::start(&stranger_dir, &["--peer", &stranger_peer]);
    let stranger_id = stranger.id();
    // It did knock: node 1 refused its certificate in the handshake.
    wait_for("node 1 to refuse the stranger's handshake", SPREAD, || {
        let stats: serde_json::Value =
            serde_json::from_str(&nodes[1].cli_ok(&["stats", "--json"])).unwrap();
        stats["transport"]["handshake_failures"].as_u64().unwrap_or(0) >= 1
    });

    // Thousands of random datagrams at a peer port leave the grid working.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = nodes[2].listen();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for index in 0..5_000u32 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let length = 1 + (state % 1_400) as usize;
        let datagram: Vec<u8> =
            (0..length).map(|i| (state >> (i % 56)) as u8 ^ index as u8).collect();
        let _ = socket.send_to(&datagram, &target);
    }
    let after = nodes[2].cli_ok(&["announce", "after-noise", r#"{"ok": true}"#, "--json"]);
    let after_seq =
        serde_json::from_str::<serde_json::Value>(&after).unwrap()["seq"].as_u64().unwrap();
    let live: Vec<&Node> = nodes[1..7].iter().collect();
    wait_for("an announcement after the noise at every live node", SPREAD, || {
        everyone_holds(&live, "after-noise", after_seq)
    });
    std::thread::sleep(Duration::from_secs(3));
    for node in &live {
        assert!(
            node.state_of(&stranger_id).is_none(),
            "a node of another grid appeared in the members of {}",
            node.dir.display()
        );
    }
    drop(stranger);
}

#[test]
fn spent_tampered_and_expired_invitations_are_refused_with_status_1() {
    let root = tempfile::tempdir().unwrap();
    let node = Node::start(&root.path().join("creator"), &[]);
    let code = node.cli_ok(&["invite"]).trim().to_owned();
    let dir = |name: &str| root.path().join(name).to_str().unwrap().to_owned();

    run_ok(&["join", &code, "--data-dir", &dir("first")]);
    let spent = run(&["join", &code, "--data-dir", &dir("second")]);
    assert_eq!(spent.status.code(), Some(1));
    let message = String::from_utf8_lossy(&spent.stderr);
    assert!(message.contains("used up"), "spent: {message}");
    assert_eq!(message.trim().lines().count(), 1, "one sentence: {message}");

    let mut tampered: Vec<char> = node.cli_ok(&["invite"]).trim().chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'a' { 'b' } else { 'a' };
    let tampered: String = tampered.into_iter().collect();
    let refused = run(&["join", &tampered, "--data-dir", &dir("third")]);
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("damaged") || message.contains("tampered"), "tampered: {message}");
    assert!(!message.contains("panicked"), "{message}");

    let short = node.cli_ok(&["invite", "--expires", "1s"]).trim().to_owned();
    std::thread::sleep(Duration::from_millis(1_500));
    let expired = run(&["join", &short, "--data-dir", &dir("fourth")]);
    assert_eq!(expired.status.code(), Some(1));
    let message = String::from_utf8_lossy(&expired.stderr);
    assert!(message.contains("expired"), "expired: {message}");

    let garbage = run(&["join", "not-a-code", "--data-dir", &dir("fifth")]);
    assert_eq!(garbage.status.code(), Some(1));
}

#[test]
fn an_unreachable_contact_list_is_one_clear_sentence() {
    let root = tempfile::tempdir().unwrap();
    let mut node = Node::start(&root.path().join("creator"), &[]);
    let code = node.cli_ok(&["invite"]).trim().to_owned();
    node.kill9();
    let joined = run(&["join", &code, "--data-dir", root.path().join("late").to_str().unwrap()]);
    assert_eq!(joined.status.code(), Some(1));
    let message = String::from_utf8_lossy(&joined.stderr);
    assert!(
        message.contains("no server listed in the invitation admitted this node (1 tried)"),
        "{message}"
    );
}

#[test]
fn a_second_process_on_one_data_directory_fails_at_once() {
    let root = tempfile::tempdir().unwrap();
    let node = Node::start(&root.path().join("only"), &[]);
    let second = run(&[
        "run",
        "--data-dir",
        node.dir_str(),
        "--listen",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
    ]);
    assert_eq!(second.status.code(), Some(1));
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(message.contains("in use by another herald process"), "{message}");
}

#[test]
fn the_api_answers_bad_json_400_oversized_bodies_413_and_stale_sequence_numbers_409() {
    use std::io::{Read, Write};
    let root = tempfile::tempdir().unwrap();
    let node = Node::start(&root.path().join("api"), &[]);
    let request = |body: &[u8]| -> String {
        let mut stream = std::net::TcpStream::connect(node.api()).unwrap();
        let head = format!(
            "PUT /v1/services/x HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let _ = stream.write_all(body);
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    };
    let bad = request(b"{not json");
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    assert!(bad.contains("\"error\"") && bad.contains("\"code\""), "{bad}");
    let big = request(&vec![b' '; 2 * 1024 * 1024]);
    assert!(big.starts_with("HTTP/1.1 413"), "{big}");
    // The grid-control rule: a sequence number that is not newer is a conflict.
    let document = br#"{"service-name": "x", "sequence-number": 5}"#;
    let first = request(document);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let again = request(document);
    assert!(again.starts_with("HTTP/1.1 409") && again.contains("stale"), "{again}");
}

#[test]
fn run_as_a_client_on_an_empty_directory_is_refused_before_anything_is_written() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("empty");
    let dir = dir.to_str().unwrap();
    let refused = run(&["run", "--role", "client", "--data-dir", dir, "--listen", "127.0.0.1:0"]);
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("herald join CODE"), "{message}");
    // No grid was made: the directory can still create or join one.
    run_ok(&["grid", "create", "--data-dir", dir]);
}

#[test]
fn client_commands_find_the_node_through_herald_data_dir() {
    let root = tempfile::tempdir().unwrap();
    let node = Node::start(&root.path().join("env"), &[]);
    let status = support::herald()
        .args(["status", "--json"])
        .env("HERALD_DATA_DIR", node.dir_str())
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["node_id"], node.id().as_str());
}
