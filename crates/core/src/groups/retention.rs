//! Retention: delivered messages are forgotten after `log_purge_period`, and the bodies held
//! stay within `data_storage_max`.
//!
//! When a new message needs room, messages are dropped in floodd's order (seed 004: "the first
//! data to go is data waiting to be sent to sites that have been classified as down"):
//! 1. delivered messages that every topology neighbour said it holds, so that only members
//!    that are down or far away could still want them from here, oldest first;
//! 2. other delivered messages, oldest first;
//! 3. messages still waiting for an earlier one before they can be delivered, oldest first.
//!
//! This node's own messages that no neighbour holds yet are never dropped: they were
//! acknowledged to their publisher, and backpressure stops new ones instead. Dropping goes on
//! until a sixteenth of the storage is free, so that a steady stream pays the scan once per
//! many messages, not once per message.

use crate::id::NodeId;
use crate::record::Version;
use crate::time::Instant;

use super::{Groups, GroupsOutput};

/// Which of floodd's drop classes a held message is in (lower goes first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum DropClass {
    HeldByNeighbors,
    Delivered,
    Undelivered,
}

impl Groups {
    /// Makes room for `len` more bytes; `false` if dropping everything that may go would not.
    pub(super) fn make_room(&mut self, len: u64, out: &mut Vec<GroupsOutput>) -> bool {
        let max = self.config.data_storage_max;
        if self.stored_bytes + self.pulling_bytes + len <= max {
            return true;
        }
        let target = max.saturating_sub(max / 16).min(max.saturating_sub(len));
        let mut candidates = self.drop_candidates();
        candidates.sort();
        for (class, _, name, origin, version) in candidates {
            if self.stored_bytes + self.pulling_bytes + len <= target {
                break;
            }
            self.forget(&name, origin, version, out);
            match class {
                DropClass::HeldByNeighbors => self.counters.dropped_held_by_neighbors += 1,
                DropClass::Delivered => self.counters.dropped_oldest += 1,
                DropClass::Undelivered => self.counters.dropped_undelivered += 1,
            }
        }
        self.stored_bytes + self.pulling_bytes + len <= max
    }

    /// Every held message that may be dropped, with its class and arrival time.
    fn drop_candidates(&self) -> Vec<(DropClass, Instant, String, NodeId, Version)> {
        let mut candidates = Vec::new();
        for (name, group) in &self.groups {
            let own_pending_above = (!group.neighbors.is_empty()).then(|| {
                group.peer_heads.values().filter_map(|heads| heads.get(&self.me)).max().copied()
            });
            for (origin, log) in &group.logs {
                for held in log.held() {
                    let version = held.data.version();
                    let class = if !log.is_delivered(version) {
                        DropClass::Undelivered
                    } else if group
                        .neighbors
                        .iter()
                        .all(|peer| group.peer_holds(*peer, *origin, version))
                    {
                        DropClass::HeldByNeighbors
                    } else {
                        DropClass::Delivered
                    };
                    let own_pending = *origin == self.me
                        && own_pending_above.is_some_and(|taken| taken.is_none_or(|v| version > v));
                    if !own_pending {
                        candidates.push((class, held.received_at, name.clone(), *origin, version));
                    }
                }
            }
        }
        candidates
    }

    /// Forgets delivered messages older than `log_purge_period`, but those that wait for their
    /// export.
    pub(super) fn expire(&mut self, now: Instant, out: &mut Vec<GroupsOutput>) {
        let period = self.config.log_purge_period;
        let mut expired = Vec::new();
        for (name, group) in &self.groups {
            for (origin, log) in &group.logs {
                for held in log.held() {
                    let version = held.data.version();
                    if log.is_delivered(version)
                        && now.saturating_since(held.received_at) >= period
                        && !self.awaits_export(name, *origin, version)
                    {
                        expired.push((name.clone(), *origin, version));
                    }
                }
            }
        }
        for (name, origin, version) in expired {
            self.forget(&name, origin, version, out);
            self.counters.expired += 1;
        }
    }

    /// Drops one held message.
    fn forget(
        &mut self,
        name: &str,
        origin: NodeId,
        version: Version,
        out: &mut Vec<GroupsOutput>,
    ) {
        let removed = self
            .groups
            .get_mut(name)
            .and_then(|group| group.logs.get_mut(&origin))
            .and_then(|log| log.remove(version));
        if let Some(held) = removed {
            self.stored_bytes -= held.data.body.len() as u64;
            out.push(GroupsOutput::Forget { group: name.to_owned(), origin, version });
        }
    }
}
