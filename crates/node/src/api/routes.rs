//! The axum router of the API and the server loop that runs it.
//!
//! [`router`] maps each route of interface.md ("HTTP API") to a [`NodeApi`] call and turns every
//! refusal, the node's or axum's, into the JSON error body ([`super::error`]). [`serve`] runs it
//! on a listener until a shutdown future resolves.
//!
//! Request bodies are read as bytes and parsed here rather than with axum's `Json` extractor, so
//! that every parse error, and a body whose `Content-Type` is not JSON, gets the same error body.
//! A JSON body must carry `Content-Type: application/json` (`curl --json` sends it; `curl -d`
//! does not, and is refused): one of the two defences against requests from other sites' web
//! pages, with the `Origin` check of [`super::cross_site`].

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use herald_core::groups::MESSAGE_LEN_MAX_DEFAULT;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::watch;

use super::auth::{self, Auth};
use super::cross_site;
use super::dashboard;
use super::error::Failure;
use super::grid_control;
use super::groups;
use super::model::{BODY_LIMIT, InvitationRequest, NodeApi};
use super::sse::{self, Shutdown};

/// How long [`serve`] waits for open requests after the shutdown signal before it returns
/// anyway, so that a stalled client cannot hold up a node's exit.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The media type of `/metrics`: Prometheus' text exposition format.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Builds the API's router over `api`, guarded by `auth`.
pub fn router<A: NodeApi>(api: A, auth: Auth) -> Router {
    Router::new()
        .route("/", get(dashboard::index))
        .route("/dashboard.css", get(dashboard::stylesheet))
        .route("/dashboard.js", get(dashboard::script))
        .route("/graph.js", get(dashboard::graph_script))
        .route("/metrics", get(metrics::<A>))
        .route("/v1/status", get(status::<A>))
        .route("/v1/members", get(members::<A>))
        .route("/v1/services", get(services::<A>))
        .route("/v1/services/{service}", put(announce::<A>).delete(withdraw::<A>))
        .route("/v1/invitations", post(invite::<A>))
        .route("/v1/overlay", get(overlay::<A>))
        .route("/v1/routes", get(routes::<A>))
        .route("/v1/ping/{node}", post(ping::<A>))
        .route("/v1/nearest", get(nearest::<A>))
        .route("/v1/stats", get(stats::<A>))
        .route("/v1/groups", get(groups::groups::<A>))
        .route("/v1/groups/{group}", get(groups::group::<A>))
        .route(
            "/v1/groups/{group}/messages",
            post(groups::publish::<A>)
                .layer(DefaultBodyLimit::max(MESSAGE_LEN_MAX_DEFAULT as usize))
                .get(groups::messages::<A>),
        )
        .route("/v1/groups/{group}/topology", get(groups::topology::<A>))
        .route("/v1/events", get(sse::events::<A>))
        .merge(grid_control::routes::<A>())
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(Arc::new(auth), auth::require))
        // Added last, so it runs first: a refused request is not read further.
        .layer(axum::middleware::from_fn(cross_site::refuse))
        .with_state(api)
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open requests finish for
/// up to [`SHUTDOWN_GRACE`]. Event streams end at the signal.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopping, stop) = watch::channel(false);
    let mut stopped = stop.clone();
    let router = router.layer(Extension(Shutdown(stop)));
    let signal = {
        let stopping = stopping.clone();
        async move {
            shutdown.await;
            stopping.send_replace(true);
        }
    };
    let server = axum::serve(listener, router).with_graceful_shutdown(signal).into_future();
    let grace = async move {
        // `stopping` lives until `serve` returns, so this waits for the signal.
        let _ = stopped.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let result = tokio::select! {
        result = server => result,
        () = grace => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "API requests still open after shutdown; leaving them");
            Ok(())
        }
    };
    drop(stopping);
    result
}

async fn metrics<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    let text = api.metrics().await?;
    Ok(([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response())
}

async fn status<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(Json(api.status().await?).into_response())
}

async fn members<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(Json(api.members().await?).into_response())
}

/// The query of `GET /v1/services`; unknown keys are ignored.
#[derive(Debug, Deserialize)]
struct ServicesQuery {
    /// Only announcements of this service.
    name: Option<String>,
    /// `true` (or `1`): only announcements of servers on the grid-manager lists this node
    /// follows. `false`, `0` or empty: every announcement.
    followed: Option<String>,
}

async fn services<A: NodeApi>(
    State(api): State<A>,
    query: Result<Query<ServicesQuery>, QueryRejection>,
) -> Result<Response, Failure> {
    let Query(query) = query?;
    let name = query.name.filter(|name| !name.is_empty());
    let followed = match query.followed.as_deref() {
        None | Some("" | "false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(Failure::bad_request(format!(
                "followed must be true or false, not {other:?}"
            )));
        }
    };
    Ok(Json(api.services(name, followed).await?).into_response())
}

async fn announce<A: NodeApi>(
    State(api): State<A>,
    service: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    let Path(service) = service?;
    let body = json_body(&headers, &body?)?
        .ok_or_else(|| Failure::bad_request("the body is empty: send a JSON object"))?;
    let (payload, seq) = split_announcement(&service, body)?;
    Ok(Json(api.announce(service, payload, seq).await?).into_response())
}

async fn withdraw<A: NodeApi>(
    State(api): State<A>,
    service: Result<Path<String>, PathRejection>,
) -> Result<Response, Failure> {
    let Path(service) = service?;
    Ok(Json(api.withdraw(service).await?).into_response())
}

async fn invite<A: NodeApi>(
    State(api): State<A>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    // Every field has a default, so an empty body asks for the default invitation.
    let request = match json_body(&headers, &body?)? {
        None => InvitationRequest::default(),
        Some(value) => serde_json::from_value(value)
            .map_err(|error| Failure::bad_request(format!("bad invitation request: {error}")))?,
    };
    Ok(Json(api.invite(request).await?).into_response())
}

async fn overlay<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(Json(api.overlay().await?).into_response())
}

async fn routes<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(Json(api.routes().await?).into_response())
}

async fn ping<A: NodeApi>(
    State(api): State<A>,
    node: Result<Path<String>, PathRejection>,
) -> Result<Response, Failure> {
    let Path(node) = node?;
    Ok(Json(api.ping(node).await?).into_response())
}

async fn nearest<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(Json(api.nearest().await?).into_response())
}

async fn stats<A: NodeApi>(State(api): State<A>) -> Result<Response, Failure> {
    Ok(Json(api.stats().await?).into_response())
}

async fn no_route(uri: Uri) -> Failure {
    Failure::no_route(uri.path())
}

async fn method_not_allowed(method: Method, uri: Uri) -> Failure {
    Failure::method_not_allowed(method.as_str(), uri.path())
}

/// Parses a request body as JSON: `None` when it is empty. A body that is not empty must say it
/// is JSON with its `Content-Type` (`application/json` or any `+json` type): a cross-site form
/// cannot send those (module docs).
pub(super) fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Option<Value>, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let text = headers.get(header::CONTENT_TYPE).map(|value| value.to_str().unwrap_or("?"));
    let essence = text.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence != "application/json" && !essence.ends_with("+json") {
        let given = text.map_or("none".to_owned(), |text| format!("{text:?}"));
        return Err(Failure::bad_request(format!(
            "a JSON body must be sent with Content-Type: application/json (curl --json does \
             that), not {given}"
        )));
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|error| Failure::bad_request(format!("the body is not valid JSON: {error}")))
}

/// Splits a `PUT /v1/services/{service}` body into the payload and the requested sequence
/// number. A body with a `service-name` key is the seed's grid-control form: that name must be
/// the path's service, and `service-name` and `sequence-number` are taken out of the payload.
/// Without `service-name`, the whole object is the payload, whatever its keys.
pub(crate) fn split_announcement(
    service: &str,
    body: Value,
) -> Result<(Map<String, Value>, Option<u64>), Failure> {
    let Value::Object(mut payload) = body else {
        return Err(Failure::bad_request(
            "the body must be a JSON object (the announcement's payload)",
        ));
    };
    let Some(named) = payload.remove("service-name") else {
        return Ok((payload, None));
    };
    match named {
        Value::String(named) if named == service => {}
        Value::String(named) => {
            return Err(Failure::bad_request(format!(
                "service-name {named:?} does not match the service in the path, {service:?}"
            )));
        }
        other => {
            return Err(Failure::bad_request(format!(
                "service-name must be a string, not {other}"
            )));
        }
    }
    let seq = match payload.remove("sequence-number") {
        None => None,
        Some(value) => Some(parse_sequence_number(&value)?),
    };
    Ok((payload, seq))
}

/// A grid-control `sequence-number`: a non-negative integer, or a string of decimal digits
/// (some writers quote large numbers to survive JavaScript).
fn parse_sequence_number(value: &Value) -> Result<u64, Failure> {
    let parsed = match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse().ok()
        }
        _ => None,
    };
    parsed.ok_or_else(|| {
        Failure::bad_request(format!(
            "sequence-number must be a non-negative integer below 2^64, not {value}"
        ))
    })
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
