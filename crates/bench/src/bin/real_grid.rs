//! `real-grid`: the benchmark of issue 4. It runs N real `herald run` processes on loopback,
//! joined by invitation, and measures what the simulator predicts for the same N:
//! announcement latency (per delivery, and to every node), crash-to-dead-everywhere, idle CPU,
//! RSS and traffic per node, and a newcomer's join time. Then it runs `herald sim` with the same
//! N, loopback-like latency and the same workload, and prints each figure beside the
//! prediction with their ratio.
//!
//! Timing comes from each node's `/v1/events` stream, read by one thread per node, so that
//! polling does not load the machine being measured.
//!
//! Usage: `cargo build --release && target/release/real-grid --nodes 100` (see `--help`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use herald_bench::grid::{
    PHASE_TIMEOUT, Proc, Seen, all_see, cpu_ticks, drain, invite, join, put, rss_kib, sent, spawn,
    start_grid, subscribe, wait,
};
use herald_sim::Percentiles;
use serde_json::{Value, json};

/// Runs N real herald processes on loopback and compares their figures with the simulator's.
#[derive(Parser, Debug)]
struct Args {
    /// Processes in the grid.
    #[arg(long, default_value_t = 100)]
    nodes: usize,
    /// Announcements published, from different nodes, one at a time.
    #[arg(long, default_value_t = 20)]
    announcements: usize,
    /// Nodes killed with SIGKILL at once.
    #[arg(long, default_value_t = 3)]
    kill: usize,
    /// Seconds of idle measurement (CPU, traffic).
    #[arg(long, default_value_t = 30)]
    idle: u64,
    /// The herald binary.
    #[arg(long, default_value = "target/release/herald")]
    herald: PathBuf,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> std::process::ExitCode {
    herald_bench::exit_code("real-grid", run(Args::parse()))
}

fn run(args: Args) -> Result<()> {
    if args.kill + 1 >= args.nodes {
        bail!("--kill must leave at least two nodes");
    }
    let root = tempfile::Builder::new().prefix("herald-real-grid-").tempdir()?;
    let (events_tx, events) = mpsc::channel::<Seen>();

    let (mut procs, converged_s) = start_grid(&args.herald, root.path(), args.nodes)?;
    let ids: Vec<String> = procs.iter().map(|proc| proc.id.clone()).collect();
    for (index, proc) in procs.iter().enumerate() {
        subscribe(index, &proc.api, events_tx.clone());
    }
    std::thread::sleep(Duration::from_secs(2));

    let (idle_cpu, idle_rss_kib, idle_frames, idle_bytes) = idle(&procs, args.idle)?;

    eprintln!("publishing {} announcements", args.announcements);
    let mut deliveries = Vec::new();
    let mut to_all = Vec::new();
    for k in 0..args.announcements {
        let origin = (k * 37 + 1) % args.nodes;
        let service = format!("bench-{k}");
        drain(&events);
        let published = Instant::now();
        put(&procs[origin].api, &service, &json!({"bench": true}))?;
        let mut arrived: BTreeMap<usize, Duration> = BTreeMap::new();
        while arrived.len() < args.nodes - 1 {
            let seen = events.recv_timeout(PHASE_TIMEOUT).context("announcement lost")?;
            let ours = seen.kind == "announcement" && seen.data["service"] == service.as_str();
            if ours && seen.node != origin {
                arrived.entry(seen.node).or_insert(seen.at.duration_since(published));
            }
        }
        deliveries.extend(arrived.values().map(Duration::as_secs_f64));
        to_all.push(arrived.values().max().map_or(0.0, Duration::as_secs_f64));
    }

    eprintln!("killing {} nodes with SIGKILL", args.kill);
    drain(&events);
    let killed: Vec<usize> = (args.nodes - args.kill..args.nodes).collect();
    let killed_at = Instant::now();
    for &index in &killed {
        let _ = procs[index].child.kill();
        let _ = procs[index].child.wait();
    }
    let survivors = args.nodes - args.kill;
    let pairs = survivors * args.kill;
    let mut known: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut known_99 = None;
    while known.len() < pairs {
        let seen = events.recv_timeout(PHASE_TIMEOUT).context("a crash went unnoticed")?;
        let subject = seen.data["node_id"].as_str().unwrap_or_default().to_owned();
        let is_killed = killed.iter().any(|&index| ids[index] == subject);
        if seen.kind == "member" && seen.data["state"] == "dead" && is_killed {
            known.insert((seen.node, subject));
            if known_99.is_none() && known.len() * 100 >= pairs * 99 {
                known_99 = Some(seen.at.duration_since(killed_at).as_secs_f64());
            }
        }
    }
    let dead_everywhere = killed_at.elapsed().as_secs_f64();

    eprintln!("a newcomer joins");
    let newcomer_code = invite(&procs[0].api, 1)?;
    let newcomer_dir = root.path().join("newcomer");
    let join_started = Instant::now();
    join(&args.herald, &newcomer_code, &newcomer_dir)?;
    let join_command = join_started.elapsed().as_secs_f64();
    let newcomer = spawn(&args.herald, &newcomer_dir, args.nodes)?;
    let live: Vec<usize> = (0..survivors).collect();
    let mut live_ids: Vec<String> = live.iter().map(|&index| ids[index].clone()).collect();
    live_ids.push(newcomer.id.clone());
    procs.push(newcomer);
    let newcomer_index = procs.len() - 1;
    wait("the newcomer to see every live node alive, and be seen", || {
        Ok(all_see(&procs, &[newcomer_index], &live_ids, "alive")?
            && all_see(&procs, &live, &live_ids[survivors..], "alive")?)
    })?;
    let newcomer_joined = join_started.elapsed().as_secs_f64();

    let deliveries = Percentiles::of(deliveries);
    let to_all = Percentiles::of(to_all);
    let real = json!({
        "nodes": args.nodes,
        "converged_s": converged_s,
        "delivery_p50_ms": deliveries.p50 * 1e3,
        "delivery_p99_ms": deliveries.p99 * 1e3,
        "to_all_p50_ms": to_all.p50 * 1e3,
        "to_all_p99_ms": to_all.p99 * 1e3,
        "crash_known_99_s": known_99,
        "crash_dead_everywhere_s": dead_everywhere,
        "idle_cpu_percent_per_node": idle_cpu,
        "idle_rss_mib_per_node": idle_rss_kib / 1024.0,
        "idle_frames_per_node_per_s": idle_frames,
        "idle_bytes_per_node_per_s": idle_bytes,
        "newcomer_join_command_s": join_command,
        "newcomer_join_s": newcomer_joined,
    });
    let sim = simulate(&args)?;
    report(&args, &real, &sim)
}

/// CPU percent per node, RSS KiB per node, frames and bytes sent per node per second, over
/// `seconds` of quiet.
fn idle(procs: &[Proc], seconds: u64) -> Result<(f64, f64, f64, f64)> {
    eprintln!("measuring {seconds} s of idle");
    let before_cpu: Vec<u64> = procs.iter().map(cpu_ticks).collect::<Result<_>>()?;
    let before_out: Vec<(u64, u64)> = procs.iter().map(sent).collect::<Result<_>>()?;
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let elapsed = started.elapsed().as_secs_f64();
    let after_cpu: Vec<u64> = procs.iter().map(cpu_ticks).collect::<Result<_>>()?;
    let after_out: Vec<(u64, u64)> = procs.iter().map(sent).collect::<Result<_>>()?;
    let n = procs.len() as f64;
    let ticks: u64 = after_cpu.iter().zip(&before_cpu).map(|(a, b)| a - b).sum();
    // Linux's USER_HZ is 100 on every platform Rust supports.
    let cpu_percent = ticks as f64 / 100.0 / elapsed / n * 100.0;
    let frames: u64 = after_out.iter().zip(&before_out).map(|(a, b)| a.0 - b.0).sum();
    let bytes: u64 = after_out.iter().zip(&before_out).map(|(a, b)| a.1 - b.1).sum();
    let rss: f64 = procs.iter().map(rss_kib).collect::<Result<Vec<f64>>>()?.iter().sum::<f64>();
    Ok((cpu_percent, rss / n, frames as f64 / elapsed / n, bytes as f64 / elapsed / n))
}

/// The simulator's figures for the same N and workload, at loopback-like latency (1 ms), and
/// its idle traffic (a run with no announcements).
fn simulate(args: &Args) -> Result<Value> {
    let sim_at = |latency_ms: u32, extra: &[String]| -> Result<Value> {
        let mut command = Command::new(&args.herald);
        command.args(["sim", "--jitter", "0", "--json", "--latency"]);
        command.arg(latency_ms.to_string()).arg("--nodes");
        command.arg(args.nodes.to_string()).args(extra);
        let output = command.output()?;
        if !output.status.success() {
            bail!("herald sim failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(serde_json::from_slice(&output.stdout)?)
    };
    let sim = |extra: &[String]| sim_at(1, extra);
    // As in the real run, announcements are made on a healthy grid; the crash and the newcomer
    // come in runs of their own (a newcomer's catch-up would count in the latency).
    let broadcasts = ["--broadcasts".to_owned(), args.announcements.to_string()];
    let busy = sim(&broadcasts)?;
    // The same at 5 ms a hop: a guess at the real per-hop cost (a durable store commit before
    // each forward, and 100 processes sharing two cores), not a measured figure.
    let busy_5ms = sim_at(5, &broadcasts)?;
    let newcomer = sim(&[broadcasts[0].clone(), broadcasts[1].clone(), "--newcomer".into()])?;
    let kill = format!("{}", args.kill as f64 / args.nodes as f64);
    let crash = sim(&["--broadcasts".into(), "0".into(), "--kill".into(), kill])?;
    let quiet = sim(&["--broadcasts".into(), "0".into(), "--settle".into(), "60".into()])?;
    Ok(json!({"busy": busy, "busy_5ms": busy_5ms, "newcomer": newcomer, "crash": crash,
        "quiet": quiet}))
}

fn report(args: &Args, real: &Value, sim: &Value) -> Result<()> {
    let busy = &sim["busy"];
    let busy_5ms = &sim["busy_5ms"];
    let crash = &sim["crash"];
    let quiet = &sim["quiet"];
    let rows: Vec<(&str, f64, Option<f64>)> = vec![
        ("delivery p50 (ms)", num(&real["delivery_p50_ms"]), busy["latency_ms"]["p50"].as_f64()),
        ("delivery p99 (ms)", num(&real["delivery_p99_ms"]), busy["latency_ms"]["p99"].as_f64()),
        (
            "delivery p50 (ms), sim at 5 ms a hop",
            num(&real["delivery_p50_ms"]),
            busy_5ms["latency_ms"]["p50"].as_f64(),
        ),
        (
            "delivery p99 (ms), sim at 5 ms a hop",
            num(&real["delivery_p99_ms"]),
            busy_5ms["latency_ms"]["p99"].as_f64(),
        ),
        ("announcement to all, p50 (ms)", num(&real["to_all_p50_ms"]), None),
        ("announcement to all, p99 (ms)", num(&real["to_all_p99_ms"]), None),
        (
            "crash known dead by 99% (s)",
            num(&real["crash_known_99_s"]),
            crash["crash_known_99_ms"].as_f64().map(|ms| ms / 1e3),
        ),
        ("crash known dead everywhere (s)", num(&real["crash_dead_everywhere_s"]), None),
        (
            "idle frames sent per node per s",
            num(&real["idle_frames_per_node_per_s"]),
            quiet["messages_per_node_per_s"].as_f64(),
        ),
        (
            "idle bytes sent per node per s",
            num(&real["idle_bytes_per_node_per_s"]),
            quiet["bytes_per_node_per_s"].as_f64(),
        ),
        ("idle CPU per node (% of a core)", num(&real["idle_cpu_percent_per_node"]), None),
        ("idle RSS per node (MiB)", num(&real["idle_rss_mib_per_node"]), None),
        ("newcomer: herald join command (s)", num(&real["newcomer_join_command_s"]), None),
        (
            "newcomer join, to seen alive both ways (s)",
            num(&real["newcomer_join_s"]),
            sim["newcomer"]["newcomer_caught_up_ms"].as_f64().map(|ms| ms / 1e3),
        ),
    ];
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json!({"real": real, "sim": sim}))?);
        return Ok(());
    }
    println!("{:<44} {:>10} {:>10} {:>8}", "figure", "real", "sim", "real/sim");
    for (name, real, predicted) in rows {
        match predicted {
            Some(sim) if sim > 0.0 => {
                println!("{name:<44} {real:>10.2} {sim:>10.2} {:>8.2}", real / sim);
            }
            _ => println!("{name:<44} {real:>10.2} {:>10} {:>8}", "-", "-"),
        }
    }
    Ok(())
}

fn num(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}
