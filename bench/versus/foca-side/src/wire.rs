//! What foca's members are called and how their messages look on the wire.
//!
//! A member is named by its index in the run and a generation. The index is its address, the
//! part that never changes; the generation is what foca's `Identity::renew` bumps when the
//! member learns that the cluster declared it down, so that it can rejoin at once under a new
//! identity (foca's `examples/identity_golf.rs` explains the pattern: the higher one wins).
//!
//! The codec is a fixed little-endian layout, written here rather than borrowed from a serde
//! format, so that every datagram the run counts is the real bytes foca would hand a socket.
//! An identity is 6 bytes (the size of an IPv4 socket address), a member update 9.

use std::fmt;

use bytes::{Buf, BufMut};
use foca::{Codec, Header, Identity, Incarnation, Member, Message, State};

/// One member's identity: its index in the run and how many times it has renewed itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemberId {
    /// The member's index in the run, 0..members: its address, which never changes.
    pub index: u32,
    /// Bumped each time the member rejoins after being declared down.
    pub generation: u16,
}

impl MemberId {
    /// The first identity of member `index`.
    pub const fn first(index: u32) -> MemberId {
        MemberId { index, generation: 0 }
    }
}

impl Identity for MemberId {
    type Addr = u32;

    fn renew(&self) -> Option<Self> {
        // Past the last generation the member stays down (foca then reports it defunct).
        let generation = self.generation.checked_add(1)?;
        Some(MemberId { index: self.index, generation })
    }

    fn addr(&self) -> u32 {
        self.index
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.generation > adversary.generation
    }
}

/// Bytes of an encoded identity.
const ID_LEN: usize = 4 + 2;
/// Bytes of an encoded member update: identity, incarnation, state.
const MEMBER_LEN: usize = ID_LEN + 2 + 1;

/// Why a datagram could not be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The buffer has no room for the item; nothing was written.
    Full,
    /// The datagram ends in the middle of an item.
    Truncated,
    /// A message kind or member state this codec does not know.
    UnknownTag(u8),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Full => f.write_str("no room left in the datagram"),
            WireError::Truncated => f.write_str("datagram ends mid-item"),
            WireError::UnknownTag(tag) => write!(f, "unknown tag {tag}"),
        }
    }
}

impl std::error::Error for WireError {}

/// foca's messages in a fixed little-endian layout.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wire;

// Message kinds on the wire.
const PING: u8 = 0;
const ACK: u8 = 1;
const PING_REQ: u8 = 2;
const INDIRECT_PING: u8 = 3;
const INDIRECT_ACK: u8 = 4;
const FORWARDED_ACK: u8 = 5;
const ANNOUNCE: u8 = 6;
const FEED: u8 = 7;
const GOSSIP: u8 = 8;
const BROADCAST: u8 = 9;
const TURN_UNDEAD: u8 = 10;

// Member states on the wire.
const ALIVE: u8 = 0;
const SUSPECT: u8 = 1;
const DOWN: u8 = 2;

fn put_id(buf: &mut impl BufMut, id: &MemberId) {
    buf.put_u32_le(id.index);
    buf.put_u16_le(id.generation);
}

fn take_id(buf: &mut impl Buf) -> Result<MemberId, WireError> {
    need(buf, ID_LEN)?;
    let index = buf.get_u32_le();
    let generation = buf.get_u16_le();
    Ok(MemberId { index, generation })
}

fn take_u8(buf: &mut impl Buf) -> Result<u8, WireError> {
    need(buf, 1)?;
    Ok(buf.get_u8())
}

fn need(buf: &impl Buf, len: usize) -> Result<(), WireError> {
    if buf.remaining() < len { Err(WireError::Truncated) } else { Ok(()) }
}

/// The message's kind, and the identity and probe number it carries, if any.
fn message_parts(message: &Message<MemberId>) -> (u8, Option<&MemberId>, Option<u8>) {
    match message {
        Message::Ping(probe) => (PING, None, Some(*probe)),
        Message::Ack(probe) => (ACK, None, Some(*probe)),
        Message::PingReq { target, probe_number } => (PING_REQ, Some(target), Some(*probe_number)),
        Message::IndirectPing { origin, probe_number } => {
            (INDIRECT_PING, Some(origin), Some(*probe_number))
        }
        Message::IndirectAck { target, probe_number } => {
            (INDIRECT_ACK, Some(target), Some(*probe_number))
        }
        Message::ForwardedAck { origin, probe_number } => {
            (FORWARDED_ACK, Some(origin), Some(*probe_number))
        }
        Message::Announce => (ANNOUNCE, None, None),
        Message::Feed => (FEED, None, None),
        Message::Gossip => (GOSSIP, None, None),
        Message::Broadcast => (BROADCAST, None, None),
        Message::TurnUndead => (TURN_UNDEAD, None, None),
    }
}

impl Codec<MemberId> for Wire {
    type Error = WireError;

    fn encode_header(
        &mut self,
        header: &Header<MemberId>,
        mut buf: impl BufMut,
    ) -> Result<(), WireError> {
        let (kind, id, probe) = message_parts(&header.message);
        let len = ID_LEN + 2 + ID_LEN + 1 + id.map_or(0, |_| ID_LEN) + probe.map_or(0, |_| 1);
        if buf.remaining_mut() < len {
            return Err(WireError::Full);
        }
        put_id(&mut buf, &header.src);
        buf.put_u16_le(header.src_incarnation);
        put_id(&mut buf, &header.dst);
        buf.put_u8(kind);
        if let Some(id) = id {
            put_id(&mut buf, id);
        }
        if let Some(probe) = probe {
            buf.put_u8(probe);
        }
        Ok(())
    }

    fn decode_header(&mut self, mut buf: impl Buf) -> Result<Header<MemberId>, WireError> {
        let src = take_id(&mut buf)?;
        need(&buf, 2)?;
        let src_incarnation: Incarnation = buf.get_u16_le();
        let dst = take_id(&mut buf)?;
        let kind = take_u8(&mut buf)?;
        let message = match kind {
            PING => Message::Ping(take_u8(&mut buf)?),
            ACK => Message::Ack(take_u8(&mut buf)?),
            PING_REQ => {
                let target = take_id(&mut buf)?;
                Message::PingReq { target, probe_number: take_u8(&mut buf)? }
            }
            INDIRECT_PING => {
                let origin = take_id(&mut buf)?;
                Message::IndirectPing { origin, probe_number: take_u8(&mut buf)? }
            }
            INDIRECT_ACK => {
                let target = take_id(&mut buf)?;
                Message::IndirectAck { target, probe_number: take_u8(&mut buf)? }
            }
            FORWARDED_ACK => {
                let origin = take_id(&mut buf)?;
                Message::ForwardedAck { origin, probe_number: take_u8(&mut buf)? }
            }
            ANNOUNCE => Message::Announce,
            FEED => Message::Feed,
            GOSSIP => Message::Gossip,
            BROADCAST => Message::Broadcast,
            TURN_UNDEAD => Message::TurnUndead,
            other => return Err(WireError::UnknownTag(other)),
        };
        Ok(Header { src, src_incarnation, dst, message })
    }

    fn encode_member(
        &mut self,
        member: &Member<MemberId>,
        mut buf: impl BufMut,
    ) -> Result<(), WireError> {
        if buf.remaining_mut() < MEMBER_LEN {
            return Err(WireError::Full);
        }
        put_id(&mut buf, member.id());
        buf.put_u16_le(member.incarnation());
        buf.put_u8(match member.state() {
            State::Alive => ALIVE,
            State::Suspect => SUSPECT,
            State::Down => DOWN,
        });
        Ok(())
    }

    fn decode_member(&mut self, mut buf: impl Buf) -> Result<Member<MemberId>, WireError> {
        need(&buf, MEMBER_LEN)?;
        let id = take_id(&mut buf)?;
        let incarnation = buf.get_u16_le();
        let state = match buf.get_u8() {
            ALIVE => State::Alive,
            SUSPECT => State::Suspect,
            DOWN => State::Down,
            other => return Err(WireError::UnknownTag(other)),
        };
        Ok(Member::new(id, incarnation, state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(index: u32, generation: u16) -> MemberId {
        MemberId { index, generation }
    }

    #[test]
    fn every_message_kind_survives_a_round_trip() {
        let messages = [
            Message::Ping(7),
            Message::Ack(8),
            Message::PingReq { target: id(3, 1), probe_number: 9 },
            Message::IndirectPing { origin: id(4, 2), probe_number: 10 },
            Message::IndirectAck { target: id(5, 3), probe_number: 11 },
            Message::ForwardedAck { origin: id(6, 4), probe_number: 12 },
            Message::Announce,
            Message::Feed,
            Message::Gossip,
            Message::Broadcast,
            Message::TurnUndead,
        ];
        for message in messages {
            let header =
                Header { src: id(1, 0), src_incarnation: 513, dst: id(70_000, 9), message };
            let mut bytes = Vec::new();
            Wire.encode_header(&header, &mut bytes).unwrap();
            let member = Member::new(id(2, 5), 300, State::Suspect);
            Wire.encode_member(&member, &mut bytes).unwrap();
            let mut read = &bytes[..];
            assert_eq!(Wire.decode_header(&mut read).unwrap(), header);
            assert_eq!(Wire.decode_member(&mut read).unwrap(), member);
            assert!(read.is_empty(), "the decoder must consume exactly what was written");
        }
    }

    #[test]
    fn a_full_buffer_is_left_clean_and_a_short_one_is_refused() {
        let mut small = [0u8; MEMBER_LEN - 1];
        let mut slot = &mut small[..];
        let member = Member::new(id(1, 1), 1, State::Down);
        assert_eq!(Wire.encode_member(&member, &mut slot), Err(WireError::Full));
        assert_eq!(slot.len(), MEMBER_LEN - 1, "nothing may be written when it does not fit");
        let bytes = [0u8; MEMBER_LEN - 1];
        assert_eq!(Wire.decode_member(&bytes[..]).unwrap_err(), WireError::Truncated);
    }

    #[test]
    fn a_renewed_identity_keeps_its_address_and_wins() {
        let first = MemberId::first(42);
        let renewed = first.renew().unwrap();
        assert_eq!(renewed.addr(), first.addr());
        assert!(renewed.win_addr_conflict(&first));
        assert!(!first.win_addr_conflict(&renewed));
    }
}
