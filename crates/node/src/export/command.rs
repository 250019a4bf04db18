//! [`ExportCommand`]: one run of a group's export command on one batch.
//!
//! # Input
//!
//! The bodies are written to the command's standard input by a task of their own while the
//! command runs, so a command that does not read its input cannot stall the wait for its exit or
//! its time-out. Success is the exit status alone: a command that exits 0 without reading all of
//! its input has acknowledged the batch, and the broken pipe the writer then meets is not an
//! error. (Rust programs ignore SIGPIPE, so that shows as an `EPIPE` write error, not a signal.)
//!
//! # Processes
//!
//! The command is a [`tokio::process::Child`], which pipes its input and waits for its exit.
//! It runs in a process group of its own, so that on time-out the shell and everything it
//! started (a pipeline, a `sleep` in the background) are killed together, with SIGKILL. std has
//! no `killpg` and this crate forbids unsafe code, so the group is signalled by the `kill`
//! builtin of a second `sh`; the shell is also killed directly, in case that `sh` could not run.
//! The group id is the shell's pid, and on time-out the group is signalled before the shell is
//! reaped, so that id cannot have been given to another process. A process that leaves the
//! group (`setsid`, a daemon) is not killed; that is the command's own choice.
//!
//! If the future returned by [`ExportCommand::run`] is dropped before it finishes, a drop guard
//! starts the second `sh` on the group without waiting for it, as a drop cannot wait, and tokio
//! kills the shell (`kill_on_drop`) and reaps it later. The group's id stays taken while any
//! process of the group lives, so the signal can go astray only if the whole group is already
//! gone and its id given to a new group in the milliseconds the second `sh` takes to start.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, Command};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// How long a killed command may take to be reaped before its time-out is reported anyway.
const REAP_WAIT: Duration = Duration::from_secs(1);

/// The longest time-out [`ExportCommand::new`] keeps, a year: no time-out in practice, and a
/// deadline that cannot overflow the clock.
pub const TIMEOUT_MAX: Duration = Duration::from_secs(365 * 24 * 3600);

/// A group's export command, ready to run on batches.
#[derive(Clone, Debug)]
pub struct ExportCommand {
    command: String,
    dir: PathBuf,
    timeout: Duration,
}

impl ExportCommand {
    /// The shell command `command`, to be run by `sh -c` in `dir` (the node's data directory)
    /// and killed when one run lasts longer than `timeout` (at most [`TIMEOUT_MAX`]; a longer
    /// one is taken as that).
    pub fn new(command: String, dir: PathBuf, timeout: Duration) -> ExportCommand {
        ExportCommand { command, dir, timeout: timeout.min(TIMEOUT_MAX) }
    }

    /// Runs the command once on `bodies`, a batch of `group`'s messages: the bodies, concatenated
    /// in order, on its standard input; `HERALD_GROUP` set to `group` and `HERALD_MESSAGES` to
    /// the number of bodies in its environment, the rest inherited from the node; its standard
    /// output and error discarded.
    ///
    /// `Ok` when the command exits with status 0, which acknowledges the batch. Any error means
    /// the batch was not exported and is to be tried again. The command is run even when
    /// `bodies` is empty.
    pub async fn run(&self, group: &str, bodies: &[Arc<[u8]>]) -> Result<(), ExportError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .current_dir(&self.dir)
            .env("HERALD_GROUP", group)
            .env("HERALD_MESSAGES", bodies.len().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ExportError::Start {
                group: group.to_owned(),
                command: self.command.clone(),
                source,
            })?;
        let pgid = child.id().expect("a child not yet waited for has a pid");
        let stdin = child.stdin.take().expect("standard input is piped");
        let writer = tokio::spawn(write_bodies(stdin, bodies.to_vec(), group.to_owned()));
        let mut guard = Guard { pgid: Some(pgid), writer };

        let waited = timeout(self.timeout, child.wait()).await;
        if waited.is_err() {
            kill_group(pgid).await;
            // Fails only when the shell has already exited, which is then what was wanted.
            let _ = child.start_kill();
            // Not reaped within REAP_WAIT: reported all the same, as the group was killed.
            let _ = timeout(REAP_WAIT, child.wait()).await;
        }
        // The shell is reaped, or its group killed, or its state unknown: no more signals.
        guard.pgid = None;

        let (group, command) = (group.to_owned(), self.command.clone());
        let status = match waited {
            Ok(Ok(status)) => status,
            Ok(Err(source)) => return Err(ExportError::Wait { group, command, source }),
            Err(_elapsed) => {
                return Err(ExportError::TimedOut { group, command, timeout: self.timeout });
            }
        };
        match status.code() {
            Some(0) => Ok(()),
            Some(code) => Err(ExportError::Status { group, command, code }),
            None => {
                let signal = status.signal().expect("a status with no exit code is a signal's");
                Err(ExportError::Signal { group, command, signal })
            }
        }
    }
}

/// Why a run of the export command did not acknowledge its batch. Each names the group and the
/// command.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// `sh` could not be started (the directory does not exist, no `sh`, no processes left).
    #[error("the export command `{command}` of group `{group}` could not start: {source}")]
    Start {
        /// The group whose batch it was.
        group: String,
        /// The command, as configured.
        command: String,
        /// The OS error.
        source: io::Error,
    },
    /// The command exited with a status other than 0.
    #[error("the export command `{command}` of group `{group}` exited with status {code}")]
    Status {
        /// The group whose batch it was.
        group: String,
        /// The command, as configured.
        command: String,
        /// The exit status.
        code: i32,
    },
    /// The command was killed by a signal that the node did not send.
    #[error("the export command `{command}` of group `{group}` was killed by signal {signal}")]
    Signal {
        /// The group whose batch it was.
        group: String,
        /// The command, as configured.
        command: String,
        /// The signal's number.
        signal: i32,
    },
    /// The command ran past its time-out, and its process group was killed.
    #[error(
        "the export command `{command}` of group `{group}` timed out after {} and was killed",
        humantime::format_duration(*timeout)
    )]
    TimedOut {
        /// The group whose batch it was.
        group: String,
        /// The command, as configured.
        command: String,
        /// The time-out it ran past.
        timeout: Duration,
    },
    /// The OS would not say whether the command had exited, which happens only if something
    /// else in the node reaped it; its group is not killed then, as the id may be reused.
    #[error("the export command `{command}` of group `{group}` could not be waited for: {source}")]
    Wait {
        /// The group whose batch it was.
        group: String,
        /// The command, as configured.
        command: String,
        /// The OS error.
        source: io::Error,
    },
}

/// Stops the task writing a command's input and, while `pgid` is set, kills the command's
/// process group, for a run that ends by being dropped. `run` clears `pgid` once the shell is
/// reaped, or once it can no longer tell.
struct Guard {
    pgid: Option<u32>,
    writer: JoinHandle<()>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.writer.abort();
        let Some(pgid) = self.pgid else { return };
        match kill_group_command(pgid).spawn() {
            // A thread reaps the `sh`, so that it does not stay a zombie until the node exits.
            Ok(mut kill) => {
                let _ = std::thread::Builder::new().spawn(move || kill.wait());
            }
            Err(error) => {
                tracing::debug!(pgid, %error, "could not kill the export command's process group");
            }
        }
    }
}

/// `sh` sending SIGKILL to the process group `pgid`, with no input or output.
fn kill_group_command(pgid: u32) -> std::process::Command {
    let mut kill = std::process::Command::new("sh");
    kill.args(["-c", "kill -s KILL -- \"-$1\"", "sh", &pgid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    kill
}

/// Sends SIGKILL to the process group `pgid` and waits until that is done.
async fn kill_group(pgid: u32) {
    let killed = Command::from(kill_group_command(pgid)).status().await;
    if !matches!(killed, Ok(status) if status.success()) {
        tracing::debug!(pgid, ?killed, "could not kill the export command's process group");
    }
}

/// Writes `bodies` one after the other, then closes the pipe so the command sees the end of its
/// input. Stops at the first error: the command closed its input, which it may do.
async fn write_bodies(mut stdin: ChildStdin, bodies: Vec<Arc<[u8]>>, group: String) {
    for body in &bodies {
        if let Err(error) = stdin.write_all(body).await {
            if error.kind() != io::ErrorKind::BrokenPipe {
                tracing::debug!(group, %error, "writing to the export command failed");
            }
            return;
        }
    }
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
