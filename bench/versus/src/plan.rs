//! What a run of `versus` measures: the three comparisons at the quick sizes or at issue 21's
//! full ones, each pairing run `--runs` times with herald and the peer alternating, and the
//! report printed at the end.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use versus_common::{AccuracyParams, BroadcastParams, MembershipParams};

use crate::child::{System, Workload};
use crate::figures::RunFigures;
use crate::report::{Pairing, Report};
use crate::spawn::Spawner;

/// How a run is sized and what it prints.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Print the report as one JSON object on stdout (the table goes to stderr either way).
    #[arg(long)]
    json: bool,
    /// The full sizes of issue 21 (N = 10, 50, 100 × 1,000 messages; N = 10, 100, 200 for
    /// membership; 1,000 members for 1 h of virtual time), which take about an hour; without
    /// it, a quick version of each that takes minutes.
    #[arg(long)]
    full: bool,
    /// Run only these workloads (repeat the flag for more) [default: all three].
    #[arg(long, value_enum)]
    only: Vec<Workload>,
    /// Runs of each pairing, herald and the peer alternating; the report gives the median.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=9))]
    runs: u32,
}

/// Runs the plan and prints the report.
pub fn run(args: &PlanArgs) -> Result<()> {
    let spawner = Spawner::new();
    let wanted = |workload| args.only.is_empty() || args.only.contains(&workload);
    let mut report = Report::default();
    if wanted(Workload::Broadcast) {
        let (sizes, messages) =
            if args.full { (&[10, 50, 100][..], 1000) } else { (&[10, 50][..], 200) };
        for &nodes in sizes {
            let params = BroadcastParams { nodes, messages, payload: 1024, deadline: secs(60) };
            let json = serde_json::to_string(&params)?;
            let mut pairing = Pairing::new(System::IrohGossip, nodes, "default configuration");
            for run in 1..=args.runs {
                progress(&format!("broadcast, N = {nodes}, run {run}"));
                pairing.herald.push(child(
                    &spawner,
                    Workload::Broadcast,
                    System::Herald,
                    &json,
                    None,
                )?);
                pairing.peer.push(child(
                    &spawner,
                    Workload::Broadcast,
                    System::IrohGossip,
                    &json,
                    None,
                )?);
            }
            report.pairings.push(pairing);
        }
    }
    if wanted(Workload::Membership) {
        let sizes = if args.full { &[10, 100, 200][..] } else { &[10, 50][..] };
        for &nodes in sizes {
            membership(&spawner, args, nodes, &mut report)?;
        }
    }
    if wanted(Workload::Accuracy) {
        let params = if args.full {
            AccuracyParams { members: 1000, loss: 0.2, virtual_s: 3600, kills: 10, seed: 1 }
        } else {
            AccuracyParams { members: 200, loss: 0.2, virtual_s: 300, kills: 2, seed: 1 }
        };
        let mut pairing =
            Pairing::new(System::Foca, params.members, "20% loss, herald-sim's network");
        for run in 1..=args.runs {
            progress(&format!("accuracy, {} members, run {run}", params.members));
            let seeded = serde_json::to_string(&AccuracyParams { seed: u64::from(run), ..params })?;
            pairing.herald.push(child(
                &spawner,
                Workload::Accuracy,
                System::Herald,
                &seeded,
                None,
            )?);
            pairing.peer.push(child(&spawner, Workload::Accuracy, System::Foca, &seeded, None)?);
        }
        report.pairings.push(pairing);
    }
    report.print(args.json)
}

/// The membership comparison at one size: chitchat at its default gossip interval, and again
/// at the interval that spends herald's idle bandwidth (idle traffic scales with the gossip
/// rate, so the interval is scaled by the ratio of the two idle figures of the same run).
fn membership(spawner: &Spawner, args: &PlanArgs, nodes: usize, report: &mut Report) -> Result<()> {
    // Long enough after convergence for every node to have probed every member once, so that
    // the idle window holds no first handshakes (BENCHMARKS.md, "Idle, on the wire").
    let settle = secs(if args.full { 20 + nodes as u64 } else { 10 + nodes as u64 / 2 });
    let idle_window = secs(if args.full { 30 } else { 10 });
    let params = MembershipParams { nodes, settle, idle_window, deadline: secs(120) };
    let json = serde_json::to_string(&params)?;
    // Gossip slowed to herald's idle bandwidth needs more time to converge and detect: the
    // deadline grows with the interval, so that a slow peer is measured, not cut off.
    let slowed = |interval_ms: u64| -> Result<String> {
        let deadline = params.deadline.max(Duration::from_millis(interval_ms * DEADLINE_ROUNDS));
        Ok(serde_json::to_string(&MembershipParams { deadline, ..params })?)
    };
    let default_ms = versus_chitchat::DEFAULT_GOSSIP_INTERVAL.as_millis() as u64;
    let mut at_default =
        Pairing::new(System::Chitchat, nodes, &format!("gossip every {default_ms} ms (default)"));
    let mut matched = Vec::new();
    let idle = "idle bytes per node per s";
    for run in 1..=args.runs {
        progress(&format!("membership, N = {nodes}, run {run}"));
        let herald = child(spawner, Workload::Membership, System::Herald, &json, None)?;
        let peer = child(spawner, Workload::Membership, System::Chitchat, &json, Some(default_ms))?;
        if let (Some(ours), Some(theirs)) = (herald.get(idle), peer.get(idle)) {
            let equal_cost = default_ms as f64 * theirs / ours.max(1.0);
            let interval = equal_cost.clamp(50.0, 30_000.0) as u64;
            if interval as f64 != equal_cost.round() {
                progress(&format!(
                    "membership, N = {nodes}: the equal-bandwidth interval {equal_cost:.0} ms is \
                     out of range; chitchat runs at {interval} ms"
                ));
            }
            progress(&format!("membership, N = {nodes}, run {run}: chitchat every {interval} ms"));
            let equal = child(
                spawner,
                Workload::Membership,
                System::Chitchat,
                &slowed(interval)?,
                Some(interval),
            )?;
            matched.push((herald.clone(), equal, interval));
        }
        at_default.herald.push(herald);
        at_default.peer.push(peer);
    }
    report.pairings.push(at_default);
    if !matched.is_empty() {
        let intervals: Vec<String> = matched.iter().map(|(_, _, ms)| format!("{ms}")).collect();
        let setting = format!("gossip every {} ms (herald's idle bandwidth)", intervals.join("/"));
        let mut pairing = Pairing::new(System::Chitchat, nodes, &setting);
        for (herald, peer, _) in matched {
            pairing.herald.push(herald);
            pairing.peer.push(peer);
        }
        report.pairings.push(pairing);
    }
    Ok(())
}

fn child(
    spawner: &Spawner,
    workload: Workload,
    system: System,
    params: &str,
    gossip_interval_ms: Option<u64>,
) -> Result<RunFigures> {
    let mut args = vec![
        "--workload".to_owned(),
        name(&workload),
        "--system".to_owned(),
        name(&system),
        "--params".to_owned(),
        params.to_owned(),
    ];
    if let Some(ms) = gossip_interval_ms {
        args.extend(["--gossip-interval-ms".to_owned(), ms.to_string()]);
    }
    // A run that fails (a peer that never converges within the deadline, say) is reported and
    // counted as a run that measured nothing: the other runs' figures are kept, and the table
    // shows the gap.
    match spawner.run(&args) {
        Ok(figures) => {
            progress(&format!("{system:?} on {workload:?}: {}", serde_json::to_string(&figures)?));
            Ok(figures)
        }
        Err(error) => {
            progress(&format!("{system:?} on {workload:?} measured nothing: {error:#}"));
            Ok(RunFigures::default())
        }
    }
}

/// The name clap gives `value` on the command line.
fn name<T: clap::ValueEnum>(value: &T) -> String {
    value.to_possible_value().map(|value| value.get_name().to_owned()).unwrap_or_default()
}

fn progress(what: &str) {
    eprintln!("versus: {what}");
}

/// Gossip rounds a slowed peer gets to converge, and again to detect a crash, at least.
const DEADLINE_ROUNDS: u64 = 20;

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}
