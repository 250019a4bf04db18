//! Starting a child run: in a network namespace of its own when this machine lets us make one
//! (root, `unshare` and `ip` present), so that the bytes on its loopback interface are its
//! alone; otherwise as a plain child, whose bytes are then not measured, and the reason is
//! printed once.

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use versus_common::NAMESPACE_ENV;

use crate::figures::RunFigures;

/// Starts child runs.
pub struct Spawner {
    namespaces: bool,
}

impl Spawner {
    /// Tries to make a network namespace once, and says on stderr if it cannot.
    pub fn new() -> Spawner {
        let probe = Command::new("unshare")
            .args(["--net", "--", "ip", "link", "set", "lo", "up"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        let namespaces = match probe {
            Ok(output) if output.status.success() => true,
            Ok(output) => {
                let why = String::from_utf8_lossy(&output.stderr);
                eprintln!("versus: no network namespaces ({}): bytes are not measured", why.trim());
                false
            }
            Err(error) => {
                eprintln!("versus: cannot run unshare ({error}): bytes are not measured");
                false
            }
        };
        Spawner { namespaces }
    }

    /// Runs `versus child ARGS` and reads its figures.
    pub fn run(&self, args: &[String]) -> Result<RunFigures> {
        let exe = std::env::current_exe().context("finding this program")?;
        let mut command = if self.namespaces {
            let mut command = Command::new("unshare");
            command
                .args(["--net", "--", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
                .arg(&exe)
                .env(NAMESPACE_ENV, "1");
            command
        } else {
            Command::new(&exe)
        };
        let output = command
            .arg("child")
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .context("starting a child run")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!("the child run `{}` failed ({})", args.join(" "), output.status);
        }
        let line = stdout.lines().last().context("the child run printed nothing")?;
        serde_json::from_str(line).with_context(|| format!("reading the child's figures {line}"))
    }
}
