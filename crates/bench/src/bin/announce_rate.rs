//! `announce-rate`: how many acknowledged announcements one node takes per second over its
//! HTTP API (issue 15's goal: ≥ 500 per second from one client calling back to back, ≥ 2,000
//! from ten concurrent clients). Every answer is an acknowledgement: the announcement is
//! durable when it comes back.
//!
//! It starts one `herald run` on a fresh data directory, then, for each client count, sends
//! `--calls` announcements of distinct services split evenly between that many threads, and
//! prints the rate and the latency of a call. Run it twice, with `--herald` pointing at the
//! build before and the build after, one after the other on the same machine.
//!
//! Usage: `cargo build --release && target/release/announce-rate --clients 1,10`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use herald_sim::Percentiles;
use serde_json::json;

/// Measures acknowledged announcements per second on one node.
#[derive(Parser, Debug)]
struct Args {
    /// Announcements per measurement.
    #[arg(long, default_value_t = 1000)]
    calls: usize,
    /// Concurrent clients, one measurement each, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10")]
    clients: Vec<usize>,
    /// Payload bytes of each announcement.
    #[arg(long, default_value_t = 100)]
    payload: usize,
    /// The herald binary.
    #[arg(long, default_value = "target/release/herald")]
    herald: PathBuf,
}

/// Longest wait for the node to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `herald run` process, killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() -> std::process::ExitCode {
    herald_bench::exit_code("announce-rate", run(Args::parse()))
}

fn run(args: Args) -> Result<()> {
    if args.clients.contains(&0) || args.calls == 0 {
        bail!("--calls and every --clients count must be at least 1");
    }
    let root = tempfile::Builder::new().prefix("herald-announce-rate-").tempdir()?;
    let dir = root.path().join("node");
    let (_proc, api) = spawn(&args.herald, &dir)?;
    let payload = "x".repeat(args.payload);
    println!("herald: {}", args.herald.display());
    for (round, clients) in args.clients.iter().copied().enumerate() {
        let per_client = args.calls.div_ceil(clients);
        let started = Instant::now();
        let threads: Vec<_> = (0..clients)
            .map(|client| {
                let (api, payload) = (api.clone(), payload.clone());
                std::thread::spawn(move || -> Result<Vec<f64>> {
                    let mut latencies = Vec::with_capacity(per_client);
                    for call in 0..per_client {
                        let url = format!("http://{api}/v1/services/r{round}-c{client}-{call}");
                        let sent = Instant::now();
                        ureq::put(url).send_json(json!({ "data": payload }))?;
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(latencies)
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for thread in threads {
            let joined = thread.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
            latencies.extend(joined.context("an announcement failed")?);
        }
        let elapsed = started.elapsed().as_secs_f64();
        let calls = latencies.len();
        let latency = Percentiles::of(latencies);
        println!(
            "{clients:>3} client(s): {calls} announcements in {elapsed:.2} s = {:.0}/s; call \
             latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            calls as f64 / elapsed,
            latency.p50,
            latency.p99,
            latency.max,
        );
    }
    Ok(())
}

/// Starts `herald run` on `dir` and returns it with its API address once it answers.
fn spawn(herald: &Path, dir: &Path) -> Result<(Proc, String)> {
    std::fs::create_dir_all(dir)?;
    let child = Command::new(herald)
        .args(["run", "--data-dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .env("HERALD_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", herald.display()))?;
    let proc = Proc(child);
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("api.addr")) {
            let api = text.trim().to_owned();
            if ureq::get(format!("http://{api}/v1/status")).call().is_ok() {
                return Ok((proc, api));
            }
        }
        if started.elapsed() > START_TIMEOUT {
            bail!("herald run did not start within {START_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
