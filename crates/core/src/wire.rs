//! The wire codec: what one node sends another, and how bytes become messages and back.
//!
//! A frame is one protocol-version byte followed by one postcard-encoded [`Message`]. Decoding
//! checks the frame against [`FRAME_SIZE_MAX`] before it reads or allocates anything, refuses
//! other protocol versions by name, refuses trailing bytes, and never panics: whatever a peer
//! sends becomes a [`Message`] or a [`DecodeError`].
//!
//! Message variants are part of the wire format: new ones are added at the end.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::anti_entropy::AntiEntropyMessage;
use crate::broadcast::BroadcastMessage;
use crate::groups::GroupsMessage;
use crate::membership::MembershipMessage;
use crate::overlay::OverlayMessage;
use crate::record::SignedRecord;
use crate::routing::RoutingMessage;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 2;
/// Largest frame accepted or produced, in bytes. A record is at most about 65 KiB, so a frame
/// holds at least three full records; anti-entropy pushes are cut to fit.
pub const FRAME_SIZE_MAX: usize = 256 * 1024;

/// One protocol message between two nodes: each component owns its own messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// HyParView, with the signed profile of the node the message asks the receiver to contact.
    /// The core names nodes by id, but a driver dials by address: a newcomer that a join's
    /// random walk reaches must be reachable by the receiver at once.
    Overlay {
        /// The HyParView message.
        message: OverlayMessage,
        /// The profile record (addresses) of the node the message asks the receiver to
        /// contact, if the sender holds it.
        profile: Option<Arc<SignedRecord>>,
    },
    /// Plumtree (and the flood and gossip baselines).
    Broadcast(BroadcastMessage),
    /// Anti-entropy.
    AntiEntropy(AntiEntropyMessage),
    /// SWIM probes.
    Membership(MembershipMessage),
    /// Routed messages, forwarded hop by hop across the mesh.
    Routing(RoutingMessage),
    /// floodd group data: chunks, offers, pulls and repair digests.
    Groups(GroupsMessage),
}

/// Which component a message is for: the label of the per-kind counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MessageKind {
    /// [`Message::Overlay`].
    Overlay,
    /// [`Message::Broadcast`].
    Broadcast,
    /// [`Message::AntiEntropy`].
    AntiEntropy,
    /// [`Message::Membership`].
    Membership,
    /// [`Message::Routing`].
    Routing,
    /// [`Message::Groups`].
    Groups,
}

impl MessageKind {
    /// Every kind, in wire order.
    pub const ALL: [MessageKind; 6] = [
        MessageKind::Overlay,
        MessageKind::Broadcast,
        MessageKind::AntiEntropy,
        MessageKind::Membership,
        MessageKind::Routing,
        MessageKind::Groups,
    ];

    /// The kind's name in counters and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Overlay => "overlay",
            MessageKind::Broadcast => "broadcast",
            MessageKind::AntiEntropy => "anti_entropy",
            MessageKind::Membership => "membership",
            MessageKind::Routing => "routing",
            MessageKind::Groups => "groups",
        }
    }
}

impl Message {
    /// The message's kind.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Overlay { .. } => MessageKind::Overlay,
            Message::Broadcast(_) => MessageKind::Broadcast,
            Message::AntiEntropy(_) => MessageKind::AntiEntropy,
            Message::Membership(_) => MessageKind::Membership,
            Message::Routing(_) => MessageKind::Routing,
            Message::Groups(_) => MessageKind::Groups,
        }
    }
}

/// The kind of the message in an encoded frame, read from its variant tag without decoding
/// the rest; `None` for a frame too short or with an unknown tag. postcard writes the variant
/// index as a varint, one byte while there are fewer than 128 variants.
pub fn kind_of(frame: &[u8]) -> Option<MessageKind> {
    MessageKind::ALL.get(usize::from(*frame.get(1)?)).copied()
}

/// Why bytes from a peer could not be read as a frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame has no bytes at all.
    #[error("empty frame")]
    Empty,
    /// The frame is larger than [`FRAME_SIZE_MAX`].
    #[error("frame of {0} bytes exceeds the {FRAME_SIZE_MAX}-byte limit")]
    TooLarge(usize),
    /// The frame was made by another protocol version.
    #[error("frame has protocol version {0}, this node speaks version {PROTOCOL_VERSION}")]
    UnsupportedVersion(u8),
    /// The bytes after the version byte are not a valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A valid message is followed by extra bytes.
    #[error("{0} unexpected bytes after the message")]
    TrailingBytes(usize),
}

/// Why a message could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The encoded frame would exceed [`FRAME_SIZE_MAX`].
    #[error("frame of {0} bytes exceeds the {FRAME_SIZE_MAX}-byte limit")]
    TooLarge(usize),
}

/// Encodes `message` as a frame: version byte, then the message.
pub fn encode(message: &Message) -> Result<Vec<u8>, EncodeError> {
    let frame = postcard::to_extend(message, vec![PROTOCOL_VERSION])
        .expect("encoding into a Vec cannot fail");
    if frame.len() > FRAME_SIZE_MAX {
        return Err(EncodeError::TooLarge(frame.len()));
    }
    Ok(frame)
}

/// Decodes one frame. Never panics, whatever `frame` holds.
pub fn decode(frame: &[u8]) -> Result<Message, DecodeError> {
    if frame.len() > FRAME_SIZE_MAX {
        return Err(DecodeError::TooLarge(frame.len()));
    }
    let (&version, body) = frame.split_first().ok_or(DecodeError::Empty)?;
    if version != PROTOCOL_VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let (message, rest) = postcard::take_from_bytes::<Message>(body)
        .map_err(|error| DecodeError::Malformed(error.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prune() -> BroadcastMessage {
        BroadcastMessage::Prune { origin: crate::id::NodeId::from_bytes([7; 32]) }
    }

    #[test]
    fn frame_round_trips_and_starts_with_the_version() {
        let message = Message::Broadcast(prune());
        let frame = encode(&message).unwrap();
        assert_eq!(frame[0], PROTOCOL_VERSION);
        assert_eq!(decode(&frame), Ok(message));
    }

    #[test]
    fn the_kind_read_from_a_frame_is_the_messages_kind() {
        let id = crate::id::NodeId::from_bytes([7; 32]);
        let messages = [
            Message::Overlay { message: crate::overlay::OverlayMessage::Disconnect, profile: None },
            Message::Broadcast(prune()),
            Message::AntiEntropy(crate::anti_entropy::AntiEntropyMessage::Want {
                origins: Vec::new(),
            }),
            Message::Membership(crate::membership::MembershipMessage::Ack {
                seq: 1,
                relay_for: None,
            }),
            Message::Routing(crate::routing::RoutingMessage::Routed(crate::routing::Routed {
                source: id,
                destination: id,
                hops_left: 1,
                path: vec![id],
                body: crate::routing::RoutedBody::Ping { id: 1 },
            })),
            Message::Groups(crate::groups::GroupsMessage::Want {
                group: "g".into(),
                origin: id,
                version: crate::record::Version { epoch: 0, seq: 1 },
            }),
        ];
        let kinds: Vec<MessageKind> = messages.iter().map(Message::kind).collect();
        assert_eq!(kinds, MessageKind::ALL, "one message of each kind, in wire order");
        for message in &messages {
            let frame = encode(message).unwrap();
            assert_eq!(kind_of(&frame), Some(message.kind()), "{message:?}");
        }
        assert_eq!(kind_of(&[PROTOCOL_VERSION]), None);
        assert_eq!(kind_of(&[PROTOCOL_VERSION, 6]), None);
    }

    #[test]
    fn frame_from_another_version_is_refused_by_name() {
        let mut frame = encode(&Message::Broadcast(prune())).unwrap();
        frame[0] = 9;
        assert_eq!(decode(&frame), Err(DecodeError::UnsupportedVersion(9)));
    }

    #[test]
    fn oversized_empty_and_trailing_frames_are_refused() {
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        assert_eq!(
            decode(&vec![1; FRAME_SIZE_MAX + 1]),
            Err(DecodeError::TooLarge(FRAME_SIZE_MAX + 1))
        );
        let mut frame = encode(&Message::Broadcast(prune())).unwrap();
        frame.push(0);
        assert_eq!(decode(&frame), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn a_length_prefix_claiming_more_than_the_frame_is_malformed_not_an_allocation() {
        // Sync, Records, then a vector length of u32::MAX as a varint, then nothing.
        let frame = [PROTOCOL_VERSION, 2, 2, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(matches!(decode(&frame), Err(DecodeError::Malformed(_))));
    }
}
