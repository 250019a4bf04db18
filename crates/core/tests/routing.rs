//! Link-state routing, driven by hand through the `Routing` state machine's public API: when
//! advertisements go out, and how routed messages cross a line of nodes.

use std::collections::BTreeMap;
use std::time::Duration;

use herald_core::routing::{
    LinkState, RouteError, Routed, RoutedBody, Routing, RoutingMessage, RoutingOutput,
};
use herald_core::{Instant, NodeId, RoutingConfig};

fn id(n: u8) -> NodeId {
    NodeId::from_bytes([n; 32])
}

fn ms(millis: u64) -> Instant {
    Instant::from_micros(millis * 1000)
}

/// Runs the timer at `now` and returns the advertisement it published, if any.
fn advertised(routing: &mut Routing, now: Instant) -> Option<LinkState> {
    let mut out = Vec::new();
    routing.on_timeout(now, &mut out);
    out.into_iter().find_map(|output| match output {
        RoutingOutput::Advertise(state) => Some(state),
        _ => None,
    })
}

#[test]
fn a_first_link_is_advertised_soon_and_upkeep_waits_for_the_maintenance_delay() {
    let config = RoutingConfig::default();
    let mut routing = Routing::new(id(1), config.clone());
    assert_eq!(routing.poll_timeout(), None, "nothing to advertise");
    routing.link_up(ms(0), id(2), false);
    assert_eq!(routing.poll_timeout(), Some(ms(0) + config.advertise_delay));
    let first = advertised(&mut routing, ms(0) + config.advertise_delay).expect("advertised");
    assert_eq!(first.links, vec![(id(2), config.unmeasured_cost_ms)]);

    // A second link and a dropped one are the overlay's upkeep: they go out together.
    let now = ms(1000);
    routing.link_up(now, id(3), true);
    routing.link_up(now, id(4), true);
    routing.link_down(now + Duration::from_millis(10), id(3));
    assert_eq!(routing.poll_timeout(), Some(now + config.maintenance_delay));
    assert_eq!(advertised(&mut routing, now + config.advertise_delay), None);
    let second = advertised(&mut routing, now + config.maintenance_delay).expect("advertised");
    let peers: Vec<NodeId> = second.links.iter().map(|(peer, _)| *peer).collect();
    assert_eq!(peers, vec![id(2), id(4)]);
    assert_eq!(routing.counters().advertisements, 2);
}

#[test]
fn a_link_to_a_peer_the_table_does_not_reach_is_advertised_soon() {
    let config = RoutingConfig::default();
    let mut routing = Routing::new(id(1), config.clone());
    routing.link_up(ms(0), id(2), false);
    advertised(&mut routing, ms(0) + config.advertise_delay).expect("the first link");
    // A newcomer linked to this node is out of everyone's reach until this end advertises.
    let now = ms(5000);
    routing.link_up(now, id(9), false);
    assert_eq!(routing.poll_timeout(), Some(now + config.advertise_delay));
    let state = advertised(&mut routing, now + config.advertise_delay).unwrap();
    assert_eq!(state.links.len(), 2);
}

#[test]
fn a_failed_peer_is_advertised_at_once_but_not_sooner_than_the_minimum_interval() {
    let config = RoutingConfig::default();
    let mut routing = Routing::new(id(1), config.clone());
    routing.link_up(ms(0), id(2), false);
    routing.link_up(ms(0), id(3), false);
    let at = ms(0) + config.advertise_delay;
    assert_eq!(advertised(&mut routing, at).unwrap().links.len(), 2);

    routing.peer_failed(at + Duration::from_millis(1), id(2));
    assert_eq!(routing.poll_timeout(), Some(at + config.advertise_interval_min));
    let after = advertised(&mut routing, at + config.advertise_interval_min).expect("advertised");
    assert_eq!(after.links, vec![(id(3), config.unmeasured_cost_ms)]);

    // A peer this node neither links to nor advertised changes nothing.
    routing.peer_failed(ms(5000), id(9));
    assert_eq!(routing.poll_timeout(), None);
}

#[test]
fn measured_costs_are_smoothed_and_only_a_large_move_is_advertised() {
    let config = RoutingConfig::default();
    let mut routing = Routing::new(id(1), config.clone());
    routing.link_up(ms(0), id(2), false);
    routing.measured(ms(1), id(2), Duration::from_millis(40));
    // Round trips to a peer that is not a link are not kept.
    routing.measured(ms(1), id(7), Duration::from_millis(5));
    let first = advertised(&mut routing, ms(0) + config.advertise_delay).unwrap();
    assert_eq!(first.links, vec![(id(2), 40)]);

    // 44 ms moves the smoothed 40 by half a millisecond: nothing to say.
    routing.measured(ms(2000), id(2), Duration::from_millis(44));
    assert_eq!(routing.poll_timeout(), None);
    // A link that became five times slower moves it past the hysteresis within a few samples.
    let mut now = ms(3000);
    while routing.poll_timeout().is_none() {
        now = now + Duration::from_millis(100);
        routing.measured(now, id(2), Duration::from_millis(200));
    }
    let moved = advertised(&mut routing, now + config.maintenance_delay).unwrap();
    assert!(moved.links[0].1 > 50, "{moved:?}");
}

/// Three routers in a line, 1 - 2 - 3, each with the tables of the same graph.
fn line() -> BTreeMap<NodeId, Routing> {
    let mut graph = BTreeMap::new();
    graph.insert(id(1), LinkState { links: vec![(id(2), 10)] });
    graph.insert(id(2), LinkState { links: vec![(id(1), 10), (id(3), 10)] });
    graph.insert(id(3), LinkState { links: vec![(id(2), 10)] });
    (1..=3)
        .map(|n| {
            let mut routing = Routing::new(id(n), RoutingConfig::default());
            routing.recompute(&graph);
            (id(n), routing)
        })
        .collect()
}

/// Delivers `sent` hop by hop until nothing is left to send; returns what else came out.
fn carry(
    routers: &mut BTreeMap<NodeId, Routing>,
    now: Instant,
    mut sent: Vec<(NodeId, RoutingOutput)>,
) -> Vec<(NodeId, RoutingOutput)> {
    let mut other = Vec::new();
    let mut hops = 0;
    while let Some((by, output)) = sent.pop() {
        match output {
            RoutingOutput::Send(to, message) => {
                hops += 1;
                assert!(hops < 20, "the message went round");
                let mut out = Vec::new();
                routers.get_mut(&to).expect("a router").handle(now, message, &mut out);
                sent.extend(out.into_iter().map(|output| (to, output)));
            }
            output => other.push((by, output)),
        }
    }
    other
}

#[test]
fn a_routed_ping_crosses_a_relay_and_comes_back_with_its_path() {
    let mut routers = line();
    assert_eq!(routers[&id(1)].table().next_hop(&id(3)), Some(id(2)));
    let route = routers[&id(1)].table().route(&id(3)).unwrap();
    assert_eq!((route.path, route.cost), (vec![id(1), id(2), id(3)], 20));

    let mut out = Vec::new();
    let ping = routers.get_mut(&id(1)).unwrap().ping(ms(100), id(3), &mut out).unwrap();
    let sent = out.into_iter().map(|output| (id(1), output)).collect();
    let answered = carry(&mut routers, ms(130), sent);
    assert_eq!(
        answered,
        vec![(
            id(1),
            RoutingOutput::PingAnswered {
                id: ping,
                rtt: Duration::from_millis(30),
                path: vec![id(1), id(2), id(3)],
            }
        )]
    );
    assert_eq!(routers[&id(2)].counters().forwarded, 2, "the ping and the pong");
}

#[test]
fn a_ping_without_a_route_is_refused() {
    let mut routers = line();
    let mut out = Vec::new();
    let refused = routers.get_mut(&id(1)).unwrap().ping(ms(0), id(9), &mut out);
    assert_eq!(refused, Err(RouteError::NoRoute(id(9))));
    assert!(out.is_empty());
}

#[test]
fn a_routed_message_out_of_hops_or_of_route_is_dropped_and_counted() {
    let mut routers = line();
    let relay = routers.get_mut(&id(2)).unwrap();
    let routed = |destination: NodeId, hops_left: u8, path: Vec<NodeId>| {
        RoutingMessage::Routed(Routed {
            source: id(1),
            destination,
            hops_left,
            path,
            body: RoutedBody::Ping { id: 1 },
        })
    };
    let mut out = Vec::new();
    relay.handle(ms(0), routed(id(3), 0, vec![id(1)]), &mut out);
    relay.handle(ms(0), routed(id(9), 5, vec![id(1)]), &mut out);
    let too_long = vec![id(1); usize::from(RoutingConfig::default().hop_limit) + 2];
    relay.handle(ms(0), routed(id(3), 5, too_long), &mut out);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(relay.counters().dropped, 3);
    relay.handle(ms(0), routed(id(3), 1, vec![id(1)]), &mut out);
    assert_eq!(out.len(), 1, "one hop left is enough to forward");
}

#[test]
fn a_pong_nobody_asked_for_is_ignored() {
    let mut routers = line();
    let pong = RoutingMessage::Routed(Routed {
        source: id(3),
        destination: id(1),
        hops_left: 5,
        path: vec![id(3), id(2)],
        body: RoutedBody::Pong { id: 77, forward: vec![id(1), id(2), id(3)] },
    });
    let mut out = Vec::new();
    routers.get_mut(&id(1)).unwrap().handle(ms(0), pong, &mut out);
    assert!(out.is_empty());
}

mod node {
    //! Advertisements through the whole node: versions that survive a lost store and a new
    //! epoch.

    use std::sync::Arc;

    use herald_core::broadcast::BroadcastMessage;
    use herald_core::routing::LinkState;
    use herald_core::wire::{self, Message};
    use herald_core::{
        Config, Input, Keypair, Node, NodeId, Output, PersistOp, RecordKind, RoutingConfig,
        SignedRecord, Version,
    };

    use super::ms;

    fn config() -> Config {
        Config { routing: Some(RoutingConfig::default()), ..Config::default() }
    }

    /// The advertisements among `node`'s outputs so far, with the frames that carried them.
    fn advertisements(node: &mut Node) -> (Vec<Version>, Vec<Arc<[u8]>>) {
        let outputs: Vec<Output> = std::iter::from_fn(|| node.poll_output()).collect();
        let mut versions = Vec::new();
        let mut frames = Vec::new();
        for output in outputs {
            match output {
                Output::Persist(PersistOp::PutRecord(record))
                    if record.record.kind == RecordKind::LinkState =>
                {
                    versions.push(record.record.version);
                }
                Output::Transmit { frame, .. } => frames.push(frame),
                _ => {}
            }
        }
        (versions, frames)
    }

    fn gossip(record: SignedRecord) -> Arc<[u8]> {
        let message =
            Message::Broadcast(BroadcastMessage::Gossip { round: 0, record: Arc::new(record) });
        wire::encode(&message).unwrap().into()
    }

    /// A node (key 8) that linked to a peer (key 9), then to another: its two advertisements,
    /// (0, 1) and (0, 2), as the frames that carried them, with its key and the peer's id.
    fn two_old_advertisements() -> (Keypair, NodeId, Vec<Arc<[u8]>>) {
        let keypair = Keypair::from_secret([8; 32]);
        let peer = Keypair::from_secret([9; 32]).id();
        let other = Keypair::from_secret([10; 32]).id();
        let mut old = Node::new(keypair.clone(), config(), 1, ms(0));
        old.join(ms(0), &[peer]);
        old.handle(ms(300), Input::Timeout);
        old.join(ms(400), &[other]);
        old.handle(ms(20_000), Input::Timeout);
        let (versions, frames) = advertisements(&mut old);
        assert_eq!(versions, vec![Version::new(0, 1), Version::new(0, 2)]);
        (keypair, peer, frames)
    }

    #[test]
    fn a_node_that_lost_its_store_advertises_past_its_old_advertisement() {
        let (keypair, peer, frames) = two_old_advertisements();

        // Same key and epoch, empty store: its old advertisement comes back from the peer.
        let mut reborn = Node::new(keypair, config(), 2, ms(0));
        for frame in frames {
            reborn.handle(ms(1), Input::Frame { from: peer, bytes: frame });
        }
        reborn.join(ms(2), &[peer]);
        reborn.handle(ms(500), Input::Timeout);
        let (versions, _) = advertisements(&mut reborn);
        let expected = [Version::new(0, 1), Version::new(0, 2), Version::new(0, 3)];
        assert_eq!(versions, expected, "both old ones held, then the next one past them");
    }

    #[test]
    fn a_node_that_advertised_below_its_old_advertisement_advertises_again_above_it() {
        let (keypair, peer, frames) = two_old_advertisements();

        // Reborn with an empty store, it advertises first, at seq 1; then its old
        // advertisement, at seq 2, comes back and is stored over it.
        let mut reborn = Node::new(keypair, config(), 2, ms(0));
        reborn.join(ms(0), &[peer]);
        reborn.handle(ms(300), Input::Timeout);
        for frame in frames {
            reborn.handle(ms(1000), Input::Frame { from: peer, bytes: frame });
        }
        let (versions, _) = advertisements(&mut reborn);
        assert_eq!(versions, vec![Version::new(0, 1), Version::new(0, 2)]);
        // So it advertises its links again, above the old ones, as soon as it may.
        reborn.handle(ms(1300), Input::Timeout);
        let (versions, _) = advertisements(&mut reborn);
        assert_eq!(versions, vec![Version::new(0, 3)], "the grid must not keep the old links");
    }

    #[test]
    fn an_advertisement_of_a_new_epoch_with_a_low_seq_replaces_a_high_seq_at_once() {
        let restarted = Keypair::from_secret([8; 32]);
        let mut watcher = Node::new(Keypair::from_secret([9; 32]), config(), 1, ms(0));
        let old_links = LinkState { links: vec![(NodeId::from_bytes([1; 32]), 10)] };
        let new_links = LinkState { links: vec![(NodeId::from_bytes([2; 32]), 10)] };
        let sign = |links: &LinkState, version| {
            links.record(restarted.id(), version, 0).sign(&restarted).unwrap()
        };
        let from = restarted.id();
        let old = gossip(sign(&old_links, Version::new(1, 900)));
        watcher.handle(ms(0), Input::Frame { from, bytes: old });
        let new = gossip(sign(&new_links, Version::new(2, 1)));
        watcher.handle(ms(10), Input::Frame { from, bytes: new });
        let held = watcher.records().version_of(restarted.id(), RecordKind::LinkState, "");
        assert_eq!(held, Some(Version::new(2, 1)));
        // And an old epoch's higher seq, arriving late, does not take it back.
        let late = gossip(sign(&old_links, Version::new(1, 901)));
        watcher.handle(ms(20), Input::Frame { from, bytes: late });
        let held = watcher.records().version_of(restarted.id(), RecordKind::LinkState, "");
        assert_eq!(held, Some(Version::new(2, 1)));
    }
}
