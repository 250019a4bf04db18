//! Which broadcast runs, and Plumtree's tunables.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which algorithm spreads a new record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BroadcastMode {
    /// Plumtree: eager push on a tree, lazy IHAVE on the other links.
    #[default]
    Plumtree,
    /// Push to every overlay neighbour but the sender (Receptor's route broadcast).
    Flood,
    /// Push to `fanout` random known peers (active and passive views).
    Gossip {
        /// Peers each node pushes a new record to.
        fanout: u16,
    },
}

/// Plumtree parameters.
#[derive(Clone, Debug)]
pub struct BroadcastConfig {
    /// The algorithm.
    pub mode: BroadcastMode,
    /// How long IHAVE announcements are batched before they are sent. Default 50 ms (guess:
    /// well under the graft timeout, so batching never triggers a graft).
    pub ihave_interval: Duration,
    /// How long to wait for a message announced by IHAVE before grafting. Default 200 ms
    /// (measured in sim at 1,000 nodes and 10–50 ms links: 100 ms pushes random-origin RMR
    /// above 0.5, 250 ms lets p99 latency grow past 0.5 s).
    pub graft_timeout: Duration,
    /// How long to wait after a graft before grafting the next announcer. Default 150 ms.
    pub graft_retry: Duration,
    /// Hops a lazy path must save before the tree is re-routed. Default 3 (measured in sim
    /// at 10,000 nodes, one origin: the median announcement's last delivery hop 10, against 12
    /// at 6; when re-routes also re-shaped the shared split, 3 raised RMR with random origins;
    /// iroh-gossip uses 7).
    pub optimization_threshold: u16,
    /// Message ids remembered (for duplicate suppression and answering grafts). Default 65,536.
    pub seen_cache_len_max: usize,
    /// IHAVE entries per frame. Default 512.
    pub ihave_batch_max: usize,
    /// Origins whose own eager/lazy split is kept; beyond it the least recently used is
    /// dropped. Default 4,096 (about 1 MB at five neighbours).
    pub trees_max: usize,
    /// How long a record this node spread is still announced by IHAVE to each neighbour that
    /// comes up. Default 1 s (measured in sim on `scenarios/mass-failure.toml`, 200 nodes,
    /// half crashing mid-burst, over 40 seeds: a record pushed into links whose peers had
    /// died reached the subtrees behind them only by anti-entropy, and latency p99 was 651 ms
    /// on average and 1,688 ms at worst; with a 1 s window, 577 and 843 ms, for 8.6% more
    /// messages).
    pub recent_window: Duration,
}

impl Default for BroadcastConfig {
    fn default() -> BroadcastConfig {
        BroadcastConfig {
            mode: BroadcastMode::Plumtree,
            ihave_interval: Duration::from_millis(50),
            graft_timeout: Duration::from_millis(200),
            graft_retry: Duration::from_millis(150),
            optimization_threshold: 3,
            seen_cache_len_max: 65_536,
            ihave_batch_max: 512,
            trees_max: 4096,
            recent_window: Duration::from_secs(1),
        }
    }
}
