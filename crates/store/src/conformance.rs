//! The rules every [`Store`] keeps, written once and run against each implementation.
//!
//! Each rule is a generic function over the store; `conformance_suite!` turns it into one test
//! per implementation, named `conformance::<store>::<rule>`.

use std::sync::Arc;

use herald_core::groups::{BodySeal, GroupData};
use herald_core::{Keypair, PersistOp, Record, RecordKind, SignedRecord, SlotKey, Version};

use crate::{MemStore, RESERVED_META_KEYS, RedbStore, Store, StoreError};

/// The key pair numbered `n`.
pub(crate) fn keypair(n: u8) -> Keypair {
    Keypair::from_secret([n; 32])
}

/// A signed record of `kind` by `keypair`, at version (0, `seq`).
pub(crate) fn record(keypair: &Keypair, kind: RecordKind, key: &str, seq: u64) -> SignedRecord {
    let payload = if kind.is_tombstone() { Vec::new() } else { format!("payload {seq}").into() };
    Record {
        origin: keypair.id(),
        kind,
        key: key.to_owned(),
        version: Version::new(0, seq),
        issued_at_ms: 1_700_000_000_000 + seq,
        payload,
    }
    .sign(keypair)
    .expect("test records are within bounds")
}

/// A signed announcement by `keypair`, at version (0, `seq`).
pub(crate) fn announcement(keypair: &Keypair, key: &str, seq: u64) -> SignedRecord {
    record(keypair, RecordKind::Announcement, key, seq)
}

fn put(record: &SignedRecord) -> PersistOp {
    PersistOp::PutRecord(Arc::new(record.clone()))
}

fn issued(epoch: u64, seq: u64) -> PersistOp {
    PersistOp::SetIssuedHigh(Version::new(epoch, seq))
}

/// The stored records, sorted by slot so that the comparison does not depend on load order.
fn records_of(store: &impl Store) -> Vec<SignedRecord> {
    sorted(store.load().unwrap().records)
}

fn sorted(mut records: Vec<SignedRecord>) -> Vec<SignedRecord> {
    records.sort_by_key(SlotKey::of);
    records
}

fn a_new_store_is_empty(store: impl Store) {
    let snapshot = store.load().unwrap();
    assert!(snapshot.records.is_empty());
    assert_eq!(snapshot.issued_high, None);
    assert_eq!(store.get_meta("identity").unwrap(), None);
}

fn apply_then_load_round_trips(mut store: impl Store) {
    let records = vec![
        announcement(&keypair(1), "storage", 3),
        announcement(&keypair(1), "", 1),
        record(&keypair(1), RecordKind::LinkState, "", 2),
        record(&keypair(2), RecordKind::Tombstone, "storage", 5),
        record(&keypair(2), RecordKind::GroupMessage, "ops/7", 7),
    ];
    let mut batch: Vec<PersistOp> = records.iter().map(put).collect();
    batch.push(issued(0, 3));
    store.apply(&batch).unwrap();

    let snapshot = store.load().unwrap();
    assert_eq!(snapshot.issued_high, Some(Version::new(0, 3)));
    assert_eq!(sorted(snapshot.records), sorted(records));
}

fn load_returns_records_in_slot_order(mut store: impl Store) {
    let batch = [
        put(&announcement(&keypair(2), "b", 1)),
        put(&announcement(&keypair(1), "b", 1)),
        put(&announcement(&keypair(1), "a", 1)),
    ];
    store.apply(&batch).unwrap();
    let loaded = store.load().unwrap().records;
    // Both stores iterate the same slot-key bytes, so they agree on the order (and a
    // simulation that restores from either replays the same way).
    let slots: Vec<_> = loaded.iter().map(SlotKey::of).collect();
    let origins_then_keys: Vec<_> =
        slots.iter().map(|slot| (*slot.origin.as_bytes(), slot.key.clone())).collect();
    assert!(origins_then_keys.is_sorted(), "{slots:?}");
}

fn a_put_replaces_what_the_slot_held(mut store: impl Store) {
    let older = announcement(&keypair(1), "storage", 1);
    let newer = announcement(&keypair(1), "storage", 2);
    store.apply(&[put(&older)]).unwrap();
    store.apply(&[put(&newer)]).unwrap();
    assert_eq!(records_of(&store), vec![newer]);

    // A tombstone shares its announcement's slot, so it replaces it.
    let tombstone = record(&keypair(1), RecordKind::Tombstone, "storage", 3);
    store.apply(&[put(&tombstone)]).unwrap();
    assert_eq!(records_of(&store), vec![tombstone]);
}

fn a_delete_empties_the_slot_and_ignores_empty_slots(mut store: impl Store) {
    let kept = announcement(&keypair(1), "kept", 1);
    let dropped = announcement(&keypair(1), "dropped", 1);
    store.apply(&[put(&kept), put(&dropped)]).unwrap();
    let never_stored = SlotKey::of(&announcement(&keypair(3), "never", 1));
    store
        .apply(&[
            PersistOp::DeleteRecord(SlotKey::of(&dropped)),
            PersistOp::DeleteRecord(never_stored),
        ])
        .unwrap();
    assert_eq!(records_of(&store), vec![kept]);
}

fn operations_in_a_batch_take_effect_in_order(mut store: impl Store) {
    let first = announcement(&keypair(1), "first", 1);
    let second = announcement(&keypair(1), "second", 1);
    store
        .apply(&[
            put(&first),
            PersistOp::DeleteRecord(SlotKey::of(&first)),
            PersistOp::DeleteRecord(SlotKey::of(&second)),
            put(&second),
        ])
        .unwrap();
    assert_eq!(records_of(&store), vec![second]);
}

fn issued_high_never_goes_back(mut store: impl Store) {
    store.apply(&[issued(0, 5)]).unwrap();
    store.apply(&[issued(0, 3)]).unwrap();
    assert_eq!(store.load().unwrap().issued_high, Some(Version::new(0, 5)));

    // Inside one batch the maximum wins, whatever the order.
    store.apply(&[issued(0, 9), issued(0, 7)]).unwrap();
    assert_eq!(store.load().unwrap().issued_high, Some(Version::new(0, 9)));

    // The epoch is compared first.
    store.apply(&[issued(1, 0)]).unwrap();
    store.apply(&[issued(0, 99)]).unwrap();
    assert_eq!(store.load().unwrap().issued_high, Some(Version::new(1, 0)));
}

fn an_empty_batch_changes_nothing(mut store: impl Store) {
    let record = announcement(&keypair(1), "storage", 1);
    store.apply(&[put(&record), issued(0, 1)]).unwrap();
    let before = store.load().unwrap();
    store.apply(&[]).unwrap();
    assert_eq!(store.load().unwrap(), before);
}

fn meta_values_are_stored_and_replaced(mut store: impl Store) {
    assert_eq!(store.get_meta("identity").unwrap(), None);
    store.put_meta("identity", b"first").unwrap();
    store.put_meta("contacts", b"").unwrap();
    assert_eq!(store.get_meta("identity").unwrap().as_deref(), Some(&b"first"[..]));
    store.put_meta("identity", b"second").unwrap();
    assert_eq!(store.get_meta("identity").unwrap().as_deref(), Some(&b"second"[..]));
    assert_eq!(store.get_meta("contacts").unwrap().as_deref(), Some(&b""[..]));
}

fn the_stores_own_meta_keys_are_refused(mut store: impl Store) {
    for key in RESERVED_META_KEYS {
        let refused = |result: Result<_, StoreError>| matches!(result, Err(StoreError::ReservedMetaKey { key: refused }) if refused == key);
        assert!(refused(store.get_meta(key).map(drop)));
        assert!(refused(store.put_meta(key, b"x")));
    }
    // Refusing them did not disturb what the store keeps under them.
    store.apply(&[issued(0, 2)]).unwrap();
    assert_eq!(store.load().unwrap().issued_high, Some(Version::new(0, 2)));
}

fn a_boxed_store_is_a_store(store: impl Store + 'static) {
    let mut boxed: Box<dyn Store> = Box::new(store);
    let record = announcement(&keypair(1), "storage", 1);
    boxed.apply(&[put(&record)]).unwrap();
    assert_eq!(records_of(&boxed), vec![record]);
}

/// A group data message by `keypair` in `group` at version (1, `seq`).
fn group_message(keypair: &Keypair, group: &str, seq: u64, body: &[u8]) -> GroupData {
    let header = Record {
        origin: keypair.id(),
        kind: RecordKind::GroupMessage,
        key: group.to_owned(),
        version: Version::new(1, seq),
        issued_at_ms: 0,
        payload: BodySeal::of(body).encode(),
    }
    .sign(keypair)
    .expect("test records are within bounds");
    GroupData { header: Arc::new(header), body: body.into() }
}

fn group_messages_are_kept_until_deleted(mut store: impl Store) {
    let first = group_message(&keypair(1), "mirror-1", 1, b"first");
    let second = group_message(&keypair(1), "mirror-1", 2, &[7; 70_000]);
    let other = group_message(&keypair(2), "mirror-2", 1, b"");
    let batch: Vec<PersistOp> =
        [&first, &second, &other].map(|data| PersistOp::PutGroupMessage(data.clone())).into();
    store.apply(&batch).unwrap();
    let mut loaded = store.load().unwrap().group_messages;
    loaded.sort_by_key(|data| (data.group().to_owned(), data.origin(), data.version()));
    assert_eq!(loaded, vec![first.clone(), second.clone(), other.clone()]);
    store
        .apply(&[PersistOp::DeleteGroupMessage {
            group: "mirror-1".into(),
            origin: first.origin(),
            version: first.version(),
        }])
        .unwrap();
    let mut loaded = store.load().unwrap().group_messages;
    loaded.sort_by_key(|data| data.group().to_owned());
    assert_eq!(loaded, vec![second, other]);
}

fn a_group_cursor_never_goes_back(mut store: impl Store) {
    let origin = keypair(3).id();
    let cursor = |seq| PersistOp::SetGroupCursor {
        group: "g".into(),
        origin,
        version: Version::new(1, seq),
    };
    store.apply(&[cursor(5), cursor(3)]).unwrap();
    store.apply(&[cursor(4)]).unwrap();
    assert_eq!(store.load().unwrap().group_cursors, vec![("g".into(), origin, Version::new(1, 5))]);
    store.apply(&[cursor(6)]).unwrap();
    assert_eq!(store.load().unwrap().group_cursors, vec![("g".into(), origin, Version::new(1, 6))]);
}

/// Runs each named rule against each store.
macro_rules! conformance_suite {
    ($($rule:ident),* $(,)?) => {
        mod mem_store {
            $(
                #[test]
                fn $rule() {
                    super::$rule(crate::MemStore::new());
                }
            )*
        }

        mod redb_store {
            $(
                #[test]
                fn $rule() {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    super::$rule(crate::RedbStore::open(dir.path()).expect("a new store opens"));
                }
            )*
        }
    };
}

conformance_suite!(
    a_new_store_is_empty,
    apply_then_load_round_trips,
    load_returns_records_in_slot_order,
    a_put_replaces_what_the_slot_held,
    a_delete_empties_the_slot_and_ignores_empty_slots,
    operations_in_a_batch_take_effect_in_order,
    issued_high_never_goes_back,
    an_empty_batch_changes_nothing,
    meta_values_are_stored_and_replaced,
    the_stores_own_meta_keys_are_refused,
    a_boxed_store_is_a_store,
    group_messages_are_kept_until_deleted,
    a_group_cursor_never_goes_back,
);

// Both stores must stay usable from another thread (the node moves its store into a task).
const _: fn() = || {
    fn is_send<T: Send>() {}
    is_send::<MemStore>();
    is_send::<RedbStore>();
};
