//! The configuration's layering and its errors, through the `herald` binary: `config check`
//! names a bad key's line and column in one sentence, warns of an unknown kind of
//! recommendation, and `run --print-config` shows flags over variables over the file over the
//! defaults, without starting a node or writing its data directory. Log levels come from
//! `HERALD_LOG`, else `RUST_LOG`.

// Shared with grid.rs, which uses all of it.
#[allow(dead_code)]
mod support;

use support::{Node, herald, run};

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn config_check_accepts_a_good_file_and_names_a_bad_keys_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.toml", "name = \"gw-1\"\npeers = [\"192.0.2.11:7420\"]\n");
    let output = run(&["config", "check", &good]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text, format!("{good}: ok\nname = \"gw-1\"\npeers = [\"192.0.2.11:7420\"]\n"));

    let bad = write(dir.path(), "bad.toml", "name = \"a\"\nlisen = \"x\"\n");
    let output = run(&["config", "check", &bad]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("line 2, column 1"), "{stderr}");
    assert!(stderr.contains("unknown field `lisen`"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");

    let wrong_value = write(dir.path(), "format.toml", "log_format = \"xml\"\n");
    let output = run(&["config", "check", &wrong_value]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("log_format in the configuration file must be text or json"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_kind_of_recommendation_is_a_warning_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "policy.toml", "forward_only_reachable = \"send-share-to\"\n");
    let output = run(&["config", "check", &file]);
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("warning: forward_only_reachable names \"send-share-to\""),
        "{stderr}"
    );
    let empty = write(dir.path(), "empty.toml", "forward_only_reachable = \"\"\n");
    assert_eq!(run(&["config", "check", &empty]).status.code(), Some(1));
}

#[test]
fn print_config_layers_flags_over_variables_over_the_file_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "herald.toml",
        "listen = \"127.0.0.1:9000\"\nname = \"from-file\"\nlog_format = \"text\"\n",
    );
    let data_dir = dir.path().join("data");
    let output = herald()
        .args(["run", "--data-dir", data_dir.to_str().unwrap(), "--config", &file])
        .args(["--listen", "127.0.0.1:9999", "--print-config"])
        .env("HERALD_LOG_FORMAT", "json")
        .env("HERALD_NAME", "from-variable")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("\nlisten = \"127.0.0.1:9999\"\n"), "the flag wins: {text}");
    assert!(text.contains("\nname = \"from-variable\"\n"), "the variable wins: {text}");
    assert!(text.contains("\nlog_format = \"json\"\n"), "the variable wins: {text}");
    assert!(text.contains("\nhttp = \"127.0.0.1:7421\"\n"), "the default: {text}");
    assert!(!data_dir.exists(), "printing the configuration writes nothing");
}

/// What a node logs between its start and a SIGTERM, with these two filter variables.
fn log_with(herald_log: Option<&str>, rust_log: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut command = herald();
    command.env_remove("HERALD_LOG").env_remove("RUST_LOG");
    if let Some(filter) = herald_log {
        command.env("HERALD_LOG", filter);
    }
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    let mut node =
        Node::start_from(command, &dir.path().join("node"), "127.0.0.1:0", "127.0.0.1:0", &[]);
    let (stopped, log) = node.terminate_with_log();
    assert!(stopped, "{log}");
    log
}

#[test]
fn log_levels_come_from_herald_log_then_rust_log() {
    // An info line every stop writes, from the `herald` crate.
    let stopping = "stopping: announcing departure";
    assert!(log_with(None, None).contains(stopping), "the default level is info");
    let quiet = log_with(None, Some("warn"));
    assert!(!quiet.contains(stopping), "RUST_LOG is read: {quiet}");
    let per_module = log_with(None, Some("warn,herald=info"));
    assert!(per_module.contains(stopping), "levels per module: {per_module}");
    let first = log_with(Some("warn"), Some("info"));
    assert!(!first.contains(stopping), "HERALD_LOG wins: {first}");
    let empty = log_with(Some(""), Some("warn"));
    assert!(!empty.contains(stopping), "an empty HERALD_LOG counts as unset: {empty}");
    let typo = log_with(None, Some("herald=loud"));
    assert!(typo.contains("ignoring RUST_LOG=\"herald=loud\""), "{typo}");
    assert!(typo.contains(stopping), "a bad filter falls back to the default: {typo}");
}
