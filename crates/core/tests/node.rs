//! Behaviour of the sans-IO node, driven by hand through its public API.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use herald_core::anti_entropy::AntiEntropyMessage;
use herald_core::broadcast::BroadcastMessage;
use herald_core::membership::MembershipMessage;
use herald_core::wire::{self, Message};
use herald_core::{
    Announcement, CommandError, Config, Event, Input, Instant, Keypair, Node, NodeId, Output,
    PersistOp, RecordKind, Snapshot, Version,
};

fn node(secret: u8) -> Node {
    Node::new(
        Keypair::from_secret([secret; 32]),
        Config::default(),
        u64::from(secret),
        Instant::ZERO,
    )
}

fn drain(node: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

fn announce(node: &mut Node, service: &str, seq: Option<u64>) -> Result<Version, CommandError> {
    let announcement = Announcement {
        service: service.to_owned(),
        payload: br#"{"port":80}"#.to_vec(),
        issued_at_ms: 1,
        seq,
    };
    node.announce(Instant::ZERO, announcement)
}

/// Makes `peer` an overlay neighbour of `node` and drops the join traffic.
fn connect(node: &mut Node, peer: NodeId) {
    node.join(Instant::ZERO, &[peer]);
    drain(node);
}

fn transmits(outputs: &[Output]) -> Vec<(NodeId, Arc<[u8]>)> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Transmit { to, frame } => Some((*to, frame.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn announcement_is_persisted_before_it_is_transmitted() {
    let mut alice = node(1);
    let bob = node(2).id();
    connect(&mut alice, bob);
    assert_eq!(announce(&mut alice, "storage", None), Ok(Version::new(0, 1)));
    let outputs = drain(&mut alice);
    let put =
        outputs.iter().position(|o| matches!(o, Output::Persist(PersistOp::PutRecord(_)))).unwrap();
    let high = outputs
        .iter()
        .position(|o| matches!(o, Output::Persist(PersistOp::SetIssuedHigh(_))))
        .unwrap();
    let sent = outputs.iter().position(|o| matches!(o, Output::Transmit { .. })).unwrap();
    assert!(put < sent && high < sent, "persists must precede the transmit: {outputs:?}");
}

#[test]
fn a_new_record_reaches_the_peer_and_is_passed_on_but_not_back() {
    let mut alice = node(1);
    let mut bob = node(2);
    let carol = node(3).id();
    connect(&mut alice, bob.id());
    connect(&mut bob, alice.id());
    connect(&mut bob, carol);
    announce(&mut alice, "storage", None).unwrap();
    let (to, frame) = transmits(&drain(&mut alice)).remove(0);
    assert_eq!(to, bob.id());
    bob.handle(Instant::ZERO, Input::Frame { from: alice.id(), bytes: frame.clone() });
    let outputs = drain(&mut bob);
    let stored = outputs.iter().any(|o| {
        matches!(o, Output::Event(Event::RecordStored { from: Some(from), hops: 1, .. }) if *from == alice.id())
    });
    assert!(stored, "bob stores alice's record: {outputs:?}");
    let forwarded: Vec<NodeId> = transmits(&outputs).into_iter().map(|(to, _)| to).collect();
    assert_eq!(forwarded, vec![carol]);
    // The same frame again is a duplicate: counted, not stored, not forwarded (only a prune
    // goes back to the sender).
    bob.handle(Instant::ZERO, Input::Frame { from: alice.id(), bytes: frame });
    let sent: Vec<NodeId> = transmits(&drain(&mut bob)).into_iter().map(|(to, _)| to).collect();
    assert_eq!(sent, vec![alice.id()]);
    assert_eq!(bob.stats().records_duplicate, 1);
}

#[test]
fn flipped_bit_in_a_received_record_is_rejected_and_counted() {
    let mut alice = node(1);
    let bob_id = node(2).id();
    connect(&mut alice, bob_id);
    announce(&mut alice, "storage", None).unwrap();
    let (_, frame) = transmits(&drain(&mut alice)).remove(0);
    // Version byte, Broadcast, Gossip, round 0: the signed record starts at byte 4.
    // (The round before it is frame metadata, unsigned by design.)
    assert_eq!(&frame[1..4], &[1, 0, 0]);
    let mut rejected_or_undecodable = 0;
    for bit in 4 * 8..frame.len() * 8 {
        let mut bob = node(2);
        let mut flipped = frame.to_vec();
        flipped[bit / 8] ^= 1 << (bit % 8);
        bob.handle(Instant::ZERO, Input::Frame { from: alice.id(), bytes: flipped.into() });
        let outputs = drain(&mut bob);
        assert!(
            !outputs.iter().any(|o| matches!(o, Output::Event(Event::RecordStored { .. }))),
            "bit {bit} flipped and the record was still stored"
        );
        let stats = bob.stats();
        assert_eq!(
            stats.records_rejected + stats.decode_errors,
            1,
            "bit {bit}: the refusal is counted"
        );
        rejected_or_undecodable += 1;
    }
    assert!(rejected_or_undecodable > 100);
}

#[test]
fn explicit_sequence_number_must_be_newer_than_the_current_one() {
    let mut alice = node(1);
    assert_eq!(announce(&mut alice, "grid-control", Some(123)), Ok(Version::new(0, 123)));
    drain(&mut alice);
    let refused = CommandError::Stale { requested: 123, current: 123 };
    assert_eq!(announce(&mut alice, "grid-control", Some(123)), Err(refused));
    assert!(drain(&mut alice).is_empty(), "a refused command persists and sends nothing");
    assert_eq!(alice.stats().commands_refused, 1);
    // A plain announcement afterwards continues above the highest number issued.
    assert_eq!(announce(&mut alice, "grid-control", None), Ok(Version::new(0, 124)));
}

#[test]
fn a_sequence_number_below_the_one_shown_is_stale_even_in_a_later_epoch() {
    let mut alice = node(1);
    announce(&mut alice, "grid-control", Some(123)).unwrap();
    let kept = drain(&mut alice).into_iter().filter_map(|output| match output {
        Output::Persist(PersistOp::PutRecord(record)) => Some((*record).clone()),
        _ => None,
    });
    // The store was lost but the record came back from a peer; the driver's epoch moved on.
    let snapshot = Snapshot { records: kept.collect(), ..Snapshot::default() };
    let config = Config { epoch: 9, ..Config::default() };
    let mut alice =
        Node::restore(Keypair::from_secret([1; 32]), config, 1, Instant::ZERO, snapshot);
    let refused = CommandError::Stale { requested: 50, current: 123 };
    assert_eq!(announce(&mut alice, "grid-control", Some(50)), Err(refused.clone()));
    assert!(refused.to_string().contains("not newer than the current one, 123"), "{refused}");
    assert_eq!(announce(&mut alice, "grid-control", Some(124)), Ok(Version::new(9, 124)));
}

#[test]
fn the_largest_sequence_number_is_followed_by_the_next_epoch() {
    let mut alice = node(1);
    assert_eq!(announce(&mut alice, "grid-control", Some(u64::MAX)), Ok(Version::new(0, u64::MAX)));
    assert_eq!(announce(&mut alice, "web", None), Ok(Version::new(1, 1)));
}

#[test]
fn withdraw_replaces_the_announcement_with_a_tombstone() {
    let mut alice = node(1);
    announce(&mut alice, "storage", None).unwrap();
    alice.withdraw(Instant::ZERO, "storage", 2).unwrap();
    drain(&mut alice);
    let held: Vec<_> = alice.records().iter().collect();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].record.kind, RecordKind::Tombstone);
    assert_eq!(held[0].record.version, Version::new(0, 2));
}

#[test]
fn restored_node_continues_its_sequence_numbers() {
    let keypair = Keypair::from_secret([7; 32]);
    let mut first = Node::new(keypair.clone(), Config::default(), 1, Instant::ZERO);
    announce(&mut first, "storage", None).unwrap();
    let mut snapshot = Snapshot::default();
    for output in drain(&mut first) {
        match output {
            Output::Persist(PersistOp::PutRecord(record)) => {
                snapshot.records.push((*record).clone())
            }
            Output::Persist(PersistOp::SetIssuedHigh(high)) => snapshot.issued_high = Some(high),
            _ => {}
        }
    }
    let mut second = Node::restore(keypair, Config::default(), 2, Instant::ZERO, snapshot);
    assert_eq!(announce(&mut second, "storage", None), Ok(Version::new(0, 2)));
}

#[test]
fn node_that_lost_its_store_jumps_past_its_own_version_seen_from_a_peer() {
    let keypair = Keypair::from_secret([8; 32]);
    let mut old = Node::new(keypair.clone(), Config::default(), 1, Instant::ZERO);
    let peer = node(9).id();
    connect(&mut old, peer);
    for _ in 0..5 {
        announce(&mut old, "routes", None).unwrap();
    }
    let (_, frame) = transmits(&drain(&mut old)).pop().unwrap();
    // Same key, same epoch, empty store: it must not reissue seq 1.
    let mut reborn = Node::new(keypair, Config::default(), 2, Instant::ZERO);
    reborn.handle(Instant::ZERO, Input::Frame { from: peer, bytes: frame });
    assert_eq!(reborn.issued_high(), Some(Version::new(0, 5)));
    drain(&mut reborn);
    assert_eq!(announce(&mut reborn, "routes", None), Ok(Version::new(0, 6)));
}

#[test]
fn garbage_frames_are_counted_and_answered_with_nothing() {
    let mut alice = node(1);
    let peer = node(2).id();
    for bytes in [vec![], vec![0xff; 10], vec![1, 200, 3]] {
        alice.handle(Instant::ZERO, Input::Frame { from: peer, bytes: bytes.into() });
    }
    assert!(drain(&mut alice).is_empty());
    assert_eq!(alice.stats().decode_errors, 3);
}

#[test]
fn probe_is_answered_with_an_ack_of_the_same_seq() {
    let mut alice =
        Node::new(Keypair::from_secret([1; 32]), Config::with_membership(), 1, Instant::ZERO);
    drain(&mut alice);
    let peer = node(2).id();
    let ping =
        wire::encode(&Message::Membership(MembershipMessage::Ping { seq: 77, relay_for: None }))
            .unwrap();
    alice.handle(Instant::ZERO, Input::Frame { from: peer, bytes: ping.into() });
    let (to, frame) = transmits(&drain(&mut alice)).remove(0);
    assert_eq!(to, peer);
    let ack = Message::Membership(MembershipMessage::Ack { seq: 77, relay_for: None });
    assert_eq!(wire::decode(&frame), Ok(ack));
}

#[test]
fn a_duplicate_over_a_tree_link_prunes_it() {
    let mut alice = node(1);
    let mut bob = node(2);
    connect(&mut alice, bob.id());
    connect(&mut bob, alice.id());
    announce(&mut alice, "storage", None).unwrap();
    let (_, frame) = transmits(&drain(&mut alice)).remove(0);
    bob.handle(Instant::ZERO, Input::Frame { from: alice.id(), bytes: frame.clone() });
    drain(&mut bob);
    assert!(bob.broadcast().eager().contains(&alice.id()));
    bob.handle(Instant::ZERO, Input::Frame { from: alice.id(), bytes: frame });
    let outputs = drain(&mut bob);
    let prune = BroadcastMessage::Prune { origin: alice.id() };
    let prune = wire::encode(&Message::Broadcast(prune)).unwrap();
    assert_eq!(transmits(&outputs), vec![(alice.id(), Arc::from(prune))]);
    assert!(bob.broadcast().eager().contains(&alice.id()), "the prune changes what alice pushes");
}

#[test]
fn a_forwarded_join_carries_the_joiners_profile_which_is_stored_ahead_of_any_answer() {
    use herald_core::Role;
    use herald_core::overlay::OverlayMessage;
    use herald_core::{Event, Profile};
    let mut alice = node(1);
    let mut bob = node(2);
    let carol = node(3).id();
    connect(&mut bob, carol);
    let profile = Profile {
        name: "alice".into(),
        role: Role::Server,
        addresses: vec!["127.0.0.1:7000".parse().unwrap()],
    };
    alice.publish_profile(Instant::ZERO, &profile, 1).unwrap();
    drain(&mut alice);
    alice.join(Instant::ZERO, &[bob.id()]);
    let (to, join) = transmits(&drain(&mut alice)).remove(0);
    assert_eq!(to, bob.id());

    bob.handle(Instant::ZERO, Input::Frame { from: alice.id(), bytes: join });
    let outputs = drain(&mut bob);
    let stored = outputs
        .iter()
        .position(|output| {
            matches!(output, Output::Event(Event::RecordStored { record, .. })
                if record.record.kind == RecordKind::Profile && record.record.origin == alice.id())
        })
        .expect("the joiner's profile is stored");
    let first_send = outputs.iter().position(|o| matches!(o, Output::Transmit { .. })).unwrap();
    assert!(stored < first_send, "the profile is known before any answer: {outputs:?}");
    let forwarded = transmits(&outputs)
        .into_iter()
        .filter(|(to, _)| *to == carol)
        .map(|(_, frame)| wire::decode(&frame).unwrap())
        .find_map(|message| match message {
            Message::Overlay { message: OverlayMessage::ForwardJoin { joiner, .. }, profile } => {
                Some((joiner, profile))
            }
            _ => None,
        })
        .expect("bob forwards the join to carol");
    assert_eq!(forwarded.0, alice.id());
    let carried = forwarded.1.expect("the joiner's profile travels with the forwarded join");
    assert_eq!(carried.record.origin, alice.id());
    assert_eq!(Profile::decode(&carried.record.payload), Some(profile));
}

/// The peers `outputs` send an anti-entropy root to.
fn roots_sent(outputs: &[Output]) -> Vec<NodeId> {
    transmits(outputs)
        .into_iter()
        .filter(|(_, frame)| {
            matches!(wire::decode(frame), Ok(Message::AntiEntropy(AntiEntropyMessage::Root { .. })))
        })
        .map(|(to, _)| to)
        .collect()
}

#[test]
fn a_failed_neighbour_starts_anti_entropy_with_every_other_neighbour_once_a_round() {
    let mut alice = node(1);
    let peers: Vec<NodeId> = (2..=5).map(|secret| node(secret).id()).collect();
    for peer in &peers {
        connect(&mut alice, *peer);
    }
    assert_eq!(alice.overlay().active().len(), 4);
    let interval = Config::default().anti_entropy.interval;

    let at = Instant::ZERO + Duration::from_millis(300);
    alice.handle(at, Input::PeerDown(peers[0]));
    let swept: BTreeSet<NodeId> = roots_sent(&drain(&mut alice)).into_iter().collect();
    assert_eq!(swept, peers[1..].iter().copied().collect(), "a root to each other neighbour");

    // A second failure within the interval sweeps nobody again.
    alice.handle(at + interval / 2, Input::PeerDown(peers[1]));
    assert!(roots_sent(&drain(&mut alice)).is_empty());

    // After it, the next failure sweeps the neighbours left.
    alice.handle(at + interval, Input::PeerDown(peers[2]));
    assert_eq!(roots_sent(&drain(&mut alice)), vec![peers[3]]);

    // A node that was never a neighbour sweeps nobody.
    let stranger = node(9).id();
    alice.handle(at + interval * 3, Input::PeerDown(stranger));
    assert!(roots_sent(&drain(&mut alice)).is_empty());
}

#[test]
fn a_departure_is_pushed_whole_to_every_neighbour_even_over_lazy_links() {
    let mut alice =
        Node::new(Keypair::from_secret([1; 32]), Config::with_membership(), 1, Instant::ZERO);
    let (bob, carol) = (node(2).id(), node(3).id());
    connect(&mut alice, bob);
    connect(&mut alice, carol);
    // Both neighbours pruned alice's own tree: her records reach them only by IHAVE.
    let prune = Message::Broadcast(BroadcastMessage::Prune { origin: alice.id() });
    for peer in [bob, carol] {
        let bytes = wire::encode(&prune).unwrap().into();
        alice.handle(Instant::ZERO, Input::Frame { from: peer, bytes });
    }
    drain(&mut alice);

    alice.leave(Instant::ZERO, 5);
    let departures: Vec<(NodeId, u64)> = transmits(&drain(&mut alice))
        .into_iter()
        .filter_map(|(to, frame)| match wire::decode(&frame) {
            Ok(Message::Broadcast(BroadcastMessage::Gossip { record, .. })) => {
                Some((to, record.record.issued_at_ms))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        departures,
        vec![(bob.min(carol), 5), (bob.max(carol), 5)],
        "the departure goes whole to both, signed at the driver's time"
    );
}
