//! herald-store: what a herald node keeps across a restart, behind one small trait.
//!
//! The protocol core (herald-core) never touches a disk. It emits [`PersistOp`]s, and its driver
//! hands them to a [`Store`] in batches; on restart the driver loads a [`Snapshot`] back. This
//! crate holds that trait and its two implementations:
//! - [`RedbStore`]: the real node's store, a [redb] database under the data directory. Each
//!   batch is one write transaction, committed durably before [`Store::apply`] returns, so
//!   whatever was acknowledged survives `kill -9` (see `tests/crash.rs`). An exclusive lock on
//!   `<dir>/lock` keeps a second process from opening the same directory.
//! - [`MemStore`]: the same rules in ordered in-memory maps, for the simulator and for tests. It
//!   is `Clone`, so a simulated crash can keep exactly what had been applied.
//!
//! Besides records and the highest issued version, a store keeps a few named byte values (the
//! "meta" entries: identity, certificates, contacts), read and written with [`Store::get_meta`]
//! and [`Store::put_meta`].
//!
//! What this crate does not do: decide which record wins a slot (that is
//! `herald_core::RecordSet`), verify signatures (records are checked before they are persisted,
//! and the driver restores them through the core), or group message logs and the export queue,
//! which will get their own tables when they land.
//!
//! Errors are one enum, [`StoreError`].

mod error;
mod layout;
mod mem;
mod redb_store;

#[cfg(test)]
mod conformance;

use herald_core::{PersistOp, Snapshot};

pub use error::StoreError;
pub use layout::RESERVED_META_KEYS;
pub use mem::MemStore;
pub use redb_store::{DB_FILE_NAME, LOCK_FILE_NAME, RedbStore, SCHEMA_VERSION};

/// Durable state for one node: records, the highest version it issued, and named meta values.
///
/// Every implementation keeps the same rules, which the shared conformance tests check:
/// - [`apply`](Store::apply) is atomic: after a crash either the whole batch is there or none
///   of it, and once it returns `Ok` the whole batch is durable.
/// - Operations inside a batch take effect in order (a put then a delete of one slot leaves it
///   empty), except that the stored issued-high version only ever rises: it becomes the maximum
///   of what was stored and every [`PersistOp::SetIssuedHigh`] applied.
/// - Meta keys in [`RESERVED_META_KEYS`] belong to the store itself and are refused.
pub trait Store: Send {
    /// Applies `batch` as one atomic, durable change. An empty batch changes nothing.
    fn apply(&mut self, batch: &[PersistOp]) -> Result<(), StoreError>;

    /// Everything stored: every record (ordered by slot) and the highest issued version.
    fn load(&self) -> Result<Snapshot, StoreError>;

    /// The meta value stored under `key`, if any.
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `value` under `key`, replacing what was there, durably before returning.
    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError>;
}

impl<S: Store + ?Sized> Store for Box<S> {
    fn apply(&mut self, batch: &[PersistOp]) -> Result<(), StoreError> {
        (**self).apply(batch)
    }

    fn load(&self) -> Result<Snapshot, StoreError> {
        (**self).load()
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get_meta(key)
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).put_meta(key, value)
    }
}
