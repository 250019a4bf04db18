//! The HTTP API: JSON routes under `/v1`, `/metrics`, the server-sent event stream and `/`.
//!
//! - [`model`]: the shapes the API speaks and the [`model::NodeApi`] trait the routes call.
//! - [`router`] builds the axum router over a `NodeApi`; [`serve`] runs it until shutdown.
//! - [`Auth`]: no authentication (loopback) or a bearer token (any other address).
//! - [`grid_control`]: recommendations, reachability, grid-manager lists and follows.
//! - [`error`]: the error body every refusal uses, `{"error": {"code", "message"}}`.
//!
//! Not here: what the answers mean. The node behind `NodeApi` decides; these modules only
//! translate between HTTP and its calls.

mod auth;
mod cross_site;
mod dashboard;
pub mod error;
#[cfg(any(test, feature = "test-fake"))]
pub mod fake;
pub mod grid_control;
mod groups;
pub mod model;
mod routes;
mod sse;

pub use auth::Auth;
pub use model::BODY_LIMIT;
pub use routes::{SHUTDOWN_GRACE, router, serve};
