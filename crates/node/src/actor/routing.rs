//! The actor's side of routing: the round trips QUIC measures on the overlay's links, fed to the
//! core as link costs; routed pings waiting for their answer; and the routes and nearest
//! servers the API shows.

use std::collections::BTreeMap;
use std::time::Duration;

use herald_core::{Input, NodeId};
use tokio::sync::oneshot;

use super::Actor;
use crate::api::model::{ApiError, NearestView, PingView, RouteView};

/// How often the round trips of the overlay's links are read from the transport and given to
/// the core. Routing re-advertises a cost only when it moves by a quarter, so this bounds how
/// fast a slower link is noticed, not what it costs.
pub(crate) const LINK_RTT_INTERVAL: Duration = Duration::from_secs(5);

/// Routed pings awaiting their answer, at most; the oldest is dropped, and its caller told.
const PINGS_WAITING_MAX: usize = 256;

/// Routed pings sent for API callers, by the core's ping id.
#[derive(Default)]
pub(crate) struct Pings {
    waiting: BTreeMap<u64, oneshot::Sender<PingView>>,
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
        if self.pings.waiting.len() >= PINGS_WAITING_MAX {
            // Dropping the sender tells its caller the ping was given up.
            self.pings.waiting.pop_first();
        }
        self.pings.waiting.insert(id, reply);
        Ok(answer)
    }

    /// A routed ping was answered.
    pub(crate) fn ping_answered(&mut self, id: u64, rtt: Duration, path: &[NodeId]) {
        if let Some(reply) = self.pings.waiting.remove(&id) {
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
