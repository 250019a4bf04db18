//! `herald sim`: runs the simulator on one scenario and prints its report.
//!
//! The scenario comes from the flags, or from a scenario file (`--scenario`) whose values the
//! flags given explicitly override. `--compare` runs the same scenario with every broadcast
//! algorithm, so each figure comes with its baselines; `--plot` draws how fast records spread.
//! `--sweep` runs scenario files and the randomized checks on many seeds (the `sweep` module).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use herald_core::BroadcastMode;
use herald_sim::{
    FILE_NODES_MAX, Fault, LossModel, Origins, ReachCurve, Report, Scenario, ScenarioFile,
    gossip_fanout,
};

use crate::commands::sim_text;
use crate::commands::sweep::{self, SeedList};
use crate::plot;

#[path = "sim_plan.rs"]
mod plan;

use crate::progress::LazyProgress;
use plan::Plan;

/// Largest grid `herald sim` accepts.
const NODES_MAX: u32 = FILE_NODES_MAX;

/// Arguments of `herald sim`.
#[derive(Args, Debug)]
#[command(after_help = "\
Scenario files (TOML, see scenarios/) hold a scenario, a list of seeds and the bounds its runs \
must meet. With --scenario, the flags above override the file; --seed defaults to the file's \
first seed, and the file's bounds are checked (exit status 1 if one is missed) unless a flag \
changed the scenario.

A sweep (--sweep --seeds SEEDS) runs scenario files and the simulator's randomized checks (the \
tests of crates/sim/tests/scenarios.rs) on each seed, one line per seed, then a summary; each \
failure is printed with the commands that replay it, and the exit status is 1 if any run \
failed. With neither --scenario nor --check it runs every file in ./scenarios and every check. \
`cargo test` runs them on fixed seeds only; the sweep is how other seeds are tried.

Examples:
  herald sim --nodes 500 --loss 0.05
  herald sim --scenario scenarios/partition-heal.toml --seed 2
  herald sim --scenario scenarios/loss-20.toml --compare --plot reach.svg
  herald sim --sweep --seeds random:200 --jobs 2
  herald sim --sweep --seeds 1..=50 --scenario scenarios/steady-state.toml \
    --check plumtree_reaches_every_node_with_little_redundancy")]
pub struct SimArgs {
    /// Run the scenario in FILE (TOML); the flags below, when given, override its values.
    /// With --sweep, sweep FILE (repeat the flag for more files).
    #[arg(long, value_name = "FILE")]
    scenario: Vec<PathBuf>,
    /// Simulated nodes [default: 100].
    #[arg(long)]
    nodes: Option<u32>,
    /// Seed of the run; the same seed prints the same report, wall time aside [default: the
    /// scenario file's first seed, else 1].
    #[arg(long)]
    seed: Option<u64>,
    /// Smallest one-way latency, in milliseconds [default: 10].
    #[arg(long, value_name = "MS")]
    latency: Option<f64>,
    /// Extra one-way latency drawn per message from 0..=JITTER, in milliseconds [default: 40].
    #[arg(long, value_name = "MS")]
    jitter: Option<f64>,
    /// Probability that a packet is lost, from 0 to 1. Lost packets are retransmitted after a
    /// probe timeout, as on a QUIC stream, so loss becomes delay (docs/protocol.md) [default: 0].
    #[arg(long, value_name = "P")]
    loss: Option<f64>,
    /// What a lost packet does: retransmit (herald's QUIC streams: loss becomes delay) or drop
    /// (datagram semantics: a lost packet is a lost message, a harsher test of repair)
    /// [default: retransmit].
    #[arg(long, value_enum, value_name = "MODEL")]
    loss_model: Option<LossModelArg>,
    /// Crash FRACTION of the nodes at once when the warm-up ends; replaces a file's faults.
    #[arg(long, value_name = "FRACTION")]
    kill: Option<f64>,
    /// Split off FRACTION of the nodes when the warm-up ends, for SECONDS (default 10), then
    /// heal; replaces a file's faults.
    #[arg(long, value_name = "FRACTION[:SECONDS]")]
    partition: Option<String>,
    /// A newcomer joins after the announcements and catches up; its catch-up time is reported.
    #[arg(long)]
    newcomer: bool,
    /// Payload bytes per announcement [default: 16].
    #[arg(long, value_name = "BYTES")]
    payload_bytes: Option<usize>,
    /// Announcements published, 100 ms apart unless a scenario file sets another interval
    /// [default: 10].
    #[arg(long, value_name = "N")]
    broadcasts: Option<u32>,
    /// Broadcast algorithm: plumtree, or a baseline on the same overlay (flood: every
    /// neighbour; gossip: ⌈ln N⌉ random known peers) [default: plumtree].
    #[arg(long, value_enum)]
    broadcast: Option<BroadcastArg>,
    /// Run the scenario with plumtree, flood and gossip on the same seed and print one line
    /// each; with --plot, draw each algorithm's mean reach curve.
    #[arg(long, conflicts_with = "broadcast")]
    compare: bool,
    /// Where announcements come from [default: random].
    #[arg(long, value_enum)]
    origins: Option<OriginsArg>,
    /// Run without membership and failure detection (needed above a few thousand nodes:
    /// full membership is O(N²) memory).
    #[arg(long)]
    no_membership: bool,
    /// Run link-state routing too: nodes advertise their links, and the report checks every
    /// live node's routing table against the others' (complete, no loops).
    #[arg(long)]
    routing: bool,
    /// Seconds for joins and the overlay to settle before anything is measured [default: 20].
    #[arg(long, value_name = "SECONDS")]
    warmup: Option<f64>,
    /// Seconds the run goes on after the last announcement and fault [default: 30].
    #[arg(long, value_name = "SECONDS")]
    settle: Option<f64>,
    /// Draw the fraction of live nodes reached over time since publication to an SVG file:
    /// one line per announcement, or with --compare one mean line per algorithm.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Print the report as one JSON object (with --compare, an object keyed by algorithm).
    #[arg(long)]
    json: bool,
    /// Sweep: run scenario files and randomized checks on every seed of --seeds, and print
    /// the replay commands of each failure (see below).
    #[arg(long, requires = "seeds", conflicts_with_all = SWEEP_CONFLICTS)]
    sweep: bool,
    /// The seeds of --sweep, comma-separated: a seed (42), a range (1..200 leaves out 200;
    /// 1..=200 does not) or random:N (N seeds drawn afresh).
    #[arg(long, value_name = "SEEDS", requires = "sweep")]
    seeds: Option<SeedList>,
    /// With --sweep, run the randomized check NAME (repeat for more), e.g.
    /// plumtree_reaches_every_node_with_little_redundancy; a misspelt name lists them all.
    #[arg(long, value_name = "NAME", requires = "sweep")]
    check: Vec<String>,
    /// With --sweep, how many runs go at once, one thread each [default: 1].
    #[arg(long, value_name = "N", requires = "sweep")]
    jobs: Option<usize>,
}

/// The flags that shape one run, which a sweep does not take (it runs files and checks as
/// they are).
const SWEEP_CONFLICTS: [&str; 20] = [
    "nodes",
    "seed",
    "latency",
    "jitter",
    "loss",
    "loss_model",
    "kill",
    "partition",
    "newcomer",
    "payload_bytes",
    "broadcasts",
    "broadcast",
    "compare",
    "origins",
    "no_membership",
    "routing",
    "warmup",
    "settle",
    "plot",
    "json",
];

/// What a lost packet does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LossModelArg {
    Retransmit,
    Drop,
}

/// Broadcast algorithms `herald sim` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BroadcastArg {
    Plumtree,
    Flood,
    Gossip,
}

impl BroadcastArg {
    const ALL: [BroadcastArg; 3] =
        [BroadcastArg::Plumtree, BroadcastArg::Flood, BroadcastArg::Gossip];

    fn name(self) -> &'static str {
        match self {
            BroadcastArg::Plumtree => "plumtree",
            BroadcastArg::Flood => "flood",
            BroadcastArg::Gossip => "gossip",
        }
    }

    fn mode(self, nodes: u32) -> BroadcastMode {
        match self {
            BroadcastArg::Plumtree => BroadcastMode::Plumtree,
            BroadcastArg::Flood => BroadcastMode::Flood,
            BroadcastArg::Gossip => BroadcastMode::Gossip { fanout: gossip_fanout(nodes) },
        }
    }
}

/// Where announcements come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OriginsArg {
    Single,
    Random,
}

/// One finished run.
pub(super) struct Run {
    pub(super) algorithm: &'static str,
    pub(super) report: Report,
    curves: Vec<ReachCurve>,
}

fn run_one(scenario: &Scenario, label: &'static str) -> Run {
    let mut progress = LazyProgress::start(format!("simulating {label}").trim_end().to_owned());
    let started = std::time::Instant::now();
    let (mut report, curves) = scenario.run_detailed(|done, total| progress.update(done, total));
    report.wall_ms = started.elapsed().as_millis() as u64;
    progress.finish();
    Run { algorithm: label, report, curves }
}

/// Runs `herald sim`.
pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    if args.sweep {
        return sweep::run(sweep::Plan {
            seeds: args.seeds.map(|seeds| seeds.0).unwrap_or_default(),
            files: args.scenario,
            checks: args.check,
            jobs: args.jobs.unwrap_or(1),
        });
    }
    let plan = args.plan()?;
    let runs: Vec<Run> = if args.compare {
        BroadcastArg::ALL
            .iter()
            .map(|algorithm| {
                let scenario = Scenario {
                    broadcast: algorithm.mode(plan.scenario.nodes),
                    ..plan.scenario.clone()
                };
                run_one(&scenario, algorithm.name())
            })
            .collect()
    } else {
        vec![run_one(&plan.scenario, "")]
    };
    // Bounds are the file's claims about its own scenario: a flag that changed it, or a
    // comparison with other algorithms, voids them.
    let expect = plan.file.as_ref().filter(|_| !plan.overridden && !args.compare);
    let misses = expect.map(|file| file.expect.misses(&runs[0].report)).unwrap_or_default();

    // The plot first: a reader that closes stdout early (`| head`) must not cost the file.
    if let Some(path) = &args.plot {
        draw_plot(path, &plan, &runs)?;
    }
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        let json = if args.compare {
            let by_algorithm: serde_json::Map<String, serde_json::Value> = runs
                .iter()
                .map(|run| Ok((run.algorithm.to_owned(), serde_json::to_value(&run.report)?)))
                .collect::<serde_json::Result<_>>()
                .context("encoding the reports as JSON")?;
            serde_json::to_string_pretty(&by_algorithm)
        } else {
            serde_json::to_string_pretty(&runs[0].report)
        }
        .context("encoding the report as JSON")?;
        writeln!(out, "{json}")
    } else {
        print_human(&mut out, &plan, &runs, expect.map(|file| (file, misses.as_slice())))
    };
    written.context("writing the report to standard output")?;
    drop(out);
    if let Some(run) = runs.iter().find(|run| run.report.violation.is_some()) {
        let violation = run.report.violation.as_deref().unwrap_or_default();
        bail!("a safety checker failed: {violation}");
    }
    if let Some(file) = expect
        && !misses.is_empty()
    {
        bail!(
            "the run missed {} of the {} bounds in {}: {}",
            misses.len(),
            file.expect.len(),
            file.path.display(),
            misses.join("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn draw_plot(path: &std::path::Path, plan: &Plan, runs: &[Run]) -> anyhow::Result<()> {
    let scenario = &plan.scenario;
    let name = plan.file.as_ref().map_or_else(|| "herald sim".to_owned(), ScenarioFile::name);
    let (title, lines) = if let [run] = runs {
        let title = format!(
            "{name}: {} nodes, seed {}, {}, one line per announcement",
            scenario.nodes, scenario.seed, run.report.broadcast
        );
        let lines = run
            .curves
            .iter()
            .enumerate()
            .map(|(index, curve)| plot::curve_line(curve, plot::color(index)))
            .collect::<Vec<_>>();
        (title, lines)
    } else {
        let title = format!(
            "{name}: {} nodes, seed {}, mean over {} announcements",
            scenario.nodes,
            scenario.seed,
            runs[0].curves.len()
        );
        let lines = runs
            .iter()
            .enumerate()
            .map(|(index, run)| {
                plot::mean_line(&run.curves, run.report.broadcast.clone(), plot::color(index))
            })
            .collect();
        (title, lines)
    };
    plot::draw(path, &title, &lines)
}

fn print_human(
    out: &mut impl Write,
    plan: &Plan,
    runs: &[Run],
    expect: Option<(&ScenarioFile, &[String])>,
) -> std::io::Result<()> {
    if let Some(file) = &plan.file {
        let overridden = if plan.overridden { ", with flags overriding it" } else { "" };
        writeln!(out, "scenario {}{overridden}", file.path.display())?;
        if let Some(description) = &file.description {
            writeln!(out, "  {description}")?;
        }
    }
    match runs {
        [run] => sim_text::print_report(out, &run.report, plan.scenario.newcomer)?,
        _ => sim_text::print_comparison(out, runs)?,
    }
    if let Some((file, misses)) = expect {
        if misses.is_empty() {
            writeln!(
                out,
                "  expect      all {} bounds of the scenario file met",
                file.expect.len()
            )?;
        } else {
            for miss in misses {
                writeln!(out, "  MISSED      {miss}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SimArgs,
    }

    fn plan(args: &[&str]) -> anyhow::Result<Plan> {
        Wrapper::try_parse_from(std::iter::once("sim").chain(args.iter().copied()))
            .expect("the arguments parse")
            .args
            .plan()
    }

    fn scenario_file(name: &str) -> String {
        format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn without_a_file_the_flags_defaults_are_the_scenario_defaults() {
        let plan = plan(&[]).unwrap();
        assert_eq!(plan.scenario, Scenario::default());
        assert!(plan.file.is_none());
    }

    #[test]
    fn a_file_gives_the_scenario_and_its_first_seed() {
        let path = scenario_file("mass-failure.toml");
        let plan = plan(&["--scenario", &path]).unwrap();
        let file = ScenarioFile::load(&path).unwrap();
        assert_eq!(plan.scenario, file.scenario);
        assert_eq!(plan.scenario.seed, file.seeds[0]);
        assert!(!plan.overridden);
        let seeded = super::tests::plan(&["--scenario", &path, "--seed", "99"]).unwrap();
        assert_eq!(seeded.scenario.seed, 99);
        assert!(!seeded.overridden, "a seed does not change the scenario");
    }

    #[test]
    fn flags_override_the_file_and_gossip_fanout_follows_the_nodes() {
        let path = scenario_file("mass-failure.toml");
        let plan =
            plan(&["--scenario", &path, "--nodes", "1000", "--broadcast", "gossip", "--kill", "0"])
                .unwrap();
        assert!(plan.overridden);
        assert_eq!(plan.scenario.nodes, 1000);
        assert_eq!(plan.scenario.broadcast, BroadcastMode::Gossip { fanout: 7 });
        assert_eq!(plan.scenario.faults, Vec::new(), "--kill replaces the file's faults");
        assert_eq!(plan.scenario.settle, Duration::from_secs(30), "the rest comes from the file");
    }

    #[test]
    fn a_sweep_takes_seeds_files_and_checks_but_no_flags_that_shape_a_run() {
        let parse = |args: &[&str]| {
            Wrapper::try_parse_from(std::iter::once("sim").chain(args.iter().copied()))
                .map(|wrapper| wrapper.args)
        };
        let args =
            parse(&["--sweep", "--seeds", "1..3", "--scenario", "a.toml", "--scenario", "b.toml"])
                .expect("a sweep over two files parses");
        assert_eq!(args.seeds, Some(SeedList(vec![1, 2])));
        assert_eq!(args.scenario.len(), 2);
        assert!(parse(&["--sweep"]).is_err(), "a sweep needs --seeds");
        assert!(parse(&["--seeds", "1..3"]).is_err(), "--seeds needs --sweep");
        assert!(parse(&["--check", "x"]).is_err(), "--check needs --sweep");
        assert!(parse(&["--sweep", "--seeds", "1", "--nodes", "5"]).is_err());
        assert!(parse(&["--sweep", "--seeds", "1", "--json"]).is_err());
        let two = plan(&["--scenario", "a.toml", "--scenario", "b.toml"]).err().expect("an error");
        assert_eq!(two.to_string(), "--scenario names one file, except with --sweep");
    }

    #[test]
    fn bad_flags_are_one_sentence_usage_errors() {
        let refused = |args: &[&str]| plan(args).err().expect("an error");
        let error = |args: &[&str]| format!("{:#}", refused(args));
        assert_eq!(error(&["--nodes", "0"]), "--nodes must be between 1 and 1000000, not 0");
        assert_eq!(error(&["--loss", "1"]), "--loss must be at least 0 and below 1, not 1");
        for args in [
            &["--nodes", "0"][..],
            &["--loss", "1"],
            &["--kill", "2"],
            &["--partition", "x"],
            &["--partition", "0.2:soon"],
            &["--latency", "9e9"],
            &["--settle", "1e9"],
        ] {
            assert!(crate::commands::usage::is_usage(&refused(args)), "{args:?} exits 2");
        }
        // A file that cannot be read is a failure, not a bad call: exit 1.
        let missing = refused(&["--scenario", "/nonexistent.toml"]);
        assert!(
            format!("{missing:#}").starts_with("cannot read scenario file /nonexistent.toml: ")
        );
        assert!(!crate::commands::usage::is_usage(&missing));
    }
}
