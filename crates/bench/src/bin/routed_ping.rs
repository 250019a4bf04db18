//! `routed-ping`: how much a routed ping pays for crossing relays (issue 16's goal: across 3
//! relays on loopback, a round trip within 1.5× the sum of the links' direct round trips,
//! measured in the same run).
//!
//! It starts `--nodes` `herald run` processes on loopback, waits until node 0 routes to every
//! other, and takes node 0's longest route (three relays, four links, when the grid has one).
//! Then, alternating so that noise hits both alike, it pings the route's destination from node
//! 0 and pings each link's far end from its near end (a one-hop routed ping, the link's direct
//! round trip through the same code), `--rounds` times. It prints the median routed round trip,
//! the median sum of the links' round trips, and their ratio.
//!
//! Usage: `cargo build --release && target/release/routed-ping --nodes 16 --rounds 50`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use herald_bench::exit_code;
use herald_bench::grid::{Proc, get, start_grid, wait};
use herald_sim::Percentiles;
use serde_json::Value;

/// How long node 0's routes must stay the same before the measurement starts: longer than
/// routing's maintenance delay.
const SETTLED: Duration = Duration::from_secs(15);

/// Measures a routed ping against the direct round trips of its links.
#[derive(Parser, Debug)]
struct Args {
    /// Processes in the grid.
    #[arg(long, default_value_t = 16)]
    nodes: usize,
    /// Pings of the route, and of each of its links.
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// The herald binary.
    #[arg(long, default_value = "target/release/herald")]
    herald: PathBuf,
}

fn main() -> std::process::ExitCode {
    exit_code("routed-ping", run(Args::parse()))
}

/// A routed ping from the node serving `api` to `destination`: its round trip in ms, and path.
fn ping(api: &str, destination: &str) -> Result<(f64, Vec<String>)> {
    let answer: Value = ureq::post(format!("http://{api}/v1/ping/{destination}"))
        .send_empty()
        .with_context(|| format!("pinging {destination}"))?
        .body_mut()
        .read_json()?;
    let rtt = answer["rtt_ms"].as_f64().ok_or_else(|| anyhow!("no rtt_ms in {answer}"))?;
    let path = answer["path"]
        .as_array()
        .ok_or_else(|| anyhow!("no path in {answer}"))?
        .iter()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    Ok((rtt, path))
}

fn run(args: Args) -> Result<()> {
    let root = tempfile::tempdir()?;
    let (procs, _) = start_grid(&args.herald, root.path(), args.nodes)?;
    let api_of = |id: &str| -> Result<&Proc> {
        procs.iter().find(|proc| proc.id == id).ok_or_else(|| anyhow!("{id} is not in the grid"))
    };
    let others = args.nodes - 1;
    wait("node 0 to route to every other node", || {
        Ok(get(&procs[0].api, "/v1/routes")?
            .as_array()
            .is_some_and(|routes| routes.len() == others))
    })?;
    // Link costs start as a guess and are re-advertised once measured, and the overlay's upkeep
    // goes out after 10 s: wait until node 0's routes stay the same for longer than that.
    let mut routes = get(&procs[0].api, "/v1/routes")?;
    wait("node 0's routes to settle", || {
        std::thread::sleep(SETTLED);
        let now = get(&procs[0].api, "/v1/routes")?;
        let settled = now == routes;
        routes = now;
        Ok(settled)
    })?;
    let longest = routes
        .as_array()
        .into_iter()
        .flatten()
        .max_by_key(|route| route["path"].as_array().map_or(0, Vec::len))
        .ok_or_else(|| anyhow!("node 0 has no routes"))?;
    let destination = longest["destination"].as_str().unwrap_or_default().to_owned();
    let (_, path) = ping(&procs[0].api, &destination)?;
    if path.len() < 3 {
        bail!("node 0's longest route has no relay: {path:?}");
    }
    eprintln!("route of {} links: {}", path.len() - 1, path.join(" > "));
    let mut routed = Vec::new();
    let mut links_sum = Vec::new();
    let started = Instant::now();
    for _ in 0..args.rounds {
        let (rtt, taken) = ping(&procs[0].api, &destination)?;
        if taken != path {
            bail!("the route changed during the run: {taken:?}");
        }
        routed.push(rtt);
        let mut sum = 0.0;
        for link in path.windows(2) {
            let (rtt, hop) = ping(&api_of(&link[0])?.api, &link[1])?;
            if hop.len() != 2 {
                bail!("{} and {} are not direct neighbours any more: {hop:?}", link[0], link[1]);
            }
            sum += rtt;
        }
        links_sum.push(sum);
    }
    let routed = Percentiles::of(routed);
    let links = Percentiles::of(links_sum);
    println!(
        "{} relays, {} rounds in {:.1} s: routed ping p50 {:.3} ms (p99 {:.3}), sum of the links' one-hop pings p50 {:.3} ms (p99 {:.3}), ratio of medians {:.2}",
        path.len() - 2,
        args.rounds,
        started.elapsed().as_secs_f64(),
        routed.p50,
        routed.p99,
        links.p50,
        links.p99,
        routed.p50 / links.p50
    );
    Ok(())
}
