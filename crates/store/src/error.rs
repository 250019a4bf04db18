//! The one error type of herald-store.

use std::io;
use std::path::PathBuf;

/// Why a store operation failed.
///
/// Each message is one sentence naming the file or directory involved; the underlying cause,
/// where there is one, is the error's `source()`, so a binary that prints the chain shows both.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (or another store in this process) holds the data directory's lock.
    #[error("data directory {} is in use by another herald process", dir.display())]
    Locked {
        /// The data directory that was asked for.
        dir: PathBuf,
    },

    /// The database was written by a herald with a different storage layout.
    #[error(
        "store {} has schema version {found}, but this herald reads only version {expected}",
        path.display()
    )]
    SchemaMismatch {
        /// The version recorded in the database.
        found: u32,
        /// The version this build reads and writes ([`crate::SCHEMA_VERSION`]).
        expected: u32,
        /// The database file.
        path: PathBuf,
    },

    /// Something stored cannot be decoded or contradicts the layout.
    #[error("store {} is corrupt: {detail}", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What was wrong, and where.
        detail: String,
    },

    /// A file-system operation on the data directory failed.
    #[error("I/O error on {}", path.display())]
    Io {
        /// The file or directory being worked on.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The database engine reported an error.
    #[error("database {} reported an error", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// redb's error, boxed because some of its variants are large.
        #[source]
        source: Box<redb::Error>,
    },

    /// The meta key belongs to the store itself (see [`crate::RESERVED_META_KEYS`]).
    #[error("meta key {key:?} is reserved for the store's own use")]
    ReservedMetaKey {
        /// The key that was asked for.
        key: String,
    },
}
