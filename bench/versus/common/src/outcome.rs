//! The three workloads: what each side is asked to do, and what it hands back. The root binary
//! turns outcomes into figures, so every system is reduced to figures the same way.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::PhaseCost;

/// Broadcast latency and cost: one origin publishes `messages` messages of `payload` bytes back
/// to back, to `nodes` nodes in this process on loopback, each with its own endpoint.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct BroadcastParams {
    /// Nodes, the origin included.
    pub nodes: usize,
    /// Messages the origin publishes.
    pub messages: usize,
    /// Bytes of each message's payload.
    pub payload: usize,
    /// Longest wait for every delivery, after the last publication.
    pub deadline: Duration,
}

/// What a broadcast run hands back.
#[derive(Clone, Debug, Default)]
pub struct BroadcastOutcome {
    /// For every (message, receiving node) pair that arrived: milliseconds from the moment the
    /// origin was asked to publish the message until the receiver's application saw it.
    pub latencies_ms: Vec<f64>,
    /// The deliveries owed: messages × (nodes − 1).
    pub expected: usize,
    /// The burst, from the first publication until the last delivery (or the deadline).
    pub cost: PhaseCost,
}

/// Membership convergence and failure detection: `nodes` nodes start at once on loopback, each
/// knowing one seed; then the run waits idle, measures the idle traffic, and stops one node.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct MembershipParams {
    /// Nodes started.
    pub nodes: usize,
    /// How long to wait after convergence before measuring idle traffic (first handshakes and
    /// catch-up out of the window).
    pub settle: Duration,
    /// How long idle traffic is measured.
    pub idle_window: Duration,
    /// Longest wait for convergence, and for the stopped node to be known dead.
    pub deadline: Duration,
}

/// What a membership run hands back.
#[derive(Clone, Copy, Debug, Default)]
pub struct MembershipOutcome {
    /// Seconds from when every node had been started until every node knew every other alive.
    pub converge_s: f64,
    /// Seconds from when one node was stopped without a word until every survivor held it dead.
    pub detect_s: f64,
    /// Idle traffic during the window.
    pub idle: PhaseCost,
}

/// Failure-detection accuracy in herald-sim's network model: `members` members, `loss` of every
/// packet lost, `kills` members crashed after the warm-up, `virtual_s` seconds of virtual time.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct AccuracyParams {
    /// Members.
    pub members: usize,
    /// Probability that one packet is lost.
    pub loss: f64,
    /// Seconds of virtual time after the warm-up.
    pub virtual_s: u64,
    /// Members crashed at once when the warm-up ends.
    pub kills: usize,
    /// The simulation's seed.
    pub seed: u64,
}

/// What an accuracy run hands back.
#[derive(Clone, Copy, Debug, Default)]
pub struct AccuracyOutcome {
    /// Times a live member was declared dead by some member, at the incarnation it is at
    /// (herald-sim's `false_suspicions`: each declaration by each observer counts once).
    pub false_deaths: u64,
    /// Seconds from the crash until 99% of the live members held a crashed member dead, the
    /// longest over the crashed members (herald-sim's `crash_known_99_ms`); `None` if that
    /// never happened in the run.
    pub detect_s: Option<f64>,
    /// Messages sent per member per second, from the end of the warm-up to the end of the run.
    /// herald-sim counts the frames herald's core sends; the QUIC retransmissions and
    /// acknowledgements that its loss model turns into delay are not in it. foca's count
    /// includes every datagram, lost ones too.
    pub messages_per_member_s: f64,
}
