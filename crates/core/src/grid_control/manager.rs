//! A grid manager's list of servers (Tahoe ticket #3457): the servers a client that follows the
//! manager may use.
//!
//! The list travels as a [`crate::RecordKind::ManagerList`] record whose origin is the manager's
//! key and whose key is empty, so the record set keeps only the newest version. The manager
//! publishes a new version to commission a server or to take one out of service; a follower
//! filters the servers' announcements by the newest list it holds. A server still rewrites its
//! own announcements (its address, say) without asking the manager.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{decode_payload, encode_payload};

/// The most servers one list names (guess: ten times the largest Tahoe grids we know of; a
/// thousand ids are 33 KB, inside a record's 64 KiB payload).
pub const MANAGER_SERVERS_MAX: usize = 1024;

/// The servers a manager lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerList {
    /// The servers, in id order.
    pub servers: BTreeSet<NodeId>,
}

/// Why a list edit was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManagerListError {
    /// The list is full.
    #[error("a manager's list names at most {MANAGER_SERVERS_MAX} servers")]
    Full,
    /// The server to add is listed already.
    #[error("{0} is on the list already")]
    Listed(NodeId),
    /// The server to remove is not listed.
    #[error("{0} is not on the list")]
    NotListed(NodeId),
}

impl ManagerList {
    /// The record payload.
    pub fn encode(&self) -> Vec<u8> {
        encode_payload(self)
    }

    /// Reads a payload; `None` if it does not parse or names too many servers.
    pub fn decode(bytes: &[u8]) -> Option<ManagerList> {
        decode_payload::<ManagerList>(bytes)
            .filter(|list| list.servers.len() <= MANAGER_SERVERS_MAX)
    }

    /// The list with `server` added.
    pub fn with(&self, server: NodeId) -> Result<ManagerList, ManagerListError> {
        if self.servers.contains(&server) {
            return Err(ManagerListError::Listed(server));
        }
        if self.servers.len() >= MANAGER_SERVERS_MAX {
            return Err(ManagerListError::Full);
        }
        let mut servers = self.servers.clone();
        servers.insert(server);
        Ok(ManagerList { servers })
    }

    /// The list without `server`.
    pub fn without(&self, server: NodeId) -> Result<ManagerList, ManagerListError> {
        let mut servers = self.servers.clone();
        if !servers.remove(&server) {
            return Err(ManagerListError::NotListed(server));
        }
        Ok(ManagerList { servers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Keypair;

    fn id(seed: u8) -> NodeId {
        Keypair::from_secret([seed; 32]).id()
    }

    #[test]
    fn a_list_round_trips_and_edits_refuse_no_ops() {
        let list = ManagerList::default().with(id(1)).unwrap().with(id(2)).unwrap();
        assert_eq!(ManagerList::decode(&list.encode()), Some(list.clone()));
        assert_eq!(list.with(id(1)), Err(ManagerListError::Listed(id(1))));
        let smaller = list.without(id(1)).unwrap();
        assert_eq!(smaller.servers.iter().copied().collect::<Vec<_>>(), [id(2)]);
        assert_eq!(smaller.without(id(1)), Err(ManagerListError::NotListed(id(1))));
        assert_eq!(ManagerList::decode(b"\xff\xff"), None);
    }

    #[test]
    fn a_list_is_bounded() {
        let servers = (0..=MANAGER_SERVERS_MAX as u32)
            .map(|n| Keypair::from_secret(blake3::hash(&n.to_le_bytes()).into()).id())
            .collect();
        let oversized = ManagerList { servers };
        assert_eq!(ManagerList::decode(&encode_payload(&oversized)), None);
        let mut full = oversized;
        let last = *full.servers.iter().next_back().unwrap();
        full.servers.remove(&last);
        assert_eq!(full.with(last), Err(ManagerListError::Full));
    }
}
