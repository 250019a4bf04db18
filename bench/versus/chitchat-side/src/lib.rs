//! chitchat's side of the membership comparison: `nodes` chitchat 0.13 nodes in this process,
//! each on a UDP socket of its own on 127.0.0.1 (chitchat's `UdpTransport`), configured the way
//! chitchat's own documentation and tests configure it, timed to full views and to the
//! detection of a node that stops without a word.

mod cluster;
mod config;
mod membership;
#[cfg(test)]
mod tests;
mod views;

use std::time::Duration;

pub use membership::membership;

/// chitchat's default gossip interval, 1 s.
///
/// chitchat 0.13 publishes no default configuration (`ChitchatConfig` has no public `Default`);
/// the default it writes for itself, `impl Default for ChitchatConfig` in `src/configuration.rs`
/// of the chitchat-0.13.0 crate, sets `gossip_interval: Duration::from_millis(1_000)`. (The
/// `chitchat-test` example server in the chitchat repository defaults `--interval_ms` to 500;
/// that is a test server's flag, not the library's default.)
pub const DEFAULT_GOSSIP_INTERVAL: Duration = Duration::from_secs(1);
