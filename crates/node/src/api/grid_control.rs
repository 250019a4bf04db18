//! The grid-control part of the HTTP API: recommendations, reachability, this node's grid-manager
//! list and the lists it follows (Tahoe seeds 000 and 001).
//!
//! Routes (interface.md names the recommendation and reachability routes; the manager and follow
//! routes are ours, the `herald manager` and `herald follow` commands' own):
//! - `GET /v1/recommendations`; `PUT` with `{who, what, petname?}` adds one (or renames it);
//!   `DELETE` with `{who, what}` removes one. Each answers the list and the announcement's seq.
//! - `GET /v1/reachable?what=&depth=`: `[node_id]`, nearest first.
//! - `GET /v1/manager`, `POST /v1/manager` (create the key and an empty list),
//!   `PUT`/`DELETE /v1/manager/servers/{node}`: `{key, version, servers}`.
//! - `GET /v1/follows`, `PUT`/`DELETE /v1/follows/{manager}`: the followed lists.
//!
//! Node ids are checked here, so the node behind [`GridControlApi`] gets typed ids.

use std::future::Future;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use herald_core::NodeId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::Failure;
use super::model::{ApiError, NodeApi};
use super::routes::json_body;

/// One recommendation, in seed 000's field names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendationView {
    /// The node recommended.
    pub who: String,
    /// What this node calls it.
    pub petname: String,
    /// What it is recommended for.
    pub what: String,
}

/// This node's recommendations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendationsView {
    /// The seq of the `grid-control` announcement that carries them (none before the first).
    pub seq: Option<u64>,
    /// The recommendations, in the announcement's order.
    pub recommendations: Vec<RecommendationView>,
}

/// A grid manager's list: `herald manager show --json`, and each followed list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerView {
    /// The manager's key (its public key, written like a node id).
    pub key: String,
    /// The list's version; 0 for a followed list not heard of yet.
    pub version: u64,
    /// The servers listed, by id.
    pub servers: Vec<String>,
}

/// Whether a manager edit adds or removes its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListChange {
    /// Commission the server.
    Add,
    /// Take the server out of service.
    Remove,
}

/// What the grid-control routes ask of a node.
pub trait GridControlApi {
    /// `GET /v1/recommendations`.
    fn recommendations(&self)
    -> impl Future<Output = Result<RecommendationsView, ApiError>> + Send;
    /// `PUT /v1/recommendations`.
    fn recommend(
        &self,
        who: NodeId,
        what: String,
        petname: String,
    ) -> impl Future<Output = Result<RecommendationsView, ApiError>> + Send;
    /// `DELETE /v1/recommendations`.
    fn unrecommend(
        &self,
        who: NodeId,
        what: String,
    ) -> impl Future<Output = Result<RecommendationsView, ApiError>> + Send;
    /// `GET /v1/reachable`.
    fn reachable(
        &self,
        what: String,
        depth: Option<u32>,
    ) -> impl Future<Output = Result<Vec<String>, ApiError>> + Send;
    /// `GET /v1/manager`.
    fn manager(&self) -> impl Future<Output = Result<ManagerView, ApiError>> + Send;
    /// `POST /v1/manager`.
    fn create_manager(&self) -> impl Future<Output = Result<ManagerView, ApiError>> + Send;
    /// `PUT` or `DELETE /v1/manager/servers/{node}`.
    fn edit_manager(
        &self,
        server: NodeId,
        change: ListChange,
    ) -> impl Future<Output = Result<ManagerView, ApiError>> + Send;
    /// `GET /v1/follows`.
    fn follows(&self) -> impl Future<Output = Result<Vec<ManagerView>, ApiError>> + Send;
    /// `PUT` (`follow` true) or `DELETE /v1/follows/{manager}`.
    fn follow(
        &self,
        manager: NodeId,
        follow: bool,
    ) -> impl Future<Output = Result<Vec<ManagerView>, ApiError>> + Send;
}

/// The grid-control routes, merged into the API's router.
pub(super) fn routes<A: NodeApi>() -> Router<A> {
    Router::new()
        .route(
            "/v1/recommendations",
            get(recommendations::<A>).put(recommend::<A>).delete(unrecommend::<A>),
        )
        .route("/v1/reachable", get(reachable::<A>))
        .route("/v1/manager", get(manager::<A>).post(create_manager::<A>))
        .route("/v1/manager/servers/{node}", put(edit_server::<A>).delete(edit_server::<A>))
        .route("/v1/follows", get(follows::<A>))
        .route("/v1/follows/{manager}", put(follow::<A>).delete(follow::<A>))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecommendBody {
    who: String,
    what: String,
    #[serde(default)]
    petname: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnrecommendBody {
    who: String,
    what: String,
}

#[derive(Deserialize)]
struct ReachableQuery {
    what: Option<String>,
    depth: Option<u32>,
}

async fn recommendations<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(axum::Json(api.recommendations().await?).into_response())
}

async fn recommend<A: NodeApi>(
    State(api): State<A>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    let body: RecommendBody = typed_body(&headers, &body?, "{who, what, petname}")?;
    let who = node_id("who", &body.who)?;
    Ok(axum::Json(api.recommend(who, body.what, body.petname).await?).into_response())
}

async fn unrecommend<A: NodeApi>(
    State(api): State<A>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    let body: UnrecommendBody = typed_body(&headers, &body?, "{who, what}")?;
    let who = node_id("who", &body.who)?;
    Ok(axum::Json(api.unrecommend(who, body.what).await?).into_response())
}

async fn reachable<A: NodeApi>(
    State(api): State<A>,
    query: Result<Query<ReachableQuery>, QueryRejection>,
) -> Result<Response, Failure> {
    let Query(query) = query?;
    let what = query.what.filter(|what| !what.is_empty()).ok_or_else(|| {
        Failure::bad_request(
            "give what=, the kind of recommendation to follow (send-shares-to, say)",
        )
    })?;
    Ok(axum::Json(api.reachable(what, query.depth).await?).into_response())
}

async fn manager<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(axum::Json(api.manager().await?).into_response())
}

async fn create_manager<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(axum::Json(api.create_manager().await?).into_response())
}

/// `PUT` adds the server to the list, `DELETE` removes it.
async fn edit_server<A: NodeApi>(
    State(api): State<A>,
    method: Method,
    node: Result<Path<String>, PathRejection>,
) -> Result<Response, Failure> {
    let server = node_id("the server", &node?.0)?;
    let change = if method == Method::PUT { ListChange::Add } else { ListChange::Remove };
    Ok(axum::Json(api.edit_manager(server, change).await?).into_response())
}

async fn follows<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(axum::Json(api.follows().await?).into_response())
}

/// `PUT` follows the manager's list, `DELETE` stops following it.
async fn follow<A: NodeApi>(
    State(api): State<A>,
    method: Method,
    manager: Result<Path<String>, PathRejection>,
) -> Result<Response, Failure> {
    let manager = node_id("the manager key", &manager?.0)?;
    Ok(axum::Json(api.follow(manager, method == Method::PUT).await?).into_response())
}

/// A JSON body of the shape `T`, or a 400 that names the expected fields.
fn typed_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    shape: &str,
) -> Result<T, Failure> {
    let value = json_body(headers, body)?
        .ok_or_else(|| Failure::bad_request(format!("the body is empty: send {shape}")))?;
    serde_json::from_value(value)
        .map_err(|error| Failure::bad_request(format!("the body must be {shape}: {error}")))
}

fn node_id(what: &str, text: &str) -> Result<NodeId, Failure> {
    text.parse()
        .map_err(|error| Failure::bad_request(format!("{what} {text:?} is not a node id: {error}")))
}
