//! The burst's messages: the first 8 bytes carry the message's index (little endian), the rest
//! is filler up to exactly the payload size; and the check that such a message fits in one
//! iroh-gossip frame under the default maximum message size.

use anyhow::{Result, bail};

/// Bytes of the index at the start of every message.
pub(crate) const INDEX_BYTES: usize = 8;

/// The filler byte after the index.
const FILLER: u8 = 0xA5;

/// What iroh-gossip's frame adds around a broadcast's content, counted generously: the two
/// enum tags (topic and plumtree message), the 32-byte message id, the content's varint length,
/// the delivery scope and its round (iroh-gossip-0.101.0 src/proto/plumtree.rs, `Gossip`).
const FRAME_OVERHEAD: usize = 64;

/// Refuses payloads that cannot carry an index, or that iroh-gossip could not send in one
/// frame: `write_frame` (iroh-gossip-0.101.0 src/net/util.rs) fails a frame of
/// `max_message_size` bytes or more, which ends the connection rather than reporting an error
/// to the sender, so an oversized burst would read as loss.
pub(crate) fn check_payload(payload: usize, max_message_size: usize) -> Result<()> {
    if payload < INDEX_BYTES {
        bail!("a payload of {payload} bytes cannot carry the {INDEX_BYTES}-byte message index");
    }
    if payload + FRAME_OVERHEAD >= max_message_size {
        bail!(
            "a payload of {payload} bytes does not fit in iroh-gossip's maximum message size of \
             {max_message_size} bytes (its default) with {FRAME_OVERHEAD} bytes of framing"
        );
    }
    Ok(())
}

/// Message `index` of exactly `payload` bytes (`payload` at least [`INDEX_BYTES`]).
pub(crate) fn encode(index: usize, payload: usize) -> Vec<u8> {
    let mut message = Vec::with_capacity(payload);
    message.extend_from_slice(&(index as u64).to_le_bytes());
    message.resize(payload, FILLER);
    message
}

/// The index a message carries, if it is long enough to carry one.
pub(crate) fn decode(message: &[u8]) -> Option<usize> {
    let bytes: [u8; INDEX_BYTES] = message.get(..INDEX_BYTES)?.try_into().ok()?;
    usize::try_from(u64::from_le_bytes(bytes)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_has_the_payload_size_and_its_index() {
        let message = encode(513, 1024);
        assert_eq!(message.len(), 1024);
        assert_eq!(decode(&message), Some(513));
        assert_eq!(decode(&message[..7]), None);
    }

    #[test]
    fn payloads_too_small_or_too_large_are_refused() {
        assert!(check_payload(7, 4096).is_err());
        assert!(check_payload(8, 4096).is_ok());
        assert!(check_payload(1024, 4096).is_ok());
        assert!(check_payload(4096, 4096).is_err());
    }
}
