//! The node's side of routing: the advertised graph it computes routes over, routed messages
//! in and out, and the commands that read the table or ping across the mesh.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::id::NodeId;
use crate::liveness::MemberState;
use crate::profile::Profile;
use crate::record::RecordKind;
use crate::record_set::SlotKey;
use crate::role::Role;
use crate::routing::{LinkState, Route, RouteError, RoutingMessage, RoutingOutput, latency_groups};
use crate::time::Instant;
use crate::wire::Message;

use super::{Event, Node, Output};

/// A known server and how near it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Nearby {
    /// The server.
    pub id: NodeId,
    /// Its mean probe round trip.
    pub rtt: Duration,
    /// Its latency group: 0 is the nearest group (see `routing::latency_groups`).
    pub group: usize,
}

impl Node {
    /// The routing table: a route to every node reachable over advertised links, by
    /// destination. Empty when routing is off.
    pub fn routes(&mut self) -> Vec<Route> {
        self.refresh_routes();
        self.routing.as_ref().map_or_else(Vec::new, |routing| routing.table().routes().collect())
    }

    /// (destination, next hop, hops) of every route: [`Node::routes`] without the paths.
    pub fn next_hops(&mut self) -> Vec<(NodeId, NodeId, u32)> {
        self.refresh_routes();
        self.routing.as_ref().map_or_else(Vec::new, |routing| routing.table().next_hops().collect())
    }

    /// The live servers whose round trip this node has measured (by its failure detector's
    /// probes), nearest first, each with its latency group. A member whose profile has not
    /// arrived yet counts as a server.
    pub fn nearest(&self) -> Vec<Nearby> {
        let Some(membership) = &self.membership else { return Vec::new() };
        let measured: Vec<(NodeId, f64)> = membership
            .members()
            .iter()
            .filter(|(_, member)| member.state == MemberState::Alive)
            .filter(|(id, _)| self.role_of(**id) != Some(Role::Client))
            .filter_map(|(id, member)| Some((*id, member.rtt()?.as_secs_f64() * 1000.0)))
            .collect();
        latency_groups(&measured)
            .into_iter()
            .enumerate()
            .flat_map(|(group, members)| {
                members.peers.into_iter().map(move |(id, rtt_ms)| Nearby {
                    id,
                    rtt: Duration::from_secs_f64(rtt_ms / 1000.0),
                    group,
                })
            })
            .collect()
    }

    /// The role `id` gives in its profile, once it arrived.
    fn role_of(&self, id: NodeId) -> Option<Role> {
        let slot = SlotKey { origin: id, family: RecordKind::Profile, key: String::new() };
        Profile::decode(&self.records.get(&slot)?.record.payload).map(|profile| profile.role)
    }

    /// Sends a routed ping to `destination`; the answer comes as [`Event::PingAnswered`] with
    /// the returned id. Refused when no route leads there (or routing is off).
    pub fn ping(&mut self, now: Instant, destination: NodeId) -> Result<u64, RouteError> {
        self.refresh_routes();
        let Some(routing) = &mut self.routing else {
            return Err(RouteError::NoRoute(destination));
        };
        let mut out = Vec::new();
        let id = routing.ping(now, destination, &mut out)?;
        self.apply_routing(now, out);
        Ok(id)
    }

    /// A routed message from a neighbour.
    pub(super) fn on_routing(&mut self, now: Instant, message: RoutingMessage) {
        self.refresh_routes();
        let Some(routing) = &mut self.routing else { return };
        let mut out = Vec::new();
        routing.handle(now, message, &mut out);
        self.apply_routing(now, out);
    }

    pub(super) fn apply_routing(&mut self, now: Instant, out: Vec<RoutingOutput>) {
        for output in out {
            match output {
                RoutingOutput::Send(to, message) => self.send(to, &Message::Routing(message)),
                RoutingOutput::Advertise(links) => {
                    // Refused only for a payload out of bounds, which `current` never makes.
                    let _ = self.publish_own(
                        now,
                        RecordKind::LinkState,
                        String::new(),
                        links.encode(),
                        0,
                    );
                }
                RoutingOutput::PingAnswered { id, rtt, path } => {
                    self.outputs.push_back(Output::Event(Event::PingAnswered { id, rtt, path }));
                }
            }
        }
    }

    /// Tells routing that a link came up, and whether the table already routes to its peer.
    pub(super) fn routing_link_up(&mut self, now: Instant, peer: NodeId) {
        if self.routing.is_none() {
            return;
        }
        self.refresh_routes();
        if let Some(routing) = &mut self.routing {
            let routed = routing.table().next_hop(&peer).is_some();
            routing.link_up(now, peer, routed);
        }
    }

    /// Tells routing that the graph changed if `kind` is an advertisement's, and the groups if
    /// it may change one.
    pub(super) fn note_graph_record(&mut self, kind: RecordKind) {
        if kind == RecordKind::LinkState {
            self.note_graph_changed();
        }
        self.note_groups_record(kind);
    }

    /// Tells routing (and the groups' topologies) that the graph changed (an advertisement, or
    /// a member's state).
    pub(super) fn note_graph_changed(&mut self) {
        if let Some(routing) = &mut self.routing {
            routing.graph_changed();
        }
        self.note_groups_changed();
    }

    /// Computes the routing table again if the graph changed since.
    fn refresh_routes(&mut self) {
        if self.routing.as_ref().is_some_and(|routing| routing.is_stale()) {
            let graph = self.advertised_graph();
            if let Some(routing) = &mut self.routing {
                routing.recompute(&graph);
            }
        }
    }

    /// Every advertisement held, by origin, but those of members held dead or departed.
    fn advertised_graph(&self) -> BTreeMap<NodeId, LinkState> {
        let gone = |origin: &NodeId| {
            self.membership.as_ref().is_some_and(|membership| {
                membership.members().get(origin).is_some_and(|member| member.state.is_gone())
            })
        };
        self.records
            .origins()
            .map(|(origin, _)| *origin)
            .filter(|origin| !gone(origin))
            .filter_map(|origin| {
                let slot = SlotKey { origin, family: RecordKind::LinkState, key: String::new() };
                let links = LinkState::decode(&self.records.get(&slot)?.record.payload)?;
                Some((origin, links))
            })
            .collect()
    }
}
