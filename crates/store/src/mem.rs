//! The in-memory store, for the simulator and tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use herald_core::groups::GroupData;
use herald_core::{NodeId, PersistOp, SignedRecord, Snapshot, Version};

use crate::layout;
use crate::{Store, StoreError};

/// A [`Store`] held in ordered maps in memory; it never fails.
///
/// Records are kept as the `Arc`s the core hands out, so applying a batch copies no record and
/// cloning the store copies only pointers and slot keys. The maps are ordered (never hashed), so
/// [`Store::load`] returns records in the same slot order as [`crate::RedbStore`] and a
/// simulation replays exactly. A simulated crash keeps a clone of the store, or the store itself,
/// and restarts the node from [`Store::load`].
#[derive(Clone, Debug, Default)]
pub struct MemStore {
    /// Slot key (see [`layout`]) to the record the slot holds.
    records: BTreeMap<Vec<u8>, Arc<SignedRecord>>,
    issued_high: Option<Version>,
    meta: BTreeMap<String, Vec<u8>>,
    /// Group message key (see [`layout`]) to the message.
    group_messages: BTreeMap<Vec<u8>, GroupData>,
    /// Group cursor key to (group, origin, version).
    group_cursors: BTreeMap<Vec<u8>, (String, NodeId, Version)>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// How many slots hold a record.
    pub fn record_count(&self) -> usize {
        self.records.len()
    }
}

impl Store for MemStore {
    fn apply(&mut self, batch: &[PersistOp]) -> Result<(), StoreError> {
        // Nothing below can fail, so the batch is trivially all-or-nothing.
        for op in batch {
            match op {
                PersistOp::PutRecord(record) => {
                    self.records.insert(layout::key_of_record(record), Arc::clone(record));
                }
                PersistOp::DeleteRecord(slot) => {
                    self.records.remove(&layout::key_of_slot(slot));
                }
                PersistOp::SetIssuedHigh(version) => {
                    self.issued_high = self.issued_high.max(Some(*version));
                }
                PersistOp::PutGroupMessage(data) => {
                    let record = &data.header.record;
                    let key =
                        layout::group_message_key(&record.key, &record.origin, record.version);
                    self.group_messages.insert(key, data.clone());
                }
                PersistOp::DeleteGroupMessage { group, origin, version } => {
                    self.group_messages.remove(&layout::group_message_key(group, origin, *version));
                }
                PersistOp::SetGroupCursor { group, origin, version } => {
                    let key = layout::group_cursor_key(group, origin);
                    let entry =
                        self.group_cursors.entry(key).or_insert((group.clone(), *origin, *version));
                    entry.2 = entry.2.max(*version);
                }
            }
        }
        Ok(())
    }

    fn load(&self) -> Result<Snapshot, StoreError> {
        Ok(Snapshot {
            records: self.records.values().map(|record| SignedRecord::clone(record)).collect(),
            issued_high: self.issued_high,
            group_messages: self.group_messages.values().cloned().collect(),
            group_cursors: self.group_cursors.values().cloned().collect(),
        })
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        layout::check_meta_key(key)?;
        Ok(self.meta.get(key).cloned())
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        layout::check_meta_key(key)?;
        self.meta.insert(key.to_owned(), value.to_vec());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{announcement, keypair};

    #[test]
    fn a_clone_keeps_what_was_applied_before_it() {
        let mut store = MemStore::new();
        let first = Arc::new(announcement(&keypair(1), "a", 1));
        store.apply(&[PersistOp::PutRecord(first.clone())]).unwrap();
        let crashed = store.clone();
        let second = Arc::new(announcement(&keypair(1), "b", 2));
        store.apply(&[PersistOp::PutRecord(second)]).unwrap();
        assert_eq!(crashed.load().unwrap().records, vec![SignedRecord::clone(&first)]);
        assert_eq!(store.record_count(), 2);
    }
}
