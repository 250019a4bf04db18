//! `herald routes`, `herald ping` and `herald nearest`: the node's link-state routing table, a
//! ping routed across the mesh, and the known servers by round trip.

use anyhow::Result;
use clap::Args;
use herald_node::api::model::{NearestView, PingView, RouteView};
use serde_json::json;

use super::{ApiArgs, Client, emit, parse, pretty};
use crate::commands::output::{short_id, table};

/// Arguments of `herald routes`.
#[derive(Args, Debug)]
pub struct RoutesArgs {
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald ping`.
#[derive(Args, Debug)]
pub struct PingArgs {
    /// The node to ping: its id, a unique prefix of it, or its petname.
    pub node: String,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald nearest`.
#[derive(Args, Debug)]
pub struct NearestArgs {
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `herald nearest`: the known servers by measured round trip, nearest first.
pub fn nearest(args: NearestArgs) -> Result<()> {
    emit(&nearest_text(&Client::new(&args.api)?, args.api.json)?)
}

/// `herald routes`: destination, next hop, cost and path of every route.
pub fn routes(args: RoutesArgs) -> Result<()> {
    emit(&routes_text(&Client::new(&args.api)?, args.api.json)?)
}

/// `herald ping NODE`: the path a routed ping took and its round trip.
pub fn ping(args: PingArgs) -> Result<()> {
    emit(&ping_text(&Client::new(&args.api)?, &args.node, args.api.json)?)
}

pub(super) fn routes_text(client: &Client, json: bool) -> Result<String> {
    let answer = client.get("/v1/routes", &[])?;
    if json {
        return Ok(pretty(&answer));
    }
    let routes = parse::<Vec<RouteView>>(answer, "routes")?;
    if routes.is_empty() {
        return Ok("no routes: this node knows no advertised links yet\n".to_owned());
    }
    let rows: Vec<Vec<String>> = routes
        .iter()
        .map(|route| {
            vec![
                short_id(&route.destination).to_owned(),
                short_id(&route.next_hop).to_owned(),
                format!("{} ms", route.cost),
                path_text(&route.path),
            ]
        })
        .collect();
    Ok(table(&["DESTINATION", "NEXT HOP", "COST", "PATH"], &rows))
}

pub(super) fn ping_text(client: &Client, node: &str, json: bool) -> Result<String> {
    let answer = client.post(&format!("/v1/ping/{}", urlencoded(node)), &json!({}))?;
    if json {
        return Ok(pretty(&answer));
    }
    let pong = parse::<PingView>(answer, "ping answer")?;
    let hops = pong.path.len().saturating_sub(1);
    Ok(format!(
        "answered in {:.1} ms over {hops} hop{}: {}\n",
        pong.rtt_ms,
        if hops == 1 { "" } else { "s" },
        path_text(&pong.path)
    ))
}

pub(super) fn nearest_text(client: &Client, json: bool) -> Result<String> {
    let answer = client.get("/v1/nearest", &[])?;
    if json {
        return Ok(pretty(&answer));
    }
    let servers = parse::<Vec<NearestView>>(answer, "nearest servers")?;
    if servers.is_empty() {
        return Ok("no server's round trip measured yet\n".to_owned());
    }
    let rows: Vec<Vec<String>> = servers
        .iter()
        .map(|server| {
            vec![
                short_id(&server.node_id).to_owned(),
                format!("{:.1} ms", server.rtt_ms),
                server.group.to_string(),
            ]
        })
        .collect();
    Ok(table(&["ID", "RTT", "GROUP"], &rows))
}

fn path_text(path: &[String]) -> String {
    path.iter().map(|id| short_id(id)).collect::<Vec<_>>().join(" > ")
}

/// `name` as one path segment: petnames may hold characters a URL path does not.
fn urlencoded(name: &str) -> String {
    name.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
