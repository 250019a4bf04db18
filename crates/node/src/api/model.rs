//! The shapes the HTTP API speaks, and the [`NodeApi`] trait the routes call.
//!
//! The routes (`api::routes`) know nothing of the node actor: they call a [`NodeApi`], which the
//! real node implements over its actor handle and tests implement with a fake. Field names here
//! are the contract of `shared/spec/interface.md`; do not rename them.

use std::future::Future;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

pub use super::grid_control::GridControlApi;

pub use super::groups::{
    EdgeView, GroupMemberView, GroupParamsView, GroupSummaryView, GroupView, MessageView,
    MessagesPage, PublishedView, TopologyEventView, TopologyView,
};

/// The largest request body the API reads: 64 KiB. An announcement's payload travels in every
/// gossip round, so it is meant to be small; this bound keeps a client from making the node
/// buffer more than that.
pub const BODY_LIMIT: usize = 64 * 1024;

/// `GET /v1/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    /// This node's id (52 base32 characters).
    pub node_id: String,
    /// Its petname.
    pub name: String,
    /// `server` or `client`.
    pub role: String,
    /// The grid's id: the grid root key, as a node id.
    pub grid_id: String,
    /// Every address this node is reachable at (peer traffic).
    pub addresses: Vec<SocketAddr>,
    /// Seconds since the node started.
    pub uptime_s: u64,
    /// herald's version.
    pub version: String,
    /// Whether the node has caught up with its peers: it has a neighbour, and two
    /// anti-entropy rounds in a row repaired nothing (docs/operations.md, "Readiness").
    pub ready: bool,
    /// Why it is not ready yet, in a sentence; `null` when ready.
    #[serde(default)]
    pub not_ready_reason: Option<String>,
    /// Counts: members by state, records held, active neighbours.
    pub counts: StatusCounts,
}

/// The counts in [`StatusView`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Members known, this node included.
    pub members: u64,
    /// Members alive, this node included.
    pub alive: u64,
    /// Records held.
    pub records: u64,
    /// Live announcements held.
    pub services: u64,
    /// Active overlay neighbours.
    pub neighbours: u64,
}

/// One entry of `GET /v1/members`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// The member's id.
    pub node_id: String,
    /// Its petname, once its profile record arrived ("" before).
    pub name: String,
    /// `server` or `client` ("" before its profile arrived).
    pub role: String,
    /// `alive`, `suspect`, `dead`, `left` or `revoked`.
    pub state: String,
    /// Its announced addresses.
    pub addresses: Vec<SocketAddr>,
    /// Mean probe round trip measured by this node, if any.
    pub rtt_ms: Option<u64>,
    /// Milliseconds since this node last heard from it directly, if ever.
    pub last_heard_ms_ago: Option<u64>,
    /// The sequence number of its newest liveness claim (its incarnation).
    pub seq: u64,
}

/// One entry of `GET /v1/routes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteView {
    /// The node the route leads to.
    pub destination: String,
    /// The neighbour a message for it goes to first.
    pub next_hop: String,
    /// The sum of the path's link costs, in milliseconds of round trip.
    pub cost: u64,
    /// The node ids from this node to the destination, both included.
    pub path: Vec<String>,
}

/// One entry of `GET /v1/nearest`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NearestView {
    /// The server's id.
    pub node_id: String,
    /// Its mean probe round trip, in milliseconds.
    pub rtt_ms: f64,
    /// Its latency group, 0 the nearest: servers with alike round trips share one.
    pub group: usize,
}

/// The answer of `POST /v1/ping/{node}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PingView {
    /// The round trip, from sending the ping to its answer, in milliseconds.
    pub rtt_ms: f64,
    /// The node ids the ping crossed, from this node to the destination, both included.
    pub path: Vec<String>,
}

/// One entry of `GET /v1/services`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    /// The announcing node's id.
    pub origin: String,
    /// The service name.
    pub service: String,
    /// The announcement's sequence number.
    pub seq: u64,
    /// When the origin signed it, Unix milliseconds.
    pub issued_at: u64,
    /// The JSON object payload.
    pub payload: serde_json::Value,
}

/// The answer to `PUT /v1/services/{service}` and `DELETE` of the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqView {
    /// The sequence number the new record carries.
    pub seq: u64,
}

/// The body of `POST /v1/invitations`; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    /// `server` or `client`; default `client`.
    pub role: Option<String>,
    /// How many nodes may join with the code; default 1.
    pub uses: Option<u32>,
    /// Seconds until the code expires; default 86,400.
    pub expires_s: Option<u64>,
}

/// The answer to `POST /v1/invitations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    /// The one-line invitation code.
    pub code: String,
}

/// One event of `GET /v1/events`, sent as an SSE event named by [`ApiEvent::name`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ApiEvent {
    /// A member changed state.
    Member(MemberView),
    /// An announcement was stored.
    Announcement(ServiceView),
    /// A withdrawal was stored: the service is gone (`payload` is null).
    Withdrawal(ServiceView),
    /// A destination's route appeared, changed or was lost.
    Route(RouteChangeView),
    /// A group message was delivered to this node (its own included).
    Message(MessageView),
    /// A group's topology changed.
    Topology(TopologyEventView),
}

impl ApiEvent {
    /// The SSE event name: `member`, `announcement`, `withdrawal`, `route`, `message` or
    /// `topology`.
    pub fn name(&self) -> &'static str {
        match self {
            ApiEvent::Member(_) => "member",
            ApiEvent::Announcement(_) => "announcement",
            ApiEvent::Withdrawal(_) => "withdrawal",
            ApiEvent::Route(_) => "route",
            ApiEvent::Message(_) => "message",
            ApiEvent::Topology(_) => "topology",
        }
    }
}

/// A `route` event of `GET /v1/events`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteChangeView {
    /// The node the route leads to.
    pub destination: String,
    /// The route's next hop; `null` when no route leads there any more.
    pub next_hop: Option<String>,
    /// The route's cost in milliseconds of round trip; `null` with no route.
    pub cost: Option<u64>,
    /// The node ids from this node to the destination; empty with no route.
    pub path: Vec<String>,
}

/// Why the node refused an API request; the routes map it to a status and the JSON error body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Malformed input (400, `bad_request`).
    #[error("{0}")]
    BadRequest(String),
    /// Nothing by that name (404, `not_found`).
    #[error("{0}")]
    NotFound(String),
    /// A stale sequence number or a conflicting change (409, `conflict`).
    #[error("{0}")]
    Conflict(String),
    /// Too large (413, `too_large`).
    #[error("{0}")]
    TooLarge(String),
    /// The node cannot answer yet, or is shutting down (503, `not_ready`).
    #[error("{0}")]
    NotReady(String),
    /// An answer from across the grid did not come in time (504, `timeout`).
    #[error("{0}")]
    Timeout(String),
    /// The node cannot take more now; the caller may retry (503, `busy`).
    #[error("{0}")]
    Busy(String),
}

/// What the HTTP routes ask of a node. Implemented by the real node's handle and by test fakes.
pub trait NodeApi: GridControlApi + Clone + Send + Sync + 'static {
    /// `GET /v1/status`.
    fn status(&self) -> impl Future<Output = Result<StatusView, ApiError>> + Send;
    /// `GET /v1/members`.
    fn members(&self) -> impl Future<Output = Result<Vec<MemberView>, ApiError>> + Send;
    /// `GET /v1/services?name=&followed=`: `followed` keeps only the announcements of
    /// servers on the grid-manager lists this node follows.
    fn services(
        &self,
        name: Option<String>,
        followed: bool,
    ) -> impl Future<Output = Result<Vec<ServiceView>, ApiError>> + Send;
    /// `PUT /v1/services/{service}`: `payload` is the JSON object to announce, `seq` the
    /// grid-control `sequence-number` if the body gave one (already removed from `payload`).
    fn announce(
        &self,
        service: String,
        payload: serde_json::Map<String, serde_json::Value>,
        seq: Option<u64>,
    ) -> impl Future<Output = Result<SeqView, ApiError>> + Send;
    /// `DELETE /v1/services/{service}`.
    fn withdraw(&self, service: String) -> impl Future<Output = Result<SeqView, ApiError>> + Send;
    /// `POST /v1/invitations`.
    fn invite(
        &self,
        request: InvitationRequest,
    ) -> impl Future<Output = Result<InvitationView, ApiError>> + Send;
    /// `GET /v1/overlay`: active and passive views and broadcast-tree links.
    fn overlay(&self) -> impl Future<Output = Result<serde_json::Value, ApiError>> + Send;
    /// `GET /v1/routes`: the link-state routing table.
    fn routes(&self) -> impl Future<Output = Result<Vec<RouteView>, ApiError>> + Send;
    /// `POST /v1/ping/{node}`: a ping routed across the mesh to `node` (a node id, a unique
    /// prefix of one, or a member's petname), answered with its path and round trip.
    fn ping(&self, node: String) -> impl Future<Output = Result<PingView, ApiError>> + Send;
    /// `GET /v1/nearest`: the known servers by measured round trip, nearest first.
    fn nearest(&self) -> impl Future<Output = Result<Vec<NearestView>, ApiError>> + Send;
    /// `GET /v1/stats`: the counters.
    fn stats(&self) -> impl Future<Output = Result<serde_json::Value, ApiError>> + Send;
    /// `GET /metrics`: Prometheus text.
    fn metrics(&self) -> impl Future<Output = Result<String, ApiError>> + Send;
    /// `GET /v1/groups`: the groups this node knows a definition of.
    fn groups(&self) -> impl Future<Output = Result<Vec<GroupSummaryView>, ApiError>> + Send;
    /// `GET /v1/groups/{g}`: one group with its members and parameters.
    fn group(&self, name: String) -> impl Future<Output = Result<GroupView, ApiError>> + Send;
    /// `POST /v1/groups/{g}/messages`: floods `body` to the group; answers once it is stored
    /// durably here.
    fn publish_group(
        &self,
        group: String,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<PublishedView, ApiError>> + Send;
    /// `GET /v1/groups/{g}/messages`: up to `limit` messages delivered after the cursor
    /// `after` (0: from the first held).
    fn group_messages(
        &self,
        group: String,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<MessagesPage, ApiError>> + Send;
    /// `GET /v1/groups/{g}/topology`.
    fn topology(
        &self,
        group: String,
    ) -> impl Future<Output = Result<TopologyView, ApiError>> + Send;
    /// `GET /v1/events`: a stream of events from now on.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ApiEvent>;
}
