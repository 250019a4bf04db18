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
//! The child is a [`std::process::Child`], because the workspace does not enable tokio's
//! `process` feature, and little of it would be used: standard input goes through a non-blocking
//! [`tokio::net::unix::pipe::Sender`], and the exit is noticed by waking on SIGCHLD (tokio's
//! signal stream) and asking `try_wait`, which is how tokio's own process support works.
//!
//! The command runs in a process group of its own, so that on time-out the shell and everything
//! it started (a pipeline, a `sleep` in the background) are killed together, with SIGKILL. std
//! has no `killpg` and this crate forbids unsafe code, so the group is signalled by the `kill`
//! builtin of a second `sh`; the shell is also killed directly, in case that `sh` could not
//! run. The group id is the shell's pid, and the group is signalled only while the shell is not
//! yet reaped, so that id cannot have been given to another process. A process that leaves the
//! group (`setsid`, a daemon) is not killed; that is the command's own choice.
//!
//! If the future returned by [`ExportCommand::run`] is dropped before it finishes, the command's
//! group is killed the same way. The shell is then reaped if it has already died, and otherwise
//! stays a zombie until the node exits.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

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
        let start_error = |source| ExportError::Start {
            group: group.to_owned(),
            command: self.command.clone(),
            source,
        };
        // Listening before the child exists means its exit cannot be missed.
        let exited = signal(SignalKind::child()).map_err(start_error)?;
        let child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .current_dir(&self.dir)
            .env("HERALD_GROUP", group)
            .env("HERALD_MESSAGES", bodies.len().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(start_error)?;
        let mut running = Running { child, exited, writer: None };

        let stdin = running.child.stdin.take().expect("standard input is piped");
        let pipe = pipe::Sender::from_owned_fd(OwnedFd::from(stdin)).map_err(start_error)?;
        running.writer = Some(tokio::spawn(write_bodies(pipe, bodies.to_vec(), group.to_owned())));

        let status = match running.wait_until(Instant::now() + self.timeout).await {
            Ok(Some(status)) => status,
            Ok(None) => {
                running.kill();
                // Not reaped within REAP_WAIT: reported all the same, as the group was killed.
                let _ = running.wait_until(Instant::now() + REAP_WAIT).await;
                return Err(ExportError::TimedOut {
                    group: group.to_owned(),
                    command: self.command.clone(),
                    timeout: self.timeout,
                });
            }
            Err(source) => {
                return Err(ExportError::Wait {
                    group: group.to_owned(),
                    command: self.command.clone(),
                    source,
                });
            }
        };
        let (group, command) = (group.to_owned(), self.command.clone());
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
    /// else in the node reaped it; it is not killed then, as its pid may be reused.
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

/// A started command: its shell, the SIGCHLD stream that says when to look at it, and the task
/// writing its input. Dropping it stops the writer and kills the command if it is still running.
struct Running {
    child: Child,
    exited: Signal,
    writer: Option<JoinHandle<()>>,
}

impl Running {
    /// The shell's exit status once it has exited and been reaped, or `None` if it is still
    /// running at `deadline`.
    async fn wait_until(&mut self, deadline: Instant) -> io::Result<Option<ExitStatus>> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            // SIGCHLD comes for any child of the node, so each one only means "look again".
            tokio::select! {
                _ = self.exited.recv() => {}
                () = sleep_until(deadline) => return self.child.try_wait(),
            }
        }
    }

    /// Sends SIGKILL to the shell's process group and to the shell. Only called while the shell
    /// is not reaped (see the module docs). Runs `sh` and waits for it, which blocks the thread
    /// for a few milliseconds; this happens only on a time-out or a cancelled run.
    fn kill(&mut self) {
        let pgid = self.child.id();
        let killed = Command::new("sh")
            .args(["-c", "kill -s KILL -- \"-$1\"", "sh", &pgid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !matches!(killed, Ok(status) if status.success()) {
            tracing::debug!(pgid, ?killed, "could not kill the export command's process group");
        }
        // Fails only when the shell has already been reaped, which is then what was wanted.
        let _ = self.child.kill();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(writer) = &self.writer {
            writer.abort();
        }
        if let Ok(None) = self.child.try_wait() {
            self.kill();
            let _ = self.child.try_wait();
        }
    }
}

/// Writes `bodies` one after the other, then closes the pipe so the command sees the end of its
/// input. Stops at the first error: the command closed its input, which it may do.
async fn write_bodies(mut pipe: pipe::Sender, bodies: Vec<Arc<[u8]>>, group: String) {
    for body in &bodies {
        if let Err(error) = pipe.write_all(body).await {
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
