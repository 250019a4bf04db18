//! Readings of this process: CPU time and peak resident memory from /proc, and bytes sent on
//! the loopback interface when the run has a network namespace of its own.

use std::time::Instant;

use anyhow::{Context, Result, bail};

/// The environment variable the root binary sets on a run it started inside a network
/// namespace of its own, where every byte on `lo` is the run's.
pub const NAMESPACE_ENV: &str = "VERSUS_OWN_NETNS";

/// Whether this process runs in a network namespace made for it alone.
pub fn in_own_namespace() -> bool {
    std::env::var_os(NAMESPACE_ENV).is_some()
}

/// What one phase of a run cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhaseCost {
    /// Wall time, in seconds.
    pub wall_s: f64,
    /// CPU time of the whole process (user and system, every thread), in seconds.
    pub cpu_s: f64,
    /// Bytes sent on the loopback interface, IP and UDP headers included; `None` outside a
    /// namespace of the run's own.
    pub wire_bytes: Option<u64>,
}

/// Measures one phase: start it, do the work, stop it.
pub struct Meter {
    wall: Instant,
    cpu_s: f64,
    wire_bytes: Option<u64>,
}

impl Meter {
    /// Starts measuring now.
    pub fn start() -> Result<Meter> {
        Ok(Meter { wall: Instant::now(), cpu_s: cpu_seconds()?, wire_bytes: loopback_bytes()? })
    }

    /// What the phase cost since [`Meter::start`].
    pub fn stop(&self) -> Result<PhaseCost> {
        let wire_bytes = match (self.wire_bytes, loopback_bytes()?) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        Ok(PhaseCost {
            wall_s: self.wall.elapsed().as_secs_f64(),
            cpu_s: cpu_seconds()? - self.cpu_s,
            wire_bytes,
        })
    }
}

/// The process's CPU time so far, user and system, from /proc/self/stat (fields 14 and 15, in
/// clock ticks of 1/100 s, the fixed USER_HZ of Linux's user interface).
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // The command name, field 2, is in parentheses and may hold spaces: count after it.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).context("no ')' in stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state), so field k is fields[k - 3].
    let ticks = |k: usize| -> Result<f64> {
        fields.get(k - 3).context("short /proc/self/stat")?.parse::<f64>().context("bad tick count")
    };
    Ok((ticks(14)? + ticks(15)?) / 100.0)
}

/// The process's peak resident memory so far (VmHWM), in bytes.
pub fn peak_rss_bytes() -> Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).context("no VmHWM")?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .context("bad VmHWM")?;
    Ok(kib * 1024)
}

/// Bytes sent so far on `lo`, when the run has the namespace to itself; `None` otherwise.
/// Read from /proc/net/dev, which follows the reader's network namespace (/sys/class/net does
/// not: an `unshare --net` without a fresh sysfs mount still shows the host's interfaces).
fn loopback_bytes() -> Result<Option<u64>> {
    if !in_own_namespace() {
        return Ok(None);
    }
    let text = std::fs::read_to_string("/proc/net/dev").context("reading /proc/net/dev")?;
    transmitted_on_lo(&text).map(Some)
}

/// The bytes transmitted on `lo` in the text of /proc/net/dev: after `lo:`, eight receive
/// columns, then transmitted bytes.
fn transmitted_on_lo(text: &str) -> Result<u64> {
    let line = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("lo:"))
        .context("/proc/net/dev has no lo line")?;
    match line.split_whitespace().nth(8).map(str::parse) {
        Some(Ok(bytes)) => Ok(bytes),
        _ => bail!("/proc/net/dev's lo line is not the expected columns: {line:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_with_work() {
        let meter = Meter::start().unwrap();
        let mut x = 0u64;
        let until = Instant::now() + std::time::Duration::from_millis(300);
        while Instant::now() < until {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let cost = meter.stop().unwrap();
        assert!(cost.cpu_s >= 0.1, "300 ms of spinning read as {} s of CPU", cost.cpu_s);
        assert!(cost.wall_s >= 0.3);
    }

    #[test]
    fn loopback_bytes_are_the_ninth_column_after_lo() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
                    face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets\n    \
                    lo: 1234      10    0    0    0     0          0         0     5678      10    0\n  \
                    eth0: 1 2 3 4 5 6 7 8 9 10\n";
        assert_eq!(transmitted_on_lo(text).unwrap(), 5678);
        assert!(transmitted_on_lo("eth0: 1 2 3").is_err());
    }

    #[test]
    fn peak_memory_sees_a_large_allocation() {
        let before = peak_rss_bytes().unwrap();
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        assert!(peak_rss_bytes().unwrap() >= before.max(64 << 20));
    }
}
