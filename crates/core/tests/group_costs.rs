//! A group's link costs, as every member computes them from the estimate records the members
//! shared: the round trip, plus the time a chunk takes to cross at the probed bandwidth.

use std::time::Duration;

use herald_core::groups::{Estimates, GroupParams, GroupSpec, chunk_transfer_ms};
use herald_core::{Config, Input, Instant, Keypair, Node, Record, RecordKind, Snapshot, Version};

const GROUP: &str = "mirror-1";

fn signed(
    keypair: &Keypair,
    kind: RecordKind,
    key: &str,
    payload: Vec<u8>,
) -> herald_core::SignedRecord {
    Record {
        origin: keypair.id(),
        kind,
        key: key.to_owned(),
        version: Version::new(1, 1),
        issued_at_ms: 1,
        payload,
    }
    .sign(keypair)
    .unwrap()
}

/// A node of three members holding their definition and these estimates, run until its
/// topology is computed.
fn node_holding(keys: &[Keypair], estimates: &[(usize, Estimates)]) -> Node {
    let spec = GroupSpec {
        sites: keys.iter().map(|key| key.id().to_string()).collect(),
        params: GroupParams { connectivity: 1, ..GroupParams::default() },
    };
    let mut records = vec![signed(&keys[0], RecordKind::GroupDefinition, GROUP, spec.encode())];
    for (from, estimates) in estimates {
        records.push(signed(&keys[*from], RecordKind::Estimate, "", estimates.encode()));
    }
    let snapshot = Snapshot { records, ..Snapshot::default() };
    let mut node = Node::restore(keys[0].clone(), Config::default(), 1, Instant::ZERO, snapshot);
    let now = Instant::ZERO + Duration::from_secs(2);
    node.handle(now, Input::Timeout);
    while node.poll_output().is_some() {}
    node
}

#[test]
fn a_links_cost_is_its_round_trip_plus_a_chunks_transfer_at_the_probed_bandwidth() {
    let keys: Vec<Keypair> = (1..=3).map(|n| Keypair::from_secret([n; 32])).collect();
    let ids: Vec<_> = keys.iter().map(Keypair::id).collect();
    // Member 0 measured 10 ms and 1,000 KB/s to member 1; member 1 measured 20 ms and 3,000
    // KB/s back. Member 2 measured only a round trip to member 0.
    let estimates = [
        (0, Estimates { rtt_ms: vec![(ids[1], 10)], bandwidth_kbps: vec![(ids[1], 1000)] }),
        (1, Estimates { rtt_ms: vec![(ids[0], 20)], bandwidth_kbps: vec![(ids[0], 3000)] }),
        (2, Estimates { rtt_ms: vec![(ids[0], 7)], bandwidth_kbps: Vec::new() }),
    ];
    let node = node_holding(&keys, &estimates);
    let topology = node.groups().topology(GROUP).expect("the node computed the group's topology");
    let index = |id| topology.members.binary_search(id).unwrap();
    let (a, b, c) = (index(&ids[0]), index(&ids[1]), index(&ids[2]));
    let cost = |x: usize, y: usize| topology.costs.get(x.min(y), x.max(y));
    // Means of both ends: 15 ms, 2,000 KB/s, so 64 KiB crosses in 33 ms.
    assert_eq!(chunk_transfer_ms(2000), 33);
    assert_eq!(cost(a, b), Some(15 + 33));
    assert_eq!(cost(a, c), Some(7), "no bandwidth measured: the round trip alone");
    assert_eq!(cost(b, c), None, "nothing measured");
}
