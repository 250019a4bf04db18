//! What the property tests share: their seeded configuration.

use std::hash::{BuildHasher, Hasher};

use proptest::prelude::ProptestConfig;
use proptest::test_runner::RngSeed;

/// The test configuration: 256 cases, seeded from `HERALD_SEED` or a freshly drawn seed, which
/// is printed with the command that re-runs the test binary `test` with it.
pub fn config_for(test: &str) -> ProptestConfig {
    let seed = match std::env::var("HERALD_SEED") {
        Ok(text) => text.parse().expect("HERALD_SEED must be a u64"),
        // RandomState is seeded by the OS: a cheap way to draw a seed without a clock.
        Err(_) => std::collections::hash_map::RandomState::new().build_hasher().finish(),
    };
    // Captured by the test harness and shown only when the test fails.
    eprintln!(
        "seed {seed}; re-run with: HERALD_SEED={seed} cargo test -p herald-core --test {test}"
    );
    ProptestConfig { cases: 256, rng_seed: RngSeed::Fixed(seed), ..ProptestConfig::default() }
}
