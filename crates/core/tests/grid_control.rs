//! Grid control through the node's commands: a `grid-control` announcement's recommendations,
//! reachability over the announcements a node holds, and grid-manager lists.

use herald_core::grid_control::{GRID_CONTROL_SERVICE, ManagerList, Recommendation};
use herald_core::{
    Announcement, CommandError, Config, Instant, Keypair, Node, NodeId, Output, PersistOp,
    SignedRecord, Snapshot, Version,
};

fn key(seed: u8) -> Keypair {
    Keypair::from_secret([seed; 32])
}

/// The records a node's commands made, in order.
fn published(node: &mut Node) -> Vec<SignedRecord> {
    std::iter::from_fn(|| node.poll_output())
        .filter_map(|output| match output {
            Output::Persist(PersistOp::PutRecord(record)) => Some((*record).clone()),
            _ => None,
        })
        .collect()
}

fn holding(seed: u8, records: Vec<SignedRecord>) -> Node {
    let snapshot = Snapshot { records, ..Snapshot::default() };
    Node::restore(key(seed), Config::default(), 1, Instant::ZERO, snapshot)
}

fn recommend(node: &mut Node, who: NodeId, what: &str) -> Result<Version, CommandError> {
    node.recommend(Instant::ZERO, Recommendation::new(who, "", what).unwrap(), 1)
}

fn reached(node: &Node, what: &str, depth: Option<u32>) -> Vec<NodeId> {
    node.reachable(what, depth).into_iter().map(|reached| reached.node).collect()
}

#[test]
fn the_seeds_document_is_announced_and_a_placeholder_id_is_refused() {
    let mut alice = Node::new(key(1), Config::default(), 1, Instant::ZERO);
    let bob = key(2).id();
    let document = format!(
        r#"{{"recommendations": [{{"who": "{bob}", "petname": "Bob", "what": "send-shares-to"}}]}}"#
    );
    let announce = |payload: &str, seq| Announcement {
        service: GRID_CONTROL_SERVICE.into(),
        payload: payload.as_bytes().to_vec(),
        issued_at_ms: 1,
        seq,
    };
    assert_eq!(
        alice.announce(Instant::ZERO, announce(&document, Some(123))),
        Ok(Version::new(0, 123))
    );
    assert_eq!(
        alice.recommendations(),
        [Recommendation::new(bob, "Bob", "send-shares-to").unwrap()]
    );

    let placeholder = r#"{"recommendations": [{"who": "BOB-PUBKEY", "what": "send-shares-to"}]}"#;
    let refused = alice.announce(Instant::ZERO, announce(placeholder, Some(124))).unwrap_err();
    assert!(refused.to_string().contains("who \"BOB-PUBKEY\" is not a node id"), "{refused}");
    assert_eq!(alice.stats().commands_refused, 1);
}

#[test]
fn a_chain_of_recommendations_is_reachable_from_every_holder_alike() {
    let (mut alice, mut bob) = (holding(1, Vec::new()), holding(2, Vec::new()));
    let carol = key(3).id();
    recommend(&mut alice, bob.id(), "send-shares-to").unwrap();
    recommend(&mut alice, carol, "accept-shares-from").unwrap();
    recommend(&mut bob, carol, "send-shares-to").unwrap();
    let mut records = published(&mut alice);
    records.extend(published(&mut bob));

    let alice = holding(1, records.clone());
    assert_eq!(reached(&alice, "send-shares-to", None), [key(2).id(), carol]);
    assert_eq!(reached(&alice, "send-shares-to", Some(1)), [key(2).id()]);
    assert_eq!(reached(&alice, "accept-shares-from", None), [carol]);
    let bob = holding(2, records);
    assert_eq!(reached(&bob, "send-shares-to", None), [carol]);
}

#[test]
fn a_withdrawn_recommendation_removes_its_edge() {
    let mut alice = holding(1, Vec::new());
    let bob = key(2).id();
    recommend(&mut alice, bob, "send-shares-to").unwrap();
    recommend(&mut alice, bob, "accept-shares-from").unwrap();
    assert_eq!(reached(&alice, "send-shares-to", None), [bob]);
    alice.unrecommend(Instant::ZERO, bob, "send-shares-to", 2).unwrap();
    assert!(reached(&alice, "send-shares-to", None).is_empty());
    assert_eq!(reached(&alice, "accept-shares-from", None), [bob], "the other kind stays");
    let again = alice.unrecommend(Instant::ZERO, bob, "send-shares-to", 3).unwrap_err();
    assert!(again.to_string().contains("is not recommended for \"send-shares-to\""), "{again}");

    alice.withdraw(Instant::ZERO, GRID_CONTROL_SERVICE, 4).unwrap();
    assert!(alice.recommendations().is_empty(), "a withdrawn announcement recommends nothing");
    assert!(reached(&alice, "accept-shares-from", None).is_empty());
}

#[test]
fn a_managers_list_is_versioned_and_its_newest_version_wins() {
    let manager = key(9);
    let (server_a, server_b) = (key(2).id(), key(3).id());
    let mut keeper = holding(1, Vec::new());
    let first = ManagerList::default().with(server_a).unwrap().with(server_b).unwrap();
    assert_eq!(
        keeper.publish_manager_list(Instant::ZERO, &manager, &first, 1),
        Ok(Version::new(0, 1))
    );
    let v1 = published(&mut keeper);
    let second = first.without(server_a).unwrap();
    assert_eq!(
        keeper.publish_manager_list(Instant::ZERO, &manager, &second, 2),
        Ok(Version::new(0, 2))
    );
    let v2 = published(&mut keeper);
    assert_eq!(
        v2[0].record.origin,
        manager.id(),
        "the list is the manager's record, not the node's"
    );

    // A follower that hears the versions in either order keeps the newest.
    let follower = holding(4, [v2.clone(), v1.clone()].concat());
    assert_eq!(follower.manager_list(manager.id()), Some((Version::new(0, 2), second.clone())));
    // Another node that holds the key counts on from the newest version it holds.
    let mut other_keeper = holding(5, v2);
    let third = second.with(server_a).unwrap();
    assert_eq!(
        other_keeper.publish_manager_list(Instant::ZERO, &manager, &third, 3),
        Ok(Version::new(0, 3))
    );
    assert!(holding(6, v1).manager_list(key(8).id()).is_none(), "an unknown manager has no list");
}

/// Hands `records` to `node` as one anti-entropy push from `from`.
fn push(node: &mut Node, from: NodeId, records: &[SignedRecord]) {
    use herald_core::anti_entropy::AntiEntropyMessage;
    use herald_core::wire::{self, Message};
    let records = records.iter().cloned().map(std::sync::Arc::new).collect();
    let message = Message::AntiEntropy(AntiEntropyMessage::Records { records, more: false });
    let bytes = wire::encode(&message).unwrap().into();
    node.handle(Instant::ZERO, herald_core::Input::Frame { from, bytes });
}

fn announcement_of(seed: u8, service: &str) -> SignedRecord {
    let mut node = holding(seed, Vec::new());
    let announcement = Announcement {
        service: service.into(),
        payload: br#"{"furl": "pb://x"}"#.to_vec(),
        issued_at_ms: 1,
        seq: None,
    };
    node.announce(Instant::ZERO, announcement).unwrap();
    published(&mut node).remove(0)
}

#[test]
fn with_the_policy_on_only_reachable_origins_announcements_are_kept() {
    let config = Config {
        grid_control: herald_core::grid_control::GridControlConfig {
            forward_only_reachable: Some("send-shares-to".into()),
        },
        ..Config::default()
    };
    let mut alice = Node::new(key(1), config, 1, Instant::ZERO);
    let (bob, carol) = (key(2).id(), key(3).id());
    recommend(&mut alice, bob, "send-shares-to").unwrap();
    published(&mut alice);
    let held = |node: &Node, seed: u8| node.records().of_origin(key(seed).id()).count();

    push(&mut alice, bob, &[announcement_of(2, "storage"), announcement_of(3, "storage")]);
    assert_eq!((held(&alice, 2), held(&alice, 3)), (1, 0), "bob's is kept, carol's refused");
    assert_eq!(alice.stats().records_unreachable, 1);

    // Bob recommends carol: her announcement is kept when it comes again.
    let mut bob_node = holding(2, Vec::new());
    recommend(&mut bob_node, carol, "send-shares-to").unwrap();
    push(&mut alice, bob, &published(&mut bob_node));
    push(&mut alice, bob, &[announcement_of(3, "storage")]);
    assert_eq!(held(&alice, 3), 1, "carol is reachable through bob now");

    // Without the policy, everything is kept.
    let mut open = Node::new(key(5), Config::default(), 1, Instant::ZERO);
    push(&mut open, bob, &[announcement_of(4, "storage")]);
    assert_eq!((held(&open, 4), open.stats().records_unreachable), (1, 0));
}

#[test]
fn with_the_policy_on_a_withdrawal_of_a_held_announcement_passes() {
    let config = Config {
        grid_control: herald_core::grid_control::GridControlConfig {
            forward_only_reachable: Some("send-shares-to".into()),
        },
        ..Config::default()
    };
    // Alice holds carol's announcement (from before the policy, say) but does not reach her.
    let storage = announcement_of(3, "storage");
    let snapshot = Snapshot { records: vec![storage], ..Snapshot::default() };
    let mut alice = Node::restore(key(1), config, 1, Instant::ZERO, snapshot);
    let mut carol = holding(3, Vec::new());
    carol
        .announce(
            Instant::ZERO,
            Announcement {
                service: "storage".into(),
                payload: b"{}".to_vec(),
                issued_at_ms: 1,
                seq: None,
            },
        )
        .unwrap();
    carol.withdraw(Instant::ZERO, "storage", 2).unwrap();
    let records = published(&mut carol);
    let withdrawal = records.last().unwrap().clone();
    push(&mut alice, key(2).id(), &[withdrawal]);
    let slot = herald_core::SlotKey::of(records.last().unwrap());
    let held = alice.records().get(&slot).expect("the slot is held");
    assert!(held.record.kind.is_tombstone(), "the withdrawal replaced what alice held");
    // A new announcement of hers is still refused.
    push(&mut alice, key(2).id(), &[announcement_of(3, "web")]);
    assert_eq!(alice.stats().records_unreachable, 1);
}
