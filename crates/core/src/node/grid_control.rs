//! The node's grid-control commands and queries: its own recommendations, reachability over
//! everyone's, and grid-manager lists (see [`crate::grid_control`]).

use std::sync::Arc;

use crate::grid_control::{
    GRID_CONTROL_SERVICE, ManagerList, Reached, Recommendation, reach, recommendation,
};
use crate::id::{Keypair, NodeId};
use crate::record::{Record, RecordKind, SignedRecord, Version};
use crate::record_set::SlotKey;
use crate::record_set::{MergeOutcome, RecordSet};
use crate::time::Instant;

use super::{Announcement, Arrival, CommandError, Node};

impl Node {
    /// This node's recommendations, as its newest `grid-control` announcement carries them.
    pub fn recommendations(&self) -> Vec<Recommendation> {
        recommendation::parse_lenient(&self.own_grid_control_payload())
    }

    /// Adds `recommendation` to this node's `grid-control` announcement, or renames the one with
    /// the same `who` and `what`, and publishes the announcement.
    pub fn recommend(
        &mut self,
        now: Instant,
        recommendation: Recommendation,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        let payload = recommendation::with_added(&self.own_grid_control_payload(), recommendation);
        self.republish_grid_control(now, payload, issued_at_ms)
    }

    /// Removes the recommendation of `who` for `what` and publishes the announcement.
    pub fn unrecommend(
        &mut self,
        now: Instant,
        who: NodeId,
        what: &str,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        let payload = recommendation::with_removed(&self.own_grid_control_payload(), who, what);
        self.republish_grid_control(now, payload, issued_at_ms)
    }

    /// The nodes reachable from this one over recommendation edges of kind `what` (see
    /// [`reach::reachable`]), read from the `grid-control` announcements this node holds.
    pub fn reachable(&self, what: &str, depth: Option<u32>) -> Vec<Reached> {
        self.reachable_from(self.id(), what, depth)
    }

    /// The nodes reachable from `from`, as this node's announcements say: two nodes that hold
    /// the same announcements give the same answer (the simulator checks that they do).
    pub fn reachable_from(&self, from: NodeId, what: &str, depth: Option<u32>) -> Vec<Reached> {
        reach::reachable(from, what, depth, |node| recommendations_in(&self.records, node))
    }

    /// The newest list of the manager whose key is `manager`, with its version, if this node
    /// holds one that parses.
    pub fn manager_list(&self, manager: NodeId) -> Option<(Version, ManagerList)> {
        let slot = SlotKey { origin: manager, family: RecordKind::ManagerList, key: String::new() };
        let record = self.records.get(&slot)?;
        ManagerList::decode(&record.record.payload).map(|list| (record.record.version, list))
    }

    /// Publishes the next version of the list of the manager whose secret key is `manager`. The
    /// record's origin is the manager, not this node, so a node that holds the key may publish
    /// the next version; the version counts on from the newest this node holds. Two holders
    /// that publish at once pick the same version, and the store rules keep one of the two
    /// lists everywhere: the key should have one writer at a time.
    pub fn publish_manager_list(
        &mut self,
        now: Instant,
        manager: &Keypair,
        list: &ManagerList,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        // Counted from the slot, not from the list: a held payload this node cannot read (a
        // later version of herald's) still has a version to count on from.
        let held = self.records.version_of(manager.id(), RecordKind::ManagerList, "");
        let version = Version::new(0, held.map_or(1, |version| version.seq.saturating_add(1)));
        let record = Record {
            origin: manager.id(),
            kind: RecordKind::ManagerList,
            key: String::new(),
            version,
            issued_at_ms,
            payload: list.encode(),
        };
        let record = Arc::new(record.sign(manager).expect("a manager list is within bounds"));
        // Counted past what the slot holds, so the record is new here and always stored.
        if self.store(now, record.clone(), None, 0) {
            self.spread(now, record, None, Arrival::Tree { hops: 0 });
        }
        Ok(version)
    }

    /// Checks a `grid-control` payload this node is about to announce: its recommendations must
    /// all be valid. Other services pass.
    pub(super) fn check_grid_control(
        &mut self,
        announcement: &Announcement,
    ) -> Result<(), CommandError> {
        if announcement.service != GRID_CONTROL_SERVICE {
            return Ok(());
        }
        let checked = recommendation::parse_strict(&announcement.payload).map(|_| ());
        self.refused_unless(checked.map_err(CommandError::from))
    }

    fn republish_grid_control(
        &mut self,
        now: Instant,
        payload: Result<Vec<u8>, recommendation::RecommendationError>,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        let payload = self.refused_unless(payload.map_err(CommandError::from))?;
        let announcement =
            Announcement { service: GRID_CONTROL_SERVICE.into(), payload, issued_at_ms, seq: None };
        self.announce(now, announcement)
    }

    /// The payload of this node's newest `grid-control` announcement; empty if it has none or
    /// withdrew it.
    fn own_grid_control_payload(&self) -> Vec<u8> {
        self.grid_control_record(self.id())
            .map(|record| record.record.payload.clone())
            .unwrap_or_default()
    }

    /// `node`'s newest `grid-control` announcement, unless it was withdrawn.
    pub fn grid_control_record(&self, node: NodeId) -> Option<&Arc<SignedRecord>> {
        grid_control_in(&self.records, &node)
    }

    /// Whether the forwarding policy (if on) admits `record`: announcements only from nodes
    /// this one reaches, and withdrawals from those or of an announcement this node holds (one
    /// admitted while its origin was reached); everything else always.
    pub(super) fn admits(&mut self, record: &SignedRecord) -> bool {
        let me = self.id();
        let Some(policy) = &mut self.reachable_only else { return true };
        if record.record.kind.family() != RecordKind::Announcement {
            return true;
        }
        let records = &self.records;
        if record.record.kind.is_tombstone() && records.get(&SlotKey::of(record)).is_some() {
            return true;
        }
        policy.admits(me, record.record.origin, |node| recommendations_in(records, node))
    }

    /// Tells the forwarding policy (if on) that a `grid-control` announcement or withdrawal
    /// was stored.
    pub(super) fn note_grid_control(&mut self, record: &SignedRecord, outcome: MergeOutcome) {
        let Some(policy) = &mut self.reachable_only else { return };
        if record.record.kind.family() != RecordKind::Announcement
            || record.record.key != GRID_CONTROL_SERVICE
        {
            return;
        }
        let replaced = outcome != MergeOutcome::Inserted || record.record.kind.is_tombstone();
        let records = &self.records;
        policy.grid_control_stored(record.record.origin, replaced, |node| {
            recommendations_in(records, node)
        });
    }

    /// Tells the forwarding policy (if on) that a slot expired: a `grid-control` announcement
    /// that goes may take edges with it.
    pub(super) fn note_grid_control_expired(&mut self, slot: &SlotKey) {
        if let Some(policy) = &mut self.reachable_only
            && slot.family == RecordKind::Announcement
            && slot.key == GRID_CONTROL_SERVICE
        {
            policy.forget_reached();
        }
    }
}

/// `node`'s newest `grid-control` announcement in `records`, unless it was withdrawn.
fn grid_control_in<'a>(records: &'a RecordSet, node: &NodeId) -> Option<&'a Arc<SignedRecord>> {
    let slot = SlotKey {
        origin: *node,
        family: RecordKind::Announcement,
        key: GRID_CONTROL_SERVICE.to_owned(),
    };
    records.get(&slot).filter(|record| record.record.kind == RecordKind::Announcement)
}

/// The recommendations `node`'s newest `grid-control` announcement in `records` carries.
fn recommendations_in(records: &RecordSet, node: &NodeId) -> Option<Vec<Recommendation>> {
    grid_control_in(records, node)
        .map(|record| recommendation::parse_lenient(&record.record.payload))
}
