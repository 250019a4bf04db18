//! A standard workload: build a grid, optionally crash part of it, publish announcements from
//! random live origins, let the grid settle, and measure delivery.

use std::collections::BTreeSet;
use std::time::Duration;

use herald_core::{Command, Config, Instant, RecordKind, Rng, SlotKey};

use crate::checkers::standard_checkers;
use crate::network::{NetworkModel, NodeIndex};
use crate::report::{Percentiles, Report};
use crate::sim::Sim;

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
    /// Links each node makes to random others.
    pub degree: u32,
    /// Announcements to publish.
    pub broadcasts: u32,
    /// Time between two announcements.
    pub broadcast_interval: Duration,
    /// Fraction of nodes crashed before the first announcement.
    pub kill: f64,
}

impl Default for Scenario {
    fn default() -> Scenario {
        Scenario {
            nodes: 100,
            seed: 1,
            latency: Duration::from_millis(10),
            jitter: Duration::from_millis(40),
            loss: 0.0,
            degree: 4,
            broadcasts: 10,
            broadcast_interval: Duration::from_millis(100),
            kill: 0.0,
        }
    }
}

/// When the crashes happen, and when the first announcement is published.
const CRASH_AT: Duration = Duration::from_millis(500);
const FIRST_BROADCAST_AT: Duration = Duration::from_secs(1);
/// How long after the last announcement the run may take to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

impl Scenario {
    /// Runs the scenario; `on_progress(done, total)` is called as virtual time advances.
    pub fn run(&self, mut on_progress: impl FnMut(u64, u64)) -> Report {
        let network = NetworkModel::new(self.latency, self.jitter, self.loss);
        let mut sim = Sim::new(self.nodes, self.seed, network, Config::default());
        for checker in standard_checkers() {
            sim.add_checker(checker);
        }
        let mut rng = Rng::from_seed(self.seed ^ 0x5ce7_a210);
        sim.link_random(self.degree);
        let started = sim.start_all();

        let mut order: Vec<NodeIndex> = (0..self.nodes).collect();
        rng.shuffle(&mut order);
        let killed = ((self.kill * f64::from(self.nodes)).round() as usize).min(order.len());
        let crash_at = Instant::ZERO + CRASH_AT;
        for node in &order[..killed] {
            sim.schedule_crash(crash_at, *node);
        }
        let live = &order[killed..];

        let mut slots = Vec::new();
        let first = Instant::ZERO + FIRST_BROADCAST_AT;
        for index in 0..self.broadcasts {
            if live.is_empty() {
                break;
            }
            let origin = live[rng.index(live.len())];
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
        let last = first + self.broadcast_interval * self.broadcasts;
        let limit = last + SETTLE_LIMIT;

        let total = limit.as_micros();
        let mut violation = started.err().map(|found| found.to_string());
        let step = Duration::from_millis(100);
        let mut until = Instant::ZERO;
        while violation.is_none() && until < last {
            until = until + step;
            if let Err(found) = sim.run_until(until) {
                violation = Some(found.to_string());
                break;
            }
            on_progress(until.as_micros(), total);
        }
        if violation.is_none()
            && let Err(found) = sim.run_until_quiet(limit)
        {
            violation = Some(found.to_string());
        }
        on_progress(total, total);
        self.report(&sim, &slots, violation)
    }

    fn report(&self, sim: &Sim, slots: &[SlotKey], violation: Option<String>) -> Report {
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
        let expected = slots.len() as u64 * live.len() as u64;
        let deliveries = sim.deliveries();
        let latencies = deliveries
            .iter()
            .filter_map(|delivery| {
                let published_at = sim.published().get(&delivery.digest)?;
                Some(delivery.at.saturating_since(*published_at).as_secs_f64() * 1000.0)
            })
            .collect();
        let hops = deliveries.iter().map(|delivery| f64::from(delivery.hops)).collect();
        let stats = sim.total_stats();
        let (hits, misses) = sim.memo_counts();
        let nodes = f64::from(self.nodes.max(1));
        Report {
            nodes: self.nodes,
            seed: self.seed,
            alive_at_end: live.len() as u32,
            broadcasts: slots.len() as u32,
            delivered_fraction: if expected == 0 { 1.0 } else { held as f64 / expected as f64 },
            latency_ms: Percentiles::of(latencies),
            hops: Percentiles::of(hops),
            rmr: if deliveries.is_empty() {
                0.0
            } else {
                stats.records_out as f64 / deliveries.len() as f64 - 1.0
            },
            messages_per_node: stats.frames_out as f64 / nodes,
            bytes_per_node: stats.bytes_out as f64 / nodes,
            overlay: format!("static random graph, {} links per node", self.degree),
            broadcast: "flood".to_owned(),
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
