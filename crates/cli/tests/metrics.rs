//! `/metrics` of a node in a running grid, as Prometheus reads it: `promtool check metrics`
//! (Debian's `prometheus` package, which .ci/run installs) must find nothing to say, and the
//! figures must be the grid's.

#[allow(dead_code)]
mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{grid, wait_for};

/// Runs `promtool check metrics` on `text`; returns its exit success and what it printed, or
/// `None` when promtool is not installed.
fn promtool_check(text: &str) -> Option<(bool, String)> {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => panic!("running promtool: {error}"),
    };
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("writing to promtool");
    let output = child.wait_with_output().expect("promtool's output");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((output.status.success(), said))
}

fn metrics_of(api: &str) -> String {
    let mut response =
        ureq::get(format!("http://{api}/metrics")).call().expect("GET /metrics answers");
    response.body_mut().read_to_string().expect("a text body")
}

/// The value of the sample written exactly as `sample` (name and labels), if present.
fn sample(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[test]
fn metrics_of_a_running_grid_pass_promtool() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let nodes = grid(root.path(), 3);
    wait_for("three alive members at node 0", Duration::from_secs(30), || {
        nodes[0].members().iter().filter(|member| member["state"] == "alive").count() == 3
    });
    nodes[1].cli_ok(&["announce", "web", "{\"port\": 80}"]);
    // A probe answered gives the round-trip histogram its first sample.
    let api = nodes[0].api();
    wait_for("a probe round trip in node 0's metrics", Duration::from_secs(30), || {
        sample(&metrics_of(&api), "herald_probe_rtt_seconds_count").is_some_and(|n| n >= 1.0)
    });
    let text = metrics_of(&api);
    assert_eq!(sample(&text, "herald_members{state=\"alive\"}"), Some(3.0), "{text}");
    assert_eq!(sample(&text, "herald_ready"), Some(1.0), "{text}");
    let frames_in = sample(&text, "herald_frames_total{direction=\"in\",kind=\"membership\"}");
    assert!(frames_in.is_some_and(|n| n > 0.0), "no membership frames counted:\n{text}");
    assert!(sample(&text, "herald_store_commit_seconds_count").is_some_and(|n| n >= 1.0));

    match promtool_check(&text) {
        Some((passed, said)) => {
            assert!(passed && said.trim().is_empty(), "promtool check metrics: {said}\n{text}");
        }
        None if std::env::var_os("CI").is_some() => {
            panic!("promtool is not installed: .ci/run installs Debian's prometheus package")
        }
        None => eprintln!(
            "skipped the promtool check: promtool is not installed (apt-get install prometheus)"
        ),
    }
}
