//! What one node knows about one member: its state, its round trips and any suspicion of it.

use std::time::Duration;

use super::suspicion::Suspicion;
use crate::liveness::MemberState;
use crate::time::Instant;

/// What this node knows about one member.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Current state in this node's view.
    pub state: MemberState,
    /// The incarnation the state refers to.
    pub incarnation: u64,
    /// When the state last changed.
    pub since: Instant,
    /// When this node last heard from the member directly (an ack).
    pub last_heard: Option<Instant>,
    pub(super) rtts: Vec<Duration>,
    pub(super) suspicion: Option<Suspicion>,
}

impl Member {
    pub(super) fn new(state: MemberState, incarnation: u64, now: Instant) -> Member {
        Member {
            state,
            incarnation,
            since: now,
            last_heard: None,
            rtts: Vec::new(),
            suspicion: None,
        }
    }

    /// Mean round trip measured by this node's probes.
    pub fn rtt(&self) -> Option<Duration> {
        let count = self.rtts.len() as u32;
        (count > 0).then(|| self.rtts.iter().sum::<Duration>() / count)
    }
}
