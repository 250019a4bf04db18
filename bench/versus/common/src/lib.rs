//! What every side of the comparison shares: the workloads' parameters, what each side hands
//! back, and the readings of this process that turn a run into figures (CPU time, peak memory,
//! bytes on the loopback interface).
//!
//! Every run of one system on one workload is a process of its own (see the root binary), so
//! the process's CPU time and peak memory belong to that system alone. Bytes are counted on the
//! loopback interface of a network namespace made for the run, so they are what went on the
//! wire, headers included, for either system alike; outside a namespace they are not measured.

mod meter;
mod outcome;
mod percentiles;

pub use meter::{Meter, NAMESPACE_ENV, PhaseCost, in_own_namespace, peak_rss_bytes};
pub use outcome::{
    AccuracyOutcome, AccuracyParams, BroadcastOutcome, BroadcastParams, MembershipOutcome,
    MembershipParams,
};
pub use percentiles::percentile;
