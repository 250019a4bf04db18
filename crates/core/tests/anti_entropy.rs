//! Anti-entropy, driven by hand through the `AntiEntropy` state machine's public API, with messages
//! shuttled between replicas that each own a `RecordSet`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use herald_core::anti_entropy::{
    AntiEntropy, AntiEntropyMessage, AntiEntropyOutput, RECENT_PARTNERS_MAX,
};
use herald_core::{
    AntiEntropyConfig, Digest, FINGERPRINT_BUCKETS, Instant, Keypair, NodeId, Record, RecordKind,
    RecordSet, Rng, SignedRecord, Version, bucket_of,
};

fn keypair(origin: u8) -> Keypair {
    Keypair::from_secret([origin; 32])
}

fn origin(n: u8) -> NodeId {
    keypair(n).id()
}

fn record(origin: u8, key: &str, seq: u64, payload_len: usize) -> SignedRecord {
    let keypair = keypair(origin);
    Record {
        origin: keypair.id(),
        kind: RecordKind::Announcement,
        key: key.to_owned(),
        version: Version::new(0, seq),
        issued_at_ms: 1_700_000_000_000,
        payload: vec![b'x'; payload_len],
    }
    .sign(&keypair)
    .unwrap()
}

fn secs(seconds: u64) -> Instant {
    Instant::from_micros(seconds * 1_000_000)
}

/// One node's anti-entropy with the records it holds.
struct Replica {
    id: NodeId,
    sync: AntiEntropy,
    records: RecordSet,
    rng: Rng,
    /// Records received that were new to the set.
    repaired: usize,
}

impl Replica {
    fn new(n: u8, config: AntiEntropyConfig) -> Replica {
        Replica {
            id: NodeId::from_bytes([n; 32]),
            sync: AntiEntropy::new(config, Instant::ZERO),
            records: RecordSet::new(),
            rng: Rng::from_seed(u64::from(n)),
            repaired: 0,
        }
    }

    fn hold(&mut self, records: impl IntoIterator<Item = SignedRecord>) {
        for record in records {
            self.records.merge(Arc::new(record));
        }
    }

    /// Starts a round if one is due, towards `peer`.
    fn round(&mut self, now: Instant, peer: NodeId) -> Vec<AntiEntropyOutput> {
        let mut out = Vec::new();
        self.sync.on_timeout(now, &[peer], &self.records, &mut self.rng, &mut out);
        out
    }

    /// Handles a message as the node does: records carried are verified and merged.
    fn deliver(
        &mut self,
        now: Instant,
        from: NodeId,
        message: AntiEntropyMessage,
    ) -> Vec<AntiEntropyOutput> {
        let mut out = Vec::new();
        let received = self.sync.handle(now, from, message, &self.records, &mut self.rng, &mut out);
        for record in received {
            record.verify().expect("anti-entropy carries only signed records");
            if self.records.merge(record).stored() {
                self.repaired += 1;
            }
        }
        out
    }

    fn digests(&self) -> Vec<Digest> {
        self.records.iter().map(|record| record.digest()).collect()
    }
}

/// Shuttles messages between `a` and `b`, starting with `first` sent by `a`, until neither has
/// anything more to say. Returns every message delivered, in order, as (from, message).
fn shuttle(
    a: &mut Replica,
    b: &mut Replica,
    now: Instant,
    first: Vec<AntiEntropyOutput>,
) -> Vec<(NodeId, AntiEntropyMessage)> {
    let mut queue: VecDeque<(NodeId, NodeId, AntiEntropyMessage)> =
        first.into_iter().map(|AntiEntropyOutput::Send(to, message)| (a.id, to, message)).collect();
    let mut delivered = Vec::new();
    while let Some((from, to, message)) = queue.pop_front() {
        assert!(delivered.len() < 1000, "the exchange never quiets down");
        delivered.push((from, message.clone()));
        let replica = if to == a.id { &mut *a } else { &mut *b };
        assert_eq!(replica.id, to, "a message to a node outside the pair");
        let sender = replica.id;
        for AntiEntropyOutput::Send(next, message) in replica.deliver(now, from, message) {
            queue.push_back((sender, next, message));
        }
    }
    delivered
}

fn records_pushed(out: &[AntiEntropyOutput]) -> Vec<(Vec<Arc<SignedRecord>>, bool)> {
    out.iter()
        .filter_map(|AntiEntropyOutput::Send(_, message)| match message {
            AntiEntropyMessage::Records { records, more } => Some((records.clone(), *more)),
            _ => None,
        })
        .collect()
}

/// A digest page as (start, end, origins listed).
fn page(message: &AntiEntropyMessage) -> (Option<NodeId>, Option<NodeId>, Vec<NodeId>) {
    match message {
        AntiEntropyMessage::Digest { start, end, entries } => {
            (*start, *end, entries.iter().map(|(origin, _, _)| *origin).collect())
        }
        other => panic!("not a digest page: {other:?}"),
    }
}

#[test]
fn a_round_sends_the_root_fingerprint_to_a_listed_peer_once_per_interval() {
    let config = AntiEntropyConfig::default();
    let mut sync = AntiEntropy::new(config.clone(), Instant::ZERO);
    let mut records = RecordSet::new();
    records.merge(Arc::new(record(1, "a", 1, 10)));
    let peers = [NodeId::from_bytes([7; 32]), NodeId::from_bytes([8; 32])];
    let mut rng = Rng::from_seed(1);

    let mut out = Vec::new();
    sync.on_timeout(Instant::ZERO + config.interval / 2, &peers, &records, &mut rng, &mut out);
    assert!(out.is_empty(), "no round before the interval");
    assert_eq!(sync.poll_timeout(), Instant::ZERO + config.interval);

    let mut chosen = std::collections::BTreeSet::new();
    for round in 1..=20u32 {
        let now = Instant::ZERO + config.interval * round;
        let mut out = Vec::new();
        sync.on_timeout(now, &peers, &records, &mut rng, &mut out);
        assert_eq!(out.len(), 1);
        let AntiEntropyOutput::Send(to, message) = &out[0];
        assert!(peers.contains(to));
        assert_eq!(message, &AntiEntropyMessage::Root { fingerprint: records.fingerprint() });
        assert_eq!(sync.poll_timeout(), now + config.interval);
        chosen.insert(*to);
    }
    assert_eq!(sync.rounds(), 20);
    assert_eq!(chosen.len(), 2, "the peer is drawn at random from the list");
}

#[test]
fn the_partners_of_the_last_rounds_are_remembered_newest_first() {
    let config = AntiEntropyConfig::default();
    let mut sync = AntiEntropy::new(config.clone(), Instant::ZERO);
    let records = RecordSet::new();
    let mut rng = Rng::from_seed(3);
    assert_eq!(sync.recent_partners().count(), 0);
    let mut sent = Vec::new();
    for round in 1..=12u32 {
        let peers = [NodeId::from_bytes([round as u8; 32])];
        let mut out = Vec::new();
        sync.on_timeout(
            Instant::ZERO + config.interval * round,
            &peers,
            &records,
            &mut rng,
            &mut out,
        );
        let AntiEntropyOutput::Send(to, _) = &out[0];
        sent.push((u64::from(round), *to));
    }
    let remembered: Vec<(u64, NodeId)> = sync.recent_partners().collect();
    let expected: Vec<(u64, NodeId)> =
        sent.iter().rev().take(RECENT_PARTNERS_MAX).copied().collect();
    assert_eq!(remembered, expected);
}

#[test]
fn a_round_without_peers_sends_nothing_and_waits_a_full_interval() {
    let config = AntiEntropyConfig::default();
    let mut sync = AntiEntropy::new(config.clone(), Instant::ZERO);
    let mut out = Vec::new();
    let now = Instant::ZERO + config.interval;
    sync.on_timeout(now, &[], &RecordSet::new(), &mut Rng::from_seed(1), &mut out);
    assert!(out.is_empty());
    assert_eq!(sync.rounds(), 0);
    assert_eq!(sync.poll_timeout(), now + config.interval);
}

#[test]
fn a_peer_holding_the_same_records_answers_a_root_with_nothing() {
    let mut a = Replica::new(1, AntiEntropyConfig::default());
    let mut b = Replica::new(2, AntiEntropyConfig::default());
    let shared = [record(10, "a", 1, 10), record(11, "b", 3, 10)];
    a.hold(shared.clone());
    b.hold(shared);
    let first = a.round(secs(1), b.id);
    let delivered = shuttle(&mut a, &mut b, secs(1), first);
    assert_eq!(delivered.len(), 1, "only the root goes out: {delivered:?}");
}

#[test]
fn a_peer_that_differs_answers_a_root_with_a_digest_page_of_its_origins() {
    let mut b = Replica::new(2, AntiEntropyConfig::default());
    b.hold([record(10, "a", 1, 10), record(11, "b", 1, 10)]);
    let out = b.deliver(
        secs(1),
        NodeId::from_bytes([1; 32]),
        AntiEntropyMessage::Root { fingerprint: 0 },
    );
    assert_eq!(out.len(), 1);
    let AntiEntropyOutput::Send(to, message) = &out[0];
    assert_eq!(*to, NodeId::from_bytes([1; 32]));
    let expected: Vec<(NodeId, u64, Version)> = b
        .records
        .origins()
        .map(|(origin, summary)| (*origin, summary.fingerprint, summary.high))
        .collect();
    assert_eq!(message, &AntiEntropyMessage::Digest { start: None, end: None, entries: expected });
}

#[test]
fn two_replicas_that_differ_converge_within_two_exchanges() {
    let mut a = Replica::new(1, AntiEntropyConfig::default());
    let mut b = Replica::new(2, AntiEntropyConfig::default());
    // Origin 10 only at a; origin 11 newer at b, with a slot a lacks; origin 12 the same at
    // both; origin 13 only at b.
    a.hold([record(10, "a", 1, 10), record(11, "x", 1, 10), record(12, "z", 1, 10)]);
    b.hold([
        record(11, "x", 2, 10),
        record(11, "y", 1, 10),
        record(12, "z", 1, 10),
        record(13, "w", 1, 10),
    ]);
    let mut union = RecordSet::new();
    for record in a.records.iter().chain(b.records.iter()) {
        union.merge(record.clone());
    }
    let expected: Vec<Digest> = union.iter().map(|record| record.digest()).collect();
    assert_ne!(a.digests(), expected);
    assert_ne!(b.digests(), expected);

    let first = a.round(secs(1), b.id);
    let delivered = shuttle(&mut a, &mut b, secs(1), first);
    assert!(
        delivered.iter().any(|(_, m)| matches!(m, AntiEntropyMessage::Want { .. })),
        "{delivered:?}"
    );
    // y@1 lies below a's high for origin 11, so the first exchange sends only what is above
    // it; the highs are then equal with contents still different, and the second exchange
    // falls back to the whole origin.
    assert_ne!(a.digests(), expected);
    let second = a.round(secs(2), b.id);
    shuttle(&mut a, &mut b, secs(2), second);
    assert_eq!(a.digests(), expected);
    assert_eq!(b.digests(), expected);
    assert_eq!(a.records.fingerprint(), b.records.fingerprint());
    assert_eq!(a.repaired, 3, "x@2, y@1 and w@1 were new to a");
    assert_eq!(b.repaired, 1, "a@1 was new to b");

    // Converged replicas exchange one root and nothing else.
    let first = b.round(secs(2), a.id);
    assert_eq!(shuttle(&mut b, &mut a, secs(2), first).len(), 1);
}

#[test]
fn a_push_is_bounded_by_push_bytes_max_and_says_there_is_more() {
    let config = AntiEntropyConfig { push_bytes_max: 3500, ..AntiEntropyConfig::default() };
    let mut b = Replica::new(2, config.clone());
    b.hold((0..10).map(|n| record(10, &format!("k{n}"), 1, 1000)));
    let size = b.records.iter().next().unwrap().encoded_len_max();
    assert_eq!(config.push_bytes_max / size, 3, "the test needs three records per push");

    let out = b.deliver(
        secs(1),
        NodeId::from_bytes([1; 32]),
        AntiEntropyMessage::Want { origins: vec![(origin(10), None)] },
    );
    let pushes = records_pushed(&out);
    assert_eq!(pushes.len(), 1);
    let (records, more) = &pushes[0];
    assert_eq!(records.len(), 3);
    assert!(
        records.iter().map(|record| record.encoded_len_max()).sum::<usize>()
            <= config.push_bytes_max
    );
    assert!(*more);
}

#[test]
fn a_push_that_fits_says_there_is_no_more() {
    let mut b = Replica::new(2, AntiEntropyConfig::default());
    b.hold((0..10).map(|n| record(10, &format!("k{n}"), 1, 1000)));
    let out = b.deliver(
        secs(1),
        NodeId::from_bytes([1; 32]),
        AntiEntropyMessage::Want { origins: vec![(origin(10), None)] },
    );
    let pushes = records_pushed(&out);
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].0.len(), 10);
    assert!(!pushes[0].1);
}

#[test]
fn a_single_record_larger_than_the_bound_is_still_pushed_alone() {
    let config = AntiEntropyConfig { push_bytes_max: 100, ..AntiEntropyConfig::default() };
    let mut b = Replica::new(2, config);
    b.hold([record(10, "a", 1, 1000), record(10, "b", 1, 1000)]);
    let out = b.deliver(
        secs(1),
        NodeId::from_bytes([1; 32]),
        AntiEntropyMessage::Want { origins: vec![(origin(10), None)] },
    );
    let pushes = records_pushed(&out);
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].0.len(), 1);
    assert!(pushes[0].1);
}

#[test]
fn more_to_come_starts_the_next_round_at_once_and_its_absence_does_not() {
    let config = AntiEntropyConfig::default();
    let mut a = Replica::new(1, config.clone());
    let peer = NodeId::from_bytes([2; 32]);
    let now = secs(1) + Duration::from_millis(300);
    a.deliver(now, peer, AntiEntropyMessage::Records { records: Vec::new(), more: false });
    assert_eq!(a.sync.poll_timeout(), Instant::ZERO + config.interval);

    a.deliver(
        now,
        peer,
        AntiEntropyMessage::Records { records: vec![Arc::new(record(10, "a", 1, 10))], more: true },
    );
    assert_eq!(a.sync.poll_timeout(), now);
    let out = a.round(now, peer);
    assert!(
        matches!(out.as_slice(), [AntiEntropyOutput::Send(_, AntiEntropyMessage::Root { .. })]),
        "{out:?}"
    );
    assert_eq!(a.sync.poll_timeout(), now + config.interval);
}

#[test]
fn a_newcomer_catches_up_in_back_to_back_rounds_when_pushes_are_bounded() {
    let config = AntiEntropyConfig { push_bytes_max: 3500, ..AntiEntropyConfig::default() };
    let mut newcomer = Replica::new(1, config.clone());
    let mut veteran = Replica::new(2, config.clone());
    veteran.hold((0..10).map(|n| record(10, &format!("k{n}"), 1, 1000)));
    veteran.hold((0..4).map(|n| record(11, &format!("k{n}"), 1, 1000)));

    let start = Instant::ZERO + config.interval;
    let mut rounds = 0;
    while newcomer.digests() != veteran.digests() {
        rounds += 1;
        assert!(rounds <= 100, "no convergence after 100 rounds");
        assert_eq!(newcomer.sync.poll_timeout(), start, "every catch-up round starts at once");
        let first = newcomer.round(start, veteran.id);
        shuttle(&mut newcomer, &mut veteran, start, first);
    }
    assert!(rounds >= 5, "14 records at 3 per push take at least 5 rounds, took {rounds}");
    assert_eq!(newcomer.records.len(), 14);
}

#[test]
fn a_newcomer_catches_up_across_several_digest_pages_and_bounded_pushes() {
    let config = AntiEntropyConfig {
        digest_page_max: 1,
        push_bytes_max: 3500,
        ..AntiEntropyConfig::default()
    };
    let mut newcomer = Replica::new(1, config.clone());
    let mut veteran = Replica::new(2, config.clone());
    for origin in 10..13 {
        veteran.hold((0..5).map(|n| record(origin, &format!("k{n}"), 1, 1000)));
    }

    let mut now = Instant::ZERO + config.interval;
    let mut rounds = 0;
    while newcomer.digests() != veteran.digests() {
        rounds += 1;
        assert!(rounds <= 100, "no convergence after 100 rounds");
        now = newcomer.sync.poll_timeout().max(now);
        let first = newcomer.round(now, veteran.id);
        shuttle(&mut newcomer, &mut veteran, now, first);
    }
    assert_eq!(newcomer.records.len(), 15);
    assert!(rounds >= 5, "15 records at 3 per push take at least 5 rounds, took {rounds}");
}

#[test]
fn digest_pages_are_bounded_and_the_cursor_advances_and_wraps() {
    let config = AntiEntropyConfig { digest_page_max: 2, ..AntiEntropyConfig::default() };
    let mut b = Replica::new(2, config);
    b.hold((10..15).map(|n| record(n, "a", 1, 10)));
    let origins: Vec<NodeId> = b.records.origins().map(|(origin, _)| *origin).collect();
    assert_eq!(origins.len(), 5);

    let asker = NodeId::from_bytes([1; 32]);
    let mut pages = Vec::new();
    for _ in 0..4 {
        let out = b.deliver(secs(1), asker, AntiEntropyMessage::Root { fingerprint: 0 });
        assert_eq!(out.len(), 1);
        let AntiEntropyOutput::Send(_, message) = &out[0];
        pages.push(page(message));
    }
    assert_eq!(
        pages,
        vec![
            (None, Some(origins[2]), vec![origins[0], origins[1]]),
            (Some(origins[2]), Some(origins[4]), vec![origins[2], origins[3]]),
            (Some(origins[4]), None, vec![origins[4]]),
            (None, Some(origins[2]), vec![origins[0], origins[1]]),
        ]
    );
}

#[test]
fn a_digest_is_answered_only_for_the_origins_in_its_range() {
    let mut a = Replica::new(1, AntiEntropyConfig::default());
    a.hold((10..14).map(|n| record(n, "a", 1, 10)));
    let origins: Vec<NodeId> = a.records.origins().map(|(origin, _)| *origin).collect();
    let outsider = NodeId::from_bytes([0xff; 32]);
    let digest = AntiEntropyMessage::Digest {
        start: Some(origins[1]),
        end: Some(origins[3]),
        // Same high as ours, other contents: settled by listing what we hold of it.
        entries: vec![
            (origins[2], 12345, a.records.origin(&origins[2]).unwrap().high),
            (outsider, 1, Version::default()),
        ],
    };
    let out = a.deliver(secs(1), NodeId::from_bytes([2; 32]), digest);
    let pushes = records_pushed(&out);
    assert_eq!(pushes.len(), 1);
    let pushed: Vec<NodeId> = pushes[0].0.iter().map(|record| record.record.origin).collect();
    assert_eq!(pushed, vec![origins[1]], "only the origin the peer lacks is pushed whole");
    let others: Vec<&AntiEntropyMessage> = out
        .iter()
        .map(|AntiEntropyOutput::Send(_, message)| message)
        .filter(|message| !matches!(message, AntiEntropyMessage::Records { .. }))
        .collect();
    // Records are named by the first 8 bytes of their digest, read as little-endian.
    let head = |record: &SignedRecord| u64::from_le_bytes(record.digest()[..8].try_into().unwrap());
    let held = a.records.of_origin(origins[2]).map(|record| head(record)).collect();
    assert_eq!(
        others,
        vec![&AntiEntropyMessage::Held { origins: vec![(origins[2], held)], reply: false }],
        "an origin outside the range is never asked for"
    );
}

#[test]
fn equal_highs_with_different_contents_send_only_the_missing_records_both_ways() {
    let mut a = Replica::new(1, AntiEntropyConfig::default());
    let mut b = Replica::new(2, AntiEntropyConfig::default());
    let shared: Vec<SignedRecord> =
        (1..=20).map(|n| record(10, &format!("k{n}"), n, 100)).collect();
    let only_a = record(10, "only-a", 5, 100);
    let only_b = record(10, "only-b", 6, 100);
    a.hold(shared.iter().cloned().chain([only_a.clone()]));
    b.hold(shared.iter().cloned().chain([only_b.clone()]));
    assert_eq!(
        a.records.origin(&origin(10)).unwrap().high,
        b.records.origin(&origin(10)).unwrap().high
    );

    let first = a.round(secs(1), b.id);
    let delivered = shuttle(&mut a, &mut b, secs(1), first);

    assert_eq!(a.digests(), b.digests(), "the two converged");
    let mut copies: Vec<&SignedRecord> = delivered
        .iter()
        .flat_map(|(_, message)| match message {
            AntiEntropyMessage::Records { records, .. } => records.iter().map(|r| &**r).collect(),
            _ => Vec::new(),
        })
        .collect();
    copies.sort_by_key(|record| record.record.version);
    assert_eq!(copies, vec![&only_a, &only_b], "only the two missing records travelled");
}

#[test]
fn an_origin_too_large_to_list_is_sent_whole_both_ways() {
    let config = AntiEntropyConfig { held_list_max: 4, ..AntiEntropyConfig::default() };
    let mut a = Replica::new(1, config.clone());
    let mut b = Replica::new(2, config);
    let shared: Vec<SignedRecord> = (1..=5).map(|n| record(10, &format!("k{n}"), n, 100)).collect();
    a.hold(shared.iter().cloned().chain([record(10, "only-a", 2, 100)]));
    b.hold(shared.iter().cloned().chain([record(10, "only-b", 3, 100)]));

    let first = a.round(secs(1), b.id);
    let delivered = shuttle(&mut a, &mut b, secs(1), first);

    assert_eq!(a.digests(), b.digests(), "the two converged");
    assert!(
        !delivered.iter().any(|(_, message)| matches!(message, AntiEntropyMessage::Held { .. }))
    );
    let copies: usize = delivered
        .iter()
        .map(|(_, message)| match message {
            AntiEntropyMessage::Records { records, .. } => records.len(),
            _ => 0,
        })
        .sum();
    // Each side sent its whole origin (six records, seven for the side that answers second).
    assert!(copies >= 12, "only {copies} copies: the origin was not sent whole");
}

#[test]
fn a_fresh_record_is_left_to_broadcast_until_the_hold_has_passed() {
    let config = AntiEntropyConfig {
        fresh_hold: Duration::from_millis(800),
        ..AntiEntropyConfig::default()
    };
    let mut a = Replica::new(1, config);
    let fresh = record(10, "new", 1, 100);
    a.hold([fresh.clone()]);
    a.sync.note_stored(secs(1), &fresh);
    let asker = NodeId::from_bytes([2; 32]);
    let want = || AntiEntropyMessage::Want { origins: vec![(origin(10), None)] };

    let early = a.deliver(secs(1) + Duration::from_millis(799), asker, want());
    assert!(records_pushed(&early).is_empty(), "pushed while still fresh: {early:?}");
    let late = a.deliver(secs(1) + Duration::from_millis(800), asker, want());
    assert_eq!(records_pushed(&late), vec![(vec![Arc::new(fresh)], false)]);
}

#[test]
fn a_digest_that_matches_is_answered_with_nothing() {
    let mut a = Replica::new(1, AntiEntropyConfig::default());
    a.hold((10..13).map(|n| record(n, "a", 1, 10)));
    let entries: Vec<(NodeId, u64, Version)> = a
        .records
        .origins()
        .map(|(origin, summary)| (*origin, summary.fingerprint, summary.high))
        .collect();
    let digest = AntiEntropyMessage::Digest { start: None, end: None, entries };
    assert!(a.deliver(secs(1), NodeId::from_bytes([2; 32]), digest).is_empty());
}

#[test]
fn a_want_is_answered_with_the_records_of_the_wanted_origins_only() {
    let mut b = Replica::new(2, AntiEntropyConfig::default());
    b.hold([record(10, "a", 1, 10), record(10, "b", 1, 10), record(11, "a", 1, 10)]);
    let out = b.deliver(
        secs(1),
        NodeId::from_bytes([1; 32]),
        AntiEntropyMessage::Want { origins: vec![(origin(10), None), (origin(12), None)] },
    );
    let pushes = records_pushed(&out);
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].0.len(), 2);
    assert!(pushes[0].0.iter().all(|record| record.record.origin == origin(10)));
    assert!(!pushes[0].1);
}

/// One record from each of `count` origins, numbered from 100: more origins than buckets.
fn many_origins(count: u8) -> impl Iterator<Item = SignedRecord> {
    (0..count).map(|n| record(100 + n, "a", 1, 10))
}

/// The origins a replica holds that `covered` selects.
fn origins_where(replica: &Replica, covered: impl Fn(&NodeId) -> bool) -> Vec<NodeId> {
    replica.records.origins().map(|(origin, _)| *origin).filter(|origin| covered(origin)).collect()
}

#[test]
fn a_peer_holding_more_origins_than_buckets_answers_a_differing_root_with_bucket_fingerprints() {
    let mut b = Replica::new(2, AntiEntropyConfig::default());
    b.hold(many_origins(100));
    assert!(b.records.origin_count() > FINGERPRINT_BUCKETS);
    let out = b.deliver(secs(1), origin(1), AntiEntropyMessage::Root { fingerprint: 0 });
    let fingerprints = b.records.bucket_fingerprints().to_vec();
    assert_eq!(
        out,
        vec![AntiEntropyOutput::Send(origin(1), AntiEntropyMessage::Buckets { fingerprints })]
    );
}

#[test]
fn replicas_that_differ_in_one_origin_list_only_its_bucket_and_converge() {
    let mut a = Replica::new(1, AntiEntropyConfig::default());
    let mut b = Replica::new(2, AntiEntropyConfig::default());
    a.hold(many_origins(100));
    b.hold(many_origins(100));
    b.hold([record(120, "a", 2, 10)]);
    let changed = bucket_of(&origin(120));

    let first = a.round(secs(1), b.id);
    let delivered = shuttle(&mut a, &mut b, secs(1), first);
    let digests: Vec<&AntiEntropyMessage> = delivered
        .iter()
        .map(|(_, message)| message)
        .filter(|message| matches!(message, AntiEntropyMessage::BucketDigest { .. }))
        .collect();
    let expected = origins_where(&a, |origin| bucket_of(origin) == changed);
    assert!(expected.len() < 10, "a bucket holds a few of the 100 origins");
    match digests.as_slice() {
        [AntiEntropyMessage::BucketDigest { buckets, entries }] => {
            assert_eq!(*buckets, 1 << changed);
            let listed: Vec<NodeId> = entries.iter().map(|(origin, _, _)| *origin).collect();
            assert_eq!(listed, expected);
        }
        other => panic!("expected one bucket digest: {other:?}"),
    }
    assert_eq!(a.digests(), b.digests());
    assert_eq!(a.repaired, 1);
}

#[test]
fn a_digest_of_differing_buckets_covers_whole_buckets_within_digest_page_max() {
    for page_max in [1, 3, 1000] {
        let config =
            AntiEntropyConfig { digest_page_max: page_max, ..AntiEntropyConfig::default() };
        let mut a = Replica::new(1, config);
        a.hold(many_origins(100));
        // A list with no buckets: every bucket differs.
        let out =
            a.deliver(secs(1), origin(2), AntiEntropyMessage::Buckets { fingerprints: Vec::new() });
        let [AntiEntropyOutput::Send(_, message)] = out.as_slice() else {
            panic!("one digest expected: {out:?}")
        };
        let (listed, covered) = match message {
            AntiEntropyMessage::BucketDigest { buckets, entries } => {
                let covered = origins_where(&a, |origin| buckets & (1 << bucket_of(origin)) != 0);
                (entries.len(), covered)
            }
            AntiEntropyMessage::Digest { .. } => {
                let (start, end, listed) = page(message);
                let covered = origins_where(&a, |origin| {
                    start.is_none_or(|s| *origin >= s) && end.is_none_or(|e| *origin < e)
                });
                assert_eq!(listed, covered);
                (listed.len(), covered)
            }
            other => panic!("not a digest: {other:?}"),
        };
        assert!(listed <= page_max, "{listed} origins listed, at most {page_max}");
        assert_eq!(listed, covered.len(), "every origin of what is covered is listed");
        assert!(listed > 0);
        if page_max == 1000 {
            assert_eq!(listed, 100, "everything fits");
        }
    }
}
