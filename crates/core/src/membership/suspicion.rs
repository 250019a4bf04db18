//! Lifeguard's suspicion: a suspected member dies after a timeout that shrinks as independent
//! confirmations arrive (Lifeguard, section 4.2), stretched by this node's local health.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Member, Membership, MembershipOutput};
use crate::id::NodeId;
use crate::liveness::{LivenessClaim, MemberState};
use crate::rng::Rng;
use crate::time::Instant;

/// A suspicion of one member.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Suspicion {
    pub(super) started: Instant,
    pub(super) claimants: BTreeSet<NodeId>,
    pub(super) suspected_here: bool,
}

impl Membership {
    /// When a member's suspicion turns into death, per Lifeguard's shrinking timeout.
    ///
    /// The logarithms come from `libm`, not the platform's maths library, so that a seed
    /// replays to the same deadlines on every platform.
    pub(super) fn suspicion_deadline(&self, member: &Member) -> Option<Instant> {
        let suspicion = member.suspicion.as_ref()?;
        let n = self.live_count().max(1) as f64;
        let interval = self.config.probe_interval.as_secs_f64();
        let min = self.config.suspicion_alpha * libm::log10(n).max(1.0) * interval;
        let max = self.config.suspicion_beta * min;
        let confirmations = suspicion.claimants.len().saturating_sub(1) as f64;
        let k = f64::from(self.config.confirmations.max(1));
        let fraction = (libm::log(confirmations + 1.0) / libm::log(k + 1.0)).min(1.0);
        let timeout = (max - (max - min) * fraction).max(min) * f64::from(1 + self.health);
        Some(suspicion.started + Duration::from_secs_f64(timeout))
    }

    pub(super) fn expire_suspicions(
        &mut self,
        now: Instant,
        rng: &mut Rng,
        out: &mut Vec<MembershipOutput>,
    ) {
        let due: Vec<(NodeId, u64, bool)> = self
            .suspects
            .iter()
            .filter_map(|id| Some((id, self.members.get(id)?)))
            .filter(|(_, member)| {
                self.suspicion_deadline(member).is_some_and(|deadline| deadline <= now)
            })
            .map(|(id, member)| {
                (
                    *id,
                    member.incarnation,
                    member.suspicion.as_ref().is_some_and(|s| s.suspected_here),
                )
            })
            .collect();
        for (id, incarnation, suspected_here) in due {
            let claim = LivenessClaim { subject: id, incarnation, state: MemberState::Dead };
            self.on_claim(now, self.me, claim, rng, out);
            // Only the members that suspected it say so to everyone; the rest reach the same
            // verdict on their own timers, which keeps a death to a few records.
            if suspected_here {
                out.push(MembershipOutput::Publish(claim));
            }
        }
    }
}
