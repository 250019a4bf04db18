//! herald-node: the real driver of herald-core.
//!
//! It runs one node as a tokio actor ([`RunningNode`]) that owns the core state machine, the
//! redb store and a QUIC transport, and serves the HTTP API. Main parts:
//! - [`datadir`]: the node key, grid membership and store under the data directory;
//! - [`tls`] and [`transport`]: QUIC connections authenticated by node key and membership
//!   certificate; [`framing`] puts frames on streams with the size cap checked first;
//! - [`policy`]: the grid's admission rule, applied in the handshake;
//! - `actor` and [`handle`]: the loop that drives the core and owns its state, with what the
//!   API reads of it (`actor::views`) and the server side of admission (`actor::admit`);
//! - [`join`]: the joining side of admission by invitation;
//! - [`api`]: the axum routes.
//!
//! Not here: protocol decisions. Those live in herald-core; this crate only moves bytes, time
//! and durable state in and out of it.

mod actor;
mod address_book;
pub mod api;
mod clock;
pub mod config;
mod contact;
pub mod datadir;
pub mod export;
pub mod floodd;
pub mod framing;
pub mod handle;
pub mod join;
mod metrics;
pub mod peer_requests;
pub mod policy;
mod start;
pub mod tls;
pub mod transport;

pub use actor::RELAYED_COMMIT_DELAY;
pub use handle::NodeHandle;
pub use start::{HTTP_DEFAULT, LISTEN_DEFAULT, NodeOptions, RunningNode};
