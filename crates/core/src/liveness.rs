//! Liveness claims: the payload of `Liveness` records, which carry membership.
//!
//! A node claims `Alive` or `Left` about itself; another node claims `Suspect` or `Dead` about
//! it. Claims are signed records like every other, so they travel by broadcast, are repaired by
//! anti-entropy and persist; nobody can refute a suspicion on another node's behalf, because
//! only the subject can sign an `Alive` about itself.
//!
//! Between two claims about one subject, the one with the higher incarnation wins; at equal
//! incarnation `Left` > `Dead` > `Suspect` > `Alive` (SWIM, Das, Gupta, Motivala, DSN 2002).

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{decode_payload, encode_payload};

/// A member's state as one node sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MemberState {
    /// Answering probes.
    Alive,
    /// Missed a probe; others may confirm or the member may refute.
    Suspect,
    /// Declared failed.
    Dead,
    /// Announced its own departure.
    Left,
}

impl MemberState {
    /// The lowercase name used by the CLI and the API.
    pub const fn name(self) -> &'static str {
        match self {
            MemberState::Alive => "alive",
            MemberState::Suspect => "suspect",
            MemberState::Dead => "dead",
            MemberState::Left => "left",
        }
    }

    /// Whether the member counts as gone (dead or left).
    pub const fn is_gone(self) -> bool {
        matches!(self, MemberState::Dead | MemberState::Left)
    }
}

/// One claim about one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivenessClaim {
    /// The member the claim is about.
    pub subject: NodeId,
    /// The subject's incarnation the claim refers to.
    pub incarnation: u64,
    /// The claimed state.
    pub state: MemberState,
}

impl LivenessClaim {
    /// Whether `claimant` may make this claim: only the subject says alive or left, only others
    /// say suspect or dead.
    pub fn may_be_made_by(&self, claimant: NodeId) -> bool {
        match self.state {
            MemberState::Alive | MemberState::Left => claimant == self.subject,
            MemberState::Suspect | MemberState::Dead => claimant != self.subject,
        }
    }

    /// Whether this claim overrides a member currently at (`incarnation`, `state`).
    pub fn overrides(&self, incarnation: u64, state: MemberState) -> bool {
        (self.incarnation, self.state) > (incarnation, state)
    }

    /// The record payload.
    pub fn encode(&self) -> Vec<u8> {
        encode_payload(self)
    }

    /// Reads a record payload; `None` if it is not a claim.
    pub fn decode(payload: &[u8]) -> Option<LivenessClaim> {
        decode_payload(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(incarnation: u64, state: MemberState) -> LivenessClaim {
        LivenessClaim { subject: NodeId::from_bytes([1; 32]), incarnation, state }
    }

    #[test]
    fn higher_incarnation_wins_then_the_graver_state() {
        assert!(claim(2, MemberState::Alive).overrides(1, MemberState::Dead));
        assert!(claim(1, MemberState::Suspect).overrides(1, MemberState::Alive));
        assert!(!claim(1, MemberState::Alive).overrides(1, MemberState::Suspect));
        assert!(claim(1, MemberState::Dead).overrides(1, MemberState::Suspect));
        assert!(!claim(1, MemberState::Suspect).overrides(1, MemberState::Suspect));
    }

    #[test]
    fn only_the_subject_claims_alive_and_only_others_accuse() {
        let subject = NodeId::from_bytes([1; 32]);
        let other = NodeId::from_bytes([2; 32]);
        assert!(claim(0, MemberState::Alive).may_be_made_by(subject));
        assert!(!claim(0, MemberState::Alive).may_be_made_by(other));
        assert!(claim(0, MemberState::Dead).may_be_made_by(other));
        assert!(!claim(0, MemberState::Suspect).may_be_made_by(subject));
    }

    #[test]
    fn claims_round_trip_and_garbage_is_refused() {
        let original = claim(7, MemberState::Left);
        assert_eq!(LivenessClaim::decode(&original.encode()), Some(original));
        assert_eq!(LivenessClaim::decode(&[0xff; 3]), None);
    }
}
