//! The on-disk store: one redb database under the node's data directory.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use herald_core::groups::GroupData;
use herald_core::{NodeId, PersistOp, SignedRecord, Snapshot, Version};
use redb::{Database, Durability, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::layout::{self, ISSUED_HIGH_KEY, SCHEMA_VERSION_KEY};
use crate::{Store, StoreError};

/// The storage layout this build reads and writes. Raise it whenever a table, key or value
/// encoding changes; a database with any other version is refused with
/// [`StoreError::SchemaMismatch`] rather than misread.
pub const SCHEMA_VERSION: u32 = 1;

/// Name of the database file inside the data directory.
pub const DB_FILE_NAME: &str = "herald.redb";

/// Name of the lock file inside the data directory.
pub const LOCK_FILE_NAME: &str = "lock";

/// Slot key (see [`layout`]) to the postcard encoding of the record the slot holds.
const RECORDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("records");

/// Named values: the store's own (schema version, issued high) and the node's.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Group message key (see [`layout`]) to the header's encoding followed by the body. Added
/// after schema 1 was first written; a database without it gets it when opened, and a build
/// that predates it ignores it, so the schema version did not change.
const GROUP_MESSAGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("group_messages");

/// Group cursor key to the version delivered up to, encoded like the issued-high version.
const GROUP_CURSORS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("group_cursors");

/// A [`Store`] in a redb database at `<dir>/herald.redb`.
///
/// Opening takes an exclusive lock on `<dir>/lock` and holds it until the store is dropped, so
/// two nodes can never write one directory. The operating system releases the lock when the
/// process dies, however it dies, so a node killed with `kill -9` can be restarted at once.
///
/// Every write is one redb write transaction committed with [`Durability::Immediate`]: when
/// [`Store::apply`] or [`Store::put_meta`] returns `Ok`, the change is on disk.
pub struct RedbStore {
    // Declared before `_lock` so that the database is closed before the lock is released.
    db: Database,
    _lock: File,
    dir: PathBuf,
    db_path: PathBuf,
    /// Scratch buffers reused across batches, so a put allocates nothing of its own.
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore").field("db_path", &self.db_path).finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens the store in `dir`, creating the directory and the database if they do not exist.
    ///
    /// Fails at once with [`StoreError::Locked`] if another store, in this process or another,
    /// has `dir` open, and with [`StoreError::SchemaMismatch`] if the database was written with
    /// a different layout.
    pub fn open(dir: &Path) -> Result<RedbStore, StoreError> {
        fs::create_dir_all(dir)
            .map_err(|source| StoreError::Io { path: dir.to_owned(), source })?;
        let lock = take_lock(dir)?;
        let db_path = dir.join(DB_FILE_NAME);
        let db = Database::create(&db_path).map_err(|e| database_error(&db_path, e))?;
        let store = RedbStore {
            db,
            _lock: lock,
            dir: dir.to_owned(),
            db_path,
            key_buf: Vec::new(),
            value_buf: Vec::new(),
        };
        store.check_schema()?;
        Ok(store)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stamps a new database with [`SCHEMA_VERSION`] and creates its tables, or checks the
    /// version of an existing one.
    fn check_schema(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| self.db_error(e))?;
            let found = meta.get(SCHEMA_VERSION_KEY).map_err(|e| self.db_error(e))?;
            match found.map(|value| layout::decode_schema_version(value.value())) {
                None => {
                    let version = layout::encode_schema_version(SCHEMA_VERSION);
                    meta.insert(SCHEMA_VERSION_KEY, version.as_slice())
                        .map_err(|e| self.db_error(e))?;
                }
                Some(Some(SCHEMA_VERSION)) => {}
                // Dropping the transaction uncommitted aborts it: nothing is written.
                Some(Some(found)) => {
                    return Err(StoreError::SchemaMismatch {
                        found,
                        expected: SCHEMA_VERSION,
                        path: self.db_path.clone(),
                    });
                }
                Some(None) => return Err(self.corrupt("the schema version is not 4 bytes long")),
            }
            txn.open_table(RECORDS).map_err(|e| self.db_error(e))?;
            txn.open_table(GROUP_MESSAGES).map_err(|e| self.db_error(e))?;
            txn.open_table(GROUP_CURSORS).map_err(|e| self.db_error(e))?;
        }
        txn.commit().map_err(|e| self.db_error(e))
    }

    fn db_error(&self, source: impl Into<redb::Error>) -> StoreError {
        database_error(&self.db_path, source)
    }

    fn corrupt(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt { path: self.db_path.clone(), detail: detail.into() }
    }

    fn decode_cursor(&self, bytes: &[u8]) -> Result<Version, StoreError> {
        layout::decode_version(bytes)
            .ok_or_else(|| self.corrupt("a group cursor is not 16 bytes long"))
    }

    /// The group messages and cursors stored.
    fn load_groups(&self, txn: &redb::ReadTransaction) -> Result<GroupState, StoreError> {
        let mut messages = Vec::new();
        let table = txn.open_table(GROUP_MESSAGES).map_err(|e| self.db_error(e))?;
        for entry in table.iter().map_err(|e| self.db_error(e))? {
            let (key, value) = entry.map_err(|e| self.db_error(e))?;
            let data =
                layout::decode_group_message(key.value(), value.value()).ok_or_else(|| {
                    self.corrupt(format!(
                        "the group message under {:02x?} does not decode",
                        key.value()
                    ))
                })?;
            messages.push(data);
        }
        let mut cursors = Vec::new();
        let table = txn.open_table(GROUP_CURSORS).map_err(|e| self.db_error(e))?;
        for entry in table.iter().map_err(|e| self.db_error(e))? {
            let (key, value) = entry.map_err(|e| self.db_error(e))?;
            let (group, origin) =
                layout::decode_group_cursor_key(key.value()).ok_or_else(|| {
                    self.corrupt(format!("the group cursor key {:02x?} is malformed", key.value()))
                })?;
            cursors.push((group, origin, self.decode_cursor(value.value())?));
        }
        Ok((messages, cursors))
    }

    fn decode_issued_high(&self, bytes: &[u8]) -> Result<Version, StoreError> {
        layout::decode_version(bytes)
            .ok_or_else(|| self.corrupt("the issued-high version is not 16 bytes long"))
    }
}

/// What a store holds of groups: messages, and (group, origin, cursor).
type GroupState = (Vec<GroupData>, Vec<(String, NodeId, Version)>);

fn database_error(path: &Path, source: impl Into<redb::Error>) -> StoreError {
    StoreError::Database { path: path.to_owned(), source: Box::new(source.into()) }
}

/// Creates `<dir>/lock` if needed and locks it exclusively without waiting.
fn take_lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE_NAME);
    let io_error = |source| StoreError::Io { path: path.clone(), source };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked { dir: dir.to_owned() }),
        Err(TryLockError::Error(source)) => Err(io_error(source)),
    }
}

impl Store for RedbStore {
    fn apply(&mut self, batch: &[PersistOp]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        // One write transaction for the whole batch: an error anywhere drops it uncommitted,
        // which aborts it, so a batch is never half applied.
        let mut txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        txn.set_durability(Durability::Immediate);
        let mut issued_high: Option<Version> = None;
        {
            let mut records = txn.open_table(RECORDS).map_err(|e| self.db_error(e))?;
            let mut messages = txn.open_table(GROUP_MESSAGES).map_err(|e| self.db_error(e))?;
            let mut cursors = txn.open_table(GROUP_CURSORS).map_err(|e| self.db_error(e))?;
            for op in batch {
                match op {
                    PersistOp::PutRecord(record) => {
                        layout::write_key_of_record(&mut self.key_buf, record);
                        let mut value = std::mem::take(&mut self.value_buf);
                        value.clear();
                        self.value_buf = postcard::to_extend(&**record, value)
                            .expect("encoding into a Vec cannot fail");
                        records
                            .insert(self.key_buf.as_slice(), self.value_buf.as_slice())
                            .map_err(|e| self.db_error(e))?;
                    }
                    PersistOp::DeleteRecord(slot) => {
                        layout::write_key_of_slot(&mut self.key_buf, slot);
                        records.remove(self.key_buf.as_slice()).map_err(|e| self.db_error(e))?;
                    }
                    PersistOp::SetIssuedHigh(version) => {
                        issued_high = issued_high.max(Some(*version));
                    }
                    PersistOp::PutGroupMessage(data) => {
                        let record = &data.header.record;
                        let key =
                            layout::group_message_key(&record.key, &record.origin, record.version);
                        let value = layout::encode_group_message(data);
                        messages
                            .insert(key.as_slice(), value.as_slice())
                            .map_err(|e| self.db_error(e))?;
                    }
                    PersistOp::DeleteGroupMessage { group, origin, version } => {
                        let key = layout::group_message_key(group, origin, *version);
                        messages.remove(key.as_slice()).map_err(|e| self.db_error(e))?;
                    }
                    PersistOp::SetGroupCursor { group, origin, version } => {
                        let key = layout::group_cursor_key(group, origin);
                        let held =
                            match cursors.get(key.as_slice()).map_err(|e| self.db_error(e))? {
                                Some(bytes) => Some(self.decode_cursor(bytes.value())?),
                                None => None,
                            };
                        if Some(*version) > held {
                            let bytes = layout::encode_version(*version);
                            cursors
                                .insert(key.as_slice(), bytes.as_slice())
                                .map_err(|e| self.db_error(e))?;
                        }
                    }
                }
            }
        }
        if let Some(version) = issued_high {
            let mut meta = txn.open_table(META).map_err(|e| self.db_error(e))?;
            let held = match meta.get(ISSUED_HIGH_KEY).map_err(|e| self.db_error(e))? {
                Some(bytes) => Some(self.decode_issued_high(bytes.value())?),
                None => None,
            };
            if Some(version) > held {
                let bytes = layout::encode_version(version);
                meta.insert(ISSUED_HIGH_KEY, bytes.as_slice()).map_err(|e| self.db_error(e))?;
            }
        }
        txn.commit().map_err(|e| self.db_error(e))
    }

    fn load(&self) -> Result<Snapshot, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.db_error(e))?;
        let table = txn.open_table(RECORDS).map_err(|e| self.db_error(e))?;
        let len = table.len().map_err(|e| self.db_error(e))?;
        let mut records = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let mut key_buf = Vec::new();
        for entry in table.iter().map_err(|e| self.db_error(e))? {
            let (key, value) = entry.map_err(|e| self.db_error(e))?;
            let (key, value) = (key.value(), value.value());
            let record = match postcard::take_from_bytes::<SignedRecord>(value) {
                Ok((record, [])) => record,
                Ok((_, rest)) => {
                    return Err(self.corrupt(format!(
                        "the record in {} has {} stray bytes after it",
                        layout::describe_slot_key(key),
                        rest.len()
                    )));
                }
                Err(error) => {
                    return Err(self.corrupt(format!(
                        "the record in {} does not decode: {error}",
                        layout::describe_slot_key(key)
                    )));
                }
            };
            layout::write_key_of_record(&mut key_buf, &record);
            if key_buf != key {
                return Err(self.corrupt(format!(
                    "{} holds a record that belongs in {}",
                    layout::describe_slot_key(key),
                    layout::describe_slot_key(&key_buf)
                )));
            }
            records.push(record);
        }
        let meta = txn.open_table(META).map_err(|e| self.db_error(e))?;
        let issued_high = match meta.get(ISSUED_HIGH_KEY).map_err(|e| self.db_error(e))? {
            Some(bytes) => Some(self.decode_issued_high(bytes.value())?),
            None => None,
        };
        let (group_messages, group_cursors) = self.load_groups(&txn)?;
        Ok(Snapshot { records, issued_high, group_messages, group_cursors })
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        layout::check_meta_key(key)?;
        let txn = self.db.begin_read().map_err(|e| self.db_error(e))?;
        let meta = txn.open_table(META).map_err(|e| self.db_error(e))?;
        let value = meta.get(key).map_err(|e| self.db_error(e))?;
        Ok(value.map(|value| value.value().to_vec()))
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        layout::check_meta_key(key)?;
        let mut txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        txn.set_durability(Durability::Immediate);
        {
            let mut meta = txn.open_table(META).map_err(|e| self.db_error(e))?;
            meta.insert(key, value).map_err(|e| self.db_error(e))?;
        }
        txn.commit().map_err(|e| self.db_error(e))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::conformance::{announcement, keypair};

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary directory")
    }

    #[test]
    fn second_open_of_the_same_directory_fails_naming_it() {
        let dir = tempdir();
        let _first = RedbStore::open(dir.path()).unwrap();
        let error = RedbStore::open(dir.path()).unwrap_err();
        assert!(matches!(&error, StoreError::Locked { dir: locked } if locked == dir.path()));
        assert_eq!(
            error.to_string(),
            format!("data directory {} is in use by another herald process", dir.path().display())
        );
    }

    #[test]
    fn dropping_the_store_releases_the_directory() {
        let dir = tempdir();
        drop(RedbStore::open(dir.path()).unwrap());
        RedbStore::open(dir.path()).expect("the lock was released with the first store");
    }

    #[test]
    fn open_creates_missing_directories() {
        let dir = tempdir();
        let nested = dir.path().join("a/b/data");
        let store = RedbStore::open(&nested).unwrap();
        assert_eq!(store.dir(), nested);
        assert!(nested.join(DB_FILE_NAME).is_file());
        assert!(nested.join(LOCK_FILE_NAME).is_file());
    }

    #[test]
    fn open_on_a_regular_file_is_an_io_error_naming_it() {
        let dir = tempdir();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"").unwrap();
        let error = RedbStore::open(&file).unwrap_err();
        assert!(matches!(&error, StoreError::Io { path, .. } if path == &file), "{error:?}");
    }

    #[test]
    fn schema_mismatch_is_a_clear_error() {
        let dir = tempdir();
        let store = RedbStore::open(dir.path()).unwrap();
        let txn = store.db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(SCHEMA_VERSION_KEY, layout::encode_schema_version(2).as_slice())
            .unwrap();
        txn.commit().unwrap();
        drop(store);

        let error = RedbStore::open(dir.path()).unwrap_err();
        let db_path = dir.path().join(DB_FILE_NAME);
        assert!(matches!(
            &error,
            StoreError::SchemaMismatch { found: 2, expected: SCHEMA_VERSION, path } if path == &db_path
        ));
        assert_eq!(
            error.to_string(),
            format!(
                "store {} has schema version 2, but this herald reads only version 1",
                db_path.display()
            )
        );
    }

    #[test]
    fn records_and_meta_survive_reopening() {
        let dir = tempdir();
        let record = Arc::new(announcement(&keypair(1), "svc", 4));
        let mut store = RedbStore::open(dir.path()).unwrap();
        store
            .apply(&[
                PersistOp::PutRecord(record.clone()),
                PersistOp::SetIssuedHigh(Version::new(0, 4)),
            ])
            .unwrap();
        store.put_meta("identity", b"secret").unwrap();
        drop(store);

        let store = RedbStore::open(dir.path()).unwrap();
        let snapshot = store.load().unwrap();
        assert_eq!(snapshot.records, vec![SignedRecord::clone(&record)]);
        assert_eq!(snapshot.issued_high, Some(Version::new(0, 4)));
        assert_eq!(store.get_meta("identity").unwrap().as_deref(), Some(&b"secret"[..]));
    }

    #[test]
    fn an_undecodable_record_is_reported_as_corruption() {
        let dir = tempdir();
        let store = RedbStore::open(dir.path()).unwrap();
        let txn = store.db.begin_write().unwrap();
        txn.open_table(RECORDS).unwrap().insert(&[7u8; 40][..], &[0xff, 0xff][..]).unwrap();
        txn.commit().unwrap();
        let error = store.load().unwrap_err();
        assert!(matches!(&error, StoreError::Corrupt { .. }), "{error:?}");
        assert!(error.to_string().contains("does not decode"), "{error}");
    }

    #[test]
    fn a_record_stored_under_the_wrong_slot_is_reported_as_corruption() {
        let dir = tempdir();
        let store = RedbStore::open(dir.path()).unwrap();
        let value = postcard::to_allocvec(&announcement(&keypair(1), "svc", 1)).unwrap();
        let txn = store.db.begin_write().unwrap();
        txn.open_table(RECORDS).unwrap().insert(&[7u8; 40][..], value.as_slice()).unwrap();
        txn.commit().unwrap();
        let error = store.load().unwrap_err();
        assert!(error.to_string().contains("holds a record that belongs in"), "{error}");
    }
}
