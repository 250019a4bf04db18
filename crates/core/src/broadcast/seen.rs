//! The records a node's broadcast remembers: for duplicate suppression, answering grafts and
//! shaping the tree. Bounded; the oldest is forgotten first.
//!
//! Entries are keyed by the first 8 bytes of the record's digest and checked against the whole
//! digest of the record they hold, so a lookup is exact while a key costs 8 bytes, not 32. At
//! 10,000 members a node remembers tens of thousands of records. Two records whose digests
//! share their first 8 bytes cannot both be remembered; the later replaces the earlier, as if
//! it had been evicted, which only costs a graft answered with nothing or a duplicate pushed on.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::ShortId;
use crate::id::NodeId;
use crate::record::{Digest, SignedRecord};

/// A record this node has, as the broadcast remembers it.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    pub(super) record: Arc<SignedRecord>,
    pub(super) round: u16,
    /// Whether the first copy came over the tree (or was published here). A record first
    /// repaired by anti-entropy says nothing about the tree, so a later tree copy of it is no
    /// reason to prune.
    pub(super) via_tree: bool,
    /// The peer the first copy came from; `None` when published here or repaired.
    pub(super) parent: Option<NodeId>,
}

/// Recently seen records, at most `len_max`.
#[derive(Clone, Debug)]
pub(super) struct SeenCache {
    entries: BTreeMap<u64, Seen>,
    /// Keys in the order they were first remembered.
    order: VecDeque<u64>,
    len_max: usize,
}

fn key_of(id: &Digest) -> u64 {
    u64::from_le_bytes(ShortId::of(id).0)
}

impl SeenCache {
    pub(super) fn new(len_max: usize) -> SeenCache {
        SeenCache { entries: BTreeMap::new(), order: VecDeque::new(), len_max }
    }

    pub(super) fn contains(&self, id: &Digest) -> bool {
        self.get(id).is_some()
    }

    pub(super) fn get(&self, id: &Digest) -> Option<&Seen> {
        self.entries.get(&key_of(id)).filter(|seen| seen.record.digest() == *id)
    }

    /// The record whose digest starts with `id`: what a peer that names it by its short id
    /// means.
    pub(super) fn get_short(&self, id: &ShortId) -> Option<&Seen> {
        self.entries.get(&u64::from_le_bytes(id.0))
    }

    pub(super) fn get_mut(&mut self, id: &Digest) -> Option<&mut Seen> {
        self.entries.get_mut(&key_of(id)).filter(|seen| seen.record.digest() == *id)
    }

    /// Remembers `seen` under its record's id, replacing what was kept under that id.
    pub(super) fn insert(&mut self, seen: Seen) {
        let key = key_of(&seen.record.digest());
        if self.entries.insert(key, seen).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > self.len_max {
            if let Some(oldest) = self.order.pop_front() {
                self.entries.remove(&oldest);
            }
        }
    }
}
