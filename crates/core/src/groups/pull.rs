//! A body being pulled in chunks: which chunks arrived, who else offered it, and when it last
//! made progress.
//!
//! A body is cut into chunks of [`CHUNK_LEN`] bytes (the last one shorter). Chunks may arrive
//! in any order; each is checked against its place before it is copied, and the whole body
//! against the header's seal once the last chunk is in. The body's buffer is allocated when the
//! first chunk arrives, after the caller has checked the seal's length against its storage
//! budget.

use std::sync::Arc;

use crate::id::NodeId;
use crate::record::SignedRecord;
use crate::time::Instant;

use super::data::{BodySeal, GroupData};

/// The bytes of a body carried by one chunk, fixed by the protocol so that a chunk's place is
/// its offset divided by it. 64 KiB: a quarter of the frame limit.
pub const CHUNK_LEN: u64 = 64 * 1024;

/// How many chunks a body of `len` bytes takes.
pub fn chunk_count(len: u64) -> u64 {
    len.div_ceil(CHUNK_LEN)
}

/// What adding a chunk did.
#[derive(Debug)]
pub(super) enum ChunkOutcome {
    /// The chunk was stored; more are needed.
    Progress,
    /// The body is complete and matches the seal.
    Complete(GroupData),
    /// The chunk does not fit: wrong offset or length, already held, or the finished body did
    /// not match its seal (the pull starts over).
    Refused,
}

/// A body being pulled.
#[derive(Debug)]
pub(super) struct Pull {
    pub header: Arc<SignedRecord>,
    seal: BodySeal,
    body: Vec<u8>,
    arrived: Vec<bool>,
    missing: u64,
    /// The neighbour asked.
    pub from: NodeId,
    /// Others that offered the message, asked in turn if `from` stalls.
    pub others: Vec<NodeId>,
    /// When the last chunk arrived, or the pull was asked.
    pub progressed_at: Instant,
}

impl Pull {
    /// A pull of the body `header` seals, asked of `from` at `now`.
    pub fn new(header: Arc<SignedRecord>, seal: BodySeal, from: NodeId, now: Instant) -> Pull {
        let count = chunk_count(seal.len);
        Pull {
            header,
            seal,
            body: Vec::new(),
            arrived: Vec::new(),
            missing: count,
            from,
            others: Vec::new(),
            progressed_at: now,
        }
    }

    /// The body's length, as sealed.
    pub fn len(&self) -> u64 {
        self.seal.len
    }

    /// Adds the chunk at `offset`.
    pub fn add(&mut self, now: Instant, offset: u64, bytes: &[u8]) -> ChunkOutcome {
        let count = chunk_count(self.seal.len);
        if !offset.is_multiple_of(CHUNK_LEN) || offset >= self.seal.len {
            return ChunkOutcome::Refused;
        }
        let index = offset / CHUNK_LEN;
        let expected = CHUNK_LEN.min(self.seal.len - offset);
        if bytes.len() as u64 != expected {
            return ChunkOutcome::Refused;
        }
        if self.arrived.is_empty() {
            // Bounded by the seal's length, which the caller checked against its budget.
            self.body = vec![0; self.seal.len as usize];
            self.arrived = vec![false; count as usize];
        }
        if self.arrived[index as usize] {
            return ChunkOutcome::Refused;
        }
        let start = offset as usize;
        self.body[start..start + bytes.len()].copy_from_slice(bytes);
        self.arrived[index as usize] = true;
        self.missing -= 1;
        self.progressed_at = now;
        if self.missing > 0 {
            return ChunkOutcome::Progress;
        }
        if !self.seal.matches(&self.body) {
            self.arrived.iter_mut().for_each(|arrived| *arrived = false);
            self.missing = count;
            return ChunkOutcome::Refused;
        }
        let body: Arc<[u8]> = std::mem::take(&mut self.body).into();
        ChunkOutcome::Complete(GroupData { header: self.header.clone(), body })
    }
}

/// The chunks of a body: (offset, bytes).
pub fn chunks(body: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    body.chunks(CHUNK_LEN as usize)
        .enumerate()
        .map(|(index, bytes)| (index as u64 * CHUNK_LEN, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Keypair;
    use crate::record::{Record, RecordKind, Version};

    fn pull_of(body: &[u8]) -> Pull {
        let keypair = Keypair::from_secret([3; 32]);
        let seal = BodySeal::of(body);
        let record = Record {
            origin: keypair.id(),
            kind: RecordKind::GroupMessage,
            key: "g".into(),
            version: Version::new(1, 1),
            issued_at_ms: 0,
            payload: seal.encode(),
        };
        let header = Arc::new(record.sign(&keypair).unwrap());
        Pull::new(header, seal, NodeId::from_bytes([9; 32]), Instant::ZERO)
    }

    #[test]
    fn chunks_in_any_order_make_the_sealed_body() {
        let body: Vec<u8> = (0..(CHUNK_LEN * 2 + 10)).map(|i| (i % 251) as u8).collect();
        let mut pull = pull_of(&body);
        let parts: Vec<(u64, &[u8])> = chunks(&body).collect();
        assert_eq!(parts.len(), 3);
        assert!(matches!(pull.add(Instant::ZERO, parts[2].0, parts[2].1), ChunkOutcome::Progress));
        assert!(matches!(pull.add(Instant::ZERO, parts[2].0, parts[2].1), ChunkOutcome::Refused));
        assert!(matches!(pull.add(Instant::ZERO, parts[0].0, parts[0].1), ChunkOutcome::Progress));
        match pull.add(Instant::ZERO, parts[1].0, parts[1].1) {
            ChunkOutcome::Complete(data) => assert_eq!(&data.body[..], &body[..]),
            other => panic!("expected the body, got {other:?}"),
        }
    }

    #[test]
    fn a_chunk_out_of_place_or_a_forged_body_is_refused() {
        let body = vec![1u8; (CHUNK_LEN + 1) as usize];
        let mut pull = pull_of(&body);
        assert!(matches!(pull.add(Instant::ZERO, 1, &body[..10]), ChunkOutcome::Refused));
        assert!(matches!(pull.add(Instant::ZERO, 0, &body[..10]), ChunkOutcome::Refused));
        assert!(matches!(pull.add(Instant::ZERO, CHUNK_LEN * 5, &[1]), ChunkOutcome::Refused));
        assert!(matches!(pull.add(Instant::ZERO, CHUNK_LEN, &[2]), ChunkOutcome::Progress));
        let first = &body[..CHUNK_LEN as usize];
        assert!(matches!(pull.add(Instant::ZERO, 0, first), ChunkOutcome::Refused), "forged");
        // It starts over, and the true chunks then complete it.
        assert!(matches!(pull.add(Instant::ZERO, 0, first), ChunkOutcome::Progress));
        assert!(matches!(pull.add(Instant::ZERO, CHUNK_LEN, &[1]), ChunkOutcome::Complete(_)));
    }
}
