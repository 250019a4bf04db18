//! The seed protocol for every randomized run (style.md).
//!
//! A run takes its seed from `HERALD_SEED` when it is set, and otherwise draws one. When a run
//! fails it prints one line with the seed and the exact command that replays it.

use std::io::Read;

/// The environment variable that pins a randomized run's seed.
pub const SEED_VAR: &str = "HERALD_SEED";

/// Why `HERALD_SEED` could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{SEED_VAR} must be an unsigned 64-bit integer, not {0:?}")]
pub struct SeedError(pub String);

/// The seed from `HERALD_SEED`, or a freshly drawn one.
pub fn seed_from_env_or_draw() -> Result<u64, SeedError> {
    match std::env::var(SEED_VAR) {
        Ok(text) => text.trim().parse().map_err(|_| SeedError(text)),
        Err(_) => Ok(draw_seed()),
    }
}

/// A fresh seed from the operating system's entropy. Used only to pick a seed, never inside a
/// run, so the run itself stays a pure function of the seed.
pub fn draw_seed() -> u64 {
    let mut bytes = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut file| file.read_exact(&mut bytes)) {
        Ok(()) => u64::from_le_bytes(bytes),
        // No entropy device: fall back on the process id mixed with a stack address.
        Err(_) => u64::from(std::process::id()).rotate_left(32) ^ (&bytes as *const _ as u64),
    }
}

/// The one line a failing randomized test prints: its seed and how to replay it.
pub fn replay_line(seed: u64, package: &str, test_target: &str, test_name: &str) -> String {
    format!(
        "seed {seed} failed; replay with: {SEED_VAR}={seed} cargo test -p {package} --test {test_target} -- --exact {test_name}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_line_names_the_seed_and_the_command() {
        let line = replay_line(42, "herald-sim", "scenarios", "flood_reaches_everyone");
        assert!(line.contains("HERALD_SEED=42 cargo test -p herald-sim --test scenarios"));
        assert!(line.ends_with("flood_reaches_everyone"));
    }
}
