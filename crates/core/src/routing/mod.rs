//! Link-state routing: each node advertises its links with their costs, every node computes
//! shortest paths over the advertised graph, and routed messages cross the mesh hop by hop.
//!
//! Seed 002 (Receptor's route broadcasts) has every node flood its own connections so that any
//! node can reach any other through relays. herald's advertisement is a signed record of kind
//! [`RecordKind::LinkState`](crate::RecordKind::LinkState), one per origin ([`LinkState`]), so
//! it rides on what every record has: Plumtree spreads it without sending it back where it
//! came from, anti-entropy repairs it, the store persists its version, freshness is (epoch,
//! seq) compared in that order, a node that lost its store jumps past its own old
//! advertisement, and the advertisements of departed origins expire. What Receptor lacked,
//! and herald does here:
//! - Advertisements go out when links change, not on a period: a quiet grid advertises
//!   nothing. A failure is advertised at once; the overlay's upkeep (joins, link swaps) and
//!   costs that moved wait `maintenance_delay` and go out together, since a dropped link to a
//!   live peer still carries routed messages. A link's cost is its smoothed round trip,
//!   re-advertised only when it moves by more than a quarter (hysteresis).
//! - Nodes that membership holds dead or departed leave the graph at once, before their
//!   advertisements expire.
//! - A link counts only if both ends advertise it (the `table` module).
//!
//! Round trips come in as measurements ([`Routing::measured`]): the real node feeds the QUIC
//! connection's own estimate, the simulator the modelled one. Known peers are also clustered
//! into latency groups by their probe round trips, which give `nearest` and the near/far query
//! order of seed 003 (the `nearness` module).

mod config;
mod links;
mod message;
mod nearness;
mod table;

use std::collections::BTreeMap;
use std::time::Duration;

pub use config::RoutingConfig;
pub use links::{LINK_COST_MAX_MS, LINKS_MAX, LinkState};
pub use message::{Routed, RoutedBody, RoutingMessage, RoutingOutput};
pub use nearness::{GROUP_SLACK_MS, GROUP_SPREAD, LatencyGroup, latency_groups, query_order};
pub use table::{Route, Table};

use crate::id::NodeId;
use crate::time::Instant;

/// Why a routed message could not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No advertised path leads to the destination.
    #[error("no route to {0}")]
    NoRoute(NodeId),
}

/// Counters of routed traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoutingCounters {
    /// Advertisements of this node's links published.
    pub advertisements: u64,
    /// Routing tables computed.
    pub recomputes: u64,
    /// Routed messages forwarded for others.
    pub forwarded: u64,
    /// Routed messages dropped: no route onwards, or no hops left.
    pub dropped: u64,
}

/// A node's routing state.
#[derive(Clone, Debug)]
pub struct Routing {
    config: RoutingConfig,
    me: NodeId,
    /// The links up now, with their smoothed round trip in milliseconds once measured.
    links: BTreeMap<NodeId, Option<f64>>,
    advertised: Option<LinkState>,
    advertise_at: Option<Instant>,
    last_advertised: Option<Instant>,
    table: Table,
    /// Whether the graph changed since the table was computed.
    stale: bool,
    /// Pings sent and not answered, by id, with when they were sent.
    pings: BTreeMap<u64, Instant>,
    next_ping: u64,
    counters: RoutingCounters,
}

impl Routing {
    /// Routing for node `me`, with no links.
    pub fn new(me: NodeId, config: RoutingConfig) -> Routing {
        Routing {
            config,
            me,
            links: BTreeMap::new(),
            advertised: None,
            advertise_at: None,
            last_advertised: None,
            table: Table::default(),
            stale: true,
            pings: BTreeMap::new(),
            next_ping: 1,
            counters: RoutingCounters::default(),
        }
    }

    /// The counters.
    pub fn counters(&self) -> RoutingCounters {
        self.counters
    }

    /// A link came up; `peer_routed` says whether the table already routes to the peer. The
    /// link is urgent if it is this node's first (until it is advertised nobody can route to
    /// this node) or if the peer had no route (a node that joined, or came back): a link counts
    /// only once both ends advertise it, so the peer stays out of reach until this end does.
    pub fn link_up(&mut self, now: Instant, peer: NodeId, peer_routed: bool) {
        self.links.entry(peer).or_insert(None);
        let unadvertised = self.advertised.as_ref().is_none_or(|state| state.links.is_empty());
        let delay = if unadvertised || !peer_routed {
            self.config.advertise_delay
        } else {
            self.config.maintenance_delay
        };
        self.schedule(now, delay);
    }

    /// A link went down because the overlay dropped it; its peer is alive, so this can wait.
    pub fn link_down(&mut self, now: Instant, peer: NodeId) {
        if self.links.remove(&peer).is_some() {
            self.schedule(now, self.config.maintenance_delay);
        }
    }

    /// An advertisement of this node's came back from a peer and was stored, newer than the
    /// one this node holds: it lost its store and advertised from a low version, or is
    /// restoring. The links are advertised again at once, above it (the node's versions have
    /// jumped past it by then), so the grid does not keep the old links.
    pub fn own_advertisement_returned(&mut self, now: Instant) {
        self.advertised = None;
        self.schedule(now, self.config.advertise_delay);
    }

    /// The peer of a link failed (unreachable, or declared dead): routes through it break, so
    /// the change is urgent.
    pub fn peer_failed(&mut self, now: Instant, peer: NodeId) {
        let advertised =
            self.advertised.as_ref().is_some_and(|state| state.cost_to(&peer).is_some());
        if self.links.remove(&peer).is_some() || advertised {
            self.schedule(now, self.config.advertise_delay);
        }
    }

    /// A round trip to `peer` was measured. Only links are kept; a cost that moved past the
    /// hysteresis is re-advertised.
    pub fn measured(&mut self, now: Instant, peer: NodeId, rtt: Duration) {
        let Some(smoothed) = self.links.get_mut(&peer) else { return };
        let sample = rtt.as_secs_f64() * 1000.0;
        let estimate = match *smoothed {
            Some(old) => old + self.config.rtt_gain * (sample - old),
            None => sample,
        };
        *smoothed = Some(estimate);
        let advertised = self.advertised.as_ref().and_then(|state| state.cost_to(&peer));
        let moved = advertised.is_none_or(|cost| {
            let change = (f64::from(cost) - estimate).abs();
            change > f64::from(cost) * self.config.cost_change_fraction
                && change > f64::from(self.config.cost_change_min_ms)
        });
        if moved {
            self.schedule(now, self.config.maintenance_delay);
        }
    }

    /// Plans an advertisement after `delay`, and no sooner than `advertise_interval_min` after
    /// the last; an earlier plan stands.
    fn schedule(&mut self, now: Instant, delay: Duration) {
        let mut at = now + delay;
        if let Some(last) = self.last_advertised {
            at = at.max(last + self.config.advertise_interval_min);
        }
        self.advertise_at = Some(self.advertise_at.map_or(at, |planned| planned.min(at)));
    }

    /// The links as they would be advertised now.
    fn current(&self) -> LinkState {
        let cost = |smoothed: &Option<f64>| {
            smoothed.map_or(self.config.unmeasured_cost_ms, |ms| {
                (ms.round() as u32).clamp(1, LINK_COST_MAX_MS)
            })
        };
        let links = self
            .links
            .iter()
            .take(LINKS_MAX)
            .map(|(peer, smoothed)| (*peer, cost(smoothed)))
            .collect();
        LinkState { links }
    }

    /// When the component next needs [`Routing::on_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.advertise_at
    }

    /// Advertises this node's links when it is time and they changed.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<RoutingOutput>) {
        if self.advertise_at.is_none_or(|at| now < at) {
            return;
        }
        self.advertise_at = None;
        let current = self.current();
        if self.advertised.as_ref() != Some(&current) {
            self.last_advertised = Some(now);
            self.advertised = Some(current.clone());
            self.counters.advertisements += 1;
            out.push(RoutingOutput::Advertise(current));
        }
    }

    /// The advertised graph changed (an advertisement was stored or removed, or a member came
    /// or went): the table is computed again when next needed.
    pub fn graph_changed(&mut self) {
        self.stale = true;
    }

    /// Whether the graph changed since the table was computed.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// Computes the table again over `graph`, every live node's advertisement by origin.
    pub fn recompute(&mut self, graph: &BTreeMap<NodeId, LinkState>) {
        self.table = Table::compute(self.me, graph);
        self.stale = false;
        self.counters.recomputes += 1;
    }

    /// The routing table as last computed.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Sends a routed ping to `destination`; returns its id. Recompute a stale table first.
    pub fn ping(
        &mut self,
        now: Instant,
        destination: NodeId,
        out: &mut Vec<RoutingOutput>,
    ) -> Result<u64, RouteError> {
        let next_hop = self.table.next_hop(&destination).ok_or(RouteError::NoRoute(destination))?;
        let id = self.next_ping;
        self.next_ping += 1;
        if self.pings.len() >= self.config.pings_pending_max {
            self.pings.pop_first();
        }
        self.pings.insert(id, now);
        let routed = Routed {
            source: self.me,
            destination,
            hops_left: self.config.hop_limit,
            path: vec![self.me],
            body: RoutedBody::Ping { id },
        };
        out.push(RoutingOutput::Send(next_hop, RoutingMessage::Routed(routed)));
        Ok(id)
    }

    /// Handles a routed message from a neighbour: answers or takes it if it is for this node,
    /// forwards it by next hop otherwise. Recompute a stale table first.
    pub fn handle(&mut self, now: Instant, message: RoutingMessage, out: &mut Vec<RoutingOutput>) {
        let RoutingMessage::Routed(mut routed) = message;
        if routed.path.len() > usize::from(self.config.hop_limit) + 1 {
            self.counters.dropped += 1;
            return;
        }
        routed.path.push(self.me);
        if routed.destination != self.me {
            self.forward(routed, out);
            return;
        }
        match routed.body {
            RoutedBody::Ping { id } => {
                let Some(next_hop) = self.table.next_hop(&routed.source) else {
                    self.counters.dropped += 1;
                    return;
                };
                let pong = Routed {
                    source: self.me,
                    destination: routed.source,
                    hops_left: self.config.hop_limit,
                    path: vec![self.me],
                    body: RoutedBody::Pong { id, forward: routed.path },
                };
                out.push(RoutingOutput::Send(next_hop, RoutingMessage::Routed(pong)));
            }
            RoutedBody::Pong { id, forward } => {
                if routed.source != *forward.last().unwrap_or(&self.me) {
                    return;
                }
                if let Some(sent) = self.pings.remove(&id) {
                    let rtt = now.saturating_since(sent);
                    out.push(RoutingOutput::PingAnswered { id, rtt, path: forward });
                }
            }
        }
    }

    fn forward(&mut self, mut routed: Routed, out: &mut Vec<RoutingOutput>) {
        let next_hop = self.table.next_hop(&routed.destination);
        match next_hop {
            Some(next_hop) if routed.hops_left > 0 => {
                routed.hops_left -= 1;
                self.counters.forwarded += 1;
                out.push(RoutingOutput::Send(next_hop, RoutingMessage::Routed(routed)));
            }
            _ => self.counters.dropped += 1,
        }
    }
}
