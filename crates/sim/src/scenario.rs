//! A standard workload: build a grid by joins, let the overlay settle, optionally crash part of
//! it, publish announcements, let the grid settle, and measure delivery and membership.

use std::collections::BTreeSet;
use std::time::Duration;

use herald_core::broadcast::UNKNOWN_ROUND;
use herald_core::{
    BroadcastMode, Command, Config, Instant, MembershipConfig, RecordKind, Rng, SlotKey,
};

use crate::checkers::standard_checkers;
use crate::network::{NetworkModel, NodeIndex};
use crate::report::{Percentiles, Report};
use crate::sim::Sim;

/// Where announcements come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origins {
    /// All from one node (the steady-state tree case).
    Single,
    /// Each from a random live node.
    Random,
}

/// The parameters of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Simulated nodes.
    pub nodes: u32,
    /// Seed of everything random in the run.
    pub seed: u64,
    /// Smallest one-way latency.
    pub latency: Duration,
    /// Extra one-way latency drawn per message from `0..=jitter`.
    pub jitter: Duration,
    /// Message loss probability.
    pub loss: f64,
    /// Broadcast algorithm.
    pub broadcast: BroadcastMode,
    /// Whether membership and failure detection run (off for the largest broadcast runs).
    pub membership: bool,
    /// Announcements to publish.
    pub broadcasts: u32,
    /// Time between two announcements.
    pub broadcast_interval: Duration,
    /// Where announcements come from.
    pub origins: Origins,
    /// Fraction of nodes crashed at once when the warm-up ends.
    pub kill: f64,
    /// Time for joins and the overlay to settle before anything is measured.
    pub warmup: Duration,
    /// Time the run goes on after the last announcement.
    pub settle: Duration,
}

impl Default for Scenario {
    fn default() -> Scenario {
        Scenario {
            nodes: 100,
            seed: 1,
            latency: Duration::from_millis(10),
            jitter: Duration::from_millis(40),
            loss: 0.0,
            broadcast: BroadcastMode::Plumtree,
            membership: true,
            broadcasts: 10,
            broadcast_interval: Duration::from_millis(100),
            origins: Origins::Random,
            kill: 0.0,
            warmup: Duration::from_secs(20),
            settle: Duration::from_secs(30),
        }
    }
}

/// How often membership convergence is checked once the faults are in.
const CONVERGENCE_CHECK: Duration = Duration::from_millis(500);

impl Scenario {
    /// The node configuration every simulated node runs.
    pub fn node_config(&self) -> Config {
        let mut config = Config::default();
        config.broadcast.mode = self.broadcast;
        config.membership = self.membership.then(MembershipConfig::default);
        config
    }

    /// Runs the scenario; `on_progress(done, total)` is called as virtual time advances.
    pub fn run(&self, mut on_progress: impl FnMut(u64, u64)) -> Report {
        let network = NetworkModel::new(self.latency, self.jitter, self.loss);
        let mut sim = Sim::new(self.nodes, self.seed, network, self.node_config());
        for checker in standard_checkers() {
            sim.add_checker(checker);
        }
        let mut rng = Rng::from_seed(self.seed ^ 0x5ce7_a210);
        let started = sim.start_all();
        let join_spacing = (self.warmup / 2) / self.nodes.max(1);
        for node in 1..self.nodes {
            let contact = rng.below(u64::from(node)) as NodeIndex;
            sim.schedule_join(Instant::ZERO + join_spacing * node, node, contact);
        }

        let mut order: Vec<NodeIndex> = (0..self.nodes).collect();
        rng.shuffle(&mut order);
        let killed = ((self.kill * f64::from(self.nodes)).round() as usize).min(order.len());
        let fault_at = Instant::ZERO + self.warmup;
        for node in &order[..killed] {
            sim.schedule_crash(fault_at, *node);
        }
        let live = &order[killed..];

        let mut slots = Vec::new();
        let first = fault_at + Duration::from_secs(1);
        let single_origin = live.first().copied();
        for index in 0..self.broadcasts {
            let origin = match (self.origins, single_origin) {
                (_, None) => break,
                (Origins::Single, Some(origin)) => origin,
                (Origins::Random, Some(_)) => live[rng.index(live.len())],
            };
            let service = format!("service-{index}");
            let at = first + self.broadcast_interval * index;
            slots.push(SlotKey {
                origin: sim.id(origin),
                family: RecordKind::Announcement,
                key: service.clone(),
            });
            let payload = format!("{{\"n\":{index}}}").into_bytes();
            let issued_at_ms = at.as_micros() / 1000;
            sim.schedule_command(
                at,
                origin,
                Command::Announce { service, payload, issued_at_ms, seq: None },
            );
        }
        let limit = first + self.broadcast_interval * self.broadcasts + self.settle;

        let total = limit.as_micros();
        let mut violation = started.err().map(|found| found.to_string());
        let mut converged_at = None;
        let mut until = Instant::ZERO;
        while violation.is_none() && until < limit {
            until = (until + CONVERGENCE_CHECK).min(limit);
            if let Err(found) = sim.run_until(until) {
                violation = Some(found.to_string());
            }
            if self.membership
                && until >= fault_at
                && converged_at.is_none()
                && sim.membership_converged()
            {
                converged_at = Some(until);
            }
            on_progress(until.as_micros(), total);
        }
        let converged_ms = converged_at.map(|at| at.saturating_since(fault_at).as_millis() as u64);
        self.report(&sim, &slots, violation, converged_ms)
    }

    fn report(
        &self,
        sim: &Sim,
        slots: &[SlotKey],
        violation: Option<String>,
        converged_ms: Option<u64>,
    ) -> Report {
        let live: Vec<NodeIndex> = (0..sim.len()).filter(|node| sim.is_up(*node)).collect();
        let published: BTreeSet<_> = sim.published().keys().copied().collect();
        let mut held = 0u64;
        for node in &live {
            let records = sim.node(*node).expect("listed as up").records();
            held += slots
                .iter()
                .filter(|slot| {
                    records.get(slot).is_some_and(|record| published.contains(&record.digest()))
                })
                .count() as u64;
        }
        let watched: BTreeSet<_> = slots
            .iter()
            .filter_map(|slot| {
                live.iter()
                    .find_map(|node| sim.node(*node)?.records().get(slot).map(|r| r.digest()))
            })
            .collect();
        let live_set: BTreeSet<NodeIndex> = live.iter().copied().collect();
        let deliveries: Vec<_> =
            sim.deliveries().iter().filter(|delivery| watched.contains(&delivery.digest)).collect();
        let by_broadcast = deliveries
            .iter()
            .filter(|delivery| delivery.hops > 0 && live_set.contains(&delivery.node))
            .count() as u64;
        let origins_alive = slots
            .iter()
            .filter(|slot| sim.index(&slot.origin).is_some_and(|o| sim.is_up(o)))
            .count() as u64;
        let expected = slots.len() as u64 * live.len() as u64;
        let latencies = deliveries
            .iter()
            .filter_map(|delivery| {
                let published_at = sim.published().get(&delivery.digest)?;
                Some(delivery.at.saturating_since(*published_at).as_secs_f64() * 1000.0)
            })
            .collect();
        // Copies that went through a repair have no meaningful hop count.
        let hops = deliveries
            .iter()
            .filter(|d| d.hops > 0 && d.hops < UNKNOWN_ROUND)
            .map(|delivery| f64::from(delivery.hops))
            .collect();
        let stats = sim.total_stats();
        let (hits, misses) = sim.memo_counts();
        let nodes = f64::from(self.nodes.max(1));
        let fraction =
            |count: u64| if expected == 0 { 1.0 } else { count as f64 / expected as f64 };
        Report {
            nodes: self.nodes,
            seed: self.seed,
            alive_at_end: live.len() as u32,
            broadcasts: slots.len() as u32,
            delivered_fraction: fraction(held),
            delivered_by_broadcast_fraction: fraction(by_broadcast + origins_alive),
            latency_ms: Percentiles::of(latencies),
            hops: Percentiles::of(hops),
            rmr: if deliveries.is_empty() {
                0.0
            } else {
                stats.records_out as f64 / sim.deliveries().len() as f64 - 1.0
            },
            messages_per_node: stats.frames_out as f64 / nodes,
            bytes_per_node: stats.bytes_out as f64 / nodes,
            membership_converged_ms: converged_ms,
            false_suspicions: sim.false_suspicions(),
            overlay: "hyparview, built by joins during the warm-up".to_owned(),
            broadcast: match self.broadcast {
                BroadcastMode::Plumtree => "plumtree".to_owned(),
                BroadcastMode::Flood => "flood".to_owned(),
                BroadcastMode::Gossip { fanout } => format!("gossip (fanout {fanout})"),
            },
            membership: self.membership,
            grafts: stats.grafts,
            prunes: stats.prunes,
            records_repaired: stats.records_repaired,
            virtual_ms: sim.now().as_micros() / 1000,
            steps: sim.steps(),
            verify_memo_hits: hits,
            verify_memo_misses: misses,
            trace_hash: sim.trace_hash(),
            violation,
            wall_ms: 0,
        }
    }
}
