//! A child run: one system on one workload in this process, reduced to figures the same way
//! for every system, printed as one JSON line for the parent.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use versus_common::{
    AccuracyOutcome, AccuracyParams, BroadcastOutcome, BroadcastParams, MembershipOutcome,
    MembershipParams, peak_rss_bytes, percentile,
};

use crate::figures::RunFigures;

/// Which system runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum System {
    /// herald: real nodes, or its core in herald-sim for accuracy.
    Herald,
    /// iroh-gossip (broadcast only).
    IrohGossip,
    /// chitchat (membership only).
    Chitchat,
    /// foca (accuracy only).
    Foca,
}

/// Which workload runs, with its parameters as JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum Workload {
    /// One origin, a burst of messages.
    Broadcast,
    /// Convergence, idle traffic, a silent crash.
    Membership,
    /// False deaths and detection time in herald-sim's network model.
    Accuracy,
}

/// What the parent tells a child.
#[derive(Args, Debug)]
pub struct ChildArgs {
    /// The workload.
    #[arg(long, value_enum)]
    workload: Workload,
    /// The system.
    #[arg(long, value_enum)]
    system: System,
    /// The workload's parameters, as JSON.
    #[arg(long)]
    params: String,
    /// chitchat's gossip interval, in milliseconds [default: chitchat's documented default].
    #[arg(long)]
    gossip_interval_ms: Option<u64>,
}

/// Runs the child and prints its figures.
pub fn run(args: &ChildArgs) -> Result<()> {
    let figures = match (args.workload, args.system) {
        (Workload::Broadcast, system) => {
            let params: BroadcastParams = parse(&args.params)?;
            let outcome = match system {
                System::Herald => versus_herald::broadcast(&params)?,
                System::IrohGossip => versus_iroh::broadcast(&params)?,
                other => bail!("{other:?} does not run the broadcast workload"),
            };
            broadcast_figures(&params, &outcome)?
        }
        (Workload::Membership, system) => {
            let params: MembershipParams = parse(&args.params)?;
            let outcome = match system {
                System::Herald => versus_herald::membership(&params)?,
                System::Chitchat => {
                    let interval = args
                        .gossip_interval_ms
                        .map_or(versus_chitchat::DEFAULT_GOSSIP_INTERVAL, Duration::from_millis);
                    versus_chitchat::membership(&params, interval)?
                }
                other => bail!("{other:?} does not run the membership workload"),
            };
            membership_figures(&params, &outcome)
        }
        (Workload::Accuracy, system) => {
            let params: AccuracyParams = parse(&args.params)?;
            let outcome = match system {
                System::Herald => versus_herald::accuracy(&params)?,
                System::Foca => versus_foca::accuracy(&params)?,
                other => bail!("{other:?} does not run the accuracy workload"),
            };
            accuracy_figures(&outcome)
        }
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).with_context(|| format!("reading the parameters {json}"))
}

/// The broadcast figures: latency over the deliveries that arrived, what did not arrive, and
/// the burst's cost.
fn broadcast_figures(params: &BroadcastParams, outcome: &BroadcastOutcome) -> Result<RunFigures> {
    let mut figures = RunFigures::default();
    let latencies = &outcome.latencies_ms;
    figures.push("latency p50", "ms", percentile(latencies, 0.50));
    figures.push("latency p99", "ms", percentile(latencies, 0.99));
    let missing = outcome.expected.saturating_sub(latencies.len());
    let all_delivered = if missing == 0 { percentile(latencies, 1.0) } else { None };
    figures.push("all delivered after", "ms", all_delivered);
    figures.push("undelivered", "%", Some(100.0 * missing as f64 / outcome.expected.max(1) as f64));
    // The least a broadcast can send: every payload once to every other node.
    let minimum = (params.messages * params.payload * (params.nodes - 1)) as f64;
    let bytes = outcome.cost.wire_bytes.map(|bytes| bytes as f64 / minimum);
    figures.push("bytes sent ÷ payload minimum", "×", bytes);
    figures.push("CPU time", "s", Some(outcome.cost.cpu_s));
    figures.push("peak RSS", "MiB", Some(peak_rss_bytes()? as f64 / f64::from(1 << 20)));
    Ok(figures)
}

/// The membership figures; idle bytes per node per second come from the namespace's wire.
fn membership_figures(params: &MembershipParams, outcome: &MembershipOutcome) -> RunFigures {
    let mut figures = RunFigures::default();
    figures.push("full view", "s", Some(outcome.converge_s));
    figures.push("crash known dead everywhere", "s", Some(outcome.detect_s));
    let per_node_s = |total: f64| total / params.nodes as f64 / outcome.idle.wall_s;
    let bytes = outcome.idle.wire_bytes.map(|bytes| per_node_s(bytes as f64));
    figures.push("idle bytes per node per s", "B", bytes);
    figures.push("idle CPU per node", "%", Some(100.0 * per_node_s(outcome.idle.cpu_s)));
    figures
}

/// The accuracy figures.
fn accuracy_figures(outcome: &AccuracyOutcome) -> RunFigures {
    let mut figures = RunFigures::default();
    figures.push("false deaths", "count", Some(outcome.false_deaths as f64));
    figures.push("crash known dead by 99%", "s", outcome.detect_s);
    figures.push("messages per member per s", "msg", Some(outcome.messages_per_member_s));
    figures
}
