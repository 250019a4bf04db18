//! `herald doctor` on healthy and broken data directories, on real processes.

#[allow(dead_code)]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::{grid, run, run_ok};

/// Runs `herald doctor` on `dir` with free ports; returns whether it exited 0, and its report.
fn doctor(dir: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["doctor", "--data-dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = run(&args);
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

const FREE_PORTS: [&str; 4] = ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"];

#[test]
fn a_healthy_directory_has_no_problems_and_a_broken_one_is_told_what_to_do() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let dir = root.path().join("node");
    run_ok(&["grid", "create", "--data-dir", dir.to_str().unwrap()]);
    let (healthy, report) = doctor(&dir, &FREE_PORTS);
    assert!(healthy, "{report}");
    assert!(report.contains("no problems found"), "{report}");
    assert!(report.contains("ok       contacts: no stored contacts"), "{report}");

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let key = dir.join("node.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    let taken = taken.local_addr().unwrap().to_string();
    let (healthy, report) = doctor(&dir, &["--listen", &taken, "--http", "127.0.0.1:0"]);
    assert!(!healthy, "{report}");
    let shown = dir.display();
    assert!(report.contains(&format!("PROBLEM  data directory: {shown} can be read by other users (mode 755): chmod 700 {shown}")), "{report}");
    assert!(report.contains(&format!("chmod 600 {}", key.display())), "{report}");
    assert!(
        report.contains(&format!("PROBLEM  ports: cannot bind {taken} (--listen)")),
        "{report}"
    );
    assert!(report.contains("another program holds it"), "{report}");
    assert!(report.contains("3 problem(s) found"), "{report}");

    let (healthy, report) = doctor(&root.path().join("nowhere"), &FREE_PORTS);
    assert!(!healthy);
    assert!(
        report.contains("does not exist: make it a node with `herald grid create`"),
        "{report}"
    );
}

#[test]
fn a_node_whose_contacts_are_down_is_told_so_and_a_running_one_is_checked_through_its_api() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let mut nodes = grid(root.path(), 2);
    let (healthy, report) = doctor(&nodes[1].dir, &[]);
    assert!(healthy, "{report}");
    assert!(report.contains("are held by this node, which runs"), "{report}");

    let dir = nodes[1].dir.clone();
    assert!(nodes[1].terminate() && nodes[0].terminate(), "both stop cleanly");
    let (healthy, report) = doctor(&dir, &FREE_PORTS);
    assert!(!healthy, "{report}");
    assert!(
        report.contains("PROBLEM  contacts: none of the 1 stored contacts answered"),
        "{report}"
    );
}
