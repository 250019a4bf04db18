//! The actor's side of routing: the round trips QUIC measures on the overlay's links, fed to the
//! core as link costs; routed pings waiting for their answer; `route` events; and the routes
//! and nearest servers the API shows.

use std::collections::BTreeMap;
use std::time::Duration;

use herald_core::routing::Route;
use herald_core::{Input, NodeId};
use tokio::sync::oneshot;

use super::Actor;
use crate::api::model::{ApiError, ApiEvent, NearestView, PingView, RouteChangeView, RouteView};

/// How often the round trips of the overlay's links are read from the transport and given to
/// the core. Routing re-advertises a cost only when it moves by a quarter, so this bounds how
/// fast a slower link is noticed, not what it costs.
pub(crate) const LINK_RTT_INTERVAL: Duration = Duration::from_secs(5);

/// How often the routing table is compared with the last one, for `route` events.
pub(crate) const ROUTE_EVENTS_INTERVAL: Duration = Duration::from_secs(1);

/// Routed pings awaiting their answer, at most; the oldest is dropped, and its caller told.
const PINGS_WAITING_MAX: usize = 256;

/// What the actor keeps for routing's callers: routed pings awaiting their answer, by the
/// core's ping id, and the routes last told to the event stream.
#[derive(Default)]
pub(crate) struct RoutingWatch {
    waiting: BTreeMap<u64, oneshot::Sender<PingView>>,
    routes_told: BTreeMap<NodeId, Route>,
    /// How many tables routing had computed when `routes_told` was taken.
    computed_told: u64,
}

impl Actor {
    /// Gives the core the round trip of every overlay link the transport has open.
    pub(crate) fn feed_link_rtts(&mut self) {
        let now = self.clock.now();
        let links: Vec<NodeId> = self.kept_open.iter().copied().collect();
        for peer in links {
            if let Some(rtt) = self.transport.rtt(&peer) {
                self.node.handle(now, Input::LinkRtt { peer, rtt });
            }
        }
    }

    /// Sends a `route` event for every route that appeared, changed or was lost since the last
    /// call.
    pub(crate) fn tell_route_changes(&mut self) {
        // The table changes only when it is computed again: a quiet grid costs nothing here.
        let computed = |actor: &Actor| {
            actor.node.routing().map(|routing| (routing.is_stale(), routing.counters().recomputes))
        };
        if computed(self) == Some((false, self.routing_watch.computed_told)) {
            return;
        }
        let now: BTreeMap<NodeId, Route> =
            self.node.routes().into_iter().map(|route| (route.destination, route)).collect();
        let told = std::mem::take(&mut self.routing_watch.routes_told);
        let view = |destination: &NodeId, route: Option<&Route>| RouteChangeView {
            destination: destination.to_string(),
            next_hop: route.map(|route| route.next_hop.to_string()),
            cost: route.map(|route| route.cost),
            path: route
                .map_or_else(Vec::new, |route| route.path.iter().map(NodeId::to_string).collect()),
        };
        for (destination, route) in &now {
            if told.get(destination) != Some(route) {
                let _ = self.events.send(ApiEvent::Route(view(destination, Some(route))));
            }
        }
        for destination in told.keys().filter(|destination| !now.contains_key(destination)) {
            let _ = self.events.send(ApiEvent::Route(view(destination, None)));
        }
        self.routing_watch.routes_told = now;
        self.routing_watch.computed_told = computed(self).map_or(0, |(_, count)| count);
    }

    /// `GET /v1/routes`.
    pub(crate) fn routes_view(&mut self) -> Vec<RouteView> {
        self.node
            .routes()
            .into_iter()
            .map(|route| RouteView {
                destination: route.destination.to_string(),
                next_hop: route.next_hop.to_string(),
                cost: route.cost,
                path: route.path.iter().map(NodeId::to_string).collect(),
            })
            .collect()
    }

    /// `GET /v1/nearest`.
    pub(crate) fn nearest_view(&self) -> Vec<NearestView> {
        self.node
            .nearest()
            .into_iter()
            .map(|nearby| NearestView {
                node_id: nearby.id.to_string(),
                rtt_ms: nearby.rtt.as_secs_f64() * 1000.0,
                group: nearby.group,
            })
            .collect()
    }

    /// `POST /v1/ping/{node}`: sends a routed ping to the node `name` names; its answer comes
    /// on the returned channel.
    pub(crate) fn ping(&mut self, name: &str) -> Result<oneshot::Receiver<PingView>, ApiError> {
        let destination = self.resolve(name)?;
        if destination == self.id() {
            return Err(ApiError::BadRequest(format!("{name} is this node")));
        }
        let id = self
            .node
            .ping(self.clock.now(), destination)
            .map_err(|refused| ApiError::NotFound(refused.to_string()))?;
        let (reply, answer) = oneshot::channel();
        if self.routing_watch.waiting.len() >= PINGS_WAITING_MAX {
            // Dropping the sender tells its caller the ping was given up.
            self.routing_watch.waiting.pop_first();
        }
        self.routing_watch.waiting.insert(id, reply);
        Ok(answer)
    }

    /// A routed ping was answered.
    pub(crate) fn ping_answered(&mut self, id: u64, rtt: Duration, path: &[NodeId]) {
        if let Some(reply) = self.routing_watch.waiting.remove(&id) {
            let path = path.iter().map(NodeId::to_string).collect();
            // A caller that gave up waiting is not an error.
            let _ = reply.send(PingView { rtt_ms: rtt.as_secs_f64() * 1000.0, path });
        }
    }

    /// The node `name` names: a whole node id, a prefix of exactly one known member's id, or
    /// exactly one member's petname.
    fn resolve(&self, name: &str) -> Result<NodeId, ApiError> {
        if let Ok(id) = name.parse::<NodeId>() {
            return Ok(id);
        }
        let members = self.members_view();
        let by_prefix: Vec<&str> = members
            .iter()
            .filter(|member| !name.is_empty() && member.node_id.starts_with(name))
            .map(|member| member.node_id.as_str())
            .collect();
        let by_name: Vec<&str> = members
            .iter()
            .filter(|member| member.name == name)
            .map(|member| member.node_id.as_str())
            .collect();
        let found = match (by_prefix.as_slice(), by_name.as_slice()) {
            ([one], _) | ([], [one]) => one.to_owned(),
            ([], []) => return Err(ApiError::NotFound(format!("no known member is {name:?}"))),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "{name:?} names more than one member; give more of the node id"
                )));
            }
        };
        found.parse().map_err(|_| ApiError::NotFound(format!("no known member is {name:?}")))
    }
}
