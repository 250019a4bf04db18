//! Records announced by IHAVE but not received yet, with their graft deadlines kept in order, so
//! that the next deadline and the due records are found without a scan.

use std::collections::{BTreeMap, BTreeSet};

use super::ShortId;
use crate::id::NodeId;
use crate::time::Instant;

/// A record announced by IHAVE but not yet received.
#[derive(Clone, Debug)]
pub(super) struct Missing {
    /// Peers that announced the record, with their rounds; closest to the origin first.
    pub(super) announcers: Vec<(NodeId, u16)>,
    pub(super) grafts: u32,
    /// When the next graft is due; changed only through [`MissingRecords::reschedule`], which
    /// keeps the deadline index in step.
    deadline: Instant,
}

impl Missing {
    /// Whether `peer` announced the record (so a copy from it answers a graft).
    pub(super) fn was_announced_by(&self, peer: NodeId) -> bool {
        self.announcers.iter().any(|(announcer, _)| *announcer == peer)
    }
}

/// Every missing record by id, and the same ordered by deadline.
#[derive(Clone, Debug, Default)]
pub(super) struct MissingRecords {
    by_id: BTreeMap<ShortId, Missing>,
    by_deadline: BTreeSet<(Instant, ShortId)>,
}

impl MissingRecords {
    /// The missing record `id`, first announced now with a graft due at `deadline`, or as it
    /// already is.
    pub(super) fn announced(&mut self, id: ShortId, deadline: Instant) -> &mut Missing {
        self.by_id.entry(id).or_insert_with(|| {
            self.by_deadline.insert((deadline, id));
            Missing { announcers: Vec::new(), grafts: 0, deadline }
        })
    }

    /// Forgets `id` (it arrived, or grafting it was given up); returns what was known of it.
    pub(super) fn remove(&mut self, id: &ShortId) -> Option<Missing> {
        let missing = self.by_id.remove(id)?;
        self.by_deadline.remove(&(missing.deadline, *id));
        Some(missing)
    }

    /// The missing record `id`.
    pub(super) fn get_mut(&mut self, id: &ShortId) -> Option<&mut Missing> {
        self.by_id.get_mut(id)
    }

    /// Moves the graft of `id` to `deadline`.
    pub(super) fn reschedule(&mut self, id: &ShortId, deadline: Instant) {
        if let Some(missing) = self.by_id.get_mut(id) {
            self.by_deadline.remove(&(missing.deadline, *id));
            missing.deadline = deadline;
            self.by_deadline.insert((deadline, *id));
        }
    }

    /// The earliest graft deadline.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.by_deadline.first().map(|(deadline, _)| *deadline)
    }

    /// The records whose graft is due at `now`, in id order.
    pub(super) fn due(&self, now: Instant) -> Vec<ShortId> {
        let mut due: Vec<ShortId> =
            self.by_deadline.iter().take_while(|(at, _)| *at <= now).map(|(_, id)| *id).collect();
        due.sort_unstable();
        due
    }

    /// A neighbour went away: it can no longer be grafted.
    pub(super) fn forget_announcer(&mut self, peer: NodeId) {
        for missing in self.by_id.values_mut() {
            missing.announcers.retain(|(announcer, _)| *announcer != peer);
        }
    }
}
