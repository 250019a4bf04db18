//! Plumtree (and the flood and gossip baselines), driven by hand through the `Broadcast` state
//! machine's public API.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use herald_core::broadcast::{
    Arrived, Broadcast, BroadcastMessage, BroadcastOutput, Link, ShortId, UNKNOWN_ROUND,
};
use herald_core::{
    BroadcastConfig, BroadcastMode, Digest, Instant, Keypair, NodeId, Record, RecordKind, Rng,
    SignedRecord, Version,
};

fn id(n: u8) -> NodeId {
    NodeId::from_bytes([n; 32])
}

fn ids(range: impl IntoIterator<Item = u8>) -> BTreeSet<NodeId> {
    range.into_iter().map(id).collect()
}

fn ms(millis: u64) -> Instant {
    Instant::from_micros(millis * 1000)
}

/// The node id of the origin `record(origin, _)` signs as.
fn origin_of(origin: u8) -> NodeId {
    Keypair::from_secret([origin; 32]).id()
}

/// A signed announcement of origin `origin`, distinct for every `seq`.
fn record(origin: u8, seq: u64) -> Arc<SignedRecord> {
    let keypair = Keypair::from_secret([origin; 32]);
    let record = Record {
        origin: keypair.id(),
        kind: RecordKind::Announcement,
        key: "storage".to_owned(),
        version: Version::new(0, seq),
        issued_at_ms: 1_700_000_000_000,
        payload: br#"{"port":80}"#.to_vec(),
    };
    Arc::new(record.sign(&keypair).unwrap())
}

fn plumtree() -> Broadcast {
    Broadcast::new(BroadcastConfig::default())
}

/// A broadcast whose eager peers are `eager` and whose lazy peers are `lazy`.
fn with_links(
    config: BroadcastConfig,
    eager: impl IntoIterator<Item = u8>,
    lazy: impl IntoIterator<Item = u8>,
) -> Broadcast {
    let mut broadcast = Broadcast::new(config);
    for peer in eager {
        broadcast.neighbor_up(Instant::ZERO, id(peer));
    }
    for peer in lazy {
        broadcast.neighbor_up(Instant::ZERO, id(peer));
        let mut out = Vec::new();
        broadcast.handle_control(
            Instant::ZERO,
            id(peer),
            BroadcastMessage::Prune { origin: origin_of(9) },
            &mut out,
        );
        assert!(out.is_empty());
    }
    broadcast
}

fn spread(
    broadcast: &mut Broadcast,
    now: Instant,
    record: &Arc<SignedRecord>,
    from: Option<u8>,
    round: u16,
) -> Vec<BroadcastOutput> {
    let mut out = Vec::new();
    let arrived = Arrived { record: record.clone(), from: from.map(id), round };
    broadcast.spread(now, arrived, &[], &mut Rng::from_seed(0), &mut out);
    out
}

fn control(
    broadcast: &mut Broadcast,
    now: Instant,
    from: u8,
    message: BroadcastMessage,
) -> Vec<BroadcastOutput> {
    let mut out = Vec::new();
    broadcast.handle_control(now, id(from), message, &mut out);
    out
}

/// A copy of `record` arrived again from `from`, `hops` from its origin.
fn duplicate(
    broadcast: &mut Broadcast,
    record: &Arc<SignedRecord>,
    from: u8,
    hops: u16,
) -> Vec<BroadcastOutput> {
    duplicate_at(broadcast, ms(0), record, from, hops)
}

/// A copy of `record` arrived again from `from` at `now`, `hops` from its origin.
fn duplicate_at(
    broadcast: &mut Broadcast,
    now: Instant,
    record: &Arc<SignedRecord>,
    from: u8,
    hops: u16,
) -> Vec<BroadcastOutput> {
    let mut out = Vec::new();
    broadcast.duplicate(now, &record.digest(), id(from), hops, &mut out);
    out
}

/// The one message a prune of the link to `peer` in origin 9's tree sends.
fn prune_of(peer: u8) -> Vec<BroadcastOutput> {
    vec![BroadcastOutput::Send(id(peer), BroadcastMessage::Prune { origin: origin_of(9) })]
}

fn timeout(broadcast: &mut Broadcast, now: Instant) -> Vec<BroadcastOutput> {
    let mut out = Vec::new();
    broadcast.on_timeout(now, &mut out);
    out
}

fn ihave(id: Digest, round: u16) -> BroadcastMessage {
    BroadcastMessage::IHave { entries: vec![(ShortId::of(&id), round)] }
}

fn graft(id: Digest) -> BroadcastMessage {
    BroadcastMessage::Graft { id: ShortId::of(&id) }
}

/// Peers that were sent the whole record.
fn pushed_to(out: &[BroadcastOutput]) -> BTreeSet<NodeId> {
    out.iter()
        .filter_map(|BroadcastOutput::Send(to, message)| {
            matches!(message, BroadcastMessage::Gossip { .. }).then_some(*to)
        })
        .collect()
}

fn count_pushes(out: &[BroadcastOutput]) -> usize {
    out.iter()
        .filter(|BroadcastOutput::Send(_, message)| {
            matches!(message, BroadcastMessage::Gossip { .. })
        })
        .count()
}

/// Every control message sent, in order.
fn controls(out: &[BroadcastOutput]) -> Vec<(NodeId, BroadcastMessage)> {
    out.iter()
        .filter(|BroadcastOutput::Send(_, message)| {
            !matches!(message, BroadcastMessage::Gossip { .. })
        })
        .map(|BroadcastOutput::Send(to, message)| (*to, message.clone()))
        .collect()
}

#[test]
fn new_neighbours_start_eager_and_leave_both_sets_when_they_go() {
    let mut broadcast = plumtree();
    broadcast.neighbor_up(Instant::ZERO, id(1));
    broadcast.neighbor_up(Instant::ZERO, id(2));
    assert_eq!(broadcast.eager(), &ids([1, 2]));
    assert!(broadcast.lazy().is_empty());

    control(&mut broadcast, Instant::ZERO, 2, BroadcastMessage::Prune { origin: origin_of(9) });
    broadcast.neighbor_down(id(1));
    broadcast.neighbor_down(id(2));
    assert!(broadcast.eager().is_empty());
    assert!(broadcast.lazy().is_empty());

    // A neighbour that comes back starts eager again, whatever it was before.
    broadcast.neighbor_up(Instant::ZERO, id(2));
    assert_eq!(broadcast.eager(), &ids([2]));
}

#[test]
fn spread_pushes_to_eager_peers_but_the_sender_and_announces_to_lazy_peers_after_the_interval() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1, 2, 3], [4, 5]);
    let record = record(9, 1);
    let now = ms(1000);

    let out = spread(&mut broadcast, now, &record, Some(1), 2);
    assert_eq!(pushed_to(&out), ids([2, 3]));
    assert!(out.contains(&BroadcastOutput::Send(
        id(2),
        BroadcastMessage::Gossip { round: 2, record: record.clone() }
    )));
    assert!(controls(&out).is_empty(), "IHAVE waits for the batch: {out:?}");
    assert!(broadcast.has_seen(&record.digest()));
    assert_eq!(broadcast.poll_timeout(), Some(now + config.ihave_interval));

    assert!(
        timeout(&mut broadcast, now + config.ihave_interval - Duration::from_millis(1)).is_empty()
    );
    let out = timeout(&mut broadcast, now + config.ihave_interval);
    let announcement = ihave(record.digest(), 2);
    assert_eq!(controls(&out), vec![(id(4), announcement.clone()), (id(5), announcement)]);
    assert_eq!(broadcast.poll_timeout(), None);
}

#[test]
fn after_a_neighbour_failed_a_new_one_is_told_of_the_records_spread_within_the_window() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1, 4], []);
    let old = record(9, 1);
    let recent = record(9, 2);
    let relayed = record(8, 1);
    spread(&mut broadcast, ms(0), &old, None, 0);
    spread(&mut broadcast, ms(600), &recent, None, 0);
    spread(&mut broadcast, ms(700), &relayed, Some(1), 3);
    timeout(&mut broadcast, ms(800));

    // Without a failure, a new neighbour is told of nothing.
    broadcast.neighbor_up(ms(900), id(5));
    assert_eq!(broadcast.poll_timeout(), None);

    broadcast.neighbor_failed(ms(1000));
    broadcast.neighbor_down(id(4));

    // At 1.2 s the first record is older than the window; the others are announced with the
    // round they came at.
    let now = ms(1200);
    broadcast.neighbor_up(now, id(2));
    assert_eq!(broadcast.poll_timeout(), Some(now + config.ihave_interval));
    let out = timeout(&mut broadcast, now + config.ihave_interval);
    let entries = vec![(ShortId::of(&recent.digest()), 0), (ShortId::of(&relayed.digest()), 3)];
    assert_eq!(controls(&out), vec![(id(2), BroadcastMessage::IHave { entries })]);

    // Past the window nothing is announced to a new neighbour.
    broadcast.neighbor_up(ms(2000), id(3));
    assert_eq!(broadcast.poll_timeout(), None);
}

#[test]
fn records_spread_within_one_interval_share_one_ihave() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1], [4]);
    let (first, second) = (record(8, 1), record(9, 1));
    spread(&mut broadcast, ms(0), &first, None, 0);
    spread(&mut broadcast, ms(10), &second, Some(1), 3);
    assert_eq!(broadcast.poll_timeout(), Some(ms(0) + config.ihave_interval));

    let out = timeout(&mut broadcast, ms(0) + config.ihave_interval);
    let entries = vec![(ShortId::of(&first.digest()), 0), (ShortId::of(&second.digest()), 3)];
    assert_eq!(controls(&out), vec![(id(4), BroadcastMessage::IHave { entries })]);
}

#[test]
fn ihave_batches_are_cut_at_ihave_batch_max() {
    let config = BroadcastConfig { ihave_batch_max: 2, ..BroadcastConfig::default() };
    let mut broadcast = with_links(config.clone(), [], [4]);
    for seq in 1..=5 {
        spread(&mut broadcast, ms(0), &record(9, seq), None, 0);
    }
    let out = timeout(&mut broadcast, ms(0) + config.ihave_interval);
    let sizes: Vec<usize> = out
        .iter()
        .map(|BroadcastOutput::Send(_, message)| match message {
            BroadcastMessage::IHave { entries } => entries.len(),
            other => panic!("not an IHAVE: {other:?}"),
        })
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
}

#[test]
fn a_record_from_a_lazy_peer_makes_its_link_eager() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1], [4]);
    let record = record(9, 1);
    let out = spread(&mut broadcast, ms(0), &record, Some(4), 1);
    assert_eq!(broadcast.eager(), &ids([1, 4]));
    assert!(broadcast.lazy().is_empty());
    assert_eq!(pushed_to(&out), ids([1]), "never back to the sender");
}

#[test]
fn a_duplicate_asks_its_sender_to_stop_pushing_the_origin_once() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1, 2], []);
    let record = record(9, 1);
    spread(&mut broadcast, ms(0), &record, Some(1), 1);

    let out = duplicate(&mut broadcast, &record, 2, 1);
    assert_eq!(out, prune_of(2));
    assert_eq!(broadcast.repairs(), (0, 1));
    assert_eq!(broadcast.eager(), &ids([1, 2]), "a prune sent changes what its receiver pushes");

    // A further copy from node 2 was on its way before the prune reached it.
    let out = duplicate(&mut broadcast, &record, 2, 1);
    assert!(out.is_empty());
    assert_eq!(broadcast.repairs(), (0, 1));
}

/// A burst from one origin: this node prunes peer 2 on a duplicate of the first record while
/// peer 2's pushes of later records are already on their way. One of them comes before the
/// tree's copy from peer 1. In the paper's symmetric links, the tree's copy, now a duplicate,
/// would prune peer 1 too, and this node would fall off the tree for the rest of the burst.
#[test]
fn a_push_still_on_its_way_from_a_pruned_peer_does_not_cut_the_tree() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1, 2], []);
    let first = record(9, 1);
    spread(&mut broadcast, ms(0), &first, Some(1), 1);
    assert_eq!(duplicate(&mut broadcast, &first, 2, 1), prune_of(2));

    let second = record(9, 2);
    spread(&mut broadcast, ms(5), &second, Some(2), 1);
    let out = duplicate(&mut broadcast, &second, 1, 1);
    assert!(out.is_empty(), "the tree's copy prunes nothing: {out:?}");
    assert_eq!(broadcast.repairs(), (0, 1));
}

#[test]
fn a_pruned_peer_that_answers_a_graft_may_be_pruned_again() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1, 2], []);
    let first = record(9, 1);
    spread(&mut broadcast, ms(0), &first, Some(1), 1);
    assert_eq!(duplicate(&mut broadcast, &first, 2, 1), prune_of(2));

    // Node 1 goes quiet; node 2 announces the next record and is grafted for it.
    let second = record(9, 2);
    control(&mut broadcast, ms(100), 2, ihave(second.digest(), 1));
    let out = timeout(&mut broadcast, ms(100) + config.graft_timeout);
    assert_eq!(controls(&out), vec![(id(2), graft(second.digest()))]);
    spread(&mut broadcast, ms(400), &second, Some(2), 1);

    // Node 2 pushes origin 9 again, so a redundant copy from it is pruned again.
    let third = record(9, 3);
    spread(&mut broadcast, ms(500), &third, Some(1), 1);
    assert_eq!(duplicate_at(&mut broadcast, ms(500), &third, 2, 1), prune_of(2));
}

/// A peer asked to stop may be asked to push again without this node grafting it: the paper
/// turns a link eager when a record comes over it. Its redundant copies long after the prune
/// are pruned again, or they would go on for good.
#[test]
fn a_pruned_peer_still_pushing_long_after_is_pruned_again() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1, 2], []);
    let first = record(9, 1);
    spread(&mut broadcast, ms(0), &first, Some(1), 1);
    assert_eq!(duplicate_at(&mut broadcast, ms(0), &first, 2, 1), prune_of(2));

    let second = record(9, 2);
    spread(&mut broadcast, ms(900), &second, Some(1), 1);
    assert!(duplicate_at(&mut broadcast, ms(900), &second, 2, 1).is_empty(), "still on its way");
    let third = record(9, 3);
    spread(&mut broadcast, ms(5_000), &third, Some(1), 1);
    assert_eq!(duplicate_at(&mut broadcast, ms(5_000), &third, 2, 1), prune_of(2));
    assert_eq!(broadcast.repairs(), (0, 2));
}

#[test]
fn a_duplicate_over_a_shorter_path_prunes_the_link_of_the_first_copy() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1, 2, 3], []);
    let record = record(9, 1);
    spread(&mut broadcast, ms(0), &record, Some(1), 5);

    // Node 2's copy came later but by 3 hops instead of 5: the tree keeps node 2.
    let out = duplicate(&mut broadcast, &record, 2, 3);
    let off_1 = BroadcastMessage::Reroute { origin: origin_of(9), link: Link::Lazy };
    assert_eq!(out, vec![BroadcastOutput::Send(id(1), off_1)]);
    assert_eq!(broadcast.repairs(), (0, 1));

    // A third copy, no shorter than the best so far, prunes its own link.
    let out = duplicate(&mut broadcast, &record, 3, 3);
    assert_eq!(out, prune_of(3));
    assert_eq!(broadcast.repairs(), (0, 2));
}

#[test]
fn a_shorter_duplicate_from_outside_the_overlay_keeps_the_tree_link() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1, 2], []);
    let record = record(9, 1);
    spread(&mut broadcast, ms(0), &record, Some(1), 5);

    let out = duplicate(&mut broadcast, &record, 7, 2);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(broadcast.eager(), &ids([1, 2]));
}

#[test]
fn a_duplicate_of_a_record_first_repaired_by_anti_entropy_prunes_nothing() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1, 2], []);
    let record = record(9, 1);
    broadcast.repaired(ms(0), record.clone(), &mut Vec::new());
    assert!(broadcast.has_seen(&record.digest()));

    let out = duplicate(&mut broadcast, &record, 2, 1);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(broadcast.eager(), &ids([1, 2]));
    assert_eq!(broadcast.repairs(), (0, 0));
}

#[test]
fn ihave_for_an_unseen_record_starts_a_graft_timer_that_grafts_the_announcer() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1], [4]);
    let missing = record(9, 1);

    assert!(control(&mut broadcast, ms(100), 4, ihave(missing.digest(), 2)).is_empty());
    let deadline = ms(100) + config.graft_timeout;
    assert_eq!(broadcast.poll_timeout(), Some(deadline));
    assert!(timeout(&mut broadcast, deadline - Duration::from_millis(1)).is_empty());

    let out = timeout(&mut broadcast, deadline);
    assert_eq!(controls(&out), vec![(id(4), graft(missing.digest()))]);
    assert_eq!(broadcast.repairs(), (1, 0));
    // The link joins the tree when the record comes over it: only then is its origin known.
    assert_eq!(broadcast.eager(), &ids([1]));
    spread(&mut broadcast, deadline + Duration::from_millis(20), &missing, Some(4), 3);
    assert_eq!(broadcast.eager(), &ids([1, 4]));
    assert!(broadcast.lazy().is_empty());
}

#[test]
fn ihave_for_a_record_already_seen_starts_no_timer() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1], [4]);
    let record = record(9, 1);
    spread(&mut broadcast, ms(0), &record, Some(1), 1);
    timeout(&mut broadcast, ms(1000));
    assert!(control(&mut broadcast, ms(1000), 4, ihave(record.digest(), 0)).is_empty());
    assert_eq!(broadcast.poll_timeout(), None);
    assert!(timeout(&mut broadcast, ms(5000)).is_empty());
}

#[test]
fn a_record_arriving_before_the_graft_timeout_cancels_the_graft() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1], [4]);
    let record = record(9, 1);
    control(&mut broadcast, ms(0), 4, ihave(record.digest(), 1));
    spread(&mut broadcast, ms(50), &record, Some(1), 2);
    let out = timeout(&mut broadcast, ms(0) + config.graft_timeout * 10);
    assert!(
        out.iter().all(|BroadcastOutput::Send(_, m)| !matches!(m, BroadcastMessage::Graft { .. })),
        "{out:?}"
    );
    assert_eq!(broadcast.repairs(), (0, 0));
}

/// Grafts sent for one record before it is given up (broadcast's private
/// `GRAFTS_PER_RECORD_MAX`).
const GRAFTS_PER_RECORD_MAX: usize = 6;

#[test]
fn a_graft_that_brings_nothing_is_retried_with_the_announcers_in_turn_then_given_up() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1], [4, 5]);
    let missing = record(9, 1).digest();
    control(&mut broadcast, ms(0), 4, ihave(missing, 1));
    control(&mut broadcast, ms(10), 5, ihave(missing, 1));

    let mut now = ms(0) + config.graft_timeout;
    let mut grafted = Vec::new();
    for _ in 0..GRAFTS_PER_RECORD_MAX {
        assert_eq!(broadcast.poll_timeout(), Some(now));
        let out = timeout(&mut broadcast, now);
        assert_eq!(controls(&out).len(), 1, "{out:?}");
        let (to, message) = controls(&out).remove(0);
        assert_eq!(message, graft(missing));
        grafted.push(to);
        now = now + config.graft_retry;
    }
    assert_eq!(grafted, vec![id(4), id(5), id(4), id(5), id(4), id(5)]);
    assert_eq!(broadcast.repairs(), (GRAFTS_PER_RECORD_MAX as u64, 0));
    let out = timeout(&mut broadcast, now);
    assert!(out.is_empty(), "the record is given up: {out:?}");
    assert_eq!(broadcast.poll_timeout(), None);
}

#[test]
fn the_first_graft_goes_to_the_announcer_closest_to_the_origin() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1], [4, 5, 6]);
    let missing = record(9, 1).digest();
    control(&mut broadcast, ms(0), 4, ihave(missing, 7));
    control(&mut broadcast, ms(10), 5, ihave(missing, 3));
    control(&mut broadcast, ms(20), 6, ihave(missing, 5));

    let mut now = ms(0) + config.graft_timeout;
    let mut grafted = Vec::new();
    for _ in 0..3 {
        let (to, _) = controls(&timeout(&mut broadcast, now)).remove(0);
        grafted.push(to);
        now = now + config.graft_retry;
    }
    assert_eq!(grafted, vec![id(5), id(6), id(4)]);
}

#[test]
fn an_announcer_that_goes_away_is_not_grafted() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1], [4]);
    let missing = record(9, 1).digest();
    control(&mut broadcast, ms(0), 4, ihave(missing, 1));
    broadcast.neighbor_down(id(4));
    assert!(timeout(&mut broadcast, ms(0) + config.graft_timeout).is_empty());
    assert!(!broadcast.eager().contains(&id(4)));
}

#[test]
fn a_graft_is_answered_with_the_record_and_makes_the_link_eager() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1], [4]);
    let record = record(9, 1);
    spread(&mut broadcast, ms(0), &record, Some(1), 3);

    let out = control(&mut broadcast, ms(500), 4, graft(record.digest()));
    assert_eq!(
        out,
        vec![BroadcastOutput::Send(
            id(4),
            BroadcastMessage::Gossip { round: 3, record: record.clone() }
        )]
    );
    assert_eq!(broadcast.eager(), &ids([1, 4]));
    assert!(broadcast.lazy().is_empty());
}

#[test]
fn a_graft_for_an_unknown_record_is_answered_with_nothing_and_changes_no_tree() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1], [4]);
    let unknown = record(9, 1).digest();
    assert!(control(&mut broadcast, ms(0), 4, graft(unknown)).is_empty());
    assert_eq!(broadcast.eager(), &ids([1]));
}

#[test]
fn a_tree_graft_makes_the_link_eager_only_from_a_neighbour() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1], [4]);
    let tree_graft = BroadcastMessage::GraftTree { origin: origin_of(9) };
    assert!(control(&mut broadcast, ms(0), 4, tree_graft.clone()).is_empty());
    assert_eq!(broadcast.eager(), &ids([1, 4]));
    control(&mut broadcast, ms(0), 7, tree_graft);
    assert!(!broadcast.eager().contains(&id(7)));
}

#[test]
fn a_prune_makes_a_link_lazy() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1, 2], []);
    assert!(
        control(&mut broadcast, ms(0), 2, BroadcastMessage::Prune { origin: origin_of(9) })
            .is_empty()
    );
    assert_eq!(broadcast.eager(), &ids([1]));
    assert_eq!(broadcast.lazy(), &ids([2]));
    // Pruned links get announcements, not records.
    let record = record(9, 1);
    let out = spread(&mut broadcast, ms(0), &record, None, 0);
    assert_eq!(pushed_to(&out), ids([1]));
}

#[test]
fn the_seen_cache_is_bounded_and_forgets_the_oldest_first() {
    let config = BroadcastConfig { seen_cache_len_max: 3, ..BroadcastConfig::default() };
    let mut broadcast = with_links(config, [1], [4]);
    let records: Vec<_> = (1..=4).map(|seq| record(9, seq)).collect();
    for record in &records {
        spread(&mut broadcast, ms(0), record, None, 0);
    }
    assert!(!broadcast.has_seen(&records[0].digest()));
    assert!(records[1..].iter().all(|record| broadcast.has_seen(&record.digest())));

    // A forgotten record can no longer be served to a graft.
    assert!(control(&mut broadcast, ms(1), 4, graft(records[0].digest())).is_empty());
    assert_eq!(count_pushes(&control(&mut broadcast, ms(1), 4, graft(records[3].digest()))), 1);
}

#[test]
fn an_ihave_showing_a_much_shorter_path_re_routes_the_tree_onto_the_announcer() {
    let config = BroadcastConfig::default();
    let threshold = config.optimization_threshold;
    let mut broadcast = with_links(config, [1], [4]);
    let record = record(9, 1);
    control(&mut broadcast, ms(0), 4, ihave(record.digest(), 1));

    // The eager copy travelled 1 + threshold + 1 hops; the lazy path is 2 hops.
    let out = spread(&mut broadcast, ms(10), &record, Some(1), 1 + threshold + 1);
    assert_eq!(
        controls(&out),
        vec![
            (id(4), BroadcastMessage::Reroute { origin: origin_of(9), link: Link::Eager }),
            (id(1), BroadcastMessage::Reroute { origin: origin_of(9), link: Link::Lazy })
        ]
    );
    assert_eq!(broadcast.repairs(), (1, 1));
    let out = spread(&mut broadcast, ms(20), &self::record(9, 2), None, 0);
    assert!(pushed_to(&out).contains(&id(4)), "origin 9's tree now goes through node 4");
    // Node 1 was asked to stop: a copy from it that was already on its way prunes nothing.
    assert!(duplicate(&mut broadcast, &record, 1, 1 + threshold + 1).is_empty());
    assert_eq!(broadcast.repairs(), (1, 1));
}

#[test]
fn an_ihave_saving_fewer_hops_than_the_threshold_leaves_the_tree_alone() {
    let config = BroadcastConfig::default();
    let threshold = config.optimization_threshold;
    let mut broadcast = with_links(config, [1], [4]);
    let record = record(9, 1);
    control(&mut broadcast, ms(0), 4, ihave(record.digest(), 1));

    let out = spread(&mut broadcast, ms(10), &record, Some(1), 1 + threshold);
    assert!(controls(&out).is_empty(), "{out:?}");
    assert_eq!(broadcast.eager(), &ids([1]));
    assert_eq!(broadcast.lazy(), &ids([4]));
    assert_eq!(broadcast.repairs(), (0, 0));
}

#[test]
fn flood_pushes_to_every_neighbour_but_the_sender_and_announces_nothing() {
    let config = BroadcastConfig { mode: BroadcastMode::Flood, ..BroadcastConfig::default() };
    let mut broadcast = with_links(config, [1, 2], [3]);
    let record = record(9, 1);
    let out = spread(&mut broadcast, ms(0), &record, Some(1), 1);
    assert_eq!(pushed_to(&out), ids([2, 3]));
    assert_eq!(count_pushes(&out), 2);
    assert_eq!(broadcast.poll_timeout(), None);

    // Flooding keeps its links: a duplicate prunes nothing.
    let out = duplicate(&mut broadcast, &record, 2, 1);
    assert!(out.is_empty());
}

#[test]
fn gossip_pushes_to_at_most_fanout_known_peers_but_the_sender() {
    let config =
        BroadcastConfig { mode: BroadcastMode::Gossip { fanout: 3 }, ..BroadcastConfig::default() };
    let mut broadcast = Broadcast::new(config);
    let known: Vec<NodeId> = (1..=8).map(id).collect();
    let mut targets_across_records = BTreeSet::new();
    for seq in 1..=20 {
        let record = record(9, seq);
        let mut out = Vec::new();
        let arrived = Arrived { record, from: Some(id(1)), round: 1 };
        broadcast.spread(ms(0), arrived, &known, &mut Rng::from_seed(seq), &mut out);
        let targets = pushed_to(&out);
        assert_eq!(count_pushes(&out), 3, "{out:?}");
        assert_eq!(targets.len(), 3, "distinct peers");
        assert!(!targets.contains(&id(1)));
        assert!(targets.iter().all(|peer| known.contains(peer)));
        targets_across_records.extend(targets);
    }
    assert!(targets_across_records.len() > 3, "peers are drawn at random");

    let mut out = Vec::new();
    let arrived = Arrived { record: record(9, 99), from: None, round: 0 };
    broadcast.spread(ms(0), arrived, &known[..2], &mut Rng::from_seed(1), &mut out);
    assert_eq!(pushed_to(&out), ids([1, 2]), "fewer known peers than the fanout");
}

#[test]
fn repaired_records_are_announced_to_every_neighbour_with_an_unknown_round_and_pushed_to_none() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1], [2]);
    let record = record(9, 1);
    let mut out = Vec::new();
    broadcast.repaired(ms(0), record.clone(), &mut out);
    assert!(out.is_empty(), "nobody had announced it, so nobody is grafted: {out:?}");
    assert_eq!(broadcast.poll_timeout(), Some(ms(0) + config.ihave_interval));
    let out = timeout(&mut broadcast, ms(0) + config.ihave_interval);
    let announcement = ihave(record.digest(), UNKNOWN_ROUND);
    assert_eq!(controls(&out), vec![(id(1), announcement.clone()), (id(2), announcement)]);
    assert_eq!(count_pushes(&out), 0);

    // A neighbour that then grafts it gets it with the unknown round.
    let out = control(&mut broadcast, ms(100), 2, graft(record.digest()));
    assert_eq!(
        out,
        vec![BroadcastOutput::Send(
            id(2),
            BroadcastMessage::Gossip { round: UNKNOWN_ROUND, record: record.clone() }
        )]
    );
}

#[test]
fn a_repaired_record_replaces_the_pending_pull_with_a_graft_onto_the_closest_announcer() {
    let config = BroadcastConfig::default();
    let mut broadcast = with_links(config.clone(), [1], [4, 5, 6]);
    let first = record(9, 1);
    control(&mut broadcast, ms(0), 4, ihave(first.digest(), 3));
    control(&mut broadcast, ms(1), 5, ihave(first.digest(), 2));
    control(&mut broadcast, ms(2), 6, ihave(first.digest(), UNKNOWN_ROUND));

    let mut out = Vec::new();
    broadcast.repaired(ms(10), first, &mut out);
    let tree_graft = BroadcastMessage::GraftTree { origin: origin_of(9) };
    assert_eq!(
        out,
        vec![BroadcastOutput::Send(id(5), tree_graft)],
        "the closest announcer, no pull"
    );
    let out = timeout(&mut broadcast, ms(0) + config.graft_timeout);
    assert!(
        out.iter().all(|BroadcastOutput::Send(_, m)| !matches!(m, BroadcastMessage::Graft { .. })),
        "the record is not pulled again: {out:?}"
    );
    // The origin's next record, arriving from 1, goes on to 5 over the grafted link.
    let out = spread(&mut broadcast, ms(500), &record(9, 2), Some(1), 1);
    assert_eq!(pushed_to(&out), ids([5]));
}

#[test]
fn an_announcement_with_an_unknown_round_never_reshapes_the_tree() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1], [4]);
    let record = record(9, 1);
    control(&mut broadcast, ms(0), 4, ihave(record.digest(), UNKNOWN_ROUND));
    let out = spread(&mut broadcast, ms(10), &record, Some(1), 100);
    assert!(controls(&out).is_empty(), "{out:?}");
    assert_eq!(broadcast.eager(), &ids([1]));
    assert_eq!(broadcast.lazy(), &ids([4]));
}

/// A record first repaired somewhere travels on with `UNKNOWN_ROUND` (the node adds hops with
/// `saturating_add`). Its round says nothing about the path, yet `optimize` compares it as a very
/// long path and re-shapes the tree.
#[test]
fn a_record_delivered_with_an_unknown_round_never_reshapes_the_tree() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1], [4]);
    let record = record(9, 1);
    control(&mut broadcast, ms(0), 4, ihave(record.digest(), 1));
    let out = spread(&mut broadcast, ms(10), &record, Some(1), UNKNOWN_ROUND);
    assert!(controls(&out).is_empty(), "{out:?}");
    assert_eq!(broadcast.eager(), &ids([1]));
    assert_eq!(broadcast.lazy(), &ids([4]));
}

#[test]
fn a_re_route_for_one_origin_leaves_the_split_new_origins_start_from() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1, 2, 3], []);
    let record = record(9, 1);
    spread(&mut broadcast, ms(0), &record, Some(1), 5);
    duplicate(&mut broadcast, &record, 2, 3);
    assert_eq!(broadcast.eager(), &ids([1, 2, 3]), "the shared split keeps link 1");
    let other = self::record(7, 1);
    let out = spread(&mut broadcast, ms(1), &other, None, 0);
    assert_eq!(pushed_to(&out), ids([1, 2, 3]), "a new origin starts with every link");

    // Nor does an ordinary prune this node sends: it changes what node 3 pushes.
    assert_eq!(duplicate(&mut broadcast, &record, 3, 4), prune_of(3));
    assert_eq!(broadcast.eager(), &ids([1, 2, 3]));
}

#[test]
fn a_re_route_received_changes_only_its_origins_tree() {
    let mut broadcast = with_links(BroadcastConfig::default(), [1], [2]);
    let reroute = |link| BroadcastMessage::Reroute { origin: origin_of(7), link };
    assert!(control(&mut broadcast, ms(0), 2, reroute(Link::Eager)).is_empty());
    assert!(control(&mut broadcast, ms(0), 1, reroute(Link::Lazy)).is_empty());
    assert_eq!(broadcast.eager(), &ids([1]), "the shared split is unchanged");
    let out = spread(&mut broadcast, ms(1), &record(7, 1), None, 0);
    assert_eq!(pushed_to(&out), ids([2]), "origin 7's tree was re-routed from 1 onto 2");
}
