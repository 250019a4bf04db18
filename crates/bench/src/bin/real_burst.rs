//! `real-burst`: issue 15's burst on real nodes. It runs N `herald run` processes on loopback,
//! joined by invitation, then one node announces `--burst` services with a `--payload`-byte
//! payload, back to back from one client, and measures:
//! - delivery latency, from each announcement's call to each other node's event for it;
//! - bytes the nodes sent during the burst, against the payload minimum (burst × payload ×
//!   (N − 1));
//! - CPU of all the processes during the burst, and their peak RSS;
//! - `suspect` events during the burst (a healthy grid should have none).
//!
//! Usage: `cargo build --release && target/release/real-burst --nodes 100 --burst 200`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use herald_bench::grid::{PHASE_TIMEOUT, Proc, cpu_ticks, drain, put, sent, start_grid, subscribe};
use herald_sim::Percentiles;
use serde_json::json;

/// Announces a burst on a real grid and measures its delivery.
#[derive(Parser, Debug)]
struct Args {
    /// Processes in the grid.
    #[arg(long, default_value_t = 100)]
    nodes: usize,
    /// Announcements in the burst, all from one node.
    #[arg(long, default_value_t = 200)]
    burst: usize,
    /// Payload bytes of each announcement.
    #[arg(long, default_value_t = 1024)]
    payload: usize,
    /// The herald binary.
    #[arg(long, default_value = "target/release/herald")]
    herald: PathBuf,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> std::process::ExitCode {
    herald_bench::exit_code("real-burst", run(Args::parse()))
}

fn run(args: Args) -> Result<()> {
    if args.nodes < 2 || args.burst == 0 {
        bail!("--nodes must be at least 2 and --burst at least 1");
    }
    let root = tempfile::Builder::new().prefix("herald-real-burst-").tempdir()?;
    let (procs, _) = start_grid(&args.herald, root.path(), args.nodes)?;
    let (events_tx, events) = mpsc::channel();
    for (index, proc) in procs.iter().enumerate() {
        subscribe(index, &proc.api, events_tx.clone());
    }
    std::thread::sleep(Duration::from_secs(2));
    drain(&events);

    let origin = 1;
    let payload = json!({ "data": "x".repeat(args.payload) });
    let cpu_before = total(&procs, cpu_ticks)?;
    let bytes_before = total(&procs, |proc| sent(proc).map(|(_, bytes)| bytes))?;
    eprintln!("announcing {} services of {} bytes at node {origin}", args.burst, args.payload);
    let started = Instant::now();
    let mut asked: BTreeMap<String, Instant> = BTreeMap::new();
    for k in 0..args.burst {
        let service = format!("burst-{k}");
        asked.insert(service.clone(), Instant::now());
        put(&procs[origin].api, &service, &payload)?;
    }
    let announced_s = started.elapsed().as_secs_f64();

    let expected = args.burst * (args.nodes - 1);
    let mut delivered: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut latencies_ms = Vec::with_capacity(expected);
    let mut suspicions = 0;
    while delivered.len() < expected {
        let seen = events.recv_timeout(PHASE_TIMEOUT).with_context(|| {
            format!("{} of {expected} deliveries after {PHASE_TIMEOUT:?}", delivered.len())
        })?;
        if seen.kind == "member" && seen.data["state"] == "suspect" {
            suspicions += 1;
        }
        let Some(service) = seen.data["service"].as_str() else { continue };
        let Some(at) = asked.get(service) else { continue };
        if seen.kind == "announcement"
            && seen.node != origin
            && delivered.insert((seen.node, service.to_owned()))
        {
            latencies_ms.push(seen.at.duration_since(*at).as_secs_f64() * 1e3);
        }
    }
    let all_delivered_s = started.elapsed().as_secs_f64();
    let cpu_s = (total(&procs, cpu_ticks)? - cpu_before) as f64 / 100.0;
    let bytes = total(&procs, |proc| sent(proc).map(|(_, bytes)| bytes))? - bytes_before;
    let minimum = (args.burst * args.payload * (args.nodes - 1)) as f64;
    let peak_rss_mib = total(&procs, peak_rss_kib)? as f64 / 1024.0;
    let latency = Percentiles::of(latencies_ms);
    let figures = json!({
        "nodes": args.nodes,
        "burst": args.burst,
        "payload": args.payload,
        "announce_calls_s": announced_s,
        "all_delivered_s": all_delivered_s,
        "latency_ms": { "p50": latency.p50, "p99": latency.p99, "max": latency.max },
        "bytes_over_payload_minimum": bytes as f64 / minimum,
        "cpu_s": cpu_s,
        "peak_rss_mib_all": peak_rss_mib,
        "suspect_events": suspicions,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        println!(
            "{} nodes, {} announcements of {} B: calls took {announced_s:.2} s, all delivered \
             after {all_delivered_s:.2} s; latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; \
             bytes {:.2}x the payload minimum; CPU {cpu_s:.1} s; peak RSS {peak_rss_mib:.0} MiB \
             over all nodes; {suspicions} suspect events",
            args.nodes,
            args.burst,
            args.payload,
            latency.p50,
            latency.p99,
            latency.max,
            bytes as f64 / minimum,
        );
    }
    Ok(())
}

/// `measure` summed over every process.
fn total(procs: &[Proc], measure: impl Fn(&Proc) -> Result<u64>) -> Result<u64> {
    procs.iter().map(measure).sum()
}

/// The process's peak resident memory, in KiB.
fn peak_rss_kib(proc: &Proc) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", proc.child.id()))?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    Ok(line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).unwrap_or(0))
}
