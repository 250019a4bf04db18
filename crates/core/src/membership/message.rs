//! Probe messages between two members, and what membership asks of the node.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::liveness::{LivenessClaim, MemberState};

/// Probe messages, sent directly between two nodes (not broadcast).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipMessage {
    /// Are you alive? `relay_for` is set when the sender probes on another node's behalf.
    Ping {
        /// Matches the answer to the probe.
        seq: u64,
        /// (requester, requester's seq) for an indirect probe.
        relay_for: Option<(NodeId, u64)>,
    },
    /// I am.
    Ack {
        /// The probe's seq.
        seq: u64,
        /// Copied from the ping.
        relay_for: Option<(NodeId, u64)>,
    },
    /// Please probe `target` for me.
    PingReq {
        /// The requester's seq, to be echoed in the relayed ack.
        seq: u64,
        /// The member to probe.
        target: NodeId,
    },
}

/// What membership asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipOutput {
    /// Send a probe message.
    Send(NodeId, MembershipMessage),
    /// Sign and broadcast this claim.
    Publish(LivenessClaim),
    /// A member changed state in this node's view.
    Changed {
        /// The member.
        id: NodeId,
        /// Its new state.
        state: MemberState,
        /// The incarnation the state refers to.
        incarnation: u64,
    },
    /// A dead or left member was forgotten after the purge period.
    Purged(NodeId),
    /// A member answered this node's direct probe after `rtt`.
    Answered {
        /// The member.
        member: NodeId,
        /// The probe's round trip.
        rtt: Duration,
    },
}
