//! What routing peers say to each other, and what routing asks of the node.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::LinkState;
use crate::id::NodeId;

/// Routing messages between two nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoutingMessage {
    /// A message on its way across the mesh, forwarded hop by hop by next hop.
    Routed(Routed),
}

/// A routed message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routed {
    /// The node that sent it.
    pub source: NodeId,
    /// The node it is for.
    pub destination: NodeId,
    /// Hops it may still take; a node that would forward it at 0 drops it.
    pub hops_left: u8,
    /// The nodes it passed, the source first; each forwarder adds itself.
    pub path: Vec<NodeId>,
    /// What it carries.
    pub body: RoutedBody,
}

/// What a routed message carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoutedBody {
    /// A routed ping: the destination answers with a pong routed back.
    Ping {
        /// The pinger's id for it.
        id: u64,
    },
    /// The answer to a ping.
    Pong {
        /// The ping's id.
        id: u64,
        /// The path the ping took, its source and destination included.
        forward: Vec<NodeId>,
    },
}

/// What the routing component asks of the node.
#[derive(Clone, Debug, PartialEq)]
pub enum RoutingOutput {
    /// Send a message to a neighbour.
    Send(NodeId, RoutingMessage),
    /// Publish this advertisement of this node's links.
    Advertise(LinkState),
    /// A routed ping was answered.
    PingAnswered {
        /// The ping's id, as [`super::Routing::ping`] returned it.
        id: u64,
        /// The round trip, from sending to the answer.
        rtt: Duration,
        /// The path the ping took, this node first and the destination last.
        path: Vec<NodeId>,
    },
}
