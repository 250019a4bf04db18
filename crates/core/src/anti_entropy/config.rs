//! Anti-entropy's tunables.

use std::time::Duration;

/// Anti-entropy parameters.
#[derive(Clone, Debug)]
pub struct AntiEntropyConfig {
    /// Time between two rounds started by this node. Default 1 s (guess, measured in sim: idle
    /// cost is one small digest per second per node).
    pub interval: Duration,
    /// Origins in one digest page. Default 2,048 (about 82 KB; a grid of 10,000 nodes is covered
    /// in 5 rounds).
    pub digest_page_max: usize,
    /// Records listed in one `Held` message. Default 4,096 (32 KB); an origin with more records
    /// than this falls back to pushing all of them.
    pub held_list_max: usize,
    /// Record bytes pushed in answer to one digest or want. Default 192 KiB, so one push fits a
    /// frame.
    pub push_bytes_max: usize,
    /// How long after a record is stored this node leaves it to broadcast and does not push it.
    /// Default 200 ms (measured in sim: at 300 nodes with one origin, 200 ms leaves 0.002 of
    /// RMR to repairs where 0 ms left 0.11; 500 ms pushed the mass-failure scenario's p99
    /// latency past its bound; see docs/decisions.md).
    pub fresh_hold: Duration,
}

impl Default for AntiEntropyConfig {
    fn default() -> AntiEntropyConfig {
        AntiEntropyConfig {
            interval: Duration::from_secs(1),
            digest_page_max: 2048,
            push_bytes_max: 192 * 1024,
            held_list_max: 4096,
            fresh_hold: Duration::from_millis(200),
        }
    }
}
