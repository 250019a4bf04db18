//! `herald sim`: runs the simulator on one scenario and prints its report.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use herald_sim::{Report, Scenario};

/// Largest grid `herald sim` accepts.
const NODES_MAX: u32 = 1_000_000;

/// Arguments of `herald sim`.
#[derive(Args, Debug)]
pub struct SimArgs {
    /// Simulated nodes.
    #[arg(long, default_value_t = 100)]
    nodes: u32,
    /// Seed of the run; the same seed prints the same report (wall time aside).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Smallest one-way latency, in milliseconds.
    #[arg(long, default_value_t = 10.0)]
    latency: f64,
    /// Extra one-way latency drawn per message from 0..=JITTER, in milliseconds.
    #[arg(long, default_value_t = 40.0)]
    jitter: f64,
    /// Probability that a message is lost, from 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Fraction of nodes crashed before the first announcement, from 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    kill: f64,
    /// Links each node makes to random others.
    #[arg(long, default_value_t = 4)]
    degree: u32,
    /// Announcements published from random live nodes, 100 ms apart.
    #[arg(long, default_value_t = 10)]
    broadcasts: u32,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

impl SimArgs {
    fn scenario(&self) -> anyhow::Result<Scenario> {
        if self.nodes == 0 || self.nodes > NODES_MAX {
            bail!("--nodes must be between 1 and {NODES_MAX}, not {}", self.nodes);
        }
        if !(0.0..1.0).contains(&self.loss) {
            bail!("--loss must be at least 0 and below 1, not {}", self.loss);
        }
        if !(0.0..=1.0).contains(&self.kill) {
            bail!("--kill must be between 0 and 1, not {}", self.kill);
        }
        Ok(Scenario {
            nodes: self.nodes,
            seed: self.seed,
            latency: millis("--latency", self.latency)?,
            jitter: millis("--jitter", self.jitter)?,
            loss: self.loss,
            degree: self.degree,
            broadcasts: self.broadcasts,
            broadcast_interval: Duration::from_millis(100),
            kill: self.kill,
        })
    }
}

fn millis(flag: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value / 1000.0)
        .ok()
        .filter(|duration| *duration <= Duration::from_secs(3600))
        .with_context(|| format!("{flag} must be between 0 and 3600000 milliseconds, not {value}"))
}

/// Runs `herald sim`.
pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let scenario = args.scenario()?;
    let started = std::time::Instant::now();
    let mut report = scenario.run(|_, _| {});
    report.wall_ms = started.elapsed().as_millis() as u64;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the report as JSON")?
        );
    } else {
        print_human(&report);
    }
    if let Some(violation) = &report.violation {
        bail!("a safety checker failed: {violation}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_human(report: &Report) {
    println!(
        "herald sim: {} nodes, seed {}, {} over a {}",
        report.nodes, report.seed, report.broadcast, report.overlay
    );
    println!(
        "  delivered   {:.2}% of {} broadcasts at {} live nodes",
        report.delivered_fraction * 100.0,
        report.broadcasts,
        report.alive_at_end
    );
    let l = report.latency_ms;
    println!("  latency     p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms", l.p50, l.p99, l.max);
    let h = report.hops;
    println!("  hops        p50 {}, p99 {}, max {}", h.p50, h.p99, h.max);
    println!("  redundancy  RMR {:.2} (record copies sent per delivery, minus one)", report.rmr);
    println!(
        "  traffic     {:.1} messages and {:.1} KB sent per node",
        report.messages_per_node,
        report.bytes_per_node / 1000.0
    );
    println!(
        "  simulated   {} ms of virtual time in {} steps; {} of {} signature checks memoised",
        report.virtual_ms,
        report.steps,
        report.verify_memo_hits,
        report.verify_memo_hits + report.verify_memo_misses
    );
    println!("  trace       {} (the same seed gives the same hash)", report.trace_hash);
    println!("  wall        {} ms", report.wall_ms);
}
