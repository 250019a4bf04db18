//! `herald sim`: runs the simulator on one scenario and prints its report.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use herald_core::BroadcastMode;
use herald_sim::{Fault, Origins, Report, Scenario};

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
    /// Fraction of nodes crashed at once when the warm-up ends, from 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    kill: f64,
    /// Split off FRACTION of the nodes when the warm-up ends, for SECONDS (default 10), then
    /// heal: FRACTION[:SECONDS].
    #[arg(long, value_name = "FRACTION[:SECONDS]")]
    partition: Option<String>,
    /// A newcomer joins after the announcements and catches up; its catch-up time is reported.
    #[arg(long)]
    newcomer: bool,
    /// Payload bytes per announcement.
    #[arg(long, default_value_t = 16)]
    payload_bytes: usize,
    /// Announcements published, 100 ms apart.
    #[arg(long, default_value_t = 10)]
    broadcasts: u32,
    /// Broadcast algorithm: plumtree, or a baseline on the same overlay (flood: every
    /// neighbour; gossip: ln N random known peers).
    #[arg(long, value_enum, default_value_t = BroadcastArg::Plumtree)]
    broadcast: BroadcastArg,
    /// Where announcements come from.
    #[arg(long, value_enum, default_value_t = OriginsArg::Random)]
    origins: OriginsArg,
    /// Run without membership and failure detection (needed above a few thousand nodes:
    /// full membership is O(N²) memory).
    #[arg(long)]
    no_membership: bool,
    /// Seconds for joins and the overlay to settle before anything is measured.
    #[arg(long, default_value_t = 20.0)]
    warmup: f64,
    /// Seconds the run goes on after the last announcement.
    #[arg(long, default_value_t = 30.0)]
    settle: f64,
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
            broadcast: match self.broadcast {
                BroadcastArg::Plumtree => BroadcastMode::Plumtree,
                BroadcastArg::Flood => BroadcastMode::Flood,
                BroadcastArg::Gossip => BroadcastMode::Gossip {
                    fanout: (f64::from(self.nodes).ln().ceil() as u16).max(1),
                },
            },
            membership: !self.no_membership,
            broadcasts: self.broadcasts,
            broadcast_interval: Duration::from_millis(100),
            origins: match self.origins {
                OriginsArg::Single => Origins::Single,
                OriginsArg::Random => Origins::Random,
            },
            faults: self.faults()?,
            newcomer: self.newcomer,
            payload_bytes: self.payload_bytes,
            warmup: seconds("--warmup", self.warmup)?,
            settle: seconds("--settle", self.settle)?,
        })
    }
}

/// Broadcast algorithms `herald sim` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BroadcastArg {
    Plumtree,
    Flood,
    Gossip,
}

/// Where announcements come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OriginsArg {
    Single,
    Random,
}

impl SimArgs {
    fn faults(&self) -> anyhow::Result<Vec<Fault>> {
        let mut faults = Vec::new();
        if self.kill > 0.0 {
            faults.push(Fault::Crash { at: Duration::ZERO, fraction: self.kill });
        }
        if let Some(spec) = &self.partition {
            let (fraction, secs) = spec.split_once(':').unwrap_or((spec, "10"));
            let fraction: f64 = fraction
                .parse()
                .ok()
                .filter(|f| (0.0..=0.5).contains(f))
                .with_context(|| format!("--partition takes FRACTION[:SECONDS] with FRACTION from 0 to 0.5, not {spec:?}"))?;
            let secs: f64 = secs
                .parse()
                .with_context(|| format!("--partition SECONDS must be a number, not {secs:?}"))?;
            let duration = seconds("--partition SECONDS", secs)?;
            faults.push(Fault::Partition {
                at: Duration::ZERO,
                duration,
                fraction,
                one_way: false,
            });
        }
        Ok(faults)
    }
}

fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    millis(flag, value * 1000.0)
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
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        let json = serde_json::to_string_pretty(&report).context("encoding the report as JSON")?;
        writeln!(out, "{json}")
    } else {
        print_human(&mut out, &report)
    };
    written.context("writing the report to standard output")?;
    if let Some(violation) = &report.violation {
        bail!("a safety checker failed: {violation}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_human(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "herald sim: {} nodes, seed {}, {} over a {}",
        report.nodes, report.seed, report.broadcast, report.overlay
    )?;
    writeln!(
        out,
        "  delivered   {:.2}% of {} broadcasts at {} live nodes ({:.2}% by broadcast, the rest by anti-entropy)",
        report.delivered_fraction * 100.0,
        report.broadcasts,
        report.alive_at_end,
        report.delivered_by_broadcast_fraction * 100.0
    )?;
    let l = report.latency_ms;
    writeln!(out, "  latency     p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms", l.p50, l.p99, l.max)?;
    let h = report.hops;
    writeln!(out, "  hops        p50 {}, p99 {}, max {}", h.p50, h.p99, h.max)?;
    writeln!(
        out,
        "  redundancy  RMR {:.3} (record copies sent per delivery, minus one); {} grafts, {} prunes",
        report.rmr, report.grafts, report.prunes
    )?;
    match (report.membership, report.membership_converged_ms) {
        (false, _) => writeln!(out, "  membership  off"),
        (true, Some(ms)) => writeln!(
            out,
            "  membership  every live node's view correct {ms} ms after the faults healed; {} false suspicions",
            report.false_suspicions
        ),
        (true, None) => writeln!(
            out,
            "  membership  views had not converged when the run ended; {} false suspicions",
            report.false_suspicions
        ),
    }?;
    writeln!(
        out,
        "  traffic     {:.1} messages and {:.1} KB sent per node",
        report.messages_per_node,
        report.bytes_per_node / 1000.0
    )?;
    writeln!(
        out,
        "  simulated   {} ms of virtual time in {} steps; {} of {} signature checks memoised",
        report.virtual_ms,
        report.steps,
        report.verify_memo_hits,
        report.verify_memo_hits + report.verify_memo_misses
    )?;
    writeln!(out, "  trace       {} (the same seed gives the same hash)", report.trace_hash)?;
    writeln!(out, "  wall        {} ms", report.wall_ms)?;
    Ok(())
}
