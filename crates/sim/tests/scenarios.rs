//! Simulation tests: the simulator's own guarantees (determinism, faults, checkers) and flooding
//! end to end. Randomised tests take `HERALD_SEED` or draw a seed, and print a replay line when
//! they fail.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use herald_core::{
    Command, Config, Event, Instant, Keypair, Record, RecordKind, SignedRecord, Version,
};
use herald_sim::seed::{replay_line, seed_from_env_or_draw};
use herald_sim::{
    Checker, NetworkModel, NoDuplicateDelivery, NoForgedDelivery, Scenario, Sim, standard_checkers,
};

/// Runs `body` with a seed, printing the replay command if it panics.
fn with_seed(test_name: &str, body: impl FnOnce(u64) + std::panic::UnwindSafe) {
    let seed = seed_from_env_or_draw().expect("HERALD_SEED is a number");
    if std::panic::catch_unwind(move || body(seed)).is_err() {
        panic!("{}", replay_line(seed, "herald-sim", "scenarios", test_name));
    }
}

fn announce(service: &str) -> Command {
    Command::Announce {
        service: service.to_owned(),
        payload: b"{}".to_vec(),
        issued_at_ms: 0,
        seq: None,
    }
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

#[test]
fn same_seed_gives_the_same_trace_and_report() {
    let scenario = Scenario { nodes: 150, seed: 99, loss: 0.05, kill: 0.1, ..Scenario::default() };
    let first = scenario.run(|_, _| {});
    let second = scenario.run(|_, _| {});
    assert_eq!(first, second);
    let other = Scenario { seed: 100, ..scenario }.run(|_, _| {});
    assert_ne!(first.trace_hash, other.trace_hash, "a different seed must give a different run");
}

#[test]
fn flooding_reaches_every_node_without_loss() {
    with_seed("flooding_reaches_every_node_without_loss", |seed| {
        let report =
            Scenario { nodes: 500, seed, broadcasts: 20, ..Scenario::default() }.run(|_, _| {});
        assert_eq!(report.violation, None);
        assert_eq!(report.delivered_fraction, 1.0, "{report:?}");
        assert_eq!(report.broadcasts, 20);
        // A flooded record crosses each link at most once in each direction: with 4 links made
        // per node (about 8 per node in all), RMR lies between 1 and 2 × 8.
        assert!(report.rmr > 1.0 && report.rmr < 16.0, "rmr {}", report.rmr);
        // Each hop costs at most the largest one-way latency, 50 ms.
        assert!(report.latency_ms.max <= 50.0 * report.hops.max, "{report:?}");
    });
}

#[test]
fn flooding_routes_around_crashed_nodes() {
    with_seed("flooding_routes_around_crashed_nodes", |seed| {
        let report = Scenario { nodes: 400, seed, kill: 0.3, degree: 6, ..Scenario::default() }
            .run(|_, _| {});
        assert_eq!(report.alive_at_end, 280);
        assert_eq!(report.violation, None);
        // With 6 links made per node and 30% crashed, the survivors stay connected with high
        // probability; flooding has no repair, so a shortfall is measured loss.
        assert!(report.delivered_fraction > 0.97, "{report:?}");
    });
}

#[test]
fn two_way_partition_stops_flooding_across_it_and_healing_lets_new_records_through() {
    let mut sim = Sim::new(4, 5, quiet_network(), Config::default());
    sim.link(0, 1);
    sim.link(1, 2);
    sim.link(2, 3);
    sim.start_all().unwrap();
    sim.network_mut().partition(&[0, 1], &[2, 3]);
    sim.schedule_command(at_ms(10), 0, announce("during"));
    sim.run_until(at_ms(1000)).unwrap();
    assert_eq!(reached(&sim), BTreeSet::from([1]));
    sim.network_mut().heal();
    sim.schedule_command(at_ms(1010), 0, announce("after"));
    sim.run_until(at_ms(2000)).unwrap();
    assert_eq!(reached(&sim), BTreeSet::from([1, 2, 3]));
}

#[test]
fn one_way_partition_blocks_one_direction_only() {
    let mut sim = Sim::new(2, 6, quiet_network(), Config::default());
    sim.link(0, 1);
    sim.start_all().unwrap();
    sim.network_mut().partition_one_way(&[0], &[1]);
    sim.schedule_command(at_ms(10), 0, announce("from-0"));
    sim.schedule_command(at_ms(10), 1, announce("from-1"));
    sim.run_until(at_ms(1000)).unwrap();
    assert_eq!(reached(&sim), BTreeSet::from([0]));
}

#[test]
fn restarted_node_keeps_its_records_and_continues_its_sequence() {
    let mut sim = Sim::new(3, 7, quiet_network(), Config::default());
    sim.link(0, 1);
    sim.link(1, 2);
    sim.start_all().unwrap();
    sim.schedule_command(at_ms(10), 0, announce("storage"));
    sim.schedule_command(at_ms(20), 2, announce("web"));
    sim.schedule_crash(at_ms(500), 0);
    sim.schedule_restart(at_ms(600), 0);
    sim.schedule_command(at_ms(700), 0, announce("storage"));
    sim.run_until(at_ms(2000)).unwrap();
    let node = sim.node(0).expect("restarted");
    assert_eq!(node.records().len(), 2, "its own and node 2's announcement survive the crash");
    assert_eq!(node.issued_high(), Some(Version::new(0, 2)));
    let held =
        sim.node(2).unwrap().records().version_of(sim.id(0), RecordKind::Announcement, "storage");
    assert_eq!(held, Some(Version::new(0, 2)));
}

#[test]
fn crashed_node_receives_nothing_until_it_restarts() {
    let mut sim = Sim::new(2, 8, quiet_network(), Config::default());
    sim.link(0, 1);
    sim.start_all().unwrap();
    sim.schedule_crash(at_ms(5), 1);
    sim.schedule_command(at_ms(10), 0, announce("storage"));
    sim.run_until(at_ms(1000)).unwrap();
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
    assert_eq!(standard_checkers().len(), 2);
}
