//! The group commands (`groups`, `group`, `publish`, `subscribe`, `topology`) run as `herald`
//! processes against the real API router over the fake node on a loopback port: exact outputs,
//! exit statuses, and the bytes the node received. Every process runs under a time limit and
//! is killed when a test fails, so no test can hang.

// Shared with grid.rs, which uses all of it.
#[allow(dead_code)]
mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use herald_node::api::fake::{Call, FakeApi, GROUP, NODE_ID, PEER_ID};
use herald_node::api::model::{ApiError, ApiEvent, MessageView};
use herald_node::api::{Auth, router, serve};

/// Time any one process or wait may take before the test fails.
const LIMIT: Duration = Duration::from_secs(30);

/// The fake node's API on a loopback port, served from its own thread until dropped.
struct FakeNode {
    api: FakeApi,
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl FakeNode {
    fn start() -> FakeNode {
        let api = FakeApi::new();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(api.clone(), Auth::None);
        let thread = thread::spawn(move || {
            let shutdown = async move {
                let _ = stopped.await;
            };
            runtime.block_on(serve(listener, app, shutdown)).unwrap();
        });
        FakeNode { api, address, stop: Some(stop), thread: Some(thread) }
    }

    /// `herald ARGS --api ADDR` with `stdin` as its standard input, to completion.
    fn herald(&self, args: &[&str], stdin: &[u8]) -> Finished {
        let mut child = self.spawn(args);
        let mut input = child.stdin.take().unwrap();
        let stdin = stdin.to_vec();
        // A writer of its own: a command that does not read its input must not block the test.
        thread::spawn(move || {
            let _ = input.write_all(&stdin);
        });
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let status = wait(child);
        Finished {
            status,
            stdout: stdout.recv_timeout(LIMIT).unwrap(),
            stderr: String::from_utf8(stderr.recv_timeout(LIMIT).unwrap()).unwrap(),
        }
    }

    fn spawn(&self, args: &[&str]) -> Child {
        support::herald()
            .args(args)
            .args(["--api", &self.address.to_string()])
            .env_remove("HERALD_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning herald")
    }

    /// Stores a message at the node as `POST /v1/groups/mirror-1/messages` does.
    fn post(&self, body: &[u8]) {
        let url = format!("http://{}/v1/groups/{GROUP}/messages", self.address);
        ureq::post(url).send(body).expect("publishing to the fake node");
    }

    /// The bodies the node was asked to publish, in order.
    fn published(&self) -> Vec<Vec<u8>> {
        let calls = self.api.calls();
        calls
            .into_iter()
            .filter_map(|call| match call {
                Call::PublishGroup(group, body) if group == GROUP => Some(body),
                _ => None,
            })
            .collect()
    }

    /// Stops serving; open event streams end.
    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

impl Finished {
    /// Stdout of a command that must have succeeded with nothing on stderr.
    fn ok(&self) -> String {
        assert!(self.status.success(), "{:?}: {}", self.status, self.stderr);
        assert_eq!(self.stderr, "");
        String::from_utf8(self.stdout.clone()).unwrap()
    }
}

/// Reads `pipe` to its end on a thread of its own; the bytes come on the channel.
fn collect(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (sender, received) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    received
}

/// Waits for `child` to exit; kills it and fails the test after [`LIMIT`].
fn wait(mut child: Child) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("herald did not exit within {LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A `herald subscribe` process whose stdout is read as it comes; killed when dropped.
struct Subscriber {
    child: Option<Child>,
    chunks: mpsc::Receiver<Vec<u8>>,
    stdout: Vec<u8>,
    stderr: mpsc::Receiver<Vec<u8>>,
}

impl Subscriber {
    fn start(node: &FakeNode, args: &[&str]) -> Subscriber {
        let mut child = node.spawn(args);
        let mut pipe = child.stdout.take().unwrap();
        let (sender, chunks) = mpsc::channel();
        thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = pipe.read(&mut buffer) {
                if read == 0 || sender.send(buffer[..read].to_vec()).is_err() {
                    return;
                }
            }
        });
        let stderr = collect(child.stderr.take().unwrap());
        let subscriber = Subscriber { child: Some(child), chunks, stdout: Vec::new(), stderr };
        let started = Instant::now();
        while node.api.subscribers() == 0 {
            assert!(started.elapsed() < LIMIT, "herald subscribe did not open the event stream");
            thread::sleep(Duration::from_millis(20));
        }
        subscriber
    }

    /// Reads stdout until it holds at least `len` bytes; fails the test after [`LIMIT`].
    fn read_at_least(&mut self, len: usize) -> &[u8] {
        let deadline = Instant::now() + LIMIT;
        while self.stdout.len() < len {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.stdout.extend_from_slice(&chunk),
                Err(_) => panic!(
                    "herald subscribe printed only {:?}",
                    String::from_utf8_lossy(&self.stdout)
                ),
            }
        }
        &self.stdout
    }

    /// Waits for the process to exit (the node must have ended the stream); all of stdout.
    fn finish(mut self) -> Finished {
        let status = wait(self.child.take().unwrap());
        while let Ok(chunk) = self.chunks.recv_timeout(LIMIT) {
            self.stdout.extend_from_slice(&chunk);
        }
        let stderr = String::from_utf8(self.stderr.recv_timeout(LIMIT).unwrap()).unwrap();
        Finished { status, stdout: std::mem::take(&mut self.stdout), stderr }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn groups_lists_the_group_and_json_gives_the_answer() {
    let node = FakeNode::start();
    node.post(b"held");
    assert_eq!(
        node.herald(&["groups"], b"").ok(),
        "NAME      SITES  MEMBER  MESSAGES\nmirror-1  2      yes     1\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&node.herald(&["groups", "--json"], b"").ok()).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"name": "mirror-1", "sites": 2, "member": true, "messages_held": 1}])
    );
}

#[test]
fn group_prints_its_parameters_and_both_members() {
    let node = FakeNode::start();
    assert_eq!(
        node.herald(&["group", GROUP], b"").ok(),
        format!(
            "group:         mirror-1\n\
             connectivity:  2\n\
             master site:   master\n\
             generator:     default\n\
             access:        open\n\
             periods:       ping 15s, bandwidth 1m, estimates 30s, join 1m, update 2m\n\
             neighbours:    {peer}\n\
             refused joins: -\n\
             \n\
             SITE     NODE        STATE  BY      NEIGHBOUR\n\
             master   {node}  alive  listed  no\n\
             inferno  {peer}  alive  listed  yes\n",
            node = &NODE_ID[..10],
            peer = &PEER_ID[..10],
        )
    );
}

#[test]
fn an_unknown_group_fails_with_one_sentence() {
    let node = FakeNode::start();
    for args in [&["group", "nope"][..], &["topology", "nope"], &["subscribe", "nope"]] {
        let done = node.herald(args, b"");
        assert_eq!(done.status.code(), Some(1), "{args:?}");
        assert_eq!(done.stderr, "herald: no group \"nope\" is defined\n", "{args:?}");
        assert!(done.stdout.is_empty(), "{args:?}");
    }
    let done = node.herald(&["publish", "nope", "-"], b"body");
    assert_eq!(done.status.code(), Some(1));
    assert_eq!(done.stderr, "herald: no group \"nope\" is defined\n");
}

#[test]
fn publish_sends_a_file_s_exact_bytes_and_prints_the_id() {
    let node = FakeNode::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("message.bin");
    let bytes = b"\x00\xffline one\r\n.\n\x80tail".to_vec();
    std::fs::write(&path, &bytes).unwrap();
    let printed = node.herald(&["publish", GROUP, path.to_str().unwrap()], b"ignored").ok();
    assert_eq!(printed, "00000000000000000000000000000001\n");
    assert_eq!(node.published(), [bytes]);
}

#[test]
fn publish_reads_standard_input_for_a_dash_or_no_file() {
    let node = FakeNode::start();
    assert_eq!(
        node.herald(&["publish", GROUP, "-"], b"from a dash\n").ok(),
        "00000000000000000000000000000001\n"
    );
    assert_eq!(
        node.herald(&["publish", GROUP], b"\x01\x02 no file").ok(),
        "00000000000000000000000000000002\n"
    );
    assert_eq!(node.published(), [b"from a dash\n".to_vec(), b"\x01\x02 no file".to_vec()]);
}

#[test]
fn publish_json_prints_id_origin_and_seq() {
    let node = FakeNode::start();
    assert_eq!(
        node.herald(&["publish", GROUP, "--json"], b"x").ok(),
        format!(
            "{{\n  \"id\": \"00000000000000000000000000000001\",\n  \"origin\": \"{NODE_ID}\",\n  \
             \"seq\": 1\n}}\n"
        )
    );
}

#[test]
fn publish_to_a_busy_node_retries_and_succeeds() {
    let node = FakeNode::start();
    node.api.fail_next(ApiError::Busy("the node is busy: its store is flushing".into()));
    let done = node.herald(&["publish", GROUP], b"patient");
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(done.stderr, "herald: the node is busy; retrying for up to 30s\n");
    assert_eq!(done.stdout, b"00000000000000000000000000000001\n");
    // The busy attempt reached the node too; only the second was stored.
    assert_eq!(node.published(), [b"patient".to_vec(), b"patient".to_vec()]);
    assert_eq!(
        node.herald(&["groups", "--json"], b"").ok().matches("\"messages_held\": 1").count(),
        1
    );
}

#[test]
fn a_message_the_node_finds_too_large_is_named_so() {
    let node = FakeNode::start();
    node.api.fail_next(ApiError::TooLarge("a message has at most 16 MiB".into()));
    let done = node.herald(&["publish", GROUP], b"big");
    assert_eq!(done.status.code(), Some(1));
    assert_eq!(
        done.stderr,
        "herald: the node refused the message as too large: a message has at most 16 MiB\n"
    );
}

#[test]
fn topology_prints_text_json_and_dot() {
    let node = FakeNode::start();
    let (a, b) = (&NODE_ID[..10], &PEER_ID[..10]);
    let text = format!("{a} {b} 12\n");
    assert_eq!(node.herald(&["topology", GROUP], b"").ok(), text);
    assert_eq!(node.herald(&["topology", GROUP, "--format", "text"], b"").ok(), text);
    // The API's object, keys in order as every `--json` prints them.
    let json = format!(
        "{{\n  \"computed_by\": \"members\",\n  \"connectivity\": 1,\n  \"edges\": [\n    {{\n      \
         \"a\": \"{NODE_ID}\",\n      \"b\": \"{PEER_ID}\",\n      \"cost_ms\": 12\n    }}\n  ],\n  \
         \"version\": 1\n}}\n"
    );
    assert_eq!(node.herald(&["topology", GROUP, "--format", "json"], b"").ok(), json);
    assert_eq!(node.herald(&["topology", GROUP, "--json"], b"").ok(), json);
    assert_eq!(
        node.herald(&["topology", GROUP, "--format", "dot"], b"").ok(),
        format!("graph {{\n  \"{a}\" -- \"{b}\" [label=\"12 ms\"];\n}}\n")
    );
}

#[test]
fn usage_errors_exit_2() {
    let node = FakeNode::start();
    for args in [
        &["topology", GROUP, "--format", "svg"][..],
        &["topology", GROUP, "--format", "dot", "--json"],
        &["publish"],
        &["subscribe", GROUP, "extra"],
    ] {
        let done = node.herald(args, b"");
        assert_eq!(done.status.code(), Some(2), "{args:?}: {}", done.stderr);
        assert!(done.stdout.is_empty(), "{args:?}");
    }
}

/// A message event for a message the node does not store: it only passes by.
fn event_only(number: u64, body: &[u8]) -> ApiEvent {
    ApiEvent::Message(FakeApi::message_view(number, body))
}

#[test]
fn subscribe_from_start_prints_the_held_messages_then_new_ones_each_once() {
    let mut node = FakeNode::start();
    node.post(b"one\n");
    node.post(b"two\n");
    let mut subscriber = Subscriber::start(&node, &["subscribe", GROUP, "--from-start"]);
    // The stream is open; whether the pages are read yet or not, the event of a held message
    // must not print it again.
    node.api.send_event(event_only(1, b"one\n"));
    // Stored and sent as an event: in a page, or an event, or both.
    node.post(b"three\n");
    let other = MessageView { group: "other".into(), ..FakeApi::message_view(9, b"other\n") };
    node.api.send_event(ApiEvent::Message(other));
    node.api.send_event(event_only(4, b"four\n"));
    let expected = "one\ntwo\nthree\nfour\n";
    // Events come in order: once "four" is out, a repeat of "one" would have been too.
    subscriber.read_at_least(expected.len());
    // The stream opened before the first page was asked for: nothing fell between them.
    let reads: Vec<Call> = node
        .api
        .calls()
        .into_iter()
        .filter(|call| matches!(call, Call::Events | Call::GroupMessages(..)))
        .collect();
    assert_eq!(reads, [Call::Events, Call::GroupMessages(GROUP.into(), 0, 256)]);
    node.stop();
    let done = subscriber.finish();
    assert_eq!(String::from_utf8(done.stdout).unwrap(), expected);
    assert_eq!(done.status.code(), Some(1));
    assert_eq!(
        done.stderr,
        format!(
            "herald: the node at http://{} ended the event stream: it stopped or restarted\n",
            node.address
        )
    );
}

#[test]
fn subscribe_without_from_start_prints_only_new_messages_as_json_lines() {
    let mut node = FakeNode::start();
    node.post(b"old");
    let mut subscriber = Subscriber::start(&node, &["subscribe", GROUP, "--json"]);
    node.post(b"new");
    node.api.send_event(event_only(3, b"\x00\xff"));
    let line = |number, body: &[u8]| {
        format!("{}\n", serde_json::to_string(&FakeApi::message_view(number, body)).unwrap())
    };
    let expected = line(2, b"new") + &line(3, b"\x00\xff");
    subscriber.read_at_least(expected.len());
    node.stop();
    let done = subscriber.finish();
    assert_eq!(String::from_utf8(done.stdout).unwrap(), expected);
}
