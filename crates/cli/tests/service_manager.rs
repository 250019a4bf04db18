//! `herald run` under a service manager: with `$NOTIFY_SOCKET` set, as systemd sets it for a
//! `Type=notify` unit, the node says `READY=1` once it has caught up, and `STOPPING=1` on
//! SIGTERM.

#[allow(dead_code)]
mod support;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::herald;

/// Reads datagrams until one holds `wanted`, or panics after `limit`; returns all it read.
fn wait_for_datagram(socket: &UnixDatagram, wanted: &str, limit: Duration) -> String {
    let started = Instant::now();
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    while started.elapsed() < limit {
        if let Ok(length) = socket.recv(&mut buffer) {
            let text = String::from_utf8_lossy(&buffer[..length]);
            seen.push_str(&text);
            seen.push('\n');
            if text.lines().any(|line| line == wanted) {
                return seen;
            }
        }
    }
    panic!("no {wanted} within {limit:?}; the node said:\n{seen}");
}

#[test]
fn run_tells_the_service_manager_it_is_ready_and_then_stopping() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let path = root.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).expect("binding the notify socket");
    socket.set_read_timeout(Some(Duration::from_millis(200))).expect("a read timeout");
    let dir = root.path().join("node");
    let mut child = herald()
        .args(["run", "--data-dir", dir.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(["--http", "127.0.0.1:0"])
        .env("NOTIFY_SOCKET", &path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning herald run");
    // The grid's first node has nobody to catch up with: it is ready at once.
    let said = wait_for_datagram(&socket, "READY=1", Duration::from_secs(30));
    assert!(said.contains("STATUS=ready"), "{said}");

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    wait_for_datagram(&socket, "STOPPING=1", Duration::from_secs(30));
    let status = child.wait().expect("herald run exits");
    assert!(status.success(), "herald run exited with {status}");
}
