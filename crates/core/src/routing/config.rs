//! Routing's tunables.

use std::time::Duration;

/// Link-state routing parameters.
#[derive(Clone, Debug)]
pub struct RoutingConfig {
    /// How long an urgent change waits before it is advertised: a link lost to a failure, or
    /// the first link of a node that advertised none. Default 200 ms (guess: well under the
    /// failure-detection time that bounds how fast routes heal).
    pub advertise_delay: Duration,
    /// How long any other change waits: links the overlay's upkeep added or dropped (joins,
    /// swaps), and costs that moved. Changes within it go out as one advertisement. A dropped
    /// link whose peer is alive still carries routed messages (the transport dials it), so
    /// nothing breaks meanwhile. Default 10 s (measured in sim at 1,000 nodes: 200 ms sent
    /// 8.1 advertisements per node during the warm-up's joins, see BENCHMARKS.md).
    pub maintenance_delay: Duration,
    /// The shortest time between two advertisements of this node. Default 1 s (guess, so that
    /// a flapping link costs at most one advertisement a second).
    pub advertise_interval_min: Duration,
    /// A link's cost is re-advertised when its measured round trip differs from the advertised
    /// cost by more than this fraction of it, and by more than `cost_change_min_ms`. Default
    /// 0.25 (guess: RTT noise on a quiet link stays within it, so a quiet grid advertises
    /// nothing).
    pub cost_change_fraction: f64,
    /// See `cost_change_fraction`. Default 5 ms.
    pub cost_change_min_ms: u32,
    /// The cost advertised for a link whose round trip has not been measured yet. Default
    /// 100 ms (guess: a wide-area round trip, so that an unmeasured link is not preferred).
    pub unmeasured_cost_ms: u32,
    /// The weight of a new round-trip sample in the smoothed estimate. Default 0.125, TCP's
    /// (RFC 6298).
    pub rtt_gain: f64,
    /// Hops a routed message may take. Default 32.
    pub hop_limit: u8,
    /// Routed pings awaiting their answer, at most; the oldest is forgotten first. Default 256.
    pub pings_pending_max: usize,
}

impl Default for RoutingConfig {
    fn default() -> RoutingConfig {
        RoutingConfig {
            advertise_delay: Duration::from_millis(200),
            maintenance_delay: Duration::from_secs(10),
            advertise_interval_min: Duration::from_secs(1),
            cost_change_fraction: 0.25,
            cost_change_min_ms: 5,
            unmeasured_cost_ms: 100,
            rtt_gain: 0.125,
            hop_limit: 32,
            pings_pending_max: 256,
        }
    }
}
