//! What a simulation run reports: the `herald sim --json` object of interface.md.

use serde::Serialize;

use crate::grid_control::GridControlReport;
use crate::groups::GroupsReport;

use crate::routes::RouteCheck;

/// p50, p99 and max of a set of samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median (nearest rank).
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
}

impl Percentiles {
    /// The percentiles of `samples` (all zero when there are none).
    pub fn of(mut samples: Vec<f64>) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let index = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index]
        };
        Percentiles { p50: rank(0.50), p99: rank(0.99), max: samples[samples.len() - 1] }
    }
}

/// A duration in milliseconds, to the microsecond. Every delay in a report is converted here,
/// so that two figures of the same delivery compare equal.
pub(crate) fn millis(duration: std::time::Duration) -> f64 {
    duration.as_micros() as f64 / 1000.0
}

/// The outcome of one run. Field names are fixed by interface.md; extra fields follow them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Simulated nodes.
    pub nodes: u32,
    /// The run's seed.
    pub seed: u64,
    /// Nodes running when the run ended.
    pub alive_at_end: u32,
    /// Records published during the run.
    pub broadcasts: u32,
    /// Records held by live nodes at the end ÷ (broadcasts × live nodes).
    pub delivered_fraction: f64,
    /// The same, counting only copies that arrived by broadcast (before anti-entropy repair).
    pub delivered_by_broadcast_fraction: f64,
    /// Publication-to-delivery latency over all deliveries, in milliseconds.
    pub latency_ms: Percentiles,
    /// Hops of the first copy to arrive.
    pub hops: Percentiles,
    /// Each broadcast's last delivery hop (the most hops any first copy of it took), over
    /// broadcasts: the p50 shows the settled tree, where `hops.max` is the worst of the run.
    pub last_delivery_hop: Percentiles,
    /// Relative message redundancy: record copies sent ÷ deliveries − 1.
    pub rmr: f64,
    /// The part of `rmr` sent by anti-entropy: repair copies ÷ deliveries.
    pub rmr_repair: f64,
    /// `rmr` over what happened after the warm-up: copies sent after it ÷ deliveries after it
    /// − 1, and 0 if nothing was delivered after it. With membership on, every node's profile
    /// and liveness claim spread during the warm-up and dominate `rmr`; this is the redundancy
    /// of the announcements and faults alone.
    pub rmr_after_warmup: f64,
    /// `rmr` of the announcements alone: copies of announcements sent, by broadcast and by
    /// anti-entropy, ÷ their deliveries − 1. Membership's claims and the nodes' profiles, which
    /// `rmr` counts too, are left out.
    pub rmr_announcements: f64,
    /// Frames sent, control included, per node.
    pub messages_per_node: f64,
    /// Bytes sent, control included, per node.
    pub bytes_per_node: f64,
    /// Frames sent per node per second after the warm-up (the idle cost when nothing is
    /// published).
    pub messages_per_node_per_s: f64,
    /// Bytes sent per node per second after the warm-up.
    pub bytes_per_node_per_s: f64,
    /// Time from the last fault's end (the end of the warm-up when there are no faults) until
    /// every live node's view of who is alive was correct, checked every 500 ms; `None` when
    /// membership is off or it never converged.
    pub membership_converged_ms: Option<u64>,
    /// Time from the newcomer's join until it held every announcement, checked every 500 ms.
    pub newcomer_caught_up_ms: Option<u64>,
    /// For nodes that crashed and stayed down: the longest time, over them, until 99% of the
    /// running nodes had seen one dead (the P3 measure).
    pub crash_known_99_ms: Option<u64>,
    /// Times a running node was declared dead at the incarnation it is at, while the network
    /// was whole.
    pub false_suspicions: u64,
    /// How the overlay was built (the broadcast measure starts from it).
    pub overlay: String,
    /// Broadcast algorithm.
    pub broadcast: String,
    /// Whether membership ran.
    pub membership: bool,
    /// The run's floodd group, if it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<GroupsReport>,
    /// The run's grid control (recommendations and a manager's list), if it had any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_control: Option<GridControlReport>,
    /// With routing on: the live nodes' routing tables at the end, and what advertising cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingReport>,
    /// Pieces the live nodes' overlay was in at the end (1: whole).
    pub overlay_components: u32,
    /// Live nodes outside the largest piece at the end.
    pub overlay_outside_largest: u32,
    /// Live nodes with no live neighbour at the end.
    pub overlay_isolated: u32,
    /// Plumtree grafts sent.
    pub grafts: u64,
    /// Plumtree prunes sent.
    pub prunes: u64,
    /// Records delivered by anti-entropy that broadcast had missed.
    pub records_repaired: u64,
    /// Virtual time simulated, in milliseconds.
    pub virtual_ms: u64,
    /// Simulation steps (events processed).
    pub steps: u64,
    /// Signature checks answered from the memo.
    pub verify_memo_hits: u64,
    /// Signature checks actually computed.
    pub verify_memo_misses: u64,
    /// Hash of the whole trace: the same seed gives the same hash.
    pub trace_hash: String,
    /// The first safety violation, if a checker found one.
    pub violation: Option<String>,
    /// Wall-clock time the run took; filled in by the caller, the only field that varies.
    pub wall_ms: u64,
}

/// Link-state routing in a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoutingReport {
    /// The live nodes' tables at the end, checked against each other once their
    /// advertisements agree.
    #[serde(flatten)]
    pub check: RouteCheck,
    /// Time from the last fault's end (the end of the warm-up when there are none) until every
    /// live node's table was right, checked every 500 ms; `None` if it never was.
    pub converged_ms: Option<u64>,
    /// How long past the run's end the tables were checked: the check waits, at most 30 s, for
    /// every live node to hold the same advertisements (0 when they already did).
    pub checked_after_end_ms: u64,
    /// Advertisements the live nodes published, per node, over the run.
    pub advertisements_per_node: f64,
    /// Bytes of link-state advertisements sent per node, over the run.
    pub link_state_bytes_per_node: f64,
    /// The same per second, after the warm-up.
    pub link_state_bytes_per_node_per_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(samples);
        assert_eq!((p.p50, p.p99, p.max), (50.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(vec![7.0]), Percentiles { p50: 7.0, p99: 7.0, max: 7.0 });
        assert_eq!(Percentiles::of(Vec::new()), Percentiles::default());
    }
}
