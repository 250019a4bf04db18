//! What the core asks the driver to make durable, and what a restarted node is rebuilt from.
//!
//! The core emits [`PersistOp`]s in its output queue ahead of any transmit that depends on them.
//! The driver must commit those the node owes ([`PersistOp::is_owed_by`]) before it sends a
//! later transmit or answers a command; the others it may commit later. On restart the driver
//! loads a [`Snapshot`] from its store and hands it to [`crate::Node::restore`].

use std::sync::Arc;

use crate::groups::GroupData;
use crate::id::NodeId;
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
    /// Keep this group data message, replacing any of the same group, origin and version.
    PutGroupMessage(GroupData),
    /// Forget a group data message (retention).
    DeleteGroupMessage {
        /// The group.
        group: String,
        /// The origin.
        origin: NodeId,
        /// The version.
        version: Version,
    },
    /// Everything from `origin` in `group` up to `version` was delivered to the application.
    /// The driver commits it in the same batch as what it did with those deliveries (the
    /// export queue), so that after a crash either both happened or neither.
    SetGroupCursor {
        /// The group.
        group: String,
        /// The origin.
        origin: NodeId,
        /// The version delivered up to.
        version: Version,
    },
}

impl PersistOp {
    /// Whether node `me` owes this durability before it sends anything that follows it, or
    /// answers a command: its own records and group messages, which nobody else can give back
    /// after a crash, with the cursor of its own messages, and the highest version it issued,
    /// which must never go back. A record or message of another origin that it only stored and
    /// relays, its cursor, and an expired slot are not owed: after a crash, repair refills the
    /// one (and delivers it again, its cursor having been lost with it) and the expiry sweep
    /// removes the other again, so the driver may commit them later, with the next owed
    /// commit.
    pub fn is_owed_by(&self, me: NodeId) -> bool {
        match self {
            PersistOp::PutRecord(record) => record.record.origin == me,
            PersistOp::SetIssuedHigh(_) => true,
            PersistOp::DeleteRecord(_) | PersistOp::DeleteGroupMessage { .. } => false,
            PersistOp::PutGroupMessage(data) => data.origin() == me,
            PersistOp::SetGroupCursor { origin, .. } => *origin == me,
        }
    }
}

/// Durable state a node is restored from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every stored record, any order.
    pub records: Vec<SignedRecord>,
    /// The highest version this node issued, if it ever issued one.
    pub issued_high: Option<Version>,
    /// Every group data message kept, any order.
    pub group_messages: Vec<GroupData>,
    /// (group, origin, version delivered up to) for every origin delivered from.
    pub group_cursors: Vec<(String, NodeId, Version)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Keypair;
    use crate::record::{RecordKind, test_announcement};

    #[test]
    fn a_node_owes_its_own_records_and_its_issued_high_but_not_what_it_relays() {
        let me = Keypair::from_secret([1; 32]);
        let other = Keypair::from_secret([2; 32]);
        let own = PersistOp::PutRecord(Arc::new(test_announcement(&me, "s", Version::new(0, 1))));
        let relayed =
            PersistOp::PutRecord(Arc::new(test_announcement(&other, "s", Version::new(0, 1))));
        let expired = PersistOp::DeleteRecord(SlotKey {
            origin: me.id(),
            family: RecordKind::Announcement,
            key: "s".into(),
        });
        assert!(own.is_owed_by(me.id()));
        assert!(PersistOp::SetIssuedHigh(Version::new(0, 1)).is_owed_by(me.id()));
        assert!(!relayed.is_owed_by(me.id()));
        assert!(relayed.is_owed_by(other.id()));
        assert!(!expired.is_owed_by(me.id()));
    }
}
