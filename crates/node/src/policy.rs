//! Who may open a connection to this node: the grid's admission rule, applied in the TLS
//! handshake.
//!
//! A peer that presents a membership certificate chain must prove membership of this grid: the
//! chain verifies up to the grid root, is unexpired, and names the key the peer holds. A peer
//! with no chain is a guest: the handshake succeeds so it can ask to join, but the node ignores
//! every gossip frame it sends. An `--open` grid checks nothing (floodd had no keys), and the
//! node treats every peer as a member. A grid secret ([`grid_root_from_secret`]) gives every
//! holder the grid root key, so each can certify itself.

use herald_core::admission::CertChain;
use herald_core::{Keypair, NodeId};

use crate::datadir::unix_ms;
use crate::tls::{PeerIdentity, PeerPolicy};

/// The domain-separation context of a grid secret's root key.
const GRID_SECRET_CONTEXT: &str = "herald 2026-12 grid-secret root key v1";

/// The grid root key every holder of `secret` derives (floodd's `(:local (:grid-secret ...))`):
/// BLAKE3 in key-derivation mode over the secret. Anyone who learns the grid id can try to
/// guess the secret offline, so it must be long and random, not a word.
pub fn grid_root_from_secret(secret: &str) -> Keypair {
    Keypair::from_secret(blake3::derive_key(GRID_SECRET_CONTEXT, secret.as_bytes()))
}

/// The admission rule of one grid.
#[derive(Debug, Clone, Copy)]
pub struct GridPolicy {
    /// The grid root key.
    pub grid: NodeId,
    /// Admit anyone who knows an address.
    pub open: bool,
}

impl GridPolicy {
    /// Whether `peer` may gossip with this node (as opposed to only asking to join).
    pub fn is_member(&self, peer: &PeerIdentity) -> bool {
        self.open || self.check_chain(peer).is_ok_and(|has_chain| has_chain)
    }

    /// `Ok(true)` for a valid chain, `Ok(false)` for a guest, `Err` for a bad chain.
    fn check_chain(&self, peer: &PeerIdentity) -> Result<bool, String> {
        let Some(bytes) = &peer.membership else {
            return Ok(false);
        };
        let chain = CertChain::decode(bytes).map_err(|error| error.to_string())?;
        chain.verify(self.grid, unix_ms()).map_err(|error| error.to_string())?;
        if chain.subject() != peer.id {
            return Err(format!(
                "peer {} presents the membership certificate of {}",
                peer.id.short(),
                chain.subject().short()
            ));
        }
        Ok(true)
    }
}

impl PeerPolicy for GridPolicy {
    fn check(&self, peer: &PeerIdentity) -> Result<(), String> {
        if self.open {
            return Ok(());
        }
        self.check_chain(peer).map(|_| ())
    }

    fn guests_may_gossip(&self) -> bool {
        self.open
    }
}

/// The joiner's rule while it has no grid: talk to anyone, and verify the certificate the
/// server issues against the grid root named in the signed invitation instead.
#[derive(Debug, Clone, Copy)]
pub struct AcceptAnyPeer;

impl PeerPolicy for AcceptAnyPeer {
    fn check(&self, _peer: &PeerIdentity) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::{Keypair, Role};

    const FAR_FUTURE_MS: u64 = u64::MAX / 2;

    fn identity(keypair: &Keypair, chain: Option<&CertChain>) -> PeerIdentity {
        PeerIdentity { id: keypair.id(), membership: chain.map(CertChain::encode) }
    }

    #[test]
    fn a_member_of_this_grid_is_accepted_and_one_of_another_grid_is_refused() {
        let root = Keypair::from_secret([1; 32]);
        let other_root = Keypair::from_secret([2; 32]);
        let node = Keypair::from_secret([3; 32]);
        let policy = GridPolicy { grid: root.id(), open: false };
        let ours = CertChain::issue_by_root(&root, node.id(), Role::Server, FAR_FUTURE_MS);
        let theirs = CertChain::issue_by_root(&other_root, node.id(), Role::Server, FAR_FUTURE_MS);
        assert!(policy.check(&identity(&node, Some(&ours))).is_ok());
        assert!(policy.is_member(&identity(&node, Some(&ours))));
        assert!(policy.check(&identity(&node, Some(&theirs))).is_err());
        assert!(!policy.is_member(&identity(&node, Some(&theirs))));
    }

    #[test]
    fn a_stolen_certificate_is_refused() {
        let root = Keypair::from_secret([1; 32]);
        let owner = Keypair::from_secret([3; 32]);
        let thief = Keypair::from_secret([4; 32]);
        let chain = CertChain::issue_by_root(&root, owner.id(), Role::Client, FAR_FUTURE_MS);
        let policy = GridPolicy { grid: root.id(), open: false };
        assert!(policy.check(&identity(&thief, Some(&chain))).is_err());
    }

    #[test]
    fn a_guest_may_connect_but_is_not_a_member_unless_the_grid_is_open() {
        let root = Keypair::from_secret([1; 32]);
        let guest = Keypair::from_secret([5; 32]);
        let closed = GridPolicy { grid: root.id(), open: false };
        assert!(closed.check(&identity(&guest, None)).is_ok());
        assert!(!closed.is_member(&identity(&guest, None)));
        assert!(!closed.guests_may_gossip(), "a guest of a closed grid may only ask to join");
        let open = GridPolicy { grid: root.id(), open: true };
        assert!(open.is_member(&identity(&guest, None)));
        assert!(open.guests_may_gossip());
    }
}
