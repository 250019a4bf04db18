//! The scenario files under `scenarios/`: each runs with every seed it lists and must meet the
//! bounds of its `[expect]` table with no safety violation. One test per file, so that the
//! files run in parallel and a failure names its file.
//!
//! `HERALD_SEED=S` runs each file with seed S alone instead of its list. A failure prints, for
//! each failing seed, the bounds it missed and the commands that replay it.

use std::path::{Path, PathBuf};

use herald_sim::seed::{replay_line, seeds_from_env_or};
use herald_sim::{Report, ScenarioFile};

/// The workspace's `scenarios/` directory.
fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// The seeds to run: `HERALD_SEED` if set, else the file's own.
fn seeds(file: &ScenarioFile) -> Vec<u64> {
    seeds_from_env_or(&file.seeds).unwrap_or_else(|e| panic!("{e}"))
}

/// One line of figures, printed for every run (visible with `--nocapture`).
fn figures(name: &str, report: &Report) -> String {
    let group = report.groups.as_ref().map_or(String::new(), |groups| {
        format!(
            "; group: delivered {:.4}, latency p50 {:.0} ms p99 {:.0} ms, {} duplicates, {} out \
             of order, {} published during a split, delivered on their side before the heal \
             {:.4}",
            groups.delivered_fraction,
            groups.latency_ms.p50,
            groups.latency_ms.p99,
            groups.duplicates,
            groups.order_violations,
            groups.split_messages,
            groups.split_delivered_fraction,
        )
    });
    format!(
        "{name} seed {}: delivered {:.4} (by broadcast {:.4}), latency p50 {:.0} ms p99 {:.0} ms, \
         RMR {:.3}, {:.0} messages/node, converged {:?} ms, {} false suspicions, newcomer \
         {:?} ms, {} alive, {} steps{group}",
        report.seed,
        report.delivered_fraction,
        report.delivered_by_broadcast_fraction,
        report.latency_ms.p50,
        report.latency_ms.p99,
        report.rmr,
        report.messages_per_node,
        report.membership_converged_ms,
        report.false_suspicions,
        report.newcomer_caught_up_ms,
        report.alive_at_end,
        report.steps,
    )
}

/// Runs every seed of `scenarios/{file_name}`, then fails listing every seed that missed.
fn run_file(test_name: &str, file_name: &str) {
    let file =
        ScenarioFile::load(scenarios_dir().join(file_name)).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    for seed in seeds(&file) {
        let report = file.with_seed(seed).run(|_, _| {});
        eprintln!("{}", figures(file_name, &report));
        let misses = file.expect.misses(&report);
        if !misses.is_empty() {
            failures.push(format!(
                "scenarios/{file_name} with seed {seed} missed: {}\n  replay: herald sim --scenario scenarios/{file_name} --seed {seed}\n  {}",
                misses.join("; "),
                replay_line(seed, "herald-sim", "scenario_files", test_name),
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

macro_rules! scenario_file_tests {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_file(stringify!($test), $file);
            }
        )*

        /// Every file that has a test above.
        const TESTED: &[&str] = &[$($file),*];

        /// Each file's test is named after it (`herald sim --sweep` prints replay commands
        /// by this rule).
        #[test]
        fn each_test_is_named_after_its_file() {
            $(assert_eq!(stringify!($test), $file.trim_end_matches(".toml").replace('-', "_"));)*
        }
    };
}

scenario_file_tests! {
    steady_state => "steady-state.toml",
    random_origins => "random-origins.toml",
    mass_failure => "mass-failure.toml",
    loss_5 => "loss-5.toml",
    loss_20 => "loss-20.toml",
    partition_heal => "partition-heal.toml",
    churn => "churn.toml",
    swizzle_clog => "swizzle-clog.toml",
    newcomer => "newcomer.toml",
    burst => "burst.toml",
    routing => "routing.toml",
    groups => "groups.toml",
    groups_partition => "groups-partition.toml",
    grid_control => "grid-control.toml",
}

#[test]
fn every_scenario_file_parses_sets_bounds_and_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios/ is readable")
        .map(|entry| entry.expect("scenarios/ is readable").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut tested: Vec<String> = TESTED.iter().map(|name| (*name).to_owned()).collect();
    tested.sort();
    assert_eq!(on_disk, tested, "every scenario file needs a test in this file, and only those");
    for name in TESTED {
        let file = ScenarioFile::load(scenarios_dir().join(name)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!file.expect.is_empty(), "scenarios/{name} sets no bounds in [expect]");
        assert!(file.description.is_some(), "scenarios/{name} has no description");
    }
}
