//! The commands that talk to a running node over its HTTP API: `status`, `members`,
//! `announce`, `withdraw`, `services`, `invite`, `stats` and `overlay`; (in `routing`)
//! `routes`, `ping` and `nearest`; (in `groups`) `groups`, `group`, `publish` and `topology`;
//! (in `grid_control`) `recommend`, `unrecommend`, `reachable`, `manager` and `follow`; and
//! (in `subscribe`) `subscribe`.
//!
//! Each takes [`ApiArgs`] (where the node is, `--json`), sends one request through [`Client`]
//! and prints a human table ([`super::output`]) or, with `--json`, the API's JSON as it came.
//! Failures come back as one-sentence anyhow errors; `main` prints them and exits 1.

mod events;
mod grid_control;
mod groups;
pub(crate) mod http;
mod routing;
mod subscribe;
#[cfg(test)]
mod tests;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use herald_node::api::model::{
    InvitationRequest, InvitationView, MemberView, SeqView, ServiceView, StatusView,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use grid_control::{
    FollowArgs, ManagerArgs, ReachableArgs, RecommendArgs, UnrecommendArgs, follow, manager,
    reachable, recommend, unrecommend,
};
pub use groups::{
    GroupArgs, GroupsArgs, PublishArgs, TopologyArgs, group, groups, publish, topology,
};
pub use http::{ApiArgs, Client};
pub use routing::{NearestArgs, PingArgs, RoutesArgs, nearest, ping, routes};
pub use subscribe::{SubscribeArgs, subscribe};

use super::output;
use super::usage::usage;

/// Arguments of `herald status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald members`.
#[derive(Args, Debug)]
pub struct MembersArgs {
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald announce`.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  herald announce web '{\"port\": 8080}'
  herald announce --file grid-control.json   (grid-control form: service-name, sequence-number)")]
pub struct AnnounceArgs {
    /// The service to announce.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub service: Option<String>,
    /// The payload: a JSON object.
    #[arg(value_name = "JSON", required_unless_present = "file")]
    pub json_payload: Option<String>,
    /// Read a grid-control document instead: its `service-name` names the service, an optional
    /// `sequence-number` must exceed the current one, the other keys are the payload. `-` reads
    /// standard input.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald withdraw`.
#[derive(Args, Debug)]
pub struct WithdrawArgs {
    /// The service whose announcement to withdraw.
    pub service: String,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald services`.
#[derive(Args, Debug)]
pub struct ServicesArgs {
    /// Only announcements of this service.
    pub service: Option<String>,
    /// Only announcements from servers on the grid-manager lists this node follows (see
    /// `herald follow`).
    #[arg(long)]
    pub followed: bool,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald invite`.
#[derive(Args, Debug)]
pub struct InviteArgs {
    /// The role the invited node gets.
    #[arg(long, default_value = "client", value_parser = ["server", "client"])]
    pub role: String,
    /// How many nodes may join with the code.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub uses: u32,
    /// How long the code stays valid, such as `30m`, `24h` or `7days`.
    #[arg(long, default_value = "24h")]
    pub expires: humantime::Duration,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald overlay`.
#[derive(Args, Debug)]
pub struct OverlayArgs {
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `herald status`: this node's id, name, role, grid, addresses, uptime and counts.
pub fn status(args: StatusArgs) -> Result<()> {
    emit(&status_text(&Client::new(&args.api)?, args.api.json)?)
}

/// `herald members`: every node this node knows.
pub fn members(args: MembersArgs) -> Result<()> {
    emit(&members_text(&Client::new(&args.api)?, args.api.json)?)
}

/// `herald announce`: publishes or replaces this node's announcement of a service.
pub fn announce(args: AnnounceArgs) -> Result<()> {
    let request = announce_request(&args)?;
    emit(&announce_text(&Client::new(&args.api)?, &request, args.api.json)?)
}

/// `herald withdraw`: withdraws this node's announcement of a service.
pub fn withdraw(args: WithdrawArgs) -> Result<()> {
    let client = Client::new(&args.api)?;
    let answer = client.delete(&service_path(&args.service))?;
    if args.api.json {
        return emit(&pretty(&answer));
    }
    let seq = parse::<SeqView>(answer, "withdrawal")?.seq;
    emit(&format!("withdrew {} (seq {seq})\n", args.service))
}

/// `herald services`: the announcements known, newest per origin and service.
pub fn services(args: ServicesArgs) -> Result<()> {
    let client = Client::new(&args.api)?;
    emit(&services_text(&client, args.service.as_deref(), args.followed, args.api.json)?)
}

/// `herald invite`: prints a new invitation code alone on stdout.
pub fn invite(args: InviteArgs) -> Result<()> {
    let answer = Client::new(&args.api)?.post("/v1/invitations", &invitation_request(&args))?;
    if args.api.json {
        return emit(&pretty(&answer));
    }
    let code = parse::<InvitationView>(answer, "invitation")?.code;
    emit(&format!("{code}\n"))
}

/// `herald stats`: the node's counters.
pub fn stats(args: StatsArgs) -> Result<()> {
    let answer = Client::new(&args.api)?.get("/v1/stats", &[])?;
    emit(&if args.api.json { pretty(&answer) } else { output::outline(&answer) })
}

/// `herald overlay`: the active and passive views, the broadcast-tree links and the partners of
/// the last anti-entropy rounds.
pub fn overlay(args: OverlayArgs) -> Result<()> {
    let answer = Client::new(&args.api)?.get("/v1/overlay", &[])?;
    emit(&if args.api.json { pretty(&answer) } else { output::outline(&answer) })
}

fn status_text(client: &Client, json: bool) -> Result<String> {
    let answer = client.get("/v1/status", &[])?;
    if json {
        return Ok(pretty(&answer));
    }
    Ok(output::status(&parse::<StatusView>(answer, "status")?))
}

fn members_text(client: &Client, json: bool) -> Result<String> {
    let answer = client.get("/v1/members", &[])?;
    if json {
        return Ok(pretty(&answer));
    }
    Ok(output::members(&parse::<Vec<MemberView>>(answer, "members")?))
}

fn services_text(
    client: &Client,
    name: Option<&str>,
    followed: bool,
    json: bool,
) -> Result<String> {
    let mut query = Vec::new();
    if let Some(name) = name {
        query.push(("name", name));
    }
    if followed {
        query.push(("followed", "true"));
    }
    let answer = client.get("/v1/services", &query)?;
    if json {
        return Ok(pretty(&answer));
    }
    Ok(output::services(&parse::<Vec<ServiceView>>(answer, "services")?))
}

/// What `herald announce` sends: the service it names and the body of the PUT.
#[derive(Debug, PartialEq)]
struct AnnounceRequest {
    service: String,
    body: Map<String, Value>,
}

/// Maps the arguments of `herald announce` to its request, reading `--file` if given. The
/// grid-control keys stay in the body: the node takes them out and checks them.
fn announce_request(args: &AnnounceArgs) -> Result<AnnounceRequest> {
    if let Some(path) = &args.file {
        let text = read_document(path)?;
        let body = json_object(&text)
            .with_context(|| format!("{} is not a grid-control document", path.display()))?;
        let service = match body.get("service-name") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            Some(_) => bail!("the service-name in {} must be a non-empty string", path.display()),
            None => bail!(
                "{} has no service-name: a grid-control document names its service there",
                path.display()
            ),
        };
        return Ok(AnnounceRequest { service, body });
    }
    // clap guarantees both positionals without --file; this guards a caller that bypasses it.
    let (Some(service), Some(payload)) = (&args.service, &args.json_payload) else {
        bail!("give a SERVICE and a JSON payload, or --file");
    };
    let body = json_object(payload)
        .map_err(|error| usage(format!("the payload must be a JSON object: {error:#}")))?;
    Ok(AnnounceRequest { service: service.clone(), body })
}

fn announce_text(client: &Client, request: &AnnounceRequest, json: bool) -> Result<String> {
    let answer =
        client.put(&service_path(&request.service), &Value::Object(request.body.clone()))?;
    if json {
        return Ok(pretty(&answer));
    }
    let seq = parse::<SeqView>(answer, "announcement")?.seq;
    Ok(format!("announced {} (seq {seq})\n", request.service))
}

fn invitation_request(args: &InviteArgs) -> InvitationRequest {
    let expires = std::time::Duration::from(args.expires);
    // Round up: "500ms" must not become a code that has expired already.
    let expires_s = expires.as_secs() + u64::from(expires.subsec_nanos() > 0);
    InvitationRequest {
        role: Some(args.role.clone()),
        uses: Some(args.uses),
        expires_s: Some(expires_s),
    }
}

/// Parses `text` as a JSON object, with an example in the error for anything else.
fn json_object(text: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => {
            bail!("expected a JSON object such as '{{\"port\": 8080}}', not {}", kind_of(&other))
        }
        Err(error) => Err(error).context("not valid JSON"),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn read_document(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        io::stdin().read_to_string(&mut text).context("reading standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// `/v1/services/<service>`, the name percent-encoded as one path segment.
fn service_path(service: &str) -> String {
    format!("/v1/services/{}", encode_segment(service))
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters stay as they are).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Writes `text` to stdout; a closed pipe comes back as an error `main` knows to ignore.
fn emit(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn pretty(value: &Value) -> String {
    // Serializing a `Value` to a string cannot fail.
    format!("{}\n", serde_json::to_string_pretty(value).unwrap_or_default())
}

fn parse<T: DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    serde_json::from_value(value)
        .with_context(|| format!("the node's {what} answer has an unexpected shape"))
}
