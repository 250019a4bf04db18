//! Real `herald` processes on 127.0.0.1 for the integration tests: start, stop, kill -9, and
//! run CLI commands against them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The herald binary under test.
pub fn herald() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command.env_remove("HERALD_DATA_DIR").env("HERALD_LOG", "warn");
    command
}

/// Runs a herald command to completion.
pub fn run(args: &[&str]) -> Output {
    herald().args(args).stdin(Stdio::null()).output().expect("running herald")
}

/// Runs a herald command that must succeed; returns its stdout.
pub fn run_ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "herald {args:?} failed with {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// Polls `check` every 100 ms until it holds, or panics with `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One `herald run` process and its data directory.
pub struct Node {
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// Starts `herald run` on `dir` with free ports and waits for its API.
    pub fn start(dir: &Path, extra: &[&str]) -> Node {
        Node::start_listening(dir, "127.0.0.1:0", extra)
    }

    /// Starts `herald run` on `dir` with its peer traffic on `listen` and a free API port, and
    /// waits for its API.
    pub fn start_listening(dir: &Path, listen: &str, extra: &[&str]) -> Node {
        Node::start_on(dir, listen, "127.0.0.1:0", extra)
    }

    /// Starts `herald run` on `dir` with its peer traffic on `listen` and its API on `http`, and
    /// waits for its API. Off loopback, the API asks for the token in `api.token`.
    pub fn start_on(dir: &Path, listen: &str, http: &str, extra: &[&str]) -> Node {
        Node::start_from(herald(), dir, listen, http, extra)
    }

    /// [`Node::start_on`] from `command`: [`herald`], with its environment changed.
    pub fn start_from(
        mut command: Command,
        dir: &Path,
        listen: &str,
        http: &str,
        extra: &[&str],
    ) -> Node {
        let _ = std::fs::remove_file(dir.join("api.addr"));
        let dir_text = dir.to_str().expect("utf-8 path");
        let mut args = vec!["run", "--data-dir", dir_text, "--listen", listen, "--http", http];
        args.extend_from_slice(extra);
        let child = command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning herald run");
        let mut node = Node { dir: dir.to_owned(), child: Some(child) };
        let started = Instant::now();
        while !dir.join("api.addr").exists() {
            if let Some(status) =
                node.child.as_mut().and_then(|child| child.try_wait().ok().flatten())
            {
                let mut stderr = String::new();
                if let Some(mut pipe) = node.child.as_mut().and_then(|child| child.stderr.take()) {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("herald run exited early with {status}: {stderr}");
            }
            assert!(started.elapsed() < Duration::from_secs(30), "herald run did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        node
    }

    pub fn dir_str(&self) -> &str {
        self.dir.to_str().expect("utf-8 path")
    }

    /// Runs a client command against this node, adding `--data-dir`; it must succeed. Returns
    /// stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(&["--data-dir", self.dir_str()]);
        run_ok(&all)
    }

    /// `herald members --json`, parsed; a failing command fails the test.
    pub fn members(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.cli_ok(&["members", "--json"])).expect("members JSON")
    }

    /// The state this node sees `id` in, if it knows it.
    pub fn state_of(&self, id: &str) -> Option<String> {
        self.members()
            .iter()
            .find(|member| member["node_id"] == id)
            .and_then(|member| member["state"].as_str().map(str::to_owned))
    }

    /// `herald status --json`, parsed.
    pub fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.cli_ok(&["status", "--json"])).expect("status JSON")
    }

    /// The node's id.
    pub fn id(&self) -> String {
        self.status()["node_id"].as_str().expect("node_id").to_owned()
    }

    /// `herald services SERVICE --json`, parsed; a failing command fails the test.
    pub fn services(&self, service: &str) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.cli_ok(&["services", service, "--json"])).expect("services JSON")
    }

    /// The services whose announcements this node's store holds; the node must be stopped.
    pub fn stored_services(&self) -> Vec<String> {
        let mut data = herald_node::datadir::DataDir::open(&self.dir).expect("opening the store");
        data.announced_services().expect("reading the store")
    }

    /// The API's address.
    pub fn api(&self) -> String {
        std::fs::read_to_string(self.dir.join("api.addr")).expect("api.addr").trim().to_owned()
    }

    /// The peer (QUIC) address.
    pub fn listen(&self) -> String {
        std::fs::read_to_string(self.dir.join("listen.addr"))
            .expect("listen.addr")
            .trim()
            .to_owned()
    }

    /// SIGKILL: no departure, no flush.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits; returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        self.terminate_with_log().0
    }

    /// SIGTERM, then waits; returns whether it exited 0, and what it logged on stderr (at the
    /// `HERALD_LOG` level [`herald`] sets).
    pub fn terminate_with_log(&mut self) -> (bool, String) {
        let Some(mut child) = self.child.take() else { return (false, String::new()) };
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let started = Instant::now();
        let success = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status.success();
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut log = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut log);
        }
        (success, log)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A grid: node 0 creates it and invites the others as servers.
pub fn grid(root: &Path, count: usize) -> Vec<Node> {
    grid_around(Node::start(&root.join("node-0"), &[]), root, count)
}

/// A grid made by `first`, a node started on an empty directory: it invites `count - 1` others
/// as servers, which join in `root`'s `node-1`, `node-2`... and start.
pub fn grid_around(first: Node, root: &Path, count: usize) -> Vec<Node> {
    grid_around_with(first, root, count, |_| Vec::new())
}

/// [`grid_around`], node `index` (from 1) joining as `n<index>` and starting with the flags
/// `extra(index)` besides.
pub fn grid_around_with(
    first: Node,
    root: &Path,
    count: usize,
    extra: impl Fn(usize) -> Vec<String>,
) -> Vec<Node> {
    let uses = (count.max(2) - 1).to_string();
    let code = first.cli_ok(&["invite", "--role", "server", "--uses", &uses]);
    let code = code.trim().to_owned();
    let mut nodes = vec![first];
    for index in 1..count {
        let dir = root.join(format!("node-{index}"));
        run_ok(&[
            "join",
            &code,
            "--data-dir",
            dir.to_str().unwrap(),
            "--name",
            &format!("n{index}"),
        ]);
        let extra = extra(index);
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        nodes.push(Node::start(&dir, &extra));
    }
    nodes
}
