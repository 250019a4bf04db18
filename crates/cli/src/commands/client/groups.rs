//! `herald groups`, `herald group`, `herald publish` and `herald topology`: floodd-style groups
//! through the node's API (`herald subscribe` is in `subscribe`).
//!
//! `publish` sends the raw bytes and prints the message id once the node answers, which it does
//! only after storing the message durably. A busy node (503 `busy`) is asked again with
//! back-off for up to [`BUSY_RETRY_BUDGET`]; any other refusal fails at once.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use herald_core::groups::MESSAGE_LEN_MAX_DEFAULT;
use herald_node::api::model::{GroupSummaryView, GroupView, PublishedView, TopologyView};
use serde_json::Value;

use super::http::Refusal;
use super::{ApiArgs, Client, emit, encode_segment, parse, pretty};
use crate::commands::output::{key_values, short_id, table};

/// How long `publish` keeps asking a busy node before it gives up.
pub const BUSY_RETRY_BUDGET: Duration = Duration::from_secs(30);
/// The first pause after a busy answer; each further one doubles, up to [`BUSY_DELAY_MAX`].
const BUSY_DELAY_FIRST: Duration = Duration::from_millis(100);
/// The longest pause between two attempts.
const BUSY_DELAY_MAX: Duration = Duration::from_secs(2);

/// Arguments of `herald groups`.
#[derive(Args, Debug)]
pub struct GroupsArgs {
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald group`.
#[derive(Args, Debug)]
pub struct GroupArgs {
    /// The group's name.
    pub name: String,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald publish`.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  herald publish mirror-1 report.pdf
  date | herald publish mirror-1")]
pub struct PublishArgs {
    /// The group to flood the message to.
    pub group: String,
    /// The file whose bytes are the message; `-` or nothing reads standard input. At most
    /// 16 MiB.
    #[arg(value_name = "FILE")]
    pub file: Option<String>,
    /// Where the node is, and the output format (`--json` prints `{id, origin, seq}`).
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald topology`.
#[derive(Args, Debug)]
pub struct TopologyArgs {
    /// The group whose overlay to show.
    pub group: String,
    /// `text`: one `a b cost_ms` line per edge, short ids; `json`: the API's answer (as
    /// `--json`); `dot`: a Graphviz graph [default: text].
    #[arg(long, value_enum, conflicts_with = "json")]
    pub format: Option<TopologyFormat>,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// The output formats of `herald topology` (described on `--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TopologyFormat {
    Text,
    Json,
    Dot,
}

/// `herald groups`: the groups the node knows.
pub fn groups(args: GroupsArgs) -> Result<()> {
    emit(&groups_text(&Client::new(&args.api)?, args.api.json)?)
}

/// `herald group NAME`: one group's parameters, and its members with their state.
pub fn group(args: GroupArgs) -> Result<()> {
    emit(&group_text(&Client::new(&args.api)?, &args.name, args.api.json)?)
}

/// `herald publish GROUP [FILE|-]`: floods the bytes to the group; prints the message id.
pub fn publish(args: PublishArgs) -> Result<()> {
    let body = read_message(args.file.as_deref())?;
    let client = Client::new(&args.api)?;
    let note = || {
        eprintln!(
            "herald: the node is busy; retrying for up to {}",
            duration_text(BUSY_RETRY_BUDGET)
        )
    };
    let answer =
        retry_while_busy(BUSY_RETRY_BUDGET, note, || publish_once(&client, &args.group, &body))?;
    emit(&published_text(answer, args.api.json)?)
}

/// `herald topology GROUP`: the group's overlay in the chosen format.
pub fn topology(args: TopologyArgs) -> Result<()> {
    let format = if args.api.json {
        TopologyFormat::Json
    } else {
        args.format.unwrap_or(TopologyFormat::Text)
    };
    emit(&topology_output(&Client::new(&args.api)?, &args.group, format)?)
}

/// `/v1/groups/<group>`, the name percent-encoded as one path segment.
pub(super) fn group_path(group: &str) -> String {
    format!("/v1/groups/{}", encode_segment(group))
}

fn groups_text(client: &Client, json: bool) -> Result<String> {
    let answer = client.get("/v1/groups", &[])?;
    if json {
        return Ok(pretty(&answer));
    }
    let groups = parse::<Vec<GroupSummaryView>>(answer, "groups")?;
    if groups.is_empty() {
        return Ok("no groups defined\n".to_owned());
    }
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|group| {
            vec![
                group.name.clone(),
                group.sites.to_string(),
                yes_no(group.member),
                group.messages_held.to_string(),
            ]
        })
        .collect();
    Ok(table(&["NAME", "SITES", "MEMBER", "MESSAGES"], &rows))
}

fn group_text(client: &Client, name: &str, json: bool) -> Result<String> {
    let answer = client.get(&group_path(name), &[])?;
    if json {
        return Ok(pretty(&answer));
    }
    let group = parse::<GroupView>(answer, "group")?;
    let params = &group.parameters;
    let periods = [
        ("ping", params.ping_period_s),
        ("bandwidth", params.bandwidth_period_s),
        ("estimates", params.estimates_period_s),
        ("join", params.join_period_s),
        ("update", params.update_period_s),
    ];
    let periods: Vec<String> =
        periods.iter().map(|(what, period)| format!("{what} {}", period_text(*period))).collect();
    let neighbours: Vec<&str> = group.neighbors.iter().map(|id| short_id(id)).collect();
    let refused: Vec<&str> = group.refused_joins.iter().map(|id| short_id(id)).collect();
    let mut text = key_values(&[
        ("group", group.name.clone()),
        ("connectivity", params.connectivity.to_string()),
        ("master site", params.master_site.clone().unwrap_or_else(|| "-".to_owned())),
        ("generator", params.topology_generator.clone().unwrap_or_else(|| "default".to_owned())),
        ("access", params.access.clone()),
        ("periods", periods.join(", ")),
        ("neighbours", if neighbours.is_empty() { "-".to_owned() } else { neighbours.join(",") }),
        ("refused joins", if refused.is_empty() { "-".to_owned() } else { refused.join(",") }),
    ]);
    text.push('\n');
    if group.members.is_empty() {
        text.push_str("no member sites\n");
        return Ok(text);
    }
    let rows: Vec<Vec<String>> = group
        .members
        .iter()
        .map(|member| {
            let id = member.node_id.as_deref().map_or("-", short_id).to_owned();
            let neighbour = member.node_id.as_ref().is_some_and(|id| group.neighbors.contains(id));
            let by = if member.joined { "join" } else { "listed" };
            vec![member.site.clone(), id, member.state.clone(), by.to_owned(), yes_no(neighbour)]
        })
        .collect();
    text.push_str(&table(&["SITE", "NODE", "STATE", "BY", "NEIGHBOUR"], &rows));
    Ok(text)
}

/// One `POST /v1/groups/{g}/messages`. A 413 gets a sentence of its own: the node's limit
/// may be lower than the one this client checked.
fn publish_once(client: &Client, group: &str, body: &[u8]) -> Result<Value> {
    let result = client.post_bytes(&format!("{}/messages", group_path(group)), body);
    result.map_err(|error| match Refusal::code_of(&error) {
        Some("too_large") => error.context("the node refused the message as too large"),
        _ => error,
    })
}

fn published_text(answer: Value, json: bool) -> Result<String> {
    if json {
        return Ok(pretty(&answer));
    }
    Ok(format!("{}\n", parse::<PublishedView>(answer, "publish")?.id))
}

/// Calls `attempt` until it does not fail with a busy refusal, pausing with doubling back-off
/// in between; `note` is called once, at the first busy answer. After `budget`, the last
/// refusal is returned, saying how long the node stayed busy.
pub(super) fn retry_while_busy<T>(
    budget: Duration,
    note: impl FnOnce(),
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    let started = Instant::now();
    let mut note = Some(note);
    let mut delay = BUSY_DELAY_FIRST;
    loop {
        match attempt() {
            Err(error) if Refusal::is_busy(&error) => {
                let left = budget.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(error
                        .context(format!("the node stayed busy for {}", duration_text(budget))));
                }
                if let Some(note) = note.take() {
                    note();
                }
                thread::sleep(delay.min(left));
                delay = (delay * 2).min(BUSY_DELAY_MAX);
            }
            other => return other,
        }
    }
}

/// The message: the file's bytes, or standard input for `-` or no file. A message over the
/// node's limit is refused here, before it is sent.
fn read_message(file: Option<&str>) -> Result<Vec<u8>> {
    let limit = MESSAGE_LEN_MAX_DEFAULT;
    let too_large =
        |what: &str| format!("{what} more than a group message may hold ({})", mib(limit));
    match file {
        None | Some("-") => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                eprintln!("herald: reading the message from standard input; end it with Ctrl-D");
            }
            let body = read_at_most(stdin.lock(), limit).context("reading standard input")?;
            match body {
                Some(body) => Ok(body),
                None => bail!(too_large("standard input holds")),
            }
        }
        Some(path) => {
            let path = Path::new(path);
            let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let size =
                file.metadata().with_context(|| format!("reading {}", path.display()))?.len();
            if size > limit {
                bail!(too_large(&format!("{} is {size} bytes,", path.display())));
            }
            match read_at_most(file, limit)
                .with_context(|| format!("reading {}", path.display()))?
            {
                Some(body) => Ok(body),
                None => bail!(too_large(&format!("{} holds", path.display()))),
            }
        }
    }
}

/// Everything `reader` holds, or `None` if that is more than `limit` bytes.
fn read_at_most(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    reader.take(limit + 1).read_to_end(&mut body)?;
    Ok((body.len() as u64 <= limit).then_some(body))
}

fn topology_output(client: &Client, group: &str, format: TopologyFormat) -> Result<String> {
    let answer = client.get(&format!("{}/topology", group_path(group)), &[])?;
    if format == TopologyFormat::Json {
        return Ok(pretty(&answer));
    }
    let topology = parse::<TopologyView>(answer, "topology")?;
    Ok(match format {
        TopologyFormat::Dot => topology_dot(&topology),
        _ => topology_text(&topology),
    })
}

/// One `a b cost_ms` line per edge, with short ids; nothing for a topology without edges.
fn topology_text(topology: &TopologyView) -> String {
    topology
        .edges
        .iter()
        .map(|edge| format!("{} {} {}\n", short_id(&edge.a), short_id(&edge.b), edge.cost_ms))
        .collect()
}

/// A Graphviz undirected graph: nodes by short id, each edge labelled with its cost.
fn topology_dot(topology: &TopologyView) -> String {
    let mut out = String::from("graph {\n");
    for edge in &topology.edges {
        out.push_str(&format!(
            "  \"{}\" -- \"{}\" [label=\"{} ms\"];\n",
            dot_escape(short_id(&edge.a)),
            dot_escape(short_id(&edge.b)),
            edge.cost_ms
        ));
    }
    out.push_str("}\n");
    out
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

/// A period in seconds as humantime writes it ("1m 30s"); a value no duration can hold is
/// printed as it came.
fn period_text(seconds: f64) -> String {
    match Duration::try_from_secs_f64(seconds) {
        Ok(period) => humantime::format_duration(period).to_string(),
        Err(_) => format!("{seconds}s"),
    }
}

fn duration_text(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
