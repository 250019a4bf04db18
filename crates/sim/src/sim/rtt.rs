//! With routing on, the simulator tells each node the modelled round trip of its links, as the
//! real node's transport reports QUIC's estimates.

use std::time::Duration;

use herald_core::Input;

use super::Sim;
use crate::network::NodeIndex;

/// How often a node is told the round trip to a neighbour it hears from, with routing on.
const RTT_TOLD_INTERVAL: Duration = Duration::from_secs(10);

impl Sim {
    /// With routing on, tells `to` the modelled round trip to `from`, a neighbour it just heard
    /// from, at most once per [`RTT_TOLD_INTERVAL`], as the real node's transport reports its
    /// links' estimates. Returns the work it cost.
    pub(super) fn tell_rtt(&mut self, from: NodeIndex, to: NodeIndex) -> Duration {
        let peer = self.id(from);
        let neighbor = self.nodes[to as usize]
            .node
            .as_ref()
            .is_some_and(|node| node.overlay().is_neighbor(&peer));
        if self.config.routing.is_none() || !neighbor {
            return Duration::ZERO;
        }
        let now = self.now;
        let due = self.rtt_told.get(&(to, from)).is_none_or(|at| now >= *at + RTT_TOLD_INTERVAL);
        if !due {
            return Duration::ZERO;
        }
        self.rtt_told.insert((to, from), now);
        let rtt = self.network.mean_round_trip();
        self.handle_at(to, Input::LinkRtt { peer, rtt })
    }
}
