//! Where to reach each node: the driver's map from node id to socket addresses.
//!
//! herald-core speaks of peers by node id only. Addresses come from three places, most trusted
//! first: what a node announced about itself in its signed profile record, the contacts stored
//! at join, and the address a connection from that node actually came from. Dialling tries them
//! in that order.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use herald_core::NodeId;

/// At most this many addresses are kept per node.
pub const ADDRESSES_PER_NODE_MAX: usize = 16;

/// Known addresses per node.
#[derive(Debug, Default)]
pub struct AddressBook {
    announced: BTreeMap<NodeId, Vec<SocketAddr>>,
    learned: BTreeMap<NodeId, Vec<SocketAddr>>,
}

impl AddressBook {
    /// Replaces what `id` announced about itself.
    pub fn set_announced(&mut self, id: NodeId, addresses: Vec<SocketAddr>) {
        let mut addresses = addresses;
        addresses.truncate(ADDRESSES_PER_NODE_MAX);
        self.announced.insert(id, addresses);
    }

    /// Notes an address `id` was reached at or seen from, most recent first.
    pub fn learn(&mut self, id: NodeId, address: SocketAddr) {
        let learned = self.learned.entry(id).or_default();
        if learned.first() == Some(&address) {
            return;
        }
        learned.retain(|known| *known != address);
        learned.insert(0, address);
        learned.truncate(ADDRESSES_PER_NODE_MAX);
    }

    /// Every address to try for `id`, announced ones first, without repeats.
    pub fn of(&self, id: &NodeId) -> Vec<SocketAddr> {
        let mut all: Vec<SocketAddr> = Vec::new();
        let sources = [self.announced.get(id), self.learned.get(id)];
        for address in sources.into_iter().flatten().flatten() {
            if !all.contains(address) {
                all.push(*address);
            }
        }
        all
    }

    /// Keeps only the nodes `known` accepts: the book never outgrows the membership.
    pub fn retain(&mut self, known: impl Fn(&NodeId) -> bool) {
        self.announced.retain(|id, _| known(id));
        self.learned.retain(|id, _| known(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::Keypair;

    fn address(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn announced_addresses_come_before_learned_ones_without_repeats() {
        let id = Keypair::from_secret([3; 32]).id();
        let mut book = AddressBook::default();
        book.learn(id, address(2));
        book.learn(id, address(1));
        book.set_announced(id, vec![address(1), address(3)]);
        assert_eq!(book.of(&id), vec![address(1), address(3), address(2)]);
    }

    #[test]
    fn learned_addresses_are_bounded_and_most_recent_first() {
        let id = Keypair::from_secret([4; 32]).id();
        let mut book = AddressBook::default();
        for port in 0..40 {
            book.learn(id, address(port));
        }
        let known = book.of(&id);
        assert_eq!(known.len(), ADDRESSES_PER_NODE_MAX);
        assert_eq!(known[0], address(39));
        let other = Keypair::from_secret([5; 32]).id();
        book.learn(other, address(1));
        book.retain(|known| *known == other);
        assert!(book.of(&id).is_empty());
        assert_eq!(book.of(&other), vec![address(1)]);
    }
}
