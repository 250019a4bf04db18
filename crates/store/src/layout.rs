//! How state is laid out: slot keys, meta keys and the encodings of the small meta values.
//!
//! Both stores key records by the same bytes, so they iterate slots in the same order:
//!
//! | part | bytes |
//! |---|---|
//! | origin | 32, the Ed25519 public key |
//! | family | 1, the family's position in [`RecordKind::ALL`] (part of the wire format, so stable) |
//! | key | the record key in UTF-8, to the end |
//!
//! The first two parts have fixed lengths, so the encoding is unambiguous. The record itself is
//! stored as its postcard encoding.
//!
//! Group data messages are keyed by (group, origin, version): the group name's length as a
//! big-endian `u16`, its UTF-8 bytes, the origin's 32 bytes, then the epoch and seq as
//! big-endian `u64`s, so that one origin's messages sort in version order. A message is stored
//! as its header's postcard encoding followed by the body's bytes to the end. A group cursor is
//! keyed by the same prefix without the version, and stored like the issued-high version. In the meta table, `schema_version` is a little-endian `u32`
//! and `issued_high` is the version's epoch then its sequence number, each a big-endian `u64`.

use std::sync::Arc;

use herald_core::groups::{GroupData, header_seal};
use herald_core::{NodeId, RecordKind, SignedRecord, SlotKey, Version};

/// Meta key of the layout version a database was written with. Every schema keeps it, with the
/// same encoding, in a meta table of the same type, so any build can tell what it was handed.
pub(crate) const SCHEMA_VERSION_KEY: &str = "schema_version";

/// Meta key of the highest version this node issued.
pub(crate) const ISSUED_HIGH_KEY: &str = "issued_high";

/// Meta keys the store keeps for itself; [`crate::Store::get_meta`] and
/// [`crate::Store::put_meta`] refuse them.
pub const RESERVED_META_KEYS: [&str; 2] = [SCHEMA_VERSION_KEY, ISSUED_HIGH_KEY];

/// Length of a slot key before the record key: origin and family.
const SLOT_KEY_HEADER_LEN: usize = 33;

/// The family's one-byte code.
fn family_code(family: RecordKind) -> u8 {
    let position = RecordKind::ALL.iter().position(|kind| *kind == family);
    // ALL lists every kind and has 8 entries, so this neither fails nor truncates.
    position.expect("RecordKind::ALL lists every kind") as u8
}

/// Replaces the contents of `out` with the slot key of (origin, family, key), reusing its
/// allocation.
pub(crate) fn write_slot_key(out: &mut Vec<u8>, origin: &NodeId, family: RecordKind, key: &str) {
    out.clear();
    out.reserve(SLOT_KEY_HEADER_LEN + key.len());
    out.extend_from_slice(origin.as_bytes());
    out.push(family_code(family));
    out.extend_from_slice(key.as_bytes());
}

/// Replaces the contents of `out` with the key of `slot`.
pub(crate) fn write_key_of_slot(out: &mut Vec<u8>, slot: &SlotKey) {
    write_slot_key(out, &slot.origin, slot.family, &slot.key);
}

/// Replaces the contents of `out` with the key of the slot `record` belongs in.
pub(crate) fn write_key_of_record(out: &mut Vec<u8>, record: &SignedRecord) {
    let record = &record.record;
    write_slot_key(out, &record.origin, record.kind.family(), &record.key);
}

/// The key of the slot `record` belongs in.
pub(crate) fn key_of_record(record: &SignedRecord) -> Vec<u8> {
    let mut out = Vec::new();
    write_key_of_record(&mut out, record);
    out
}

/// The key of `slot`.
pub(crate) fn key_of_slot(slot: &SlotKey) -> Vec<u8> {
    let mut out = Vec::new();
    write_key_of_slot(&mut out, slot);
    out
}

/// The key of group `group`'s cursor for `origin`; the prefix of its messages' keys.
pub(crate) fn group_cursor_key(group: &str, origin: &NodeId) -> Vec<u8> {
    // A group name is a record key, at most KEY_LEN_MAX (256) bytes, so its length fits a u16.
    let len = u16::try_from(group.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(2 + group.len() + 32 + 16);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(group.as_bytes());
    out.extend_from_slice(origin.as_bytes());
    out
}

/// The key of the message of `origin` at `version` in `group`.
pub(crate) fn group_message_key(group: &str, origin: &NodeId, version: Version) -> Vec<u8> {
    let mut out = group_cursor_key(group, origin);
    out.extend_from_slice(&encode_version(version));
    out
}

/// The stored form of a group message: the header's encoding, then the body.
pub(crate) fn encode_group_message(data: &GroupData) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.header.encoded_len() + data.body.len());
    out = postcard::to_extend(&*data.header, out).expect("encoding into a Vec cannot fail");
    out.extend_from_slice(&data.body);
    out
}

/// Reads a stored group message: `None` unless the header decodes, the body matches its seal
/// and the message belongs under `key`.
pub(crate) fn decode_group_message(key: &[u8], bytes: &[u8]) -> Option<GroupData> {
    let (header, body) = postcard::take_from_bytes::<SignedRecord>(bytes).ok()?;
    let seal = header_seal(&header, u64::MAX)?;
    let record = &header.record;
    if !seal.matches(body) || group_message_key(&record.key, &record.origin, record.version) != key
    {
        return None;
    }
    Some(GroupData { header: Arc::new(header), body: body.into() })
}

/// Reads a group cursor's key: (group, origin); `None` if it is malformed.
pub(crate) fn decode_group_cursor_key(key: &[u8]) -> Option<(String, NodeId)> {
    let (len, rest) = key.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    let group = std::str::from_utf8(rest.get(..len)?).ok()?;
    let origin: &[u8; 32] = rest.get(len..)?.try_into().ok()?;
    Some((group.to_owned(), NodeId::from_bytes(*origin)))
}

/// A readable name for a stored slot key, for error messages about corrupt entries.
pub(crate) fn describe_slot_key(bytes: &[u8]) -> String {
    let Some((header, key)) = bytes.split_first_chunk::<SLOT_KEY_HEADER_LEN>() else {
        return format!("slot key {bytes:02x?} (shorter than {SLOT_KEY_HEADER_LEN} bytes)");
    };
    let (origin, family) = header.split_at(32);
    let origin = NodeId::from_bytes(origin.try_into().expect("split at 32 of 33 bytes"));
    let family = match RecordKind::ALL.get(usize::from(family[0])) {
        Some(kind) => kind.name().to_owned(),
        None => format!("unknown family {}", family[0]),
    };
    format!("slot {}/{family}/{:?}", origin.short(), String::from_utf8_lossy(key))
}

/// The stored form of an issued-high version.
pub(crate) fn encode_version(version: Version) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&version.epoch.to_be_bytes());
    out[8..].copy_from_slice(&version.seq.to_be_bytes());
    out
}

/// Decodes an issued-high version; `None` if `bytes` has the wrong length.
pub(crate) fn decode_version(bytes: &[u8]) -> Option<Version> {
    let bytes: &[u8; 16] = bytes.try_into().ok()?;
    let (epoch, seq) = bytes.split_at(8);
    Some(Version::new(
        u64::from_be_bytes(epoch.try_into().expect("8 of 16 bytes")),
        u64::from_be_bytes(seq.try_into().expect("8 of 16 bytes")),
    ))
}

/// The stored form of a schema version.
pub(crate) fn encode_schema_version(version: u32) -> [u8; 4] {
    version.to_le_bytes()
}

/// Decodes a schema version; `None` if `bytes` has the wrong length.
pub(crate) fn decode_schema_version(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// Refuses the store's own meta keys.
pub(crate) fn check_meta_key(key: &str) -> Result<(), crate::StoreError> {
    if RESERVED_META_KEYS.contains(&key) {
        return Err(crate::StoreError::ReservedMetaKey { key: key.to_owned() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_codes_follow_wire_order() {
        for (position, kind) in RecordKind::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(family_code(kind)), position);
        }
    }

    #[test]
    fn a_tombstone_is_keyed_in_its_announcements_slot() {
        let origin = NodeId::from_bytes([9; 32]);
        let mut announcement = Vec::new();
        let mut tombstone = Vec::new();
        write_slot_key(&mut announcement, &origin, RecordKind::Announcement, "svc");
        write_slot_key(&mut tombstone, &origin, RecordKind::Tombstone.family(), "svc");
        assert_eq!(announcement, tombstone);
    }

    #[test]
    fn slot_keys_sort_by_origin_then_family_then_key() {
        let key = |origin: u8, family: RecordKind, key: &str| {
            let mut out = Vec::new();
            write_slot_key(&mut out, &NodeId::from_bytes([origin; 32]), family, key);
            out
        };
        let ordered = [
            key(1, RecordKind::Announcement, "b"),
            key(1, RecordKind::Announcement, "ba"),
            key(1, RecordKind::LinkState, ""),
            key(2, RecordKind::Announcement, ""),
        ];
        assert!(ordered.is_sorted());
    }

    #[test]
    fn versions_round_trip_and_wrong_lengths_are_refused() {
        let version = Version::new(3, u64::MAX - 1);
        assert_eq!(decode_version(&encode_version(version)), Some(version));
        assert_eq!(decode_version(&[0; 15]), None);
        assert_eq!(decode_schema_version(&encode_schema_version(7)), Some(7));
        assert_eq!(decode_schema_version(&[0; 8]), None);
    }

    #[test]
    fn corrupt_slot_keys_are_described_without_panicking() {
        assert!(describe_slot_key(&[1, 2]).contains("shorter"));
        let mut bytes = vec![0; 32];
        bytes.push(200);
        bytes.extend_from_slice(b"k\xff");
        let text = describe_slot_key(&bytes);
        assert!(text.contains("unknown family 200"), "{text}");
    }
}
