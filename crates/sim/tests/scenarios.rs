//! Simulation tests: the simulator's own guarantees (determinism, faults, checkers) and the
//! protocol end to end. The randomized checks (herald_sim::checks) run on `HERALD_SEED`, or on
//! fixed default seeds, and print a replay line for each seed that fails.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use herald_core::{
    Announcement, Config, Event, Instant, Keypair, MemberState, Record, RecordKind, RoutingConfig,
    SignedRecord, Version,
};
use herald_sim::checks::SEEDED_CHECKS;
use herald_sim::seed::{DEFAULT_SEEDS, replay_line, seeds_from_env_or};
use herald_sim::{
    Checker, Fault, IncarnationsNeverGoBack, NetworkModel, NoDuplicateDelivery, NoForgedDelivery,
    Scenario, ServiceModel, Sim, SimCommand, advertisements_agree, check_routes, standard_checkers,
};

/// Runs the randomized check named `test_name` on `HERALD_SEED` (else the default seeds) and on
/// the check's pinned seeds, then fails listing each seed that missed, with its replay command.
fn run_check(test_name: &str) {
    let check = SEEDED_CHECKS.iter().find(|check| check.name == test_name).expect("a check");
    let mut seeds = seeds_from_env_or(DEFAULT_SEEDS).unwrap_or_else(|e| panic!("{e}"));
    seeds.extend(check.pinned.iter().filter(|pinned| !seeds.contains(pinned)).collect::<Vec<_>>());
    let failures: Vec<String> = seeds
        .into_iter()
        .filter_map(|seed| {
            let missed = (check.run)(seed).err()?;
            Some(format!("{missed}\n{}", replay_line(seed, "herald-sim", "scenarios", test_name)))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

macro_rules! seeded_check_tests {
    ($($test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_check(stringify!($test));
            }
        )*

        #[test]
        fn every_seeded_check_has_a_test() {
            let mut tested = vec![$(stringify!($test)),*];
            tested.sort_unstable();
            let mut checks: Vec<&str> = SEEDED_CHECKS.iter().map(|check| check.name).collect();
            checks.sort_unstable();
            assert_eq!(tested, checks);
        }
    };
}

seeded_check_tests! {
    plumtree_reaches_every_node_with_little_redundancy,
    anti_entropy_repairs_what_a_crash_wave_cut_off,
    a_crashed_member_is_declared_dead_everywhere_and_nobody_else_is,
    redundancy_after_the_warm_up_leaves_out_the_warm_up_records,
}

fn announce(service: &str) -> SimCommand {
    SimCommand::Announce(Announcement {
        service: service.to_owned(),
        payload: b"{}".to_vec(),
        issued_at_ms: 0,
        seq: None,
    })
}

fn at_ms(ms: u64) -> Instant {
    Instant::from_micros(ms * 1000)
}

fn quiet_network() -> NetworkModel {
    NetworkModel::new(Duration::from_millis(10), Duration::ZERO, 0.0)
}

fn reached(sim: &Sim) -> BTreeSet<u32> {
    sim.deliveries().iter().map(|delivery| delivery.node).collect()
}

/// A small grid with no membership: node 0 first, every other node joins through node 0.
fn star_grid(nodes: u32, seed: u64) -> Sim {
    let mut sim = Sim::new(nodes, seed, quiet_network(), Config::default());
    sim.start_all().unwrap();
    for node in 1..nodes {
        sim.schedule_join(at_ms(u64::from(node)), node, 0);
    }
    sim.run_until(at_ms(500)).unwrap();
    sim
}

#[test]
fn same_seed_gives_the_same_trace_and_report() {
    let scenario = Scenario {
        nodes: 120,
        seed: 99,
        loss: 0.05,
        faults: vec![Fault::Crash { at: Duration::ZERO, fraction: 0.1 }],
        settle: Duration::from_secs(5),
        ..Scenario::default()
    };
    let first = scenario.run(|_, _| {});
    let second = scenario.run(|_, _| {});
    assert_eq!(first, second);
    let other = Scenario { seed: 100, ..scenario }.run(|_, _| {});
    assert_ne!(first.trace_hash, other.trace_hash, "a different seed must give a different run");
}

/// At 20% loss the survivors detect the crashes, and so purge the dead, seconds apart; a node
/// that purged a dead member must not take back the claims about it from a slower peer. Found
/// by the accuracy comparison with foca (BENCHMARKS.md): before the fix, seed 1 failed
/// `no-duplicate-delivery` at 623.6 s, the 600 s `purge_after` after the crash.
#[test]
fn claims_about_a_purged_member_are_not_taken_back_from_slower_peers() {
    let scenario = Scenario {
        nodes: 200,
        seed: 1,
        loss: 0.2,
        broadcasts: 0,
        faults: vec![Fault::Crash { at: Duration::ZERO, fraction: 0.05 }],
        settle: Duration::from_secs(700),
        ..Scenario::default()
    };
    let report = scenario.run(|_, _| {});
    assert_eq!(report.violation, None);
    assert!(report.crash_known_99_ms.is_some(), "the crashes were detected");
}

#[test]
fn two_way_partition_stops_broadcast_across_it_and_anti_entropy_heals_it() {
    let mut sim = star_grid(4, 5);
    let before = reached(&sim).len();
    assert_eq!(before, 0);
    sim.network_mut().partition(&[0, 1], &[2, 3]);
    sim.schedule_command(at_ms(600), 1, announce("during"));
    sim.run_until(at_ms(1500)).unwrap();
    assert_eq!(reached(&sim), BTreeSet::from([0]));
    sim.network_mut().heal();
    sim.run_until(at_ms(6000)).unwrap();
    assert_eq!(reached(&sim), BTreeSet::from([0, 2, 3]));
}

#[test]
fn one_way_partition_blocks_one_direction_only() {
    let mut sim = star_grid(2, 6);
    sim.network_mut().partition_one_way(&[0], &[1]);
    sim.schedule_command(at_ms(600), 0, announce("from-0"));
    sim.schedule_command(at_ms(600), 1, announce("from-1"));
    sim.run_until(at_ms(1500)).unwrap();
    assert_eq!(reached(&sim), BTreeSet::from([0]));
}

#[test]
fn restarted_node_keeps_its_records_and_continues_its_sequence() {
    let mut sim = star_grid(3, 7);
    sim.schedule_command(at_ms(600), 1, announce("storage"));
    sim.schedule_command(at_ms(600), 2, announce("web"));
    sim.schedule_crash(at_ms(1000), 1);
    sim.schedule_restart(at_ms(1100), 1);
    sim.schedule_command(at_ms(1200), 1, announce("storage"));
    sim.run_until(at_ms(5000)).unwrap();
    let node = sim.node(1).expect("restarted");
    assert_eq!(node.records().len(), 2, "its own and node 2's announcement survive the crash");
    assert_eq!(node.issued_high(), Some(Version::new(0, 2)));
    let held =
        sim.node(2).unwrap().records().version_of(sim.id(1), RecordKind::Announcement, "storage");
    assert_eq!(
        held,
        Some(Version::new(0, 2)),
        "the restarted node reconnected and its news spread"
    );
}

#[test]
fn crashed_node_receives_nothing_until_it_restarts() {
    let mut sim = star_grid(2, 8);
    sim.schedule_crash(at_ms(600), 1);
    sim.schedule_command(at_ms(700), 0, announce("storage"));
    sim.run_until(at_ms(2000)).unwrap();
    assert!(!sim.is_up(1));
    assert!(sim.deliveries().is_empty());
}

/// A record whose version was changed after signing.
fn forged_record() -> Arc<SignedRecord> {
    let keypair = Keypair::from_secret([1; 32]);
    let mut record = Record {
        origin: keypair.id(),
        kind: RecordKind::Announcement,
        key: "storage".into(),
        version: Version::new(0, 1),
        issued_at_ms: 0,
        payload: Vec::new(),
    }
    .sign(&keypair)
    .unwrap();
    record.record.version = Version::new(0, 2);
    Arc::new(record)
}

fn delivery_of(record: Arc<SignedRecord>) -> Event {
    Event::RecordStored { record, from: Some(Keypair::from_secret([2; 32]).id()), hops: 1 }
}

#[test]
fn duplicate_delivery_checker_fails_on_a_second_delivery() {
    let record = forged_record();
    let published = BTreeSet::from([record.digest()]);
    let event = delivery_of(record);
    let mut checker = NoDuplicateDelivery::default();
    assert_eq!(checker.check(3, &event, &published), Ok(()));
    assert!(checker.check(3, &event, &published).is_err());
    assert_eq!(checker.check(4, &event, &published), Ok(()), "another node may deliver it once");
}

#[test]
fn forged_delivery_checker_fails_on_a_record_nobody_published() {
    let event = delivery_of(forged_record());
    assert!(NoForgedDelivery.check(0, &event, &BTreeSet::new()).is_err());
    assert_eq!(standard_checkers().len(), 3);
}

#[test]
fn incarnation_checker_fails_when_a_view_goes_back() {
    let member = Keypair::from_secret([3; 32]).id();
    let at =
        |incarnation| Event::MemberChanged { id: member, state: MemberState::Alive, incarnation };
    let mut checker = IncarnationsNeverGoBack::default();
    let none = BTreeSet::new();
    assert_eq!(checker.check(0, &at(2), &none), Ok(()));
    assert_eq!(checker.check(0, &at(3), &none), Ok(()));
    assert!(checker.check(0, &at(1), &none).is_err());
    assert_eq!(checker.check(1, &at(1), &none), Ok(()), "each observer has its own history");
}

#[test]
fn reach_curves_hold_every_delivery_and_match_the_report() {
    let scenario = Scenario {
        nodes: 60,
        seed: 11,
        broadcasts: 5,
        membership: false,
        settle: Duration::from_secs(5),
        ..Scenario::default()
    };
    let (report, curves) = scenario.run_detailed(|_, _| {});
    assert_eq!(report, scenario.run(|_, _| {}), "curves do not change the run");
    assert_eq!(curves.len(), 5);
    for curve in &curves {
        assert_eq!(curve.targets, 59, "every node but the origin");
        assert_eq!(curve.final_fraction(), 1.0, "{curve:?}");
        assert!(curve.delays_ms.windows(2).all(|pair| pair[0] <= pair[1]));
        assert!(curve.delays_ms[0] > 0.0);
        let last = curve.delays_ms[curve.delays_ms.len() - 1];
        assert!(last <= report.latency_ms.max, "{last} > {}", report.latency_ms.max);
    }
}

/// When node 0 first held the announcement node 1 published at 600 ms.
fn arrival_at_node_0(service: ServiceModel) -> Instant {
    let mut sim = star_grid(3, 7);
    sim.set_service(service);
    sim.schedule_command(at_ms(600), 1, announce("busy"));
    sim.run_until(at_ms(2000)).unwrap();
    let delivery = sim.deliveries().iter().find(|delivery| delivery.node == 0);
    delivery.expect("node 0 got the announcement").at
}

#[test]
fn a_busy_node_sends_after_its_work_and_its_commit() {
    // One hop of 10 ms when every input takes no time.
    assert_eq!(arrival_at_node_0(ServiceModel::INSTANT), at_ms(610));
    // Node 1 works 50 ms on the command and commits for 5 ms before it sends; the copy
    // arrives at 665 ms, and node 0 holds it once its own 50 ms of work on it are done.
    let slow = ServiceModel {
        per_input: Duration::from_millis(50),
        per_signature: Duration::ZERO,
        commit: Duration::from_millis(5),
        lazy_commit_delay: Duration::from_millis(100),
        inputs_per_turn: 1,
    };
    assert_eq!(arrival_at_node_0(slow), at_ms(715));
}

#[test]
fn announcement_redundancy_leaves_out_membership_records() {
    let base = Scenario {
        nodes: 60,
        broadcasts: 10,
        settle: Duration::from_secs(5),
        ..Scenario::default()
    };
    let alone = Scenario { membership: false, ..base.clone() }.run(|_, _| {});
    assert!(alone.rmr_announcements > 0.0, "{alone:?}");
    assert_eq!(
        alone.rmr_announcements, alone.rmr,
        "without membership every copy is of an announcement"
    );
    let with_membership = base.run(|_, _| {});
    assert!(with_membership.rmr_announcements > 0.0, "{with_membership:?}");
    assert_ne!(
        with_membership.rmr_announcements, with_membership.rmr,
        "claims and profiles count in rmr only"
    );
}

/// A grid of `nodes` with membership and routing on: node 0 first, every other node joining
/// through node 0, run for 15 s.
fn routing_grid(nodes: u32, seed: u64) -> Sim {
    let config = Config { routing: Some(RoutingConfig::default()), ..Config::with_membership() };
    let mut sim = Sim::new(nodes, seed, quiet_network(), config);
    sim.start_all().unwrap();
    for node in 1..nodes {
        sim.schedule_join(at_ms(u64::from(node)), node, 0);
    }
    sim.run_until(at_ms(15_000)).unwrap();
    sim
}

/// The version of `origin`'s advertisement that `holder` holds.
fn advertisement_at(sim: &Sim, holder: u32, origin: u32) -> Option<Version> {
    sim.node(holder)?.records().version_of(sim.id(origin), RecordKind::LinkState, "")
}

/// Every live node but `origin` holds `origin`'s advertisement at `version`.
fn everyone_holds_advertisement(sim: &Sim, origin: u32, version: Version) -> bool {
    (0..sim.len())
        .filter(|node| *node != origin && sim.is_up(*node))
        .all(|node| advertisement_at(sim, node, origin) == Some(version))
}

#[test]
fn a_node_that_lost_its_store_advertises_past_its_old_advertisement_and_is_routed_to() {
    let mut sim = routing_grid(12, 21);
    let before = advertisement_at(&sim, 0, 5).expect("node 5 advertised its links");
    sim.schedule_crash(at_ms(15_000), 5);
    // The same epoch, an empty store: its first advertisement starts at seq 1, below the old.
    sim.schedule_restart_wiped(at_ms(16_000), 5, 0);
    sim.schedule_join(at_ms(16_001), 5, 0);
    sim.run_until(at_ms(40_000)).unwrap();
    let after = sim.node(5).unwrap().issued_high().expect("it issued versions again");
    assert!(after > before, "{after:?} jumped past {before:?}");
    let held = advertisement_at(&sim, 0, 5).unwrap();
    assert!(held > before && held.epoch == 0, "{held:?}");
    assert!(everyone_holds_advertisement(&sim, 5, held));
    assert!(advertisements_agree(&sim));
    let routes = check_routes(&mut sim);
    assert!(routes.is_correct(), "{routes:?}");
}

#[test]
fn a_node_back_with_a_new_epoch_and_no_higher_seq_is_accepted_at_once() {
    let mut sim = routing_grid(12, 22);
    let before = advertisement_at(&sim, 0, 5).expect("node 5 advertised its links");
    assert!(before.seq > 1, "the old advertisement is past the new one's first seq");
    sim.schedule_crash(at_ms(15_000), 5);
    sim.schedule_restart_wiped(at_ms(16_000), 5, 7);
    sim.schedule_join(at_ms(16_001), 5, 0);
    // Its first link is advertised 200 ms after it comes up; a second is enough to spread.
    sim.run_until(at_ms(17_500)).unwrap();
    let held = advertisement_at(&sim, 0, 5).unwrap();
    assert_eq!(held.epoch, 7, "the new epoch wins with seq {} over {before:?}", held.seq);
    assert!(held.seq <= before.seq, "{held:?} against {before:?}");
    assert!(everyone_holds_advertisement(&sim, 5, held));
    let to_5 = sim.node_mut(0).unwrap().routes().into_iter().find(|r| r.destination == sim.id(5));
    assert!(to_5.is_some(), "node 0 routes to the restarted node");
}
