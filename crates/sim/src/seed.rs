//! The seed protocol for every randomized run (style.md).
//!
//! A randomized simulation test runs on fixed seeds: `HERALD_SEED` when it is set, and
//! otherwise the test's defaults ([`DEFAULT_SEEDS`], or a scenario file's `seeds`), so that
//! `cargo test` gives the same verdict on every machine. Fresh seeds are explored by
//! `herald sim --sweep`, which draws them with [`draw_seed`]. When a run fails it prints one
//! line with the seed and the exact command that replays it.

use std::io::Read;

/// The environment variable that pins a randomized run's seed.
pub const SEED_VAR: &str = "HERALD_SEED";

/// Why `HERALD_SEED` could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{SEED_VAR} must be an unsigned 64-bit integer, not {0:?}")]
pub struct SeedError(pub String);

/// The seeds a randomized simulation test runs when `HERALD_SEED` is unset. Fixed, so that a
/// test's verdict does not depend on the run; `herald sim --sweep` explores other seeds.
pub const DEFAULT_SEEDS: &[u64] = &[1];

/// The seeds to run: the one in `HERALD_SEED` when it is set, else `defaults`.
pub fn seeds_from_env_or(defaults: &[u64]) -> Result<Vec<u64>, SeedError> {
    seeds_from(std::env::var(SEED_VAR).ok(), defaults)
}

fn seeds_from(value: Option<String>, defaults: &[u64]) -> Result<Vec<u64>, SeedError> {
    match value {
        Some(text) => text.trim().parse().map(|seed| vec![seed]).map_err(|_| SeedError(text)),
        None => Ok(defaults.to_vec()),
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

/// The command that replays one test on `seed`.
pub fn replay_command(seed: u64, package: &str, test_target: &str, test_name: &str) -> String {
    format!("{SEED_VAR}={seed} cargo test -p {package} --test {test_target} -- --exact {test_name}")
}

/// The one line a failing randomized test prints: its seed and how to replay it.
pub fn replay_line(seed: u64, package: &str, test_target: &str, test_name: &str) -> String {
    format!(
        "seed {seed} failed; replay with: {}",
        replay_command(seed, package, test_target, test_name)
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

    #[test]
    fn a_set_seed_replaces_the_defaults_and_a_bad_one_is_an_error() {
        assert_eq!(seeds_from(None, &[1, 2]), Ok(vec![1, 2]));
        assert_eq!(seeds_from(Some(" 7 ".into()), &[1, 2]), Ok(vec![7]));
        assert_eq!(seeds_from(Some("x".into()), &[1]), Err(SeedError("x".into())));
    }
}
