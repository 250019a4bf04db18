//! Tests of the export command with a real `sh`, each in a temporary directory.

use std::path::Path;

use tempfile::TempDir;

use super::*;

/// Long enough never to be reached by a command that behaves.
const TIMEOUT_LONG: Duration = Duration::from_secs(30);

fn body(bytes: &[u8]) -> Arc<[u8]> {
    Arc::from(bytes)
}

fn command(command: &str, dir: &Path, timeout: Duration) -> ExportCommand {
    ExportCommand::new(command.to_owned(), dir.to_path_buf(), timeout)
}

/// `len` bytes that differ from one position to the next, so that reordering would show.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Whether the process `pid` has ended: it is gone, or it is a zombie left for its new parent
/// to reap. Reads Linux's /proc.
fn has_ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => matches!(stat.rsplit_once(") ").map(|(_, rest)| &rest[..1]), Some("Z" | "X")),
    }
}

/// Waits up to two seconds for `pid` to end, as SIGKILL takes effect when the process is next
/// scheduled.
async fn ends_soon(pid: u32) -> bool {
    for _ in 0..40 {
        if has_ended(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path).unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn bodies_arrive_concatenated_in_order_on_standard_input() {
    let dir = TempDir::new().unwrap();
    // The large body fills the pipe, so the writer has to wait for the command.
    let bodies = vec![
        body(b"first\n"),
        body(b""),
        body(&[0, 255, 13, 10, 0]),
        body(&pattern(1 << 20)),
        body(b"last"),
    ];
    command("cat > out.bin", dir.path(), TIMEOUT_LONG).run("mirror-1", &bodies).await.unwrap();
    let expected: Vec<u8> = bodies.iter().flat_map(|b| b.iter().copied()).collect();
    assert_eq!(std::fs::read(dir.path().join("out.bin")).unwrap(), expected);
}

#[tokio::test]
async fn group_and_message_count_are_in_the_environment() {
    let dir = TempDir::new().unwrap();
    let bodies = vec![body(b"a"), body(b"b"), body(b"c")];
    let export =
        command("echo \"$HERALD_GROUP $HERALD_MESSAGES\" > env.txt", dir.path(), TIMEOUT_LONG);
    export.run("mirror-1", &bodies).await.unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("env.txt")).unwrap(), "mirror-1 3\n");
}

#[tokio::test]
async fn command_runs_in_the_given_directory() {
    let dir = TempDir::new().unwrap();
    command("pwd -P > where.txt", dir.path(), TIMEOUT_LONG).run("g", &[]).await.unwrap();
    let expected = format!("{}\n", dir.path().canonicalize().unwrap().display());
    assert_eq!(std::fs::read_to_string(dir.path().join("where.txt")).unwrap(), expected);
}

#[tokio::test]
async fn failing_command_reports_its_exit_status() {
    let dir = TempDir::new().unwrap();
    let error =
        command("exit 3", dir.path(), TIMEOUT_LONG).run("g", &[body(b"x")]).await.unwrap_err();
    assert!(
        matches!(&error, ExportError::Status { group, command, code: 3 } if group == "g" && command == "exit 3"),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "the export command `exit 3` of group `g` exited with status 3");
}

#[tokio::test]
async fn command_killed_by_a_signal_reports_the_signal() {
    let dir = TempDir::new().unwrap();
    let export = command("kill -s KILL $$", dir.path(), TIMEOUT_LONG);
    let error = export.run("g", &[]).await.unwrap_err();
    assert!(matches!(error, ExportError::Signal { signal: 9, .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the export command `kill -s KILL $$` of group `g` was killed by signal 9"
    );
}

#[tokio::test]
async fn command_that_exits_0_without_reading_its_input_succeeds() {
    let dir = TempDir::new().unwrap();
    let bodies: Vec<Arc<[u8]>> = (0..20).map(|_| body(&pattern(1 << 20))).collect();
    // At once, before much is written, and after a pause in which the pipe has filled up and the
    // writer waits on it.
    for script in ["exit 0", "sleep 0.2; exit 0"] {
        command(script, dir.path(), TIMEOUT_LONG).run("g", &bodies).await.unwrap();
    }
}

#[tokio::test]
async fn command_past_its_timeout_is_killed_with_its_children() {
    let dir = TempDir::new().unwrap();
    let timeout = Duration::from_millis(500);
    let script = "sleep 30 & echo $! > sleep.pid; echo $$ > sh.pid; wait";
    // Input the command never reads, so the writer is blocked when the time-out comes.
    let bodies = vec![body(&pattern(4 << 20))];
    let started = std::time::Instant::now();
    let error = command(script, dir.path(), timeout).run("g", &bodies).await.unwrap_err();
    let elapsed = started.elapsed();

    assert!(matches!(error, ExportError::TimedOut { timeout: t, .. } if t == timeout), "{error:?}");
    assert!(elapsed >= timeout && elapsed < timeout + Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(
        error.to_string(),
        format!("the export command `{script}` of group `g` timed out after 500ms and was killed")
    );
    assert!(ends_soon(read_pid(&dir.path().join("sh.pid"))).await, "the shell survived");
    assert!(ends_soon(read_pid(&dir.path().join("sleep.pid"))).await, "its sleep survived");
}

#[tokio::test]
async fn cancelled_run_kills_the_command() {
    let dir = TempDir::new().unwrap();
    let script = "sleep 30 & echo $! > sleep.pid; wait";
    let export = command(script, dir.path(), TIMEOUT_LONG);
    let run = export.run("g", &[]);
    assert!(tokio::time::timeout(Duration::from_millis(500), run).await.is_err());
    assert!(ends_soon(read_pid(&dir.path().join("sleep.pid"))).await, "its sleep survived");
}

#[tokio::test]
async fn output_is_discarded() {
    let dir = TempDir::new().unwrap();
    // Ten MiB on each: far more than a pipe holds, so a reader that is missing would block it.
    let script = "head -c 10485760 /dev/zero; head -c 10485760 /dev/zero >&2";
    command(script, dir.path(), TIMEOUT_LONG).run("g", &[]).await.unwrap();
}

#[tokio::test]
async fn command_that_cannot_start_is_a_start_error() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("missing");
    let error = command("true", &missing, TIMEOUT_LONG).run("g", &[]).await.unwrap_err();
    let ExportError::Start { group, command, source } = &error else {
        panic!("not a start error: {error:?}");
    };
    assert_eq!((group.as_str(), command.as_str()), ("g", "true"));
    assert_eq!(source.kind(), io::ErrorKind::NotFound);
    assert_eq!(
        error.to_string(),
        format!("the export command `true` of group `g` could not start: {source}")
    );
}

#[test]
fn timeout_above_the_maximum_is_taken_as_the_maximum() {
    let export = ExportCommand::new("true".to_owned(), PathBuf::from("."), Duration::MAX);
    assert_eq!(export.timeout, TIMEOUT_MAX);
}
