//! `herald demo`: N real nodes on loopback in one process, each with its own QUIC endpoint and
//! store, joined by invitation; then it floods an announcement and a message to a group of all
//! of them, kills K nodes and restarts one, stops one cleanly, and prints how long each took to
//! reach every node.
//!
//! A kill is [`RunningNode::crash`]: the node's socket goes dark and the survivors must find
//! out by probing, as after `kill -9`. A clean stop is [`RunningNode::shutdown`], which announces
//! the departure and closes its connections, so it is normally known at once; its figure is
//! reported on its own line and never mixed with the kill's.
//!
//! Every figure is measured on the real nodes through their handles, the same state the HTTP
//! API shows. The announcement's arrivals come from each node's event stream; the other phases
//! poll every [`POLL`], so those figures are rounded up to that interval.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use herald_core::groups::{GroupParams, GroupSpec};
use herald_node::api::model::{ApiEvent, InvitationRequest, NodeApi};
use herald_node::datadir::DataDir;
use herald_node::join::{JoinOptions, join};
use herald_node::{HTTP_DEFAULT, NodeOptions, RunningNode};
use herald_sim::Percentiles;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::commands::logging::{LogFormat, filter_requested, init_logging};

/// The group the demo floods a message to.
const DEMO_GROUP: &str = "demo";

/// The service the demo announces.
const DEMO_SERVICE: &str = "demo";
/// How often the demo looks at the nodes' state.
const POLL: Duration = Duration::from_millis(20);
/// How long any one phase may take before the demo gives up.
const PHASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs N real nodes on loopback and measures them.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// How many nodes.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(2..=500))]
    nodes: u16,
    /// How many nodes to kill once the announcement has spread.
    #[arg(long, default_value_t = 3)]
    kill: u16,
    /// Stop after printing the figures instead of serving node 0's API.
    #[arg(long)]
    exit: bool,
    /// Print the figures as one JSON object.
    #[arg(long)]
    json: bool,
    /// Where node 0's API listens [default: 127.0.0.1:7421, else a free port].
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Keep the nodes' data here instead of a temporary directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// The figures a demo run measured.
#[derive(Debug, Serialize)]
struct Figures {
    nodes: u16,
    killed: u16,
    join_all_ms: u64,
    membership_converged_ms: u64,
    announcement_all_ms: u64,
    announcement_p50_ms: u64,
    announcement_p99_ms: u64,
    group_message_all_ms: u64,
    group_message_p50_ms: u64,
    group_message_p99_ms: u64,
    dead_everywhere_ms: Option<u64>,
    restart_rejoined_ms: Option<u64>,
    restart_kept_announcement: Option<bool>,
    clean_stop_known_ms: u64,
    clean_stop_all_left: bool,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<ExitCode> {
    if args.kill >= args.nodes {
        // A usage error: clap's message and exit status 2, like any other.
        let message = format!("--kill {} must be less than --nodes {}", args.kill, args.nodes);
        clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, message).exit();
    }
    if filter_requested() {
        init_logging(LogFormat::Text);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(demo(args))
}

async fn demo(args: DemoArgs) -> Result<ExitCode> {
    let temporary = tempfile::Builder::new()
        .prefix("herald-demo-")
        .tempdir()
        .context("making a temporary directory")?;
    let root = args.data_dir.clone().unwrap_or_else(|| temporary.path().to_owned());
    let bar = progress(u64::from(args.nodes), "starting nodes and joining by invitation");
    let started = Instant::now();
    let mut nodes: Vec<Option<RunningNode>> = Vec::new();
    let count = usize::from(args.nodes);
    let first = start(&root, 0, count, Some(args.http.unwrap_or(HTTP_DEFAULT))).await;
    let first = match first {
        Ok(node) => node,
        // The default API port is taken (another herald): any free port will do.
        Err(_) if args.http.is_none() => {
            start(&root, 0, count, Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))).await?
        }
        Err(error) => return Err(error),
    };
    nodes.push(Some(first));
    bar.inc(1);
    let invitation = InvitationRequest {
        role: Some("server".into()),
        uses: Some(u32::from(args.nodes) - 1),
        expires_s: Some(3600),
    };
    let code = handle(&nodes, 0)?
        .invite(invitation)
        .await
        .map_err(|error| anyhow!("inviting: {error}"))?
        .code;
    for index in 1..usize::from(args.nodes) {
        let options =
            JoinOptions { data_dir: node_dir(&root, index), name: Some(format!("demo-{index}")) };
        join(&code, &options).await.with_context(|| format!("node {index} joining"))?;
        nodes.push(Some(start(&root, index, count, None).await?));
        bar.inc(1);
    }
    let join_all = started.elapsed();
    let ids: Vec<String> = nodes.iter().flatten().map(|node| node.id.to_string()).collect();
    bar.set_message("waiting until every node sees every other alive");
    let all: Vec<usize> = (0..nodes.len()).collect();
    let converged = wait_until(&bar, || all_see(&nodes, &all, &ids, &["alive"])).await?;
    bar.finish_and_clear();

    let publisher = 1 % nodes.len();
    let watchers = watch_arrivals(&nodes, publisher, is_demo_announcement);
    let mut payload = serde_json::Map::new();
    payload.insert("hello".into(), "grid".into());
    let announced_at = Instant::now();
    handle(&nodes, publisher)?
        .announce(DEMO_SERVICE.into(), payload, None)
        .await
        .map_err(|error| anyhow!("announcing: {error}"))?;
    let arrivals = arrival_times(watchers, announced_at).await?;
    let message = flood_group_message(&nodes, publisher).await?;
    // A node commits a record it only relays within RELAYED_COMMIT_DELAY (its own records at
    // once): waiting that long makes the restart below a test of what its store kept.
    tokio::time::sleep(herald_node::RELAYED_COMMIT_DELAY * 2).await;

    let killed: Vec<usize> = (0..usize::from(args.kill)).map(|k| nodes.len() - 1 - k).collect();
    let mut dead_everywhere = None;
    let mut restart = None;
    if !killed.is_empty() {
        let bar = progress(0, "killing nodes and waiting until every survivor knows");
        let killed_at = Instant::now();
        for &index in &killed {
            if let Some(node) = nodes[index].take() {
                node.crash().await;
            }
        }
        let survivors: Vec<usize> = (0..nodes.len()).filter(|i| !killed.contains(i)).collect();
        let killed_ids: Vec<String> = killed.iter().map(|index| ids[*index].clone()).collect();
        wait_until(&bar, || all_see(&nodes, &survivors, &killed_ids, &["dead"])).await?;
        dead_everywhere = Some(killed_at.elapsed());
        bar.set_message("restarting one killed node");
        let index = killed[0];
        // Read from the killed node's own store before it restarts, so that peers cannot have
        // handed the record back by gossip.
        let kept = DataDir::open(&node_dir(&root, index))?
            .announced_services()?
            .iter()
            .any(|name| name == DEMO_SERVICE);
        let restarted_at = Instant::now();
        nodes[index] = Some(start(&root, index, count, None).await?);
        let everyone: Vec<usize> = survivors.iter().copied().chain([index]).collect();
        let restarted = [ids[index].clone()];
        wait_until(&bar, || all_see(&nodes, &everyone, &restarted, &["alive"])).await?;
        let rejoined = restarted_at.elapsed();
        restart = Some((rejoined, kept));
        bar.finish_and_clear();
    }

    // A clean stop, preferably of a node that was never killed; never node 0, which serves.
    let running = |index: &usize| nodes[*index].is_some();
    let leaving = (1..nodes.len())
        .rev()
        .filter(running)
        .find(|index| !killed.contains(index))
        .or_else(|| (1..nodes.len()).rev().find(running))
        .context("no node but node 0 is running")?;
    let bar = progress(0, "stopping one node cleanly and waiting until every other knows");
    let others: Vec<usize> = (0..nodes.len()).filter(|i| *i != leaving && running(i)).collect();
    let left_id = [ids[leaving].clone()];
    let node = nodes[leaving].take().context("the leaving node is not running")?;
    let stopping = tokio::spawn(node.shutdown());
    // Left, or dead where its departure record did not arrive and probing found it.
    let gone = ["left", "dead"];
    let clean_stop_known = wait_until(&bar, || all_see(&nodes, &others, &left_id, &gone)).await?;
    let clean_stop_all_left = all_see(&nodes, &others, &left_id, &["left"]).await?;
    stopping.await.context("stopping a node")??;
    bar.finish_and_clear();

    let figures = Figures {
        nodes: args.nodes,
        killed: args.kill,
        join_all_ms: join_all.as_millis() as u64,
        membership_converged_ms: converged.as_millis() as u64,
        announcement_all_ms: arrivals.max as u64,
        announcement_p50_ms: arrivals.p50 as u64,
        announcement_p99_ms: arrivals.p99 as u64,
        group_message_all_ms: message.max as u64,
        group_message_p50_ms: message.p50 as u64,
        group_message_p99_ms: message.p99 as u64,
        dead_everywhere_ms: dead_everywhere.map(|elapsed| elapsed.as_millis() as u64),
        restart_rejoined_ms: restart.map(|(elapsed, _)| elapsed.as_millis() as u64),
        restart_kept_announcement: restart.map(|(_, kept)| kept),
        clean_stop_known_ms: clean_stop_known.as_millis() as u64,
        clean_stop_all_left,
    };
    print_figures(&figures, args.json)?;

    let serving = nodes[0].as_ref().and_then(|node| node.http_addr).filter(|_| !args.exit);
    if let Some(address) = serving {
        eprintln!("serving node 0's API and dashboard at http://{address}/ until Ctrl-C");
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    }
    for node in nodes.into_iter().flatten() {
        node.shutdown().await?;
    }
    Ok(ExitCode::SUCCESS)
}

fn node_dir(root: &std::path::Path, index: usize) -> PathBuf {
    root.join(format!("node-{index}"))
}

async fn start(
    root: &std::path::Path,
    index: usize,
    count: usize,
    http: Option<SocketAddr>,
) -> Result<RunningNode> {
    let mut options = NodeOptions::new(node_dir(root, index));
    // Every node is a site of the demo's group, named as its profile names it.
    let sites = (0..count).map(|index| format!("demo-{index}")).collect();
    options.groups =
        vec![(DEMO_GROUP.to_owned(), GroupSpec { sites, params: GroupParams::default() })];
    options.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    options.http = http;
    // The demo's nodes share one machine; none needs the floodd client interface.
    options.client_port = None;
    options.name = Some(format!("demo-{index}"));
    RunningNode::start(options).await.with_context(|| format!("starting node {index}"))
}

fn handle(nodes: &[Option<RunningNode>], index: usize) -> Result<herald_node::NodeHandle> {
    nodes[index]
        .as_ref()
        .map(|node| node.handle().clone())
        .ok_or_else(|| anyhow!("node {index} is not running"))
}

/// Whether every node in `observers` sees every node in `ids` in one of `states`.
async fn all_see(
    nodes: &[Option<RunningNode>],
    observers: &[usize],
    ids: &[String],
    states: &[&str],
) -> Result<bool> {
    for &observer in observers {
        let members =
            handle(nodes, observer)?.members().await.map_err(|error| anyhow!("{error}"))?;
        let seen = ids.iter().all(|id| {
            members
                .iter()
                .any(|member| member.node_id == *id && states.contains(&member.state.as_str()))
        });
        if !seen {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Polls `check` until it holds; returns how long that took.
async fn wait_until<F, Fut>(bar: &ProgressBar, mut check: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let started = Instant::now();
    while !check().await? {
        if started.elapsed() > PHASE_TIMEOUT {
            bail!("gave up after {} s: {}", PHASE_TIMEOUT.as_secs(), bar.message());
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(started.elapsed())
}

/// Starts watching the event stream of every running node but the publisher for the first
/// event `wanted` picks; each watcher ends with the moment it saw it.
fn watch_arrivals(
    nodes: &[Option<RunningNode>],
    publisher: usize,
    wanted: fn(&ApiEvent) -> bool,
) -> Vec<JoinHandle<Option<Instant>>> {
    let others = nodes.iter().enumerate().filter(|(index, _)| *index != publisher);
    others
        .filter_map(|(_, node)| node.as_ref())
        .map(|node| {
            let mut events = node.handle().subscribe();
            tokio::spawn(async move {
                loop {
                    match events.recv().await {
                        Ok(event) if wanted(&event) => return Some(Instant::now()),
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return None,
                    }
                }
            })
        })
        .collect()
}

/// Whether `event` is the demo's announcement.
fn is_demo_announcement(event: &ApiEvent) -> bool {
    matches!(event, ApiEvent::Announcement(view) if view.service == DEMO_SERVICE)
}

/// Whether `event` is a message of the demo's group.
fn is_demo_message(event: &ApiEvent) -> bool {
    matches!(event, ApiEvent::Message(view) if view.group == DEMO_GROUP)
}

/// Waits until every node computed the demo group's topology over all of them, then floods a
/// message to it from `publisher`; returns how long the others took to get it.
async fn flood_group_message(
    nodes: &[Option<RunningNode>],
    publisher: usize,
) -> Result<Percentiles> {
    let bar = progress(0, "waiting until every node has the group's topology");
    let everyone = nodes.len();
    wait_until(&bar, || async {
        for node in nodes.iter().flatten() {
            let group = node.handle().group(DEMO_GROUP.into()).await;
            let known = group
                .map_or(0, |group| group.members.iter().filter(|m| m.node_id.is_some()).count());
            if known < everyone || node.handle().topology(DEMO_GROUP.into()).await.is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await?;
    bar.finish_and_clear();
    let watchers = watch_arrivals(nodes, publisher, is_demo_message);
    let published_at = Instant::now();
    handle(nodes, publisher)?
        .publish_group(DEMO_GROUP.into(), b"hello, group".to_vec())
        .await
        .map_err(|error| anyhow!("publishing to the group: {error}"))?;
    arrival_times(watchers, published_at).await
}

/// How long after `announced_at` the watched nodes saw what was published, in milliseconds.
async fn arrival_times(
    watchers: Vec<JoinHandle<Option<Instant>>>,
    announced_at: Instant,
) -> Result<Percentiles> {
    let mut arrivals = Vec::with_capacity(watchers.len());
    for watcher in watchers {
        let seen = tokio::time::timeout(PHASE_TIMEOUT, watcher).await;
        let Ok(Ok(Some(at))) = seen else {
            bail!("the publication did not reach every node within {} s", PHASE_TIMEOUT.as_secs());
        };
        arrivals.push(at.saturating_duration_since(announced_at).as_secs_f64() * 1e3);
    }
    Ok(Percentiles::of(arrivals))
}

fn print_figures(figures: &Figures, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(figures)?);
        return Ok(());
    }
    println!(
        "{} nodes started and joined by invitation in {:.1} s; every node saw every other alive {:.1} s later",
        figures.nodes,
        figures.join_all_ms as f64 / 1000.0,
        figures.membership_converged_ms as f64 / 1000.0
    );
    println!(
        "an announcement reached the other {} nodes in {} ms (p50 {} ms, p99 {} ms)",
        figures.nodes - 1,
        figures.announcement_all_ms,
        figures.announcement_p50_ms,
        figures.announcement_p99_ms
    );
    println!(
        "a group message reached the other {} members in {} ms (p50 {} ms, p99 {} ms)",
        figures.nodes - 1,
        figures.group_message_all_ms,
        figures.group_message_p50_ms,
        figures.group_message_p99_ms
    );
    if let Some(dead) = figures.dead_everywhere_ms {
        println!(
            "{} killed nodes were known dead by every survivor {:.1} s after the kill",
            figures.killed,
            dead as f64 / 1000.0
        );
    }
    if let (Some(rejoined), Some(kept)) =
        (figures.restart_rejoined_ms, figures.restart_kept_announcement)
    {
        println!(
            "a restarted node was alive again everywhere {:.1} s after its restart{}",
            rejoined as f64 / 1000.0,
            if kept { ", with the announcement still in its store" } else { "" }
        );
    }
    if figures.clean_stop_all_left {
        println!(
            "a node that stopped cleanly (departure announced, connections closed) was known to \
             have left by every other node {} ms after it began to stop",
            figures.clean_stop_known_ms
        );
    } else {
        println!(
            "a node that stopped cleanly was known gone by every other node {:.1} s after it \
             began to stop, but as dead by some: its departure record did not reach them",
            figures.clean_stop_known_ms as f64 / 1000.0
        );
    }
    Ok(())
}

fn progress(length: u64, message: &'static str) -> ProgressBar {
    let bar = if length > 0 { ProgressBar::new(length) } else { ProgressBar::new_spinner() };
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
