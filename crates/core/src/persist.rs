//! What the core asks the driver to make durable, and what a restarted node is rebuilt from.
//!
//! The core emits [`PersistOp`]s in its output queue ahead of any transmit that depends on them;
//! the driver must commit them before it sends that transmit. On restart the driver loads a
//! [`Snapshot`] from its store and hands it to [`crate::Node::restore`].

use std::sync::Arc;

use crate::record::{SignedRecord, Version};
use crate::record_set::SlotKey;

/// One change to durable state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersistOp {
    /// Store this record in its slot, replacing what the slot held.
    PutRecord(Arc<SignedRecord>),
    /// Remove whatever the slot holds (the record expired).
    DeleteRecord(SlotKey),
    /// The highest version this node has issued; it must never go back after a restart.
    SetIssuedHigh(Version),
}

/// Durable state a node is restored from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every stored record, any order.
    pub records: Vec<SignedRecord>,
    /// The highest version this node issued, if it ever issued one.
    pub issued_high: Option<Version>,
}
