//! The floodd groups part of the HTTP API: the shapes of `/v1/groups...`, and their routes.
//!
//! Field names are the contract of `shared/spec/interface.md`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald_core::groups::MESSAGE_LEN_MAX_DEFAULT;
use serde::{Deserialize, Serialize};

use super::error::Failure;
use super::model::NodeApi;

/// One entry of `GET /v1/groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSummaryView {
    /// The group's name.
    pub name: String,
    /// Its member sites, as its definition lists them.
    pub sites: usize,
    /// Whether this node is one of its members.
    pub member: bool,
    /// Messages this node holds in it.
    pub messages_held: usize,
}

/// `GET /v1/groups/{g}`: one group with its members and parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    /// The group's name.
    pub name: String,
    /// Its member sites, with the node each names and its state.
    pub members: Vec<GroupMemberView>,
    /// floodd's group parameters.
    pub parameters: GroupParamsView,
    /// This node's neighbours in the group's topology (empty unless it is a member).
    pub neighbors: Vec<String>,
    /// The nodes that asked to join but the group's access rule (`listed`) refuses.
    pub refused_joins: Vec<String>,
}

/// A member site of a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMemberView {
    /// The site, as the definition names it.
    pub site: String,
    /// The node that is that site, once its profile is known.
    pub node_id: Option<String>,
    /// `alive`, `suspect`, `dead`, `left`, or `unknown` before the site's node is known.
    pub state: String,
    /// Whether it is a member by its join request rather than by the definition's list.
    pub joined: bool,
}

/// A group's parameters, periods in seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupParamsView {
    /// The topology's connectivity k.
    pub connectivity: u8,
    /// floodd's `ping-period`.
    pub ping_period_s: f64,
    /// floodd's `bandwidth-period`.
    pub bandwidth_period_s: f64,
    /// floodd's `estimates-period`.
    pub estimates_period_s: f64,
    /// floodd's `join-period`.
    pub join_period_s: f64,
    /// floodd's `update-period`.
    pub update_period_s: f64,
    /// floodd's `master-site`.
    pub master_site: Option<String>,
    /// floodd's `topology-generator`.
    pub topology_generator: Option<String>,
    /// Who may join besides the listed sites: `open` or `listed`.
    pub access: String,
}

/// The answer to `POST /v1/groups/{g}/messages`, once the message is stored durably.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedView {
    /// The message's id.
    pub id: String,
    /// The publishing node.
    pub origin: String,
    /// Its sequence number in the origin's messages to the group.
    pub seq: u64,
}

/// One message of `GET /v1/groups/{g}/messages`, and of a `message` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// The group (in events; the page's messages are all of the group asked for).
    pub group: String,
    /// The message's id.
    pub id: String,
    /// The publishing node.
    pub origin: String,
    /// Its sequence number in the origin's messages to the group.
    pub seq: u64,
    /// When this node received it, Unix milliseconds.
    pub received_at: u64,
    /// The body, in standard base64.
    pub data_base64: String,
}

/// `GET /v1/groups/{g}/messages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagesPage {
    /// Messages after the cursor, in the order this node delivered them.
    pub messages: Vec<MessageView>,
    /// The cursor to ask with next.
    pub next: String,
}

/// `GET /v1/groups/{g}/topology`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopologyView {
    /// The edges, each once, with their cost.
    pub edges: Vec<EdgeView>,
    /// The connectivity the edges achieve.
    pub connectivity: usize,
    /// Who computed it: `members` (every member, the same way), or `master:<node id>` (the
    /// group's master site).
    pub computed_by: String,
    /// How many different topologies this node computed for the group.
    pub version: u64,
}

/// One edge of a topology.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeView {
    /// One end.
    pub a: String,
    /// The other end.
    pub b: String,
    /// Its cost, the measured round trip in milliseconds (unmeasured edges carry the default).
    pub cost_ms: u32,
}

/// A `topology` event of `GET /v1/events`: a group's topology changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopologyEventView {
    /// The group.
    pub group: String,
    /// The new topology's version.
    pub version: u64,
    /// Its edges.
    pub edges: usize,
}

/// The query of `GET /v1/groups/{g}/messages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessagesQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// Messages a page holds, at most, and by default.
pub const PAGE_LIMIT_MAX: usize = 1000;

pub(super) async fn groups<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(Json(api.groups().await?).into_response())
}

pub(super) async fn group<A: NodeApi>(
    State(api): State<A>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, Failure> {
    let Path(name) = name?;
    Ok(Json(api.group(name).await?).into_response())
}

/// `POST /v1/groups/{g}/messages`: the raw body is the message. Its limit is the largest
/// message ([`MESSAGE_LEN_MAX_DEFAULT`]), not the API's usual one.
pub(super) async fn publish<A: NodeApi>(
    State(api): State<A>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    let Path(name) = name?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Failure::too_large(format!(
                "a message has at most {} MiB",
                MESSAGE_LEN_MAX_DEFAULT / (1024 * 1024)
            ))
        } else {
            Failure::from(rejection)
        }
    })?;
    Ok(Json(api.publish_group(name, body.to_vec()).await?).into_response())
}

pub(super) async fn messages<A: NodeApi>(
    State(api): State<A>,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<MessagesQuery>, QueryRejection>,
) -> Result<Response, Failure> {
    let Path(name) = name?;
    let Query(query) = query?;
    let after = match query.after.as_deref() {
        None | Some("") => 0,
        Some(text) => text.parse().map_err(|_| {
            Failure::bad_request(format!("the cursor {text:?} is not one this node gave out"))
        })?,
    };
    let limit = query.limit.unwrap_or(PAGE_LIMIT_MAX).clamp(1, PAGE_LIMIT_MAX);
    Ok(Json(api.group_messages(name, after, limit).await?).into_response())
}

pub(super) async fn topology<A: NodeApi>(
    State(api): State<A>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, Failure> {
    let Path(name) = name?;
    Ok(Json(api.topology(name).await?).into_response())
}
