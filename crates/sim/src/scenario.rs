//! A scenario: build a grid by joins, let the overlay settle, inject faults, publish
//! announcements, let a newcomer catch up, and measure delivery, membership and cost.
//!
//! A run has two phases (TigerBeetle's VOPR): a safety phase with faults, in which checkers run
//! after every step, and a liveness phase after every fault has healed, in which the grid must
//! converge: every live node holds every record and sees exactly the live nodes as alive.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use herald_core::broadcast::UNKNOWN_ROUND;
use herald_core::{
    Announcement, BroadcastMode, Config, Digest, Instant, MembershipConfig, RecordKind, Rng,
    RoutingConfig, SlotKey, Stats,
};

use crate::checkers::standard_checkers;
use crate::connectivity;
use crate::fault::{self, Fault};
use crate::grid_control::GridControlScenario;
use crate::groups::GroupScenario;
use crate::network::{LossModel, NetworkModel, NodeIndex};
use crate::reach::{ReachCurve, reach_curves};
use crate::report::{Percentiles, Report, RoutingReport, millis};
use crate::routes::{self, RouteCheck};
use crate::service::ServiceModel;
use crate::sim::{Sim, SimCommand};

/// Where announcements come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origins {
    /// All from one node (the steady-state tree case).
    Single,
    /// Each from a random node.
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
    /// Packet loss probability.
    pub loss: f64,
    /// What a lost packet does: retransmitted (herald's transport) or a lost message.
    pub loss_model: LossModel,
    /// Broadcast algorithm.
    pub broadcast: BroadcastMode,
    /// Whether membership and failure detection run (off for the largest broadcast runs).
    pub membership: bool,
    /// Whether link-state routing runs (off by default, so that runs without it keep their
    /// traces): nodes advertise their links, and the report checks every live node's table.
    pub routing: bool,
    /// Announcements to publish.
    pub broadcasts: u32,
    /// Time between two announcements.
    pub broadcast_interval: Duration,
    /// Payload bytes per announcement.
    pub payload_bytes: usize,
    /// Where announcements come from.
    pub origins: Origins,
    /// Faults, timed from the end of the warm-up.
    pub faults: Vec<Fault>,
    /// Whether one node stays out until the announcements are published, then joins and
    /// catches up.
    pub newcomer: bool,
    /// Time for joins and the overlay to settle before anything is measured.
    pub warmup: Duration,
    /// Time the run goes on after the last announcement and the last fault.
    pub settle: Duration,
    /// How long a node takes over each input (instant by default).
    pub service: ServiceModel,
    /// A floodd group and the data messages flooded to it, if any.
    pub group: Option<GroupScenario>,
    /// Grid control: recommendations and a manager's list, if any.
    pub grid_control: Option<GridControlScenario>,
}

impl Default for Scenario {
    fn default() -> Scenario {
        Scenario {
            nodes: 100,
            seed: 1,
            latency: Duration::from_millis(10),
            jitter: Duration::from_millis(40),
            loss: 0.0,
            loss_model: LossModel::Retransmit,
            broadcast: BroadcastMode::Plumtree,
            membership: true,
            routing: false,
            broadcasts: 10,
            broadcast_interval: Duration::from_millis(100),
            payload_bytes: 16,
            origins: Origins::Random,
            faults: Vec::new(),
            newcomer: false,
            warmup: Duration::from_secs(20),
            settle: Duration::from_secs(30),
            service: ServiceModel::INSTANT,
            group: None,
            grid_control: None,
        }
    }
}

/// The fanout of the gossip baseline in a grid of `nodes`: ⌈ln N⌉, at least 1, the fanout at
/// which push gossip reaches everyone with high probability (Eugster et al., "Epidemic
/// information dissemination in distributed systems").
pub fn gossip_fanout(nodes: u32) -> u16 {
    (libm::ceil(libm::log(f64::from(nodes.max(1)))) as u16).max(1)
}

/// How often convergence is checked.
const CHECK_INTERVAL: Duration = Duration::from_millis(500);
/// When the announcements start, after the warm-up.
const BROADCASTS_AFTER: Duration = Duration::from_secs(1);

/// What the run loop tracks as it goes.
#[derive(Default)]
struct Progress {
    violation: Option<String>,
    converged_at: Option<Instant>,
    caught_up_at: Option<Instant>,
    stats_at_warmup: Option<Stats>,
    /// When every live node's routing table was first right after the faults healed.
    routes_converged_at: Option<Instant>,
    /// The live nodes' routing tables at the end, with routing on.
    route_check: Option<RouteCheck>,
    /// How long past the run's end the check waited for the advertisements to agree.
    routes_checked_after: Duration,
    /// Nodes the faults took down.
    downed: BTreeSet<NodeIndex>,
}

impl Scenario {
    /// The node configuration every simulated node runs.
    pub fn node_config(&self) -> Config {
        let mut config = Config::default();
        config.broadcast.mode = self.broadcast;
        config.membership = self.membership.then(MembershipConfig::default);
        config.routing = self.routing.then(RoutingConfig::default);
        if let Some(period) = self.group.as_ref().and_then(|group| group.log_purge_period) {
            config.groups.log_purge_period = period;
        }
        if let Some(kind) = self.grid_control.as_ref().and_then(GridControlScenario::policy_kind) {
            config.grid_control.forward_only_reachable = Some(kind.to_owned());
        }
        config
    }

    fn newcomer_index(&self) -> Option<NodeIndex> {
        (self.newcomer && self.nodes >= 2).then_some(self.nodes - 1)
    }

    /// Runs the scenario; `on_progress(done, total)` is called as virtual time advances.
    pub fn run(&self, on_progress: impl FnMut(u64, u64)) -> Report {
        self.run_detailed(on_progress).0
    }

    /// Runs the scenario like [`Scenario::run`], and also returns how each announcement
    /// reached the nodes alive at the end (one curve per announcement, in publication order).
    pub fn run_detailed(&self, mut on_progress: impl FnMut(u64, u64)) -> (Report, Vec<ReachCurve>) {
        let mut network = NetworkModel::new(self.latency, self.jitter, self.loss);
        network.loss_model = self.loss_model;
        let mut sim = Sim::new(self.nodes, self.seed, network, self.node_config());
        sim.set_service(self.service);
        for checker in standard_checkers() {
            sim.add_checker(checker);
        }
        let mut rng = Rng::from_seed(self.seed ^ 0x5ce7_a210);
        let mut progress = Progress {
            violation: sim.start_all().err().map(|found| found.to_string()),
            ..Progress::default()
        };
        let newcomer = self.newcomer_index();
        let joiners = newcomer.unwrap_or(self.nodes);
        let join_spacing = (self.warmup / 2) / self.nodes.max(1);
        for node in 1..joiners {
            let contact = rng.below(u64::from(node)) as NodeIndex;
            sim.schedule_join(Instant::ZERO + join_spacing * node, node, contact);
        }

        let t0 = Instant::ZERO + self.warmup;
        let single_origin = rng.below(u64::from(joiners.max(1))) as NodeIndex;
        let mut spared = vec![single_origin];
        spared.extend(newcomer);
        let mut downed = BTreeSet::new();
        for fault in &self.faults {
            downed.extend(fault::schedule(fault, &mut sim, t0, &spared, &mut rng));
        }

        let slots =
            self.schedule_broadcasts(&mut sim, t0, single_origin, joiners, &downed, &mut rng);
        let mut broadcasts_end = BROADCASTS_AFTER + self.broadcast_interval * self.broadcasts;
        if let Some(group) = &self.group {
            let define_at = Instant::ZERO + self.warmup / 2;
            group.schedule(&mut sim, define_at, t0 + BROADCASTS_AFTER, &downed, &mut rng);
            broadcasts_end =
                broadcasts_end.max(BROADCASTS_AFTER + group.message_interval * group.messages);
        }
        if let Some(grid_control) = &self.grid_control {
            grid_control.schedule(&mut sim, t0 + BROADCASTS_AFTER, self.seed, &mut rng);
            broadcasts_end = broadcasts_end.max(BROADCASTS_AFTER + grid_control.ends());
        }
        progress.downed = downed;
        let faults_end =
            self.faults.iter().map(|fault| fault.ends(self.nodes)).max().unwrap_or_default();
        let newcomer_at = t0 + broadcasts_end.max(faults_end) + Duration::from_secs(5);
        if let Some(node) = newcomer {
            let contact = rng.below(u64::from(joiners.max(1))) as NodeIndex;
            sim.schedule_join(newcomer_at, node, contact);
        }
        let healed_at = t0 + faults_end;
        let limit = t0
            + broadcasts_end.max(faults_end)
            + self.settle
            + if newcomer.is_some() { Duration::from_secs(5) } else { Duration::ZERO };

        let total = limit.as_micros();
        let mut until = Instant::ZERO;
        while progress.violation.is_none() && until < limit {
            until = (until + CHECK_INTERVAL).min(limit);
            if let Err(found) = sim.run_until(until) {
                progress.violation = Some(found.to_string());
            }
            if until >= t0 && progress.stats_at_warmup.is_none() {
                progress.stats_at_warmup = Some(sim.total_stats());
            }
            if self.membership
                && until >= healed_at
                && progress.converged_at.is_none()
                && sim.membership_converged()
            {
                progress.converged_at = Some(until);
            }
            if self.routing
                && until >= healed_at
                && progress.routes_converged_at.is_none()
                && routes::check(&mut sim).is_correct()
            {
                progress.routes_converged_at = Some(until);
            }
            if let Some(node) = newcomer
                && until >= newcomer_at
                && progress.caught_up_at.is_none()
                && holds_all(&sim, node, &slots)
            {
                progress.caught_up_at = Some(until);
            }
            on_progress(until.as_micros(), total);
        }
        let curves = reach_curves(&sim, &slots);
        if self.routing {
            let (check, waited) = routes::check_once_agreed(&mut sim, &mut progress.violation);
            progress.route_check = Some(check);
            progress.routes_checked_after = waited;
        }
        let report = self.report(&sim, &slots, progress, healed_at, newcomer_at, t0);
        (report, curves)
    }

    fn schedule_broadcasts(
        &self,
        sim: &mut Sim,
        t0: Instant,
        single_origin: NodeIndex,
        joiners: u32,
        downed: &BTreeSet<NodeIndex>,
        rng: &mut Rng,
    ) -> Vec<SlotKey> {
        let live: Vec<NodeIndex> = (0..joiners).filter(|node| !downed.contains(node)).collect();
        let mut slots = Vec::new();
        for index in 0..self.broadcasts {
            let origin = match self.origins {
                _ if live.is_empty() => break,
                Origins::Single => single_origin,
                Origins::Random => live[rng.index(live.len())],
            };
            let service = format!("service-{index}");
            let at = t0 + BROADCASTS_AFTER + self.broadcast_interval * index;
            slots.push(SlotKey {
                origin: sim.id(origin),
                family: RecordKind::Announcement,
                key: service.clone(),
            });
            let mut payload = format!("{{\"n\":{index},\"pad\":\"").into_bytes();
            payload.resize(self.payload_bytes.max(payload.len() + 2) - 2, b'x');
            payload.extend_from_slice(b"\"}");
            let issued_at_ms = at.as_micros() / 1000;
            sim.schedule_command(
                at,
                origin,
                SimCommand::Announce(Announcement { service, payload, issued_at_ms, seq: None }),
            );
        }
        slots
    }

    fn report(
        &self,
        sim: &Sim,
        slots: &[SlotKey],
        progress: Progress,
        healed_at: Instant,
        newcomer_at: Instant,
        t0: Instant,
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
                Some(millis(delivery.at.saturating_since(*published_at)))
            })
            .collect();
        // Copies that went through a repair have no meaningful hop count.
        let mut hops = Vec::new();
        let mut last_delivery_hop: BTreeMap<Digest, u16> = BTreeMap::new();
        for delivery in deliveries.iter().filter(|d| d.hops > 0 && d.hops < UNKNOWN_ROUND) {
            hops.push(f64::from(delivery.hops));
            let last = last_delivery_hop.entry(delivery.digest).or_default();
            *last = (*last).max(delivery.hops);
        }
        let stats = sim.total_stats();
        let connectivity = connectivity::measure(sim);
        let rmr_after_warmup = progress.stats_at_warmup.as_ref().map_or(0.0, |at_warmup| {
            let delivered = sim.deliveries().iter().filter(|delivery| delivery.at >= t0).count();
            let copies = stats.records_out - at_warmup.records_out;
            if delivered == 0 { 0.0 } else { copies as f64 / delivered as f64 - 1.0 }
        });
        let node_seconds =
            sim.now().saturating_since(t0).as_secs_f64().max(1e-9) * f64::from(self.nodes.max(1));
        let after_warmup = progress.stats_at_warmup.as_ref().map(|at_warmup| {
            (
                (stats.frames_out - at_warmup.frames_out) as f64 / node_seconds,
                (stats.bytes_out - at_warmup.bytes_out) as f64 / node_seconds,
                (stats.link_state_bytes_out - at_warmup.link_state_bytes_out) as f64 / node_seconds,
            )
        });
        let (hits, misses) = sim.memo_counts();
        let nodes = f64::from(self.nodes.max(1));
        let fraction =
            |count: u64| if expected == 0 { 1.0 } else { count as f64 / expected as f64 };
        // Redundancy counts every record sent, of any kind, against every delivery; that of
        // the announcements, their copies against their deliveries.
        let per_delivery = |copies: u64| copies as f64 / sim.deliveries().len().max(1) as f64;
        let since = |at: Option<Instant>, from: Instant| {
            at.map(|at| at.saturating_since(from).as_millis() as u64)
        };
        Report {
            nodes: self.nodes,
            seed: self.seed,
            alive_at_end: live.len() as u32,
            broadcasts: slots.len() as u32,
            delivered_fraction: fraction(held),
            delivered_by_broadcast_fraction: fraction(by_broadcast + origins_alive),
            latency_ms: Percentiles::of(latencies),
            hops: Percentiles::of(hops),
            last_delivery_hop: Percentiles::of(
                last_delivery_hop.into_values().map(f64::from).collect(),
            ),
            rmr: if deliveries.is_empty() { 0.0 } else { per_delivery(stats.records_out) - 1.0 },
            rmr_repair: per_delivery(stats.records_out_repair),
            rmr_after_warmup,
            rmr_announcements: if deliveries.is_empty() {
                0.0
            } else {
                stats.announcements_out as f64 / deliveries.len() as f64 - 1.0
            },
            messages_per_node: stats.frames_out as f64 / nodes,
            bytes_per_node: stats.bytes_out as f64 / nodes,
            messages_per_node_per_s: after_warmup.map_or(0.0, |(messages, _, _)| messages),
            bytes_per_node_per_s: after_warmup.map_or(0.0, |(_, bytes, _)| bytes),
            membership_converged_ms: since(progress.converged_at, healed_at),
            newcomer_caught_up_ms: since(progress.caught_up_at, newcomer_at),
            crash_known_99_ms: crash_known(sim, &progress.downed),
            false_suspicions: sim.false_suspicions(),
            overlay: "hyparview, built by joins during the warm-up".to_owned(),
            broadcast: match self.broadcast {
                BroadcastMode::Plumtree => "plumtree".to_owned(),
                BroadcastMode::Flood => "flood".to_owned(),
                BroadcastMode::Gossip { fanout } => format!("gossip (fanout {fanout})"),
            },
            membership: self.membership,
            groups: self.group.as_ref().map(|group| group.report(sim)),
            grid_control: self.grid_control.as_ref().map(|control| control.report(sim, self.seed)),
            routing: progress.route_check.map(|check| RoutingReport {
                check,
                converged_ms: since(progress.routes_converged_at, healed_at),
                checked_after_end_ms: progress.routes_checked_after.as_millis() as u64,
                advertisements_per_node: live
                    .iter()
                    .filter_map(|node| sim.node(*node)?.routing())
                    .map(|routing| routing.counters().advertisements as f64)
                    .sum::<f64>()
                    / live.len().max(1) as f64,
                link_state_bytes_per_node: stats.link_state_bytes_out as f64 / nodes,
                link_state_bytes_per_node_per_s: after_warmup.map_or(0.0, |(_, _, bytes)| bytes),
            }),
            overlay_components: connectivity.components,
            overlay_outside_largest: connectivity.outside_largest,
            overlay_isolated: connectivity.isolated,
            grafts: stats.grafts,
            prunes: stats.prunes,
            records_repaired: stats.records_repaired,
            virtual_ms: sim.now().as_micros() / 1000,
            steps: sim.steps(),
            verify_memo_hits: hits,
            verify_memo_misses: misses,
            trace_hash: sim.trace_hash(),
            violation: progress.violation,
            wall_ms: 0,
        }
    }
}

/// For the nodes that crashed and stayed down: the longest time, over them, until 99% of the
/// running nodes had seen one dead. `None` if there were none, or one was never seen dead by
/// 99%.
fn crash_known(sim: &Sim, downed: &BTreeSet<NodeIndex>) -> Option<u64> {
    let stayed_down: Vec<NodeIndex> =
        downed.iter().copied().filter(|node| !sim.is_up(*node)).collect();
    if stayed_down.is_empty() {
        return None;
    }
    let mut slowest = Duration::ZERO;
    for node in stayed_down {
        slowest = slowest.max(sim.crash_known_after(node, 0.99)?);
    }
    Some(slowest.as_millis() as u64)
}

/// Whether `node` holds a record in every slot.
fn holds_all(sim: &Sim, node: NodeIndex, slots: &[SlotKey]) -> bool {
    sim.node(node).is_some_and(|state| slots.iter().all(|slot| state.records().get(slot).is_some()))
}
