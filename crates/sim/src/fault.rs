//! Faults a scenario injects, each turned into events on the simulator's heap.
//!
//! Times are measured from the end of the warm-up. Every fault heals by itself (crashes of a
//! mass failure are the exception: those nodes stay down), so that a run has a safety phase
//! with faults and a liveness phase after them in which the grid must converge.

use std::time::Duration;

use herald_core::{Instant, Rng};

use crate::network::NodeIndex;
use crate::sim::{NetworkChange, Sim};

/// One fault.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// A fraction of the nodes crash at once and stay down (a mass failure).
    Crash {
        /// When, after the warm-up.
        at: Duration,
        /// Fraction of all nodes.
        fraction: f64,
    },
    /// The grid splits in two for a while.
    Partition {
        /// When it starts, after the warm-up.
        at: Duration,
        /// How long it lasts.
        duration: Duration,
        /// Fraction of the nodes on the smaller side.
        fraction: f64,
        /// Whether only the smaller side's messages to the rest are dropped.
        one_way: bool,
    },
    /// Nodes crash and restart from their stores continuously.
    Churn {
        /// When it starts, after the warm-up.
        at: Duration,
        /// How long it lasts.
        duration: Duration,
        /// Crashes per second, across the grid.
        crashes_per_s: f64,
        /// How long a crashed node stays down.
        downtime: Duration,
    },
    /// FoundationDB's swizzle-clog: clog nodes one by one, then unclog them in random order.
    SwizzleClog {
        /// When it starts, after the warm-up.
        at: Duration,
        /// Fraction of the nodes clogged.
        fraction: f64,
        /// Time between two clogs, and between two unclogs.
        step: Duration,
    },
}

impl Fault {
    /// When the fault is over in a grid of `nodes`, after the warm-up (a mass crash is over at
    /// once).
    pub fn ends(&self, nodes: u32) -> Duration {
        match self {
            Fault::Crash { at, .. } => *at,
            Fault::Partition { at, duration, .. } => *at + *duration,
            Fault::Churn { at, duration, downtime, .. } => *at + *duration + *downtime,
            Fault::SwizzleClog { at, fraction, step } => {
                *at + *step * (2 * clog_count(*fraction, nodes))
            }
        }
    }
}

fn clog_count(fraction: f64, nodes: u32) -> u32 {
    ((fraction * f64::from(nodes)).round() as u32).min(nodes)
}

/// Nodes a fault takes down, for good (a mass crash) or for a while (churn). Announcements
/// never come from them: a command reaching a node that is down is lost, and the record it
/// would have made would count as undelivered everywhere.
pub(crate) type Downed = Vec<NodeIndex>;

/// Schedules `fault` on `sim`, starting from `origin`. Nodes in `spared` (the measured
/// origins and newcomers) are never picked. Returns the nodes it takes down.
pub(crate) fn schedule(
    fault: &Fault,
    sim: &mut Sim,
    origin: Instant,
    spared: &[NodeIndex],
    rng: &mut Rng,
) -> Downed {
    let mut candidates: Vec<NodeIndex> =
        (0..sim.len()).filter(|node| !spared.contains(node)).collect();
    rng.shuffle(&mut candidates);
    let take =
        |fraction: f64| clog_count(fraction, sim.len()).min(candidates.len() as u32) as usize;
    match fault {
        Fault::Crash { at, fraction } => {
            let crashed = candidates[..take(*fraction)].to_vec();
            for node in &crashed {
                sim.schedule_crash(origin + *at, *node);
            }
            crashed
        }
        Fault::Partition { at, duration, fraction, one_way } => {
            let count = take(*fraction);
            let side_a = candidates[..count].to_vec();
            let side_b: Vec<NodeIndex> =
                (0..sim.len()).filter(|node| !side_a.contains(node)).collect();
            sim.schedule_network(
                origin + *at,
                NetworkChange::Partition { side_a, side_b, one_way: *one_way },
            );
            sim.schedule_network(origin + *at + *duration, NetworkChange::Heal);
            Vec::new()
        }
        Fault::Churn { at, duration, crashes_per_s, downtime } => {
            let crashes = (duration.as_secs_f64() * crashes_per_s).round() as usize;
            let mut churned = Vec::new();
            for index in 0..crashes.min(candidates.len() * 16) {
                let node = candidates[rng.index(candidates.len())];
                let when = origin + *at + duration.mul_f64(index as f64 / crashes.max(1) as f64);
                sim.schedule_crash(when, node);
                sim.schedule_restart(when + *downtime, node);
                churned.push(node);
            }
            churned
        }
        Fault::SwizzleClog { at, fraction, step } => {
            let clogged = candidates[..take(*fraction)].to_vec();
            let mut order = clogged.clone();
            rng.shuffle(&mut order);
            let start = origin + *at;
            for (index, node) in clogged.iter().enumerate() {
                sim.schedule_network(start + *step * index as u32, NetworkChange::Clog(*node));
            }
            let unclog_start = start + *step * clogged.len() as u32;
            for (index, node) in order.iter().enumerate() {
                sim.schedule_network(
                    unclog_start + *step * index as u32,
                    NetworkChange::Unclog(*node),
                );
            }
            Vec::new()
        }
    }
}
