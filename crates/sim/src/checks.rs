//! The randomized simulation checks: each runs a [`Scenario`] on a seed and checks what the
//! protocol must achieve on every seed.
//!
//! The integration tests (`crates/sim/tests/scenarios.rs`, one test per check, same name) run
//! them on fixed seeds, and `herald sim --sweep` runs them on any seeds. A check returns the
//! first expectation its run missed, with the figures that missed it; it does not panic.

use std::time::Duration;

use herald_core::BroadcastMode;

use crate::fault::Fault;
use crate::scenario::{Origins, Scenario};

/// A randomized check: a name (its test's name) and the check itself.
#[derive(Clone, Copy, Debug)]
pub struct SeededCheck {
    /// The check's name, which is also the name of its test in `tests/scenarios.rs`.
    pub name: &'static str,
    /// Runs the check on a seed: `Err` says which expectation the run missed.
    pub run: fn(u64) -> Result<(), String>,
    /// Seeds that once found a bug, which the check's test runs whatever `HERALD_SEED` says.
    pub pinned: &'static [u64],
}

/// Every randomized check, cheapest first.
pub const SEEDED_CHECKS: &[SeededCheck] = &[
    SeededCheck {
        name: "a_crashed_member_is_declared_dead_everywhere_and_nobody_else_is",
        run: a_crashed_member_is_declared_dead_everywhere_and_nobody_else_is,
        // Every node probing new members in the same order (so a crash went unprobed for a
        // whole pass), and overlay islands that low-priority neighbour requests never
        // reconnected.
        pinned: &[
            2_716_740_333_550_388_646,
            17_674_366_296_225_394_229,
            13_095_683_679_327_272_837,
        ],
    },
    SeededCheck {
        name: "redundancy_after_the_warm_up_leaves_out_the_warm_up_records",
        run: redundancy_after_the_warm_up_leaves_out_the_warm_up_records,
        pinned: &[],
    },
    SeededCheck {
        name: "anti_entropy_repairs_what_a_crash_wave_cut_off",
        run: anti_entropy_repairs_what_a_crash_wave_cut_off,
        pinned: &[],
    },
    SeededCheck {
        name: "plumtree_reaches_every_node_with_little_redundancy",
        run: plumtree_reaches_every_node_with_little_redundancy,
        // Anti-entropy pushing records the tree was about to deliver, and whole origins for
        // equal highs, during a burst: RMR 0.205 at 6c6fd91 (docs/decisions.md).
        pinned: &[11_457_662_449_139_403_395],
    },
];

/// The package and test target that hold one test per check.
pub const CHECKS_TEST_TARGET: (&str, &str) = ("herald-sim", "scenarios");

/// Returns `Err(message)` from the enclosing check unless `condition` holds.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        // A NaN figure fails the check: the condition is read as a whole, never negated.
        let holds: bool = $condition;
        if !holds {
            return Err(format!($($message)+));
        }
    };
}

/// 300 nodes, one origin, 60 announcements, no membership: Plumtree reaches every node with
/// little redundancy where flooding over the same overlay sends each record over every link.
pub fn plumtree_reaches_every_node_with_little_redundancy(seed: u64) -> Result<(), String> {
    let scenario = Scenario {
        nodes: 300,
        seed,
        broadcasts: 60,
        origins: Origins::Single,
        membership: false,
        settle: Duration::from_secs(5),
        ..Scenario::default()
    };
    let plumtree = scenario.run(|_, _| {});
    ensure!(plumtree.violation.is_none(), "plumtree: {:?}", plumtree.violation);
    ensure!(plumtree.delivered_fraction == 1.0, "plumtree delivered less: {plumtree:?}");
    let flood = Scenario { broadcast: BroadcastMode::Flood, ..scenario }.run(|_, _| {});
    ensure!(flood.delivered_fraction == 1.0, "flood delivered less: {flood:?}");
    // A tree sends each record about once per node; flooding over the same overlay sends it
    // over every link.
    ensure!(
        plumtree.rmr < 0.2,
        "plumtree rmr {} (repair {}, grafts {}, prunes {})",
        plumtree.rmr,
        plumtree.rmr_repair,
        plumtree.grafts,
        plumtree.prunes
    );
    ensure!(flood.rmr > 1.5, "flood rmr {}", flood.rmr);
    // The worst broadcast's last delivery hop is the run's longest first copy.
    let ldh = plumtree.last_delivery_hop;
    ensure!(ldh.max == plumtree.hops.max, "last delivery hop max is not hops max: {plumtree:?}");
    ensure!(
        plumtree.hops.p50 <= ldh.p50 && ldh.p50 <= ldh.max,
        "hops p50, last delivery hop p50 and max out of order: {plumtree:?}"
    );
    Ok(())
}

/// 300 nodes, half crash at once, no membership: anti-entropy repairs what the crash wave cut
/// off, so every survivor holds every record.
pub fn anti_entropy_repairs_what_a_crash_wave_cut_off(seed: u64) -> Result<(), String> {
    let report = Scenario {
        nodes: 300,
        seed,
        faults: vec![Fault::Crash { at: Duration::ZERO, fraction: 0.5 }],
        membership: false,
        ..Scenario::default()
    }
    .run(|_, _| {});
    ensure!(report.alive_at_end == 150, "{} alive at the end, not 150", report.alive_at_end);
    ensure!(report.violation.is_none(), "{:?}", report.violation);
    ensure!(report.delivered_fraction == 1.0, "delivered less: {report:?}");
    Ok(())
}

/// 100 nodes, 3% crash: membership declares each crashed member dead everywhere within 20 s
/// and suspects nobody else.
pub fn a_crashed_member_is_declared_dead_everywhere_and_nobody_else_is(
    seed: u64,
) -> Result<(), String> {
    let report = Scenario {
        nodes: 100,
        seed,
        faults: vec![Fault::Crash { at: Duration::ZERO, fraction: 0.03 }],
        broadcasts: 5,
        ..Scenario::default()
    }
    .run(|_, _| {});
    ensure!(report.violation.is_none(), "{:?}", report.violation);
    ensure!(report.false_suspicions == 0, "false suspicions: {report:?}");
    let converged = report.membership_converged_ms;
    ensure!(
        converged.is_some_and(|ms| ms < 20_000),
        "converged after {converged:?} ms: {report:?}"
    );
    ensure!(report.delivered_fraction == 1.0, "delivered less: {report:?}");
    Ok(())
}

/// 100 nodes with membership: the warm-up's profiles and claims count in `rmr` but not in
/// `rmr_after_warmup`.
pub fn redundancy_after_the_warm_up_leaves_out_the_warm_up_records(
    seed: u64,
) -> Result<(), String> {
    // With membership on, every node's profile and liveness claim spread during the warm-up.
    let scenario = Scenario {
        nodes: 100,
        seed,
        broadcasts: 0,
        origins: Origins::Single,
        settle: Duration::from_secs(5),
        ..Scenario::default()
    };
    let idle = scenario.clone().run(|_, _| {});
    ensure!(idle.rmr_repair > 0.0, "the warm-up's records were not sent again: {idle:?}");
    ensure!(idle.rmr_after_warmup == 0.0, "nothing was published after it: {idle:?}");
    let busy = Scenario { broadcasts: 20, ..scenario }.run(|_, _| {});
    ensure!(busy.delivered_fraction == 1.0, "delivered less: {busy:?}");
    ensure!(busy.rmr_after_warmup > 0.0, "no redundancy after the warm-up: {busy:?}");
    ensure!(busy.rmr_after_warmup != busy.rmr, "the warm-up did not count: {busy:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_are_distinct_test_names() {
        let mut names: Vec<&str> = SEEDED_CHECKS.iter().map(|check| check.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SEEDED_CHECKS.len());
        assert!(names.iter().all(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }
}
