//! The export queue: messages of other origins delivered here and not yet handed to the export
//! command, in delivery order, and the durable record of what was exported.
//!
//! The queue holds only names; the bodies stay in the core's group logs (and the store), which
//! keep a message past `log-purge-period` while it waits for its export. After a restart the
//! queue is rebuilt from what the store kept: every delivered message above its group's and
//! origin's export cursor. A batch is recorded as exported only after the command exits 0, so
//! none is lost to a failing command or a crash; a crash between the command's success and that
//! record hands the batch to the command once more.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use anyhow::Result;
use herald_core::{NodeId, Version};
use tokio::sync::Notify;

use super::Actor;
use crate::export::{BatchLimits, take_batch};

/// The queue, with the export cursors it advances.
#[derive(Debug, Default)]
pub(crate) struct ExportQueue {
    /// Whether an export command runs at all; without one, nothing is queued.
    enabled: bool,
    pending: VecDeque<(String, NodeId, Version)>,
    cursors: BTreeMap<(String, NodeId), Version>,
    /// Woken when a message is queued.
    notify: Arc<Notify>,
    /// Messages retention dropped before they were exported.
    dropped: u64,
    /// Messages exported.
    exported: u64,
}

impl ExportQueue {
    /// Messages waiting for the export command.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Messages the export command acknowledged.
    pub(crate) fn exported(&self) -> u64 {
        self.exported
    }
}

/// The next batch for the export command: one group's messages, oldest first.
#[derive(Debug)]
pub(crate) struct ExportBatch {
    pub group: String,
    pub bodies: Vec<Arc<[u8]>>,
    /// Each message's origin and version, in the batch's order.
    keys: Vec<(NodeId, Version)>,
}

impl Actor {
    /// The export counters, for `GET /v1/stats`.
    /// Export-command runs: count one, and whether it succeeded (the worker tells).
    pub(crate) fn note_export_run(&mut self, succeeded: bool) {
        self.metrics.note_export_run(succeeded);
    }

    pub(crate) fn export_counters(&self) -> serde_json::Value {
        let queue = &self.export;
        serde_json::json!({
            "queued": queue.pending.len(),
            "exported": queue.exported,
            "dropped_before_export": queue.dropped,
        })
    }

    /// Turns the export queue on, rebuilt from the store; returns what wakes the export worker.
    pub(crate) fn start_export(&mut self) -> Result<Arc<Notify>> {
        let cursors = self.data.export_cursors()?;
        let groups = self.node.groups_mut();
        groups.hold_for_export();
        for ((group, origin), version) in &cursors {
            groups.exported(group, *origin, *version);
        }
        let me = self.id();
        let groups = self.node.groups();
        let mut pending = Vec::new();
        for name in groups.names() {
            for (data, _) in groups.messages(name) {
                let (origin, version) = (data.origin(), data.version());
                let delivered = groups.cursor(name, origin).is_some_and(|cursor| version <= cursor);
                let exported =
                    cursors.get(&(name.to_owned(), origin)).is_some_and(|c| version <= *c);
                if origin != me && delivered && !exported {
                    pending.push((name.to_owned(), origin, version));
                }
            }
        }
        let queue = &mut self.export;
        queue.enabled = true;
        queue.cursors = cursors;
        queue.pending = pending.into();
        if !queue.pending.is_empty() {
            queue.notify.notify_one();
        }
        Ok(queue.notify.clone())
    }

    /// Queues a message delivered here, unless this node published it.
    pub(crate) fn queue_export(&mut self, group: &str, origin: NodeId, version: Version) {
        if self.export.enabled && origin != self.id() {
            self.export.pending.push_back((group.to_owned(), origin, version));
            self.export.notify.notify_one();
        }
    }

    /// The next batch: the messages at the front of the queue that share its first one's
    /// group, within `limits`. Messages retention dropped meanwhile are counted and skipped.
    pub(crate) fn next_export_batch(&mut self, limits: BatchLimits) -> Option<ExportBatch> {
        loop {
            let (group, origin, version) = self.export.pending.front()?;
            if self.node.groups().get(group, *origin, *version).is_some() {
                break;
            }
            self.export.dropped += 1;
            self.export.pending.pop_front();
        }
        let groups = self.node.groups();
        let group = self.export.pending.front()?.0.clone();
        let mut entries: Vec<(NodeId, Version, Arc<[u8]>)> = Vec::new();
        for (name, origin, version) in self.export.pending.iter().take(limits.messages_max.max(1)) {
            // A message dropped in the middle ends the run; the next call counts it.
            let Some(data) = groups.get(name, *origin, *version).filter(|_| *name == group) else {
                break;
            };
            entries.push((*origin, *version, data.body.clone()));
        }
        let numbered: Vec<(u64, Arc<[u8]>)> = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| (index as u64, entry.2.clone()))
            .collect();
        entries.truncate(take_batch(&numbered, limits));
        Some(ExportBatch {
            group,
            keys: entries.iter().map(|(origin, version, _)| (*origin, *version)).collect(),
            bodies: entries.into_iter().map(|(_, _, body)| body).collect(),
        })
    }

    /// Records a batch the command acknowledged: its messages leave the queue, and the export
    /// cursors move past them, durably.
    pub(crate) fn export_done(&mut self, batch: &ExportBatch) -> Result<()> {
        for (origin, version) in &batch.keys {
            let front = self.export.pending.front();
            if front == Some(&(batch.group.clone(), *origin, *version)) {
                self.export.pending.pop_front();
            }
            let cursor =
                self.export.cursors.entry((batch.group.clone(), *origin)).or_insert(*version);
            *cursor = (*cursor).max(*version);
            self.node.groups_mut().exported(&batch.group, *origin, *version);
        }
        self.export.exported += batch.keys.len() as u64;
        let cursors = self.export.cursors.clone();
        self.data.set_export_cursors(&cursors)
    }
}
