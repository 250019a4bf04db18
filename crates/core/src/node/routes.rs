//! The node's side of routing: the advertised graph it computes routes over, routed messages
//! in and out, and the commands that read the table or ping across the mesh.

use std::collections::BTreeMap;

use crate::id::NodeId;
use crate::record::RecordKind;
use crate::record_set::SlotKey;
use crate::routing::{LinkState, Route, RouteError, RoutingMessage, RoutingOutput};
use crate::time::Instant;
use crate::wire::Message;

use super::{Event, Node, Output};

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

    /// Tells routing that the graph changed if `kind` is an advertisement's.
    pub(super) fn note_graph_record(&mut self, kind: RecordKind) {
        if kind == RecordKind::LinkState {
            self.note_graph_changed();
        }
    }

    /// Tells routing that the graph changed (an advertisement, or a member's state).
    pub(super) fn note_graph_changed(&mut self) {
        if let Some(routing) = &mut self.routing {
            routing.graph_changed();
        }
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
