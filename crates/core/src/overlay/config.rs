//! HyParView's tunables.

use std::time::Duration;

/// HyParView parameters.
#[derive(Clone, Debug)]
pub struct OverlayConfig {
    /// Active view size of a server. Default 5: HyParView TR-07-13 uses 5 for 10,000 nodes
    /// (log10 N + 1).
    pub active_max: usize,
    /// Passive view size. Default 30 (TR-07-13).
    pub passive_max: usize,
    /// Peers dropped from a full passive view that are kept as a last resort. Default 30, the
    /// passive view's size (measured in sim: with 95% of 10,000 nodes crashed, 20 of the 500
    /// survivors were cut off without it and 9 with it; see docs/decisions.md).
    pub reserve_max: usize,
    /// Active random walk length: a join's forward walk adds the joiner to an active view when
    /// it ends. Default 6 (TR-07-13).
    pub active_walk_len: u8,
    /// Passive random walk length: the walk adds the joiner to a passive view at this step.
    /// Default 3 (TR-07-13).
    pub passive_walk_len: u8,
    /// Mean time between two shuffles. Each period is drawn uniformly from half to one and a
    /// half times it, so that nodes started together do not shuffle, and refill their views,
    /// in lockstep (Floyd and Jacobson, "The synchronization of periodic routing messages",
    /// 1993). Default 10 s (guess; TR-07-13 leaves it to the deployment).
    pub shuffle_interval: Duration,
    /// How many times as often a node shuffles while its passive view is filling: short of its
    /// size, and the last shuffle brought a peer it did not know. Default 4 (measured in sim:
    /// of 10,000 nodes that joined within 10 s, 10 s later 38% had a full passive view at the
    /// normal rate and 95% at four times it; see docs/decisions.md).
    pub filling_speedup: u32,
    /// Active peers in a shuffle sample. Default 3 (TR-07-13).
    pub shuffle_active: usize,
    /// Passive peers in a shuffle sample. Default 4 (TR-07-13).
    pub shuffle_passive: usize,
    /// Servers a client keeps in its active view. Default 3 (issue: 2–3).
    pub client_servers: usize,
    /// Clients a server serves at most. Default 1,000 (guess; bounds memory per server).
    pub clients_max: usize,
    /// Mean time between two link swaps started by a server with a full active view, drawn
    /// like the shuffle period. Default 600 s (measured in sim at 1,000 nodes, one origin:
    /// at 120 s the trees' repairs after swaps tripled steady-state RMR, 0.024 to 0.07; an
    /// island of 10 nodes still swaps about once a minute).
    pub swap_interval: Duration,
}

impl Default for OverlayConfig {
    fn default() -> OverlayConfig {
        OverlayConfig {
            active_max: 5,
            passive_max: 30,
            reserve_max: 30,
            active_walk_len: 6,
            passive_walk_len: 3,
            shuffle_interval: Duration::from_secs(10),
            filling_speedup: 4,
            shuffle_active: 3,
            shuffle_passive: 4,
            client_servers: 3,
            clients_max: 1000,
            swap_interval: Duration::from_secs(600),
        }
    }
}

impl OverlayConfig {
    /// The mean time between two shuffles while the passive view is filling.
    pub fn filling_shuffle_interval(&self) -> Duration {
        self.shuffle_interval / self.filling_speedup.max(1)
    }
}
