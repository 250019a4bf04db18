//! HyParView overlay behaviour, driven by hand through the `Overlay` state machine's public API.

use std::collections::BTreeSet;
use std::time::Duration;

use herald_core::Role;
use herald_core::overlay::{Overlay, OverlayConfig, OverlayMessage, OverlayOutput, Priority};
use herald_core::{Instant, NodeId, Rng};

/// Largest shuffle sample a node accepts (the overlay's private `SAMPLE_LEN_MAX`).
const SAMPLE_LEN_MAX: usize = 64;

fn id(n: u8) -> NodeId {
    NodeId::from_bytes([n; 32])
}

/// Distinct ids in their own families, for samples longer than a `u8` range of `id`s.
fn wide_id(n: u8, family: u8) -> NodeId {
    let mut bytes = [0; 32];
    bytes[0] = n;
    bytes[1] = family;
    NodeId::from_bytes(bytes)
}

fn ids(range: impl IntoIterator<Item = u8>) -> BTreeSet<NodeId> {
    range.into_iter().map(id).collect()
}

fn overlay(me: u8, role: Role, config: OverlayConfig) -> Overlay {
    Overlay::new(id(me), role, config, Instant::ZERO, &mut Rng::from_seed(u64::from(me)))
}

fn server(me: u8) -> Overlay {
    overlay(me, Role::Server, OverlayConfig::default())
}

/// Puts each of `peers` into the active view with a high-priority neighbour request, and drops
/// the traffic that caused.
fn connect(node: &mut Overlay, peers: impl IntoIterator<Item = u8>, rng: &mut Rng) {
    for peer in peers {
        let mut out = Vec::new();
        node.handle(
            id(peer),
            OverlayMessage::Neighbor { priority: Priority::High, role: Role::Server },
            rng,
            &mut out,
        );
    }
}

/// Server 1 with a full active view of 2 to 6.
fn full_server(rng: &mut Rng) -> Overlay {
    let mut node = server(1);
    connect(&mut node, [2, 3, 4, 5, 6], rng);
    node
}

fn sends(out: &[OverlayOutput]) -> Vec<(NodeId, OverlayMessage)> {
    out.iter()
        .filter_map(|output| match output {
            OverlayOutput::Send(to, message) => Some((*to, message.clone())),
            _ => None,
        })
        .collect()
}

fn neighbor_requests(out: &[OverlayOutput]) -> Vec<(NodeId, bool, Role)> {
    sends(out)
        .into_iter()
        .filter_map(|(to, message)| match message {
            OverlayMessage::Neighbor { priority, role } => {
                Some((to, priority == Priority::High, role))
            }
            _ => None,
        })
        .collect()
}

fn forward_joins(out: &[OverlayOutput]) -> Vec<(NodeId, NodeId, u8)> {
    sends(out)
        .into_iter()
        .filter_map(|(to, message)| match message {
            OverlayMessage::ForwardJoin { joiner, ttl } => Some((to, joiner, ttl)),
            _ => None,
        })
        .collect()
}

fn shuffles(out: &[OverlayOutput]) -> Vec<(NodeId, NodeId, u8, Vec<NodeId>)> {
    sends(out)
        .into_iter()
        .filter_map(|(to, message)| match message {
            OverlayMessage::Shuffle { origin, ttl, sample } => Some((to, origin, ttl, sample)),
            _ => None,
        })
        .collect()
}

fn disconnected(out: &[OverlayOutput]) -> Vec<NodeId> {
    sends(out)
        .into_iter()
        .filter(|(_, message)| *message == OverlayMessage::Disconnect)
        .map(|(to, _)| to)
        .collect()
}

fn downs(out: &[OverlayOutput]) -> Vec<NodeId> {
    out.iter()
        .filter_map(|output| match output {
            OverlayOutput::Down(peer) => Some(*peer),
            _ => None,
        })
        .collect()
}

fn ups(out: &[OverlayOutput]) -> Vec<(NodeId, Role)> {
    out.iter()
        .filter_map(|output| match output {
            OverlayOutput::Up(peer, role) => Some((*peer, *role)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_join_through_a_contact_makes_both_active_and_forwards_the_join_to_the_contacts_other_peers() {
    let mut rng = Rng::from_seed(1);
    let mut contact = server(1);
    connect(&mut contact, [2, 3], &mut rng);
    let mut joiner = server(9);

    let mut out = Vec::new();
    joiner.join(id(1), &mut rng, &mut out);
    assert_eq!(joiner.active(), &ids([1]));
    assert_eq!(ups(&out), vec![(id(1), Role::Server)]);
    assert_eq!(sends(&out), vec![(id(1), OverlayMessage::Join { role: Role::Server })]);

    let mut out = Vec::new();
    contact.handle(id(9), OverlayMessage::Join { role: Role::Server }, &mut rng, &mut out);
    assert_eq!(contact.active(), &ids([2, 3, 9]));
    assert_eq!(ups(&out), vec![(id(9), Role::Server)]);
    let walks: BTreeSet<(NodeId, NodeId, u8)> = forward_joins(&out).into_iter().collect();
    let arwl = OverlayConfig::default().active_walk_len;
    assert_eq!(walks, BTreeSet::from([(id(2), id(9), arwl), (id(3), id(9), arwl)]));
}

#[test]
fn a_forward_join_with_ttl_zero_ends_in_the_active_view_and_asks_the_joiner_with_high_priority() {
    let mut rng = Rng::from_seed(2);
    let mut node = server(1);
    connect(&mut node, [2, 3, 4], &mut rng);

    let mut out = Vec::new();
    node.handle(id(2), OverlayMessage::ForwardJoin { joiner: id(9), ttl: 0 }, &mut rng, &mut out);
    assert!(node.active().contains(&id(9)));
    assert!(!node.passive().contains(&id(9)));
    assert_eq!(ups(&out), vec![(id(9), Role::Server)]);
    assert_eq!(neighbor_requests(&out), vec![(id(9), true, Role::Server)]);
    assert!(forward_joins(&out).is_empty(), "the walk ends here: {out:?}");

    // The joiner accepts the high-priority request even though it already has its contact.
    let mut joiner = server(9);
    let mut joiner_out = Vec::new();
    joiner.join(id(7), &mut rng, &mut joiner_out);
    joiner_out.clear();
    joiner.handle(
        id(1),
        OverlayMessage::Neighbor { priority: Priority::High, role: Role::Server },
        &mut rng,
        &mut joiner_out,
    );
    assert_eq!(joiner.active(), &ids([1, 7]));
    assert_eq!(sends(&joiner_out), vec![(id(1), OverlayMessage::NeighborReply { accepted: true })]);
}

#[test]
fn a_forward_join_lands_in_the_passive_view_at_the_passive_walk_length_and_walks_on() {
    let config = OverlayConfig::default();
    let prwl = config.passive_walk_len;
    let mut rng = Rng::from_seed(3);
    let mut node = server(1);
    connect(&mut node, [2, 3, 4], &mut rng);

    let mut out = Vec::new();
    let walk = OverlayMessage::ForwardJoin { joiner: id(9), ttl: prwl };
    node.handle(id(2), walk, &mut rng, &mut out);
    assert!(node.passive().contains(&id(9)));
    assert!(!node.active().contains(&id(9)));
    let walks = forward_joins(&out);
    assert_eq!(walks.len(), 1, "{out:?}");
    let (next, joiner, ttl) = walks[0];
    assert!(next == id(3) || next == id(4), "never back to the sender or to the joiner");
    assert_eq!((joiner, ttl), (id(9), prwl - 1));
    assert!(ups(&out).is_empty());
}

#[test]
fn a_forward_join_away_from_the_passive_walk_length_only_walks_on() {
    let prwl = OverlayConfig::default().passive_walk_len;
    let mut rng = Rng::from_seed(4);
    let mut node = server(1);
    connect(&mut node, [2, 3, 4], &mut rng);

    let mut out = Vec::new();
    let walk = OverlayMessage::ForwardJoin { joiner: id(9), ttl: prwl + 1 };
    node.handle(id(2), walk, &mut rng, &mut out);
    assert!(!node.passive().contains(&id(9)));
    assert!(!node.active().contains(&id(9)));
    let walks = forward_joins(&out);
    assert_eq!(walks.len(), 1);
    assert_eq!(walks[0].2, prwl);
}

#[test]
fn a_forward_join_reaching_a_node_with_a_single_neighbour_ends_there() {
    let mut rng = Rng::from_seed(5);
    let mut node = server(1);
    connect(&mut node, [2], &mut rng);

    let mut out = Vec::new();
    node.handle(id(2), OverlayMessage::ForwardJoin { joiner: id(9), ttl: 5 }, &mut rng, &mut out);
    assert_eq!(node.active(), &ids([2, 9]));
    assert_eq!(neighbor_requests(&out), vec![(id(9), true, Role::Server)]);
    assert!(forward_joins(&out).is_empty());
}

#[test]
fn a_full_active_view_drops_a_random_peer_with_disconnect_and_moves_it_to_passive() {
    let config = OverlayConfig { active_max: 3, ..OverlayConfig::default() };
    let mut dropped_across_seeds = BTreeSet::new();
    for seed in 0..32 {
        let mut rng = Rng::from_seed(seed);
        let mut node = overlay(1, Role::Server, config.clone());
        connect(&mut node, [2, 3, 4], &mut rng);

        // A join's walk ends here: the joiner enters the full view.
        let mut out = Vec::new();
        node.handle(
            id(2),
            OverlayMessage::ForwardJoin { joiner: id(5), ttl: 0 },
            &mut rng,
            &mut out,
        );
        assert_eq!(node.active().len(), 3);
        assert!(node.active().contains(&id(5)));
        let dropped = disconnected(&out);
        assert_eq!(dropped.len(), 1, "{out:?}");
        let dropped = dropped[0];
        assert!(ids([2, 3, 4]).contains(&dropped));
        assert!(!node.active().contains(&dropped));
        assert!(node.passive().contains(&dropped));
        assert_eq!(downs(&out), vec![dropped]);
        dropped_across_seeds.insert(dropped);
    }
    assert_eq!(dropped_across_seeds, ids([2, 3, 4]), "the dropped peer is chosen at random");
}

#[test]
fn a_disconnect_moves_the_sender_to_passive_and_asks_a_passive_peer_to_fill_the_gap() {
    let mut rng = Rng::from_seed(6);
    let mut node = server(1);
    connect(&mut node, [2, 3, 4], &mut rng);
    node.learn(ids([7]), &mut rng);

    let mut out = Vec::new();
    node.handle(id(2), OverlayMessage::Disconnect, &mut rng, &mut out);
    assert_eq!(node.active(), &ids([3, 4]));
    assert!(node.passive().contains(&id(2)));
    assert_eq!(downs(&out), vec![id(2)]);
    let requests = neighbor_requests(&out);
    assert_eq!(requests.len(), 1, "one refill request: {out:?}");
    let (candidate, high_priority, role) = requests[0];
    assert!(node.passive().contains(&candidate));
    assert!(!high_priority, "two neighbours left: a normal request");
    assert_eq!(role, Role::Server);
}

#[test]
fn a_failed_active_peer_is_replaced_from_the_passive_view_at_once() {
    let mut rng = Rng::from_seed(7);
    let mut node = server(1);
    connect(&mut node, [2, 3, 4], &mut rng);
    node.learn(ids([7, 8]), &mut rng);

    let mut out = Vec::new();
    node.peer_failed(id(2), &mut rng, &mut out);
    assert_eq!(node.active(), &ids([3, 4]));
    assert!(!node.passive().contains(&id(2)), "a failed peer is forgotten, not kept passive");
    assert_eq!(downs(&out), vec![id(2)]);
    let requests = neighbor_requests(&out);
    assert_eq!(requests.len(), 1, "{out:?}");
    let (candidate, high_priority, _) = requests[0];
    assert!(candidate == id(7) || candidate == id(8));
    assert!(!high_priority);

    // The candidate accepts and fills the view.
    let mut out = Vec::new();
    node.handle(candidate, OverlayMessage::NeighborReply { accepted: true }, &mut rng, &mut out);
    assert!(node.active().contains(&candidate));
    assert!(!node.passive().contains(&candidate));
    assert_eq!(ups(&out), vec![(candidate, Role::Server)]);
}

#[test]
fn a_node_left_with_one_neighbour_asks_its_replacement_with_high_priority() {
    let mut rng = Rng::from_seed(8);
    let mut node = server(1);
    connect(&mut node, [2, 3], &mut rng);
    node.learn(ids([7]), &mut rng);

    let mut out = Vec::new();
    node.peer_failed(id(2), &mut rng, &mut out);
    assert_eq!(neighbor_requests(&out), vec![(id(7), true, Role::Server)]);
}

#[test]
fn refill_asks_no_more_passive_peers_than_the_active_view_lacks() {
    let config = OverlayConfig { active_max: 3, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(9);
    let mut node = overlay(1, Role::Server, config);
    connect(&mut node, [2, 3, 4], &mut rng);
    node.learn(ids([10, 11, 12, 13]), &mut rng);

    let mut out = Vec::new();
    node.peer_failed(id(2), &mut rng, &mut out);
    assert_eq!(neighbor_requests(&out).len(), 1);
    // The request is still out: asking again would overfill the view.
    let mut out = Vec::new();
    node.refill(&mut rng, &mut out);
    assert!(neighbor_requests(&out).is_empty(), "{out:?}");
}

#[test]
fn a_high_priority_neighbor_request_fills_one_slot_beyond_a_full_view_then_drops() {
    let config = OverlayConfig { active_max: 2, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(10);
    let mut node = overlay(1, Role::Server, config);
    connect(&mut node, [2, 3], &mut rng);
    let forced = |node: &mut Overlay, peer: u8, rng: &mut Rng| {
        let mut out = Vec::new();
        let request = OverlayMessage::Neighbor { priority: Priority::High, role: Role::Server };
        node.handle(id(peer), request, rng, &mut out);
        out
    };

    let out = forced(&mut node, 9, &mut rng);
    assert!(node.active().contains(&id(9)));
    assert_eq!(node.active().len(), 3, "the spare slot is used");
    assert!(disconnected(&out).is_empty(), "nobody is dropped into a short view: {out:?}");
    assert!(sends(&out).contains(&(id(9), OverlayMessage::NeighborReply { accepted: true })));

    let out = forced(&mut node, 10, &mut rng);
    assert!(node.active().contains(&id(10)));
    assert_eq!(node.active().len(), 3, "never more than one beyond the view's size");
    assert_eq!(disconnected(&out).len(), 1, "{out:?}");
}

#[test]
fn a_low_priority_neighbor_request_is_refused_by_a_full_view_and_accepted_with_room() {
    let config = OverlayConfig { active_max: 2, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(11);
    let mut node = overlay(1, Role::Server, config);
    connect(&mut node, [2], &mut rng);

    let low = OverlayMessage::Neighbor { priority: Priority::Normal, role: Role::Server };
    let mut out = Vec::new();
    node.handle(id(3), low.clone(), &mut rng, &mut out);
    assert_eq!(node.active(), &ids([2, 3]));
    assert_eq!(sends(&out), vec![(id(3), OverlayMessage::NeighborReply { accepted: true })]);

    let mut out = Vec::new();
    node.handle(id(9), low, &mut rng, &mut out);
    assert_eq!(node.active(), &ids([2, 3]));
    assert_eq!(sends(&out), vec![(id(9), OverlayMessage::NeighborReply { accepted: false })]);
    assert!(ups(&out).is_empty() && downs(&out).is_empty());
}

#[test]
fn refused_neighbor_requests_are_retried_at_most_three_times_per_shuffle_period() {
    let mut rng = Rng::from_seed(12);
    let mut node = server(1);
    connect(&mut node, [2, 3], &mut rng);
    node.learn(ids(10..30), &mut rng);
    let mut out = Vec::new();
    node.refill(&mut rng, &mut out);
    let mut asked = neighbor_requests(&out);
    let mut retries = 0;
    while let Some((candidate, _, _)) = asked.pop() {
        let mut out = Vec::new();
        let refused = OverlayMessage::NeighborReply { accepted: false };
        node.handle(candidate, refused, &mut rng, &mut out);
        asked.extend(neighbor_requests(&out));
        retries += neighbor_requests(&out).len();
        assert!(retries <= 3, "refusals retried without end");
    }
    assert_eq!(retries, 3);
    assert_eq!(node.active(), &ids([2, 3]));
}

#[test]
fn a_shuffle_sends_the_origin_some_active_peers_and_some_passive_peers() {
    let config = OverlayConfig::default();
    let mut rng = Rng::from_seed(13);
    let mut node = full_server(&mut rng);
    node.learn(ids(10..20), &mut rng);

    let mut out = Vec::new();
    let due = node.poll_timeout();
    // A new node's passive view is filling: it shuffles at the faster rate.
    let interval = config.filling_shuffle_interval();
    assert!(interval < config.shuffle_interval);
    let (earliest, latest) = (interval / 2, interval * 3 / 2);
    assert!(due >= Instant::ZERO + earliest && due < Instant::ZERO + latest, "{due:?}");
    node.on_timeout(due - Duration::from_micros(1), &mut rng, &mut out);
    assert!(out.is_empty(), "no shuffle before it is due: {out:?}");

    let now = due;
    node.on_timeout(now, &mut rng, &mut out);
    let sent = shuffles(&out);
    assert_eq!(sent.len(), 1, "{out:?}");
    let (target, origin, ttl, sample) = sent[0].clone();
    assert!(node.active().contains(&target));
    assert_eq!(origin, id(1));
    assert_eq!(ttl, config.active_walk_len);
    assert_eq!(sample.len(), 1 + config.shuffle_active + config.shuffle_passive);
    assert_eq!(sample[0], id(1));
    let active_part = &sample[1..=config.shuffle_active];
    let passive_part = &sample[1 + config.shuffle_active..];
    assert!(active_part.iter().all(|peer| node.active().contains(peer) && *peer != target));
    assert!(passive_part.iter().all(|peer| node.passive().contains(peer)));
    assert_eq!(sample.iter().collect::<BTreeSet<_>>().len(), sample.len(), "no repeats");
    let next = next_shuffle(&mut node, &mut rng);
    assert!(next >= now + earliest && next < now + latest, "{next:?}");
}

/// Runs `node`'s timers until it sends a shuffle, and returns when it did.
fn next_shuffle(node: &mut Overlay, rng: &mut Rng) -> Instant {
    for _ in 0..100 {
        let due = node.poll_timeout();
        let mut out = Vec::new();
        node.on_timeout(due, rng, &mut out);
        if !shuffles(&out).is_empty() {
            return due;
        }
    }
    panic!("no shuffle in 100 timeouts");
}

fn shuffle_reply(node: &mut Overlay, from: u8, peers: impl IntoIterator<Item = u8>, rng: &mut Rng) {
    let sample = peers.into_iter().map(id).collect();
    node.handle(id(from), OverlayMessage::ShuffleReply { sample }, rng, &mut Vec::new());
}

#[test]
fn a_passive_view_shuffles_faster_only_while_shuffles_fill_it() {
    let config = OverlayConfig::default();
    let (fast, normal) = (config.filling_shuffle_interval(), config.shuffle_interval);
    let mut rng = Rng::from_seed(41);
    let mut node = full_server(&mut rng);
    node.learn(ids(10..20), &mut rng);

    // New, and short of its size: the next shuffle follows at the fast rate.
    let first = next_shuffle(&mut node, &mut rng);
    let second = next_shuffle(&mut node, &mut rng);
    assert!(second < first + fast * 3 / 2, "{first:?} then {second:?}");

    // A reply that brings nobody new: the shuffle already due goes out, and the one after
    // it waits a normal period.
    shuffle_reply(&mut node, 2, [10, 11, 12], &mut rng);
    let third = next_shuffle(&mut node, &mut rng);
    let fourth = next_shuffle(&mut node, &mut rng);
    assert!(fourth >= third + normal / 2, "{third:?} then {fourth:?}");

    // A reply that brings someone new: fast again after the shuffle already due.
    shuffle_reply(&mut node, 3, [10, 40], &mut rng);
    let fifth = next_shuffle(&mut node, &mut rng);
    let sixth = next_shuffle(&mut node, &mut rng);
    assert!(sixth < fifth + fast * 3 / 2, "{fifth:?} then {sixth:?}");
}

#[test]
fn a_full_passive_view_shuffles_at_the_normal_rate() {
    let config = OverlayConfig::default();
    let mut rng = Rng::from_seed(42);
    let mut node = full_server(&mut rng);
    node.learn(ids(10..10 + config.passive_max as u8), &mut rng);
    assert_eq!(node.passive().len(), config.passive_max);

    let first = next_shuffle(&mut node, &mut rng);
    let second = next_shuffle(&mut node, &mut rng);
    assert!(second >= first + config.shuffle_interval / 2, "{first:?} then {second:?}");
}

#[test]
fn peers_dropped_from_a_full_passive_view_are_kept_in_a_bounded_reserve() {
    let config = OverlayConfig { passive_max: 3, reserve_max: 2, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(43);
    let mut node = overlay(1, Role::Server, config);
    node.learn(ids(10..20), &mut rng);
    assert_eq!(node.passive().len(), 3);
    assert_eq!(node.reserve().len(), 2);
    assert!(node.reserve().is_disjoint(node.passive()));
    assert!(node.reserve().is_subset(&ids(10..20)));

    // A peer in reserve that fails is forgotten; one that joins the active view leaves it.
    let failed = *node.reserve().first().expect("two in reserve");
    node.peer_failed(failed, &mut rng, &mut Vec::new());
    assert!(!node.reserve().contains(&failed));
    let linked = *node.reserve().first().expect("one left");
    let request = OverlayMessage::Neighbor { priority: Priority::High, role: Role::Server };
    node.handle(linked, request, &mut rng, &mut Vec::new());
    assert!(node.active().contains(&linked));
    assert!(node.reserve().is_empty());
}

#[test]
fn a_view_that_ran_dry_asks_its_reserve() {
    let config = OverlayConfig { active_max: 3, passive_max: 2, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(44);
    let mut node = overlay(1, Role::Server, config);
    connect(&mut node, [2], &mut rng);
    node.learn(ids(10..15), &mut rng);
    let reserve = node.reserve().clone();
    assert_eq!(reserve.len(), 3);

    for peer in node.passive().clone() {
        node.peer_failed(peer, &mut rng, &mut Vec::new());
    }
    assert!(node.has_run_dry());
    let mut out = Vec::new();
    node.rescue(&[], &mut rng, &mut out);
    assert!(
        node.passive().is_subset(&reserve) && node.passive().len() == 2,
        "{:?}",
        node.passive()
    );
    let requests = neighbor_requests(&out);
    assert_eq!(requests.len(), 1, "{out:?}");
    assert!(reserve.contains(&requests[0].0));
}

#[test]
fn a_shuffle_reply_lands_in_the_passive_view() {
    let mut rng = Rng::from_seed(14);
    let mut node = server(1);
    connect(&mut node, [2, 3], &mut rng);

    let sample = vec![id(30), id(31), id(32), id(1), id(2)];
    let mut out = Vec::new();
    node.handle(id(2), OverlayMessage::ShuffleReply { sample }, &mut rng, &mut out);
    assert!(out.is_empty());
    assert_eq!(node.passive(), &ids([30, 31, 32]), "neither itself nor active peers");
    assert_eq!(node.active(), &ids([2, 3]));
}

#[test]
fn a_shuffle_at_the_end_of_its_walk_is_answered_to_its_origin_and_its_sample_kept() {
    let mut rng = Rng::from_seed(15);
    let mut node = server(1);
    connect(&mut node, [2], &mut rng);
    node.learn(ids([40, 41]), &mut rng);

    let shuffle =
        OverlayMessage::Shuffle { origin: id(50), ttl: 3, sample: vec![id(50), id(51), id(52)] };
    let mut out = Vec::new();
    node.handle(id(2), shuffle, &mut rng, &mut out);
    let sent = sends(&out);
    assert_eq!(sent.len(), 1, "{out:?}");
    let (to, reply) = sent[0].clone();
    assert_eq!(to, id(50));
    let OverlayMessage::ShuffleReply { sample } = reply else { panic!("not a reply: {reply:?}") };
    assert_eq!(sample.into_iter().collect::<BTreeSet<_>>(), ids([40, 41]));
    assert_eq!(node.passive(), &ids([40, 41, 50, 51, 52]));
}

#[test]
fn a_shuffle_with_ttl_left_walks_on_to_another_active_peer() {
    let mut rng = Rng::from_seed(16);
    let mut node = server(1);
    connect(&mut node, [2, 3, 50], &mut rng);

    let sample = vec![id(50), id(51)];
    let shuffle = OverlayMessage::Shuffle { origin: id(50), ttl: 3, sample: sample.clone() };
    let mut out = Vec::new();
    node.handle(id(2), shuffle, &mut rng, &mut out);
    assert_eq!(
        sends(&out),
        vec![(id(3), OverlayMessage::Shuffle { origin: id(50), ttl: 2, sample })],
        "neither back to the sender nor to the origin"
    );
    assert!(!node.passive().contains(&id(51)), "only the walk's last node keeps the sample");
}

#[test]
fn shuffle_samples_longer_than_the_cap_are_truncated() {
    let config = OverlayConfig { passive_max: 1000, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(17);
    let long: Vec<NodeId> = (0..100).map(|n| wide_id(n, 1)).collect();

    let mut node = overlay(1, Role::Server, config.clone());
    let mut out = Vec::new();
    node.handle(id(2), OverlayMessage::ShuffleReply { sample: long.clone() }, &mut rng, &mut out);
    assert_eq!(node.passive().len(), SAMPLE_LEN_MAX);
    assert!(node.passive().iter().all(|peer| long[..SAMPLE_LEN_MAX].contains(peer)));

    let mut node = overlay(1, Role::Server, config);
    node.learn((0..150).map(|n| wide_id(n, 2)), &mut rng);
    let passive_before = node.passive().len();
    let shuffle = OverlayMessage::Shuffle { origin: id(3), ttl: 0, sample: long };
    let mut out = Vec::new();
    node.handle(id(3), shuffle, &mut rng, &mut out);
    let sent = sends(&out);
    let OverlayMessage::ShuffleReply { sample } = &sent[0].1 else { panic!("{sent:?}") };
    assert_eq!(sample.len(), SAMPLE_LEN_MAX, "the reply matches the truncated sample");
    assert_eq!(node.passive().len(), passive_before + SAMPLE_LEN_MAX);
}

#[test]
fn a_server_keeps_a_joining_client_apart_from_its_active_view() {
    let mut rng = Rng::from_seed(18);
    let mut node = server(1);
    connect(&mut node, [2, 3], &mut rng);

    let mut out = Vec::new();
    node.handle(id(9), OverlayMessage::Join { role: Role::Client }, &mut rng, &mut out);
    assert_eq!(node.clients(), &ids([9]));
    assert_eq!(node.active(), &ids([2, 3]));
    assert!(!node.passive().contains(&id(9)));
    assert!(node.is_neighbor(&id(9)));
    assert_eq!(ups(&out), vec![(id(9), Role::Client)]);
    assert!(forward_joins(&out).is_empty(), "a client's join is not walked: {out:?}");

    // A client that goes away leaves no trace in the views.
    let mut out = Vec::new();
    node.handle(id(9), OverlayMessage::Disconnect, &mut rng, &mut out);
    assert!(node.clients().is_empty());
    assert!(!node.passive().contains(&id(9)));
    assert_eq!(downs(&out), vec![id(9)]);
    assert!(neighbor_requests(&out).is_empty(), "losing a client needs no refill");
}

#[test]
fn a_server_never_hands_out_its_clients_in_shuffles() {
    let mut rng = Rng::from_seed(19);
    let mut node = full_server(&mut rng);
    node.learn(ids(10..20), &mut rng);
    let mut out = Vec::new();
    node.handle(id(90), OverlayMessage::Join { role: Role::Client }, &mut rng, &mut out);
    node.handle(
        id(91),
        OverlayMessage::Neighbor { priority: Priority::Normal, role: Role::Client },
        &mut rng,
        &mut out,
    );
    assert_eq!(node.clients(), &ids([90, 91]));
    let clients = ids([90, 91]);

    // A client shuffles straight with its server: its own id must not enter the passive view.
    let mut out = Vec::new();
    let from_client = OverlayMessage::Shuffle { origin: id(90), ttl: 0, sample: vec![id(90)] };
    node.handle(id(90), from_client, &mut rng, &mut out);
    // Nor may a reply that names a client.
    node.handle(id(2), OverlayMessage::ShuffleReply { sample: vec![id(91)] }, &mut rng, &mut out);
    assert!(node.passive().is_disjoint(&clients));

    for _ in 0..20 {
        let mut out = Vec::new();
        node.on_timeout(node.poll_timeout(), &mut rng, &mut out);
        for (_, _, _, sample) in shuffles(&out) {
            assert!(sample.iter().all(|peer| !clients.contains(peer)), "{sample:?}");
        }
        let walk_end = OverlayMessage::Shuffle { origin: id(40), ttl: 0, sample: vec![id(40)] };
        node.handle(id(2), walk_end, &mut rng, &mut out);
        for (_, message) in sends(&out) {
            if let OverlayMessage::ShuffleReply { sample } = message {
                assert!(sample.iter().all(|peer| !clients.contains(peer)), "{sample:?}");
            }
        }
    }
}

#[test]
fn a_clients_active_view_is_capped_at_client_servers() {
    let config = OverlayConfig { client_servers: 2, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(20);
    let mut client = overlay(1, Role::Client, config);

    let mut out = Vec::new();
    client.join(id(2), &mut rng, &mut out);
    assert_eq!(sends(&out), vec![(id(2), OverlayMessage::Join { role: Role::Client })]);
    for server in [3, 4, 5] {
        client.handle(
            id(server),
            OverlayMessage::NeighborReply { accepted: true },
            &mut rng,
            &mut out,
        );
        assert!(client.active().len() <= 2, "{:?}", client.active());
    }
    assert_eq!(client.active().len(), 2);
    assert_eq!(disconnected(&out).len(), 2, "two servers were dropped: {out:?}");

    let mut out = Vec::new();
    client.handle(
        id(6),
        OverlayMessage::Neighbor { priority: Priority::High, role: Role::Server },
        &mut rng,
        &mut out,
    );
    assert_eq!(client.active().len(), 2);
}

#[test]
fn a_client_asks_for_servers_as_a_client_and_shuffles_only_with_its_server() {
    let config = OverlayConfig { client_servers: 3, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(21);
    let mut client = overlay(1, Role::Client, config.clone());
    let mut out = Vec::new();
    client.join(id(2), &mut rng, &mut out);
    client.learn(ids([3, 4, 5]), &mut rng);

    let mut out = Vec::new();
    // Both the shuffle and the period's refill are due.
    client.on_timeout(Instant::ZERO + config.shuffle_interval * 3 / 2, &mut rng, &mut out);
    let requests = neighbor_requests(&out);
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|(_, _, role)| *role == Role::Client));
    let sent = shuffles(&out);
    assert_eq!(sent.len(), 1);
    let (to, origin, ttl, sample) = sent[0].clone();
    assert_eq!((to, origin, ttl), (id(2), id(1), 0));
    assert!(!sample.contains(&id(2)), "a client shares no active peers");
}

#[test]
fn a_client_answers_no_joins_and_walks_no_forward_joins() {
    let mut rng = Rng::from_seed(22);
    let mut client = overlay(1, Role::Client, OverlayConfig::default());
    let mut out = Vec::new();
    client.join(id(2), &mut rng, &mut out);

    let mut out = Vec::new();
    client.handle(id(9), OverlayMessage::Join { role: Role::Server }, &mut rng, &mut out);
    assert_eq!(sends(&out), vec![(id(9), OverlayMessage::Disconnect)]);
    let walk = OverlayMessage::ForwardJoin { joiner: id(8), ttl: 0 };
    client.handle(id(2), walk, &mut rng, &mut out);
    assert_eq!(client.active(), &ids([2]));
    assert!(client.passive().is_empty());
}

#[test]
fn a_server_refuses_a_client_beyond_clients_max() {
    let config = OverlayConfig { clients_max: 1, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(23);
    let mut node = overlay(1, Role::Server, config);
    let client_request = OverlayMessage::Neighbor { priority: Priority::High, role: Role::Client };
    let mut out = Vec::new();
    node.handle(id(8), client_request.clone(), &mut rng, &mut out);
    let mut out = Vec::new();
    node.handle(id(9), client_request, &mut rng, &mut out);
    assert_eq!(node.clients(), &ids([8]));
    assert_eq!(sends(&out), vec![(id(9), OverlayMessage::NeighborReply { accepted: false })]);
}

#[test]
fn views_never_contain_the_node_itself() {
    let mut rng = Rng::from_seed(24);
    let me = id(1);
    let mut node = server(1);
    let mut out = Vec::new();
    node.join(me, &mut rng, &mut out);
    assert!(out.is_empty(), "joining through oneself does nothing: {out:?}");
    node.learn(ids([1, 2]), &mut rng);
    connect(&mut node, [3], &mut rng);
    node.handle(id(3), OverlayMessage::ForwardJoin { joiner: me, ttl: 0 }, &mut rng, &mut out);
    node.handle(id(3), OverlayMessage::ForwardJoin { joiner: me, ttl: 3 }, &mut rng, &mut out);
    node.handle(
        id(3),
        OverlayMessage::ShuffleReply { sample: vec![me, id(4)] },
        &mut rng,
        &mut out,
    );
    let shuffle = OverlayMessage::Shuffle { origin: id(5), ttl: 0, sample: vec![id(5), me] };
    node.handle(id(3), shuffle, &mut rng, &mut out);
    node.on_timeout(node.poll_timeout(), &mut rng, &mut out);
    node.handle(id(3), OverlayMessage::NeighborReply { accepted: true }, &mut rng, &mut out);
    assert!(!node.active().contains(&me));
    assert!(!node.passive().contains(&me));
    assert!(!node.clients().contains(&me));
    assert_eq!(node.passive(), &ids([2, 4, 5]));
}

/// `pending` holds the passive peers asked to become neighbours until they answer, and `refill`
/// asks nobody while `active + pending` fills the view. Nothing ever expires a pending request,
/// so a request or reply lost without a transport error (a partition, a clog or datagram loss in
/// the simulator, where no `PeerDown` follows) keeps its slot forever: here a node that lost its
/// only neighbour asks two passive peers, gets no answer, and never asks any of the eight others.
#[test]
fn an_unanswered_neighbor_request_does_not_block_refills_forever() {
    let config = OverlayConfig { active_max: 2, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(25);
    let mut node = overlay(1, Role::Server, config.clone());
    connect(&mut node, [2], &mut rng);
    node.learn(ids(10..20), &mut rng);

    let mut out = Vec::new();
    node.peer_failed(id(2), &mut rng, &mut out);
    let asked = neighbor_requests(&out);
    assert_eq!(asked.len(), 2, "a node left with no neighbour keeps two requests out");
    assert_ne!(asked[0].0, asked[1].0);

    let mut asked_late = 0;
    for period in 1..=10u32 {
        let mut out = Vec::new();
        node.on_timeout(node.poll_timeout(), &mut rng, &mut out);
        if period >= 3 {
            asked_late += neighbor_requests(&out).len();
        }
    }
    assert!(node.active().is_empty());
    assert!(asked_late > 0, "an isolated node with 10 passive peers stopped asking after 2");
}

#[test]
fn role_names_round_trip_and_unknown_names_are_refused() {
    for role in [Role::Server, Role::Client] {
        assert_eq!(Role::from_name(role.name()), Some(role));
    }
    assert_eq!(Role::Server.name(), "server");
    assert_eq!(Role::from_name("Server"), None);
    assert_eq!(Role::from_name("relay"), None);
}

#[test]
fn a_view_whose_passive_peers_all_failed_is_refilled_from_other_knowledge() {
    let config = OverlayConfig { active_max: 3, passive_max: 4, ..OverlayConfig::default() };
    let mut rng = Rng::from_seed(26);
    let mut node = overlay(1, Role::Server, config);
    connect(&mut node, [2], &mut rng);
    node.learn(ids([10, 11]), &mut rng);
    let known: Vec<NodeId> = ids(20..30).into_iter().chain([id(1), id(2)]).collect();

    // While passive peers are left, the rescue does nothing.
    let mut out = Vec::new();
    node.rescue(&known, &mut rng, &mut out);
    assert!(out.is_empty() && !node.has_run_dry(), "{out:?}");

    // Both passive peers fail; the view is short and nothing is left to ask.
    let mut out = Vec::new();
    node.peer_failed(id(10), &mut rng, &mut out);
    node.peer_failed(id(11), &mut rng, &mut out);
    assert!(node.passive().is_empty());
    assert!(node.has_run_dry());

    let mut out = Vec::new();
    node.rescue(&known, &mut rng, &mut out);
    assert_eq!(node.passive().len(), 4, "filled up to its size: {:?}", node.passive());
    assert!(node.passive().iter().all(|peer| ids(20..30).contains(peer)), "never itself or 2");
    let requests = neighbor_requests(&out);
    assert_eq!(requests.len(), 1, "{out:?}");
    assert!(node.passive().contains(&requests[0].0));
    assert!(requests[0].1, "one neighbour left: it asks with high priority");
    assert!(!node.has_run_dry(), "a request is out");
}

#[test]
fn nodes_started_together_do_not_shuffle_together() {
    let interval = OverlayConfig::default().filling_shuffle_interval();
    let (earliest, latest) = (interval / 2, interval * 3 / 2);
    let first_shuffles: BTreeSet<Instant> = (1..=20).map(|me| server(me).poll_timeout()).collect();
    assert!(first_shuffles.len() >= 15, "shuffles bunch together: {first_shuffles:?}");
    assert!(
        first_shuffles
            .iter()
            .all(|at| *at >= Instant::ZERO + earliest && *at < Instant::ZERO + latest),
        "{first_shuffles:?}"
    );
}

/// Config for the swap tests: swaps every 10 s on average, shuffles too rare to interfere.
fn swapping() -> OverlayConfig {
    OverlayConfig {
        swap_interval: Duration::from_secs(10),
        shuffle_interval: Duration::from_secs(3600),
        ..OverlayConfig::default()
    }
}

fn swap_replies(out: &[OverlayOutput]) -> Vec<(NodeId, Option<NodeId>)> {
    sends(out)
        .into_iter()
        .filter_map(|(to, message)| match message {
            OverlayMessage::SwapReply { hand_over } => Some((to, hand_over)),
            _ => None,
        })
        .collect()
}

fn hand_overs(out: &[OverlayOutput]) -> Vec<(NodeId, NodeId)> {
    sends(out)
        .into_iter()
        .filter_map(|(to, message)| match message {
            OverlayMessage::HandOver { to: new_neighbor } => Some((to, new_neighbor)),
            _ => None,
        })
        .collect()
}

/// A full server, swapping every 10 s, whose swap period has ended: returns its swap's
/// (asked peer, offered neighbour).
fn start_swap(node: &mut Overlay, rng: &mut Rng) -> (NodeId, NodeId) {
    let mut out = Vec::new();
    node.on_timeout(Instant::ZERO + Duration::from_secs(15), rng, &mut out);
    let swaps: Vec<(NodeId, NodeId)> = sends(&out)
        .into_iter()
        .filter_map(|(to, message)| match message {
            OverlayMessage::Swap { offer } => Some((to, offer)),
            _ => None,
        })
        .collect();
    assert_eq!(swaps.len(), 1, "{out:?}");
    swaps[0]
}

#[test]
fn a_full_server_offers_one_of_its_neighbours_to_a_passive_peer_each_swap_period() {
    let mut rng = Rng::from_seed(30);
    let mut node = overlay(1, Role::Server, swapping());
    connect(&mut node, 2..=6, &mut rng);
    node.learn(ids([7]), &mut rng);
    let (asked, offer) = start_swap(&mut node, &mut rng);
    assert_eq!(asked, id(7));
    assert!(node.active().contains(&offer));
    assert_eq!(node.active(), &ids(2..=6), "nothing changes before the answer");
}

#[test]
fn a_server_with_room_in_its_view_starts_no_swap() {
    let mut rng = Rng::from_seed(31);
    let mut node = overlay(1, Role::Server, swapping());
    connect(&mut node, 2..=5, &mut rng);
    node.learn(ids([7]), &mut rng);
    let mut out = Vec::new();
    node.on_timeout(Instant::ZERO + Duration::from_secs(15), &mut rng, &mut out);
    assert!(
        !sends(&out).iter().any(|(_, message)| matches!(message, OverlayMessage::Swap { .. })),
        "{out:?}"
    );
}

#[test]
fn a_full_server_accepts_a_swap_and_hands_a_neighbour_other_than_the_offered_one_over() {
    for seed in 0..20 {
        let mut rng = Rng::from_seed(seed);
        let mut node = server(1);
        connect(&mut node, 2..=6, &mut rng);
        let mut out = Vec::new();
        node.handle(id(9), OverlayMessage::Swap { offer: id(3) }, &mut rng, &mut out);

        let handed = hand_overs(&out);
        assert_eq!(handed.len(), 1, "{out:?}");
        let (dropped, new_neighbor) = handed[0];
        assert_eq!(new_neighbor, id(3), "the dropped neighbour is to link with the offered one");
        assert_ne!(dropped, id(3));
        assert!(node.active().contains(&id(9)));
        assert!(!node.active().contains(&dropped));
        assert!(node.passive().contains(&dropped));
        assert_eq!(node.active().len(), 5, "the view keeps its size");
        assert_eq!(swap_replies(&out), vec![(id(9), Some(dropped))]);
        assert!(disconnected(&out).is_empty(), "a hand-over is not a plain disconnect");
    }
}

#[test]
fn a_swap_is_refused_by_a_view_that_is_not_exactly_full_or_already_holds_the_sender() {
    let mut rng = Rng::from_seed(32);
    let refused = |node: &mut Overlay, from: u8, rng: &mut Rng| {
        let before = node.active().clone();
        let mut out = Vec::new();
        node.handle(id(from), OverlayMessage::Swap { offer: id(30) }, rng, &mut out);
        assert_eq!(swap_replies(&out), vec![(id(from), None)]);
        assert_eq!(node.active(), &before);
        assert!(hand_overs(&out).is_empty());
    };
    let mut short = server(1);
    connect(&mut short, 2..=4, &mut rng);
    refused(&mut short, 9, &mut rng);

    let mut beyond = server(1);
    connect(&mut beyond, 2..=7, &mut rng);
    assert_eq!(beyond.active().len(), 6);
    refused(&mut beyond, 9, &mut rng);

    let mut full = server(1);
    connect(&mut full, 2..=6, &mut rng);
    refused(&mut full, 4, &mut rng);

    let mut client = overlay(1, Role::Client, OverlayConfig::default());
    connect(&mut client, 2..=4, &mut rng);
    refused(&mut client, 9, &mut rng);
}

#[test]
fn an_accepted_swap_replaces_the_offered_neighbour_by_the_peer_and_hands_it_over() {
    let mut rng = Rng::from_seed(33);
    let mut node = overlay(1, Role::Server, swapping());
    connect(&mut node, 2..=6, &mut rng);
    node.learn(ids([7]), &mut rng);
    let (asked, offer) = start_swap(&mut node, &mut rng);

    let mut out = Vec::new();
    node.handle(asked, OverlayMessage::SwapReply { hand_over: Some(id(20)) }, &mut rng, &mut out);
    assert!(node.active().contains(&asked));
    assert!(!node.active().contains(&offer));
    assert!(node.passive().contains(&offer));
    assert_eq!(node.active().len(), 5);
    assert_eq!(hand_overs(&out), vec![(offer, id(20))]);
    assert_eq!(downs(&out), vec![offer]);
    assert_eq!(ups(&out), vec![(asked, Role::Server)]);
}

#[test]
fn a_refused_swap_or_a_reply_nobody_was_asked_for_changes_nothing() {
    let mut rng = Rng::from_seed(34);
    let mut node = overlay(1, Role::Server, swapping());
    connect(&mut node, 2..=6, &mut rng);
    node.learn(ids([7]), &mut rng);
    let (asked, _) = start_swap(&mut node, &mut rng);

    let mut out = Vec::new();
    let stranger = OverlayMessage::SwapReply { hand_over: Some(id(20)) };
    node.handle(id(8), stranger, &mut rng, &mut out);
    node.handle(asked, OverlayMessage::SwapReply { hand_over: None }, &mut rng, &mut out);
    node.handle(asked, OverlayMessage::SwapReply { hand_over: Some(id(20)) }, &mut rng, &mut out);
    assert_eq!(node.active(), &ids(2..=6), "a late acceptance after a refusal is ignored too");
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn both_ends_of_a_hand_over_drop_the_sender_and_only_the_smaller_id_asks_the_other() {
    let mut rng = Rng::from_seed(35);
    let mut small = server(3);
    let mut large = server(8);
    connect(&mut small, [1, 2], &mut rng);
    connect(&mut large, [1, 9], &mut rng);

    let mut out = Vec::new();
    small.handle(id(1), OverlayMessage::HandOver { to: id(8) }, &mut rng, &mut out);
    assert_eq!(small.active(), &ids([2]));
    assert_eq!(neighbor_requests(&out), vec![(id(8), true, Role::Server)]);
    assert_eq!(downs(&out), vec![id(1)]);

    let mut out = Vec::new();
    large.handle(id(1), OverlayMessage::HandOver { to: id(3) }, &mut rng, &mut out);
    assert_eq!(large.active(), &ids([9]));
    assert!(sends(&out).is_empty(), "it waits for the smaller id's request: {out:?}");

    let mut out = Vec::new();
    small.handle(id(5), OverlayMessage::HandOver { to: id(8) }, &mut rng, &mut out);
    assert!(out.is_empty(), "a hand-over from a non-neighbour is ignored: {out:?}");
}
