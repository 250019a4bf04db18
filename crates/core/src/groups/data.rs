//! One data message flooded to a group: a signed header that names and fixes it, and its body.
//!
//! The header is a record of kind [`RecordKind::GroupMessage`]: its key is the group's name, its
//! version the origin's (epoch, seq) in that group, and its payload a [`BodySeal`], the body's
//! length and BLAKE3 hash. Signing the seal rather than the body lets a body of up to
//! [`GroupsConfig::message_len_max`](super::GroupsConfig::message_len_max) travel in chunks
//! that each fit in a frame, checked once whole. The message's id is the header's digest.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{Digest, RecordKind, SignedRecord, Version, decode_payload, encode_payload};

/// What the header's signature fixes about the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodySeal {
    /// The body's length in bytes.
    pub len: u64,
    /// BLAKE3 of the body.
    pub hash: [u8; 32],
}

impl BodySeal {
    /// The seal of `body`.
    pub fn of(body: &[u8]) -> BodySeal {
        BodySeal { len: body.len() as u64, hash: *blake3::hash(body).as_bytes() }
    }

    /// The header payload that carries this seal.
    pub fn encode(&self) -> Vec<u8> {
        encode_payload(self)
    }

    /// Reads a header payload; `None` if it is not exactly one seal.
    pub fn decode(bytes: &[u8]) -> Option<BodySeal> {
        decode_payload(bytes)
    }

    /// Whether `body` is the body this seal was made for.
    pub fn matches(&self, body: &[u8]) -> bool {
        body.len() as u64 == self.len && blake3::hash(body).as_bytes() == &self.hash
    }
}

/// A complete data message: its verified header and the body its seal matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupData {
    /// The signed header.
    pub header: Arc<SignedRecord>,
    /// The body.
    pub body: Arc<[u8]>,
}

impl GroupData {
    /// The group the message was flooded to.
    pub fn group(&self) -> &str {
        &self.header.record.key
    }

    /// The node that published it.
    pub fn origin(&self) -> NodeId {
        self.header.record.origin
    }

    /// Its place in the origin's sequence in the group.
    pub fn version(&self) -> Version {
        self.header.record.version
    }

    /// Its id: the header's digest.
    pub fn id(&self) -> Digest {
        self.header.digest()
    }
}

/// The id of a message as text: the first 16 bytes of its header's digest in lowercase hex.
pub fn message_id_text(id: &Digest) -> String {
    id[..16].iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether `header` is a well-formed data message header whose body may be up to `len_max`
/// bytes: of the right kind, naming a group, and carrying a seal within the limit. The
/// signature is checked by the caller's verifier.
pub fn header_seal(header: &SignedRecord, len_max: u64) -> Option<BodySeal> {
    let record = &header.record;
    if record.kind != RecordKind::GroupMessage || record.key.is_empty() {
        return None;
    }
    BodySeal::decode(&record.payload).filter(|seal| seal.len <= len_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_matches_its_body_only() {
        let seal = BodySeal::of(b"hello");
        assert!(seal.matches(b"hello"));
        assert!(!seal.matches(b"hellO"));
        assert!(!seal.matches(b"hello!"));
        assert_eq!(BodySeal::decode(&seal.encode()), Some(seal));
        let mut long = seal.encode();
        long.push(0);
        assert_eq!(BodySeal::decode(&long), None);
    }

    #[test]
    fn a_message_id_is_32_hex_digits() {
        let text = message_id_text(&[0xab; 32]);
        assert_eq!(text.len(), 32);
        assert!(text.chars().all(|c| c == 'a' || c == 'b'));
    }
}
