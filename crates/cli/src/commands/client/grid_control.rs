//! `herald recommend`, `unrecommend`, `reachable`, `manager` and `follow`: Tahoe grid control
//! through the node's API (seed 000's recommendations and reachability, ticket #3457's grid
//! manager lists).

use anyhow::Result;
use clap::{Args, Subcommand};
use herald_node::api::grid_control::{ManagerView, RecommendationsView};
use serde_json::{Value, json};

use super::{ApiArgs, Client, emit, parse, pretty};
use crate::commands::output::{key_values, short_id, table};

/// Arguments of `herald recommend`.
#[derive(Args, Debug)]
#[command(after_help = "\
WHAT is free text. The kinds Tahoe-LAFS knows are send-shares-to and accept-shares-from.

Example:
  herald recommend $(herald status --json | jq -r .node_id) send-shares-to --petname self")]
pub struct RecommendArgs {
    /// The node recommended: its full node id, as `herald members` shows it.
    pub who: String,
    /// What it is recommended for, such as send-shares-to or accept-shares-from.
    pub what: String,
    /// What you call it (kept in the recommendation for people to read).
    #[arg(long, default_value = "")]
    pub petname: String,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald unrecommend`.
#[derive(Args, Debug)]
pub struct UnrecommendArgs {
    /// The node recommended: its full node id.
    pub who: String,
    /// The kind of recommendation to withdraw.
    pub what: String,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald reachable`.
#[derive(Args, Debug)]
pub struct ReachableArgs {
    /// The kind of recommendation edge to follow, such as send-shares-to.
    pub what: String,
    /// Follow at most this many edges (default: no limit).
    #[arg(long)]
    pub depth: Option<u32>,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald manager`.
#[derive(Args, Debug)]
pub struct ManagerArgs {
    /// What to do with this node's grid-manager list.
    #[command(subcommand)]
    pub action: ManagerAction,
}

/// `herald manager` subcommands.
#[derive(Subcommand, Debug)]
pub enum ManagerAction {
    /// Make this node a grid manager: a new manager key and an empty list, published.
    Create(ApiOnly),
    /// Add a server to the list (commission it).
    Add(ManagerEdit),
    /// Remove a server from the list (take it out of service for every follower).
    Remove(ManagerEdit),
    /// The list as this node holds it: key, version, servers.
    Show(ApiOnly),
}

/// Arguments of the manager actions that name no server.
#[derive(Args, Debug)]
pub struct ApiOnly {
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald manager add|remove`.
#[derive(Args, Debug)]
pub struct ManagerEdit {
    /// The server's full node id.
    pub node: String,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Arguments of `herald follow`.
#[derive(Args, Debug)]
#[command(after_help = "\
With a MANAGER-KEY, the node follows that manager's list (several may be followed). Without
one, it prints the lists it follows. `herald services --followed` then shows only the
announcements of the servers those lists name.")]
pub struct FollowArgs {
    /// The manager's key, as `herald manager show` prints it on the manager's node.
    #[arg(value_name = "MANAGER-KEY")]
    pub manager: Option<String>,
    /// Stop following MANAGER-KEY instead.
    #[arg(long, requires = "manager")]
    pub stop: bool,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `herald recommend WHO WHAT`: adds (or renames) a recommendation in this node's
/// `grid-control` announcement.
pub fn recommend(args: RecommendArgs) -> Result<()> {
    let body = json!({"who": args.who, "what": args.what, "petname": args.petname});
    let answer = Client::new(&args.api)?.put("/v1/recommendations", &body)?;
    emit(&recommendations_text(answer, args.api.json)?)
}

/// `herald unrecommend WHO WHAT`: withdraws one recommendation.
pub fn unrecommend(args: UnrecommendArgs) -> Result<()> {
    let body = json!({"who": args.who, "what": args.what});
    let answer = Client::new(&args.api)?.delete_json("/v1/recommendations", &body)?;
    emit(&recommendations_text(answer, args.api.json)?)
}

/// `herald reachable WHAT`: the node ids reachable over recommendation edges of kind WHAT.
pub fn reachable(args: ReachableArgs) -> Result<()> {
    let depth = args.depth.map(|depth| depth.to_string());
    let mut query = vec![("what", args.what.as_str())];
    if let Some(depth) = &depth {
        query.push(("depth", depth));
    }
    let answer = Client::new(&args.api)?.get("/v1/reachable", &query)?;
    if args.api.json {
        return emit(&pretty(&answer));
    }
    let reached = parse::<Vec<String>>(answer, "reachable")?;
    if reached.is_empty() {
        return emit(&format!("no node is reachable over {} recommendations\n", args.what));
    }
    emit(&reached.iter().map(|id| format!("{id}\n")).collect::<String>())
}

/// `herald manager create|add|remove|show`.
pub fn manager(args: ManagerArgs) -> Result<()> {
    let (answer, json) = match &args.action {
        ManagerAction::Create(only) => {
            (Client::new(&only.api)?.post("/v1/manager", &json!({}))?, only.api.json)
        }
        ManagerAction::Show(only) => {
            (Client::new(&only.api)?.get("/v1/manager", &[])?, only.api.json)
        }
        ManagerAction::Add(edit) => {
            (Client::new(&edit.api)?.put(&server_path(&edit.node), &Value::Null)?, edit.api.json)
        }
        ManagerAction::Remove(edit) => {
            (Client::new(&edit.api)?.delete(&server_path(&edit.node))?, edit.api.json)
        }
    };
    if json {
        return emit(&pretty(&answer));
    }
    emit(&manager_text(&parse::<ManagerView>(answer, "manager")?))
}

/// `herald follow [MANAGER-KEY] [--stop]`.
pub fn follow(args: FollowArgs) -> Result<()> {
    let client = Client::new(&args.api)?;
    let answer = match &args.manager {
        None => client.get("/v1/follows", &[])?,
        Some(key) if args.stop => client.delete(&follow_path(key))?,
        Some(key) => client.put(&follow_path(key), &Value::Null)?,
    };
    if args.api.json {
        return emit(&pretty(&answer));
    }
    let lists = parse::<Vec<ManagerView>>(answer, "follows")?;
    if lists.is_empty() {
        return emit("this node follows no grid manager\n");
    }
    let rows: Vec<Vec<String>> = lists
        .iter()
        .map(|list| {
            let version = if list.version == 0 {
                "(not heard yet)".to_owned()
            } else {
                list.version.to_string()
            };
            vec![list.key.clone(), version, list.servers.len().to_string()]
        })
        .collect();
    emit(&table(&["MANAGER", "VERSION", "SERVERS"], &rows))
}

fn recommendations_text(answer: Value, json: bool) -> Result<String> {
    if json {
        return Ok(pretty(&answer));
    }
    let view = parse::<RecommendationsView>(answer, "recommendations")?;
    let seq = view.seq.map_or_else(|| "none yet".to_owned(), |seq| seq.to_string());
    if view.recommendations.is_empty() {
        return Ok(format!("no recommendations (grid-control seq {seq})\n"));
    }
    let rows: Vec<Vec<String>> = view
        .recommendations
        .iter()
        .map(|held| vec![short_id(&held.who).to_owned(), held.petname.clone(), held.what.clone()])
        .collect();
    Ok(format!("grid-control seq {seq}\n{}", table(&["WHO", "PETNAME", "WHAT"], &rows)))
}

fn manager_text(view: &ManagerView) -> String {
    let mut text = key_values(&[
        ("key", view.key.clone()),
        ("version", view.version.to_string()),
        ("servers", view.servers.len().to_string()),
    ]);
    for server in &view.servers {
        text.push_str(&format!("  {server}\n"));
    }
    text
}

/// Node ids are base32, so they need no escaping in a path; anything else is sent as given and
/// refused by the node with a sentence.
fn server_path(node: &str) -> String {
    format!("/v1/manager/servers/{}", super::encode_segment(node))
}

fn follow_path(key: &str) -> String {
    format!("/v1/follows/{}", super::encode_segment(key))
}
