//! A node's profile: how it describes itself to the grid.
//!
//! Each node publishes one [`RecordKind::Profile`] record with an empty key whose payload is an
//! encoded [`Profile`]: its petname, its role and the addresses it can be reached at. Peers read
//! it to show members by name and to find addresses to contact. The payload comes from the
//! network, so [`Profile::decode`] refuses anything outside the bounds instead of trusting it.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{Record, RecordKind, Version, decode_payload, encode_payload};
use crate::role::Role;

/// Longest profile name, in bytes.
pub const PROFILE_NAME_LEN_MAX: usize = 64;
/// Most addresses a profile lists.
pub const PROFILE_ADDRESSES_MAX: usize = 16;

/// What a node says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The node's petname, at most [`PROFILE_NAME_LEN_MAX`] bytes.
    pub name: String,
    /// The node's role in the grid.
    pub role: Role,
    /// Where the node accepts peer traffic, at most [`PROFILE_ADDRESSES_MAX`] of them.
    pub addresses: Vec<SocketAddr>,
}

impl Profile {
    /// Whether the profile keeps its bounds; [`Profile::decode`] refuses one that does not.
    pub fn is_within_bounds(&self) -> bool {
        self.name.len() <= PROFILE_NAME_LEN_MAX && self.addresses.len() <= PROFILE_ADDRESSES_MAX
    }

    /// The record payload. The caller keeps the bounds ([`Profile::is_within_bounds`]): a
    /// profile outside them encodes, but no peer will decode it.
    pub fn encode(&self) -> Vec<u8> {
        debug_assert!(self.is_within_bounds(), "a profile is encoded within its bounds");
        encode_payload(self)
    }

    /// Reads a record payload; `None` if it is not exactly one profile within the bounds. Never
    /// panics.
    pub fn decode(bytes: &[u8]) -> Option<Profile> {
        decode_payload(bytes).filter(Profile::is_within_bounds)
    }

    /// The unsigned record that publishes this profile for `origin`, to be signed by it.
    pub fn record(&self, origin: NodeId, version: Version, issued_at_ms: u64) -> Record {
        Record {
            origin,
            kind: RecordKind::Profile,
            key: String::new(),
            version,
            issued_at_ms,
            payload: self.encode(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Keypair;

    fn profile() -> Profile {
        Profile {
            name: "storage-1".to_owned(),
            role: Role::Server,
            addresses: vec![
                "192.0.2.1:7420".parse().unwrap(),
                "[2001:db8::1]:7420".parse().unwrap(),
            ],
        }
    }

    #[test]
    fn a_profile_round_trips_through_its_record() {
        let keypair = Keypair::from_secret([1; 32]);
        let record = profile().record(keypair.id(), Version::new(0, 1), 0).sign(&keypair).unwrap();
        assert_eq!(record.verify(), Ok(()));
        assert_eq!(record.record.kind, RecordKind::Profile);
        assert_eq!(Profile::decode(&record.record.payload), Some(profile()));
    }

    #[test]
    fn a_profile_outside_its_bounds_or_with_trailing_bytes_is_refused() {
        let mut long_name = profile();
        long_name.name = "n".repeat(PROFILE_NAME_LEN_MAX + 1);
        let bytes = postcard::to_allocvec(&long_name).unwrap();
        assert_eq!(Profile::decode(&bytes), None);

        let mut many = profile();
        many.addresses = vec!["192.0.2.1:1".parse().unwrap(); PROFILE_ADDRESSES_MAX + 1];
        let bytes = postcard::to_allocvec(&many).unwrap();
        assert_eq!(Profile::decode(&bytes), None);

        let mut trailing = profile().encode();
        trailing.push(0);
        assert_eq!(Profile::decode(&trailing), None);
    }

    #[test]
    fn a_length_prefix_claiming_more_than_the_payload_is_refused() {
        // Name length 0, role Server, then an address count of u32::MAX and nothing else.
        assert_eq!(Profile::decode(&[0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]), None);
    }
}
