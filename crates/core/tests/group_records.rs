//! A group's members and link costs, as every member computes them from the records it holds:
//! the definition and the join requests (with the access rule), and the estimates the members
//! shared (a round trip, plus the time a chunk takes to cross at the probed bandwidth).

use std::time::Duration;

use herald_core::groups::{
    Edge, Estimates, GroupAccess, GroupParams, GroupSpec, TopologyDecree, chunk_transfer_ms,
};
use herald_core::{
    Config, Input, Instant, Keypair, Node, NodeId, Output, PersistOp, Record, RecordKind,
    SignedRecord, Snapshot, Version,
};

const GROUP: &str = "mirror-1";

fn signed(keypair: &Keypair, kind: RecordKind, key: &str, payload: Vec<u8>) -> SignedRecord {
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

fn keys(count: u8) -> Vec<Keypair> {
    (1..=count).map(|n| Keypair::from_secret([n; 32])).collect()
}

/// A definition listing `listed` of `keys` (by node id), connectivity 1.
fn definition(keys: &[Keypair], listed: usize, params: GroupParams) -> SignedRecord {
    let spec = GroupSpec {
        sites: keys[..listed].iter().map(|key| key.id().to_string()).collect(),
        params: GroupParams { connectivity: 1, ..params },
    };
    signed(&keys[0], RecordKind::GroupDefinition, GROUP, spec.encode())
}

/// Node `me` of `keys`, restored holding `records`, run until its topology is computed.
fn node_holding(keys: &[Keypair], me: usize, records: Vec<SignedRecord>) -> Node {
    let snapshot = Snapshot { records, ..Snapshot::default() };
    let mut node = Node::restore(keys[me].clone(), Config::default(), 1, Instant::ZERO, snapshot);
    node.handle(Instant::ZERO + Duration::from_secs(2), Input::Timeout);
    while node.poll_output().is_some() {}
    node
}

fn join(keypair: &Keypair) -> SignedRecord {
    signed(keypair, RecordKind::GroupJoin, GROUP, Vec::new())
}

fn members(node: &Node) -> Vec<NodeId> {
    node.groups().topology(GROUP).map(|topology| topology.members.clone()).unwrap_or_default()
}

fn sorted(mut ids: Vec<NodeId>) -> Vec<NodeId> {
    ids.sort_unstable();
    ids
}

#[test]
fn a_links_cost_is_its_round_trip_plus_a_chunks_transfer_at_the_probed_bandwidth() {
    let keys = keys(3);
    let ids: Vec<_> = keys.iter().map(Keypair::id).collect();
    // Member 0 measured 10 ms and 1,000 KB/s to member 1; member 1 measured 20 ms and 3,000
    // KB/s back. Member 2 measured only a round trip to member 0.
    let estimates = [
        (0, Estimates { rtt_ms: vec![(ids[1], 10)], bandwidth_kbps: vec![(ids[1], 1000)] }),
        (1, Estimates { rtt_ms: vec![(ids[0], 20)], bandwidth_kbps: vec![(ids[0], 3000)] }),
        (2, Estimates { rtt_ms: vec![(ids[0], 7)], bandwidth_kbps: Vec::new() }),
    ];
    let mut records = vec![definition(&keys, 3, GroupParams::default())];
    for (from, estimates) in estimates {
        records.push(signed(&keys[from], RecordKind::Estimate, "", estimates.encode()));
    }
    let node = node_holding(&keys, 0, records);
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

#[test]
fn an_open_group_takes_a_joiner_and_a_listed_one_refuses_it() {
    let keys = keys(3);
    let ids: Vec<NodeId> = keys.iter().map(Keypair::id).collect();
    let open = definition(&keys, 2, GroupParams::default());
    let node = node_holding(&keys, 0, vec![open, join(&keys[2])]);
    assert_eq!(members(&node), sorted(ids.clone()), "the joiner is a member of an open group");
    assert!(node.refused_joins(GROUP).is_empty());

    let listed = GroupParams { access: GroupAccess::Listed, ..GroupParams::default() };
    let node = node_holding(&keys, 0, vec![definition(&keys, 2, listed), join(&keys[2])]);
    assert_eq!(members(&node), sorted(ids[..2].to_vec()), "a listed group keeps to its sites");
    assert_eq!(node.refused_joins(GROUP), &ids[2..]);
    // The joiner's own view agrees: it is no member, so it floods nothing in the group.
    let listed = GroupParams { access: GroupAccess::Listed, ..GroupParams::default() };
    let joiner = node_holding(&keys, 2, vec![definition(&keys, 2, listed), join(&keys[2])]);
    assert!(!joiner.groups().is_member(GROUP));
}

/// Sites that also asked to join (a floodd site publishes its join request whatever the
/// definition says) are members once, however their ids sort among the other joiners'.
#[test]
fn a_site_that_also_asked_to_join_is_one_member() {
    let keys = keys(8);
    let ids: Vec<NodeId> = keys.iter().map(Keypair::id).collect();
    let mut records = vec![definition(&keys, 4, GroupParams::default())];
    records.extend(keys.iter().map(join));
    let node = node_holding(&keys, 0, records);
    assert_eq!(members(&node), sorted(ids));
}

/// The version of every `GroupJoin` record `node` publishes from now until `until`.
fn joins_published(node: &mut Node, from: Instant, until: Instant) -> Vec<Version> {
    let mut versions = Vec::new();
    let mut now = from;
    while now <= until {
        node.handle(now, Input::Timeout);
        while let Some(output) = node.poll_output() {
            if let Output::Persist(PersistOp::PutRecord(record)) = output
                && record.record.kind == RecordKind::GroupJoin
            {
                versions.push(record.record.version);
            }
        }
        now = now + Duration::from_secs(1);
    }
    versions
}

#[test]
fn a_joiner_asks_again_every_join_period_while_the_masters_topology_leaves_it_out() {
    let keys = keys(3);
    let ids: Vec<NodeId> = keys.iter().map(Keypair::id).collect();
    let params = GroupParams {
        master_site: Some(ids[0].to_string()),
        join_period: Duration::from_secs(10),
        ..GroupParams::default()
    };
    let spec = definition(&keys, 2, params);
    let decree_of = |members: &[NodeId]| {
        let edges = vec![Edge { a: members[0], b: members[1], cost_ms: 1 }];
        signed(
            &keys[0],
            RecordKind::GroupTopology,
            GROUP,
            TopologyDecree::of(members, &edges).encode(),
        )
    };
    let start = Instant::ZERO + Duration::from_secs(2);
    let end = start + Duration::from_secs(25);

    // The master lost its state: its topology names the listed sites only.
    let forgot = decree_of(&sorted(ids[..2].to_vec()));
    let mut joiner = node_holding(&keys, 2, vec![spec.clone(), forgot]);
    joiner.join_group(start, GROUP, 1).unwrap();
    let asked = joins_published(&mut joiner, start, end);
    assert_eq!(asked.len(), 3, "the first request and one each 10 s: {asked:?}");
    assert!(asked.windows(2).all(|pair| pair[0] < pair[1]), "each a newer version: {asked:?}");
    assert_eq!(joiner.joins_resent(), 2);

    // The master's topology has it: one request, never repeated.
    let knows = decree_of(&sorted(ids.clone()));
    let mut joiner = node_holding(&keys, 2, vec![spec, knows]);
    joiner.join_group(start, GROUP, 1).unwrap();
    assert_eq!(joins_published(&mut joiner, start, end).len(), 1);
    assert_eq!(joiner.joins_resent(), 0);
}

#[test]
fn a_node_whose_configuration_drops_a_group_leaves_it() {
    let keys = keys(3);
    let ids: Vec<NodeId> = keys.iter().map(Keypair::id).collect();
    let open = definition(&keys, 2, GroupParams::default());
    let mut joiner = node_holding(&keys, 2, vec![open]);
    let start = Instant::ZERO + Duration::from_secs(2);
    joiner.join_group(start, GROUP, 1).unwrap();
    assert!(joiner.leave_groups_except(start, &[GROUP.to_owned()], 1).is_empty());
    let later = start + Duration::from_secs(2);
    joiner.handle(later, Input::Timeout);
    assert_eq!(
        members(&joiner),
        sorted(ids.clone()),
        "the joiner is in while its file lists the group"
    );

    assert_eq!(joiner.leave_groups_except(later, &[], 1), vec![GROUP.to_owned()]);
    assert!(joiner.group_joiners(GROUP).is_empty(), "the request is withdrawn");
    joiner.handle(later + Duration::from_secs(2), Input::Timeout);
    assert!(!joiner.groups().is_member(GROUP), "and the group no longer counts it");
    assert!(joiner.leave_groups_except(later, &[], 1).is_empty(), "a group is left once");
}
