//! The configuration of one chitchat node, set the way chitchat's own documentation and tests
//! set it; only the gossip interval (and, for comparisons, the digest format) comes from the
//! caller.
//!
//! Paths cited (`src/…`, `tests/…`) are files of the chitchat-0.13.0 crate; "README" is the
//! README.md of github.com/quickwit-oss/chitchat, which the published crate does not ship.

use std::net::SocketAddr;
use std::time::Duration;

use chitchat::{ChitchatConfig, ChitchatId, FailureDetectorConfig, ProtocolVersion};

/// The cluster id every node of a run shares.
pub(crate) const CLUSTER_ID: &str = "versus";

/// The digest wire format: V0, chitchat's default.
///
/// `ProtocolVersion` has no `Default`; the field's doc in `src/configuration.rs` of
/// chitchat-0.13.0 calls V1 (zstd-compressed digest) "the latest version" but says the setting
/// "MUST stay `V0` until every node in the cluster runs a version able to decode the newer
/// format", and every configuration chitchat writes itself (`ChitchatConfig::for_test`, the
/// test-only `impl Default for ChitchatConfig`, `tests/perf_test.rs`, `tests/cluster_test.rs`)
/// uses V0.
pub(crate) const DEFAULT_PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion::V0;

/// How long a deleted key's tombstone is kept: 15 minutes, "the recommended value" in the
/// chitchat README (github.com/quickwit-oss/chitchat, section "KV deletion"), also the value of
/// the test-only `impl Default for ChitchatConfig` in `src/configuration.rs`. This workload
/// deletes no key, so it only has to be a sane value.
const MARKED_FOR_DELETION_GRACE_PERIOD: Duration = Duration::from_secs(15 * 60);

/// The configuration of the node `id`, listening on its advertised address, with `seed` (node
/// 0's address) as its only seed.
pub(crate) fn node_config(
    id: ChitchatId,
    seed: SocketAddr,
    gossip_interval: Duration,
    protocol_version: ProtocolVersion,
) -> ChitchatConfig {
    ChitchatConfig {
        listen_addr: id.gossip_advertise_addr,
        chitchat_id: id,
        cluster_id: CLUSTER_ID.to_string(),
        gossip_interval,
        // Seeds are "host:port" strings; one that parses as a `SocketAddr` is used as is, with
        // no DNS lookup (`spawn_dns_refresh_loop` in `src/server.rs`).
        seed_nodes: vec![seed.to_string()],
        // The phi-accrual detector's defaults (`impl Default for FailureDetectorConfig` in
        // `src/failure_detector.rs`: phi threshold 8, a window of 1 000 intervals, intervals over
        // 10 s ignored, dead nodes' state kept 24 h, which the README's "Node deletion" section
        // names as the default and wants far above the detection time), except the prior for
        // the heartbeat interval, which chitchat's documentation leaves open and its own code
        // sets three ways: 5 s in the default, 10 gossip intervals in `tests/cluster_test.rs`
        // (functional tests), and the gossip interval in `spawn_one` of `tests/perf_test.rs`,
        // chitchat's own measurement of detection delay and bandwidth, i.e. of this workload.
        // We follow the last: a node's heartbeat goes up at least once per gossip round
        // (README, "Heartbeat"), so the gossip interval is the natural prior. The prior weighs
        // as five intervals; the 5 s default makes detection at a 1 s interval take longer.
        failure_detector_config: FailureDetectorConfig {
            initial_interval: gossip_interval,
            ..FailureDetectorConfig::default()
        },
        marked_for_deletion_grace_period: MARKED_FOR_DELETION_GRACE_PERIOD,
        // Both optional hooks off, as in chitchat's own configurations (`src/configuration.rs`,
        // `tests/perf_test.rs`): no external catch-up mechanism, and "live" means live to the
        // failure detector alone.
        catchup_callback: None,
        extra_liveness_predicate: None,
        protocol_version,
    }
}
