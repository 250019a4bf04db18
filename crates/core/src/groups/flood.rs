//! Flooding: a message new to this node is held, made durable, sent on to the topology
//! neighbours that may lack it, and delivered; bodies longer than a chunk are offered and
//! pulled, and served in chunks to the neighbour that asks.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::id::NodeId;
use crate::record::{SignedRecord, Version};
use crate::time::Instant;

use super::log::Held;
use super::pull::{self, CHUNK_LEN, ChunkOutcome, Pull};
use super::{Group, GroupData, Groups, GroupsCounters, GroupsMessage, GroupsOutput, header_seal};

impl Groups {
    /// The group of the message `header` names, if this node takes part in it and lacks the
    /// message; else the chunk or offer is counted (refused, or a duplicate) and `None`.
    /// (A function of the two fields it touches, so that the others stay free to use.)
    fn group_lacking<'a>(
        groups: &'a mut BTreeMap<String, Group>,
        counters: &mut GroupsCounters,
        header: &SignedRecord,
    ) -> Option<&'a mut Group> {
        let (origin, version) = (header.record.origin, header.record.version);
        let Some(group) = groups.get_mut(&header.record.key) else {
            counters.refused += 1;
            return None;
        };
        if group.logs.get(&origin).is_some_and(|log| log.has(version)) {
            counters.duplicates += 1;
            return None;
        }
        Some(group)
    }

    pub(super) fn on_chunk(
        &mut self,
        now: Instant,
        from: NodeId,
        (header, offset, bytes): (Arc<SignedRecord>, u64, &[u8]),
        verify: &mut dyn FnMut(&SignedRecord) -> bool,
        out: &mut Vec<GroupsOutput>,
    ) {
        let (origin, version) = (header.record.origin, header.record.version);
        let Some(group) = Self::group_lacking(&mut self.groups, &mut self.counters, &header) else {
            return;
        };
        if let Some(pull) = group.pulls.get_mut(&(origin, version)) {
            if pull.header.digest() != header.digest() {
                self.counters.refused += 1;
                return;
            }
            match pull.add(now, offset, bytes) {
                ChunkOutcome::Progress => {}
                ChunkOutcome::Refused => self.counters.refused += 1,
                ChunkOutcome::Complete(data) => {
                    let pull = group.pulls.remove(&(origin, version)).expect("pulled");
                    self.pulling_bytes -= pull.len();
                    self.counters.received += 1;
                    self.accept(now, data, Some(from), out);
                }
            }
            return;
        }
        let whole = header_seal(&header, self.config.message_len_max)
            .filter(|seal| offset == 0 && seal.matches(bytes));
        if whole.is_none() || !verify(&header) {
            self.counters.refused += 1;
            return;
        }
        self.counters.received += 1;
        let data = GroupData { header, body: bytes.into() };
        self.accept(now, data, Some(from), out);
    }

    pub(super) fn on_offer(
        &mut self,
        now: Instant,
        from: NodeId,
        header: Arc<SignedRecord>,
        verify: &mut dyn FnMut(&SignedRecord) -> bool,
        out: &mut Vec<GroupsOutput>,
    ) {
        let (origin, version) = (header.record.origin, header.record.version);
        let Some(group) = Self::group_lacking(&mut self.groups, &mut self.counters, &header) else {
            return;
        };
        if let Some(pull) = group.pulls.get_mut(&(origin, version)) {
            if pull.from != from && !pull.others.contains(&from) && pull.others.len() < 8 {
                pull.others.push(from);
            }
            return;
        }
        let Some(seal) = header_seal(&header, self.config.message_len_max) else {
            self.counters.refused += 1;
            return;
        };
        // A body of one chunk is pushed, never offered. Room for the body is made now, by
        // dropping in retention's order what may go (as its arrival would); a body that does
        // not fit even so is offered again by the next digest.
        if seal.len <= CHUNK_LEN || !verify(&header) || !self.make_room(seal.len, out) {
            self.counters.refused += 1;
            return;
        }
        let group_name = header.record.key.clone();
        self.pulling_bytes += seal.len;
        let group = self.groups.get_mut(&group_name).expect("checked by group_lacking");
        group.pulls.insert((origin, version), Pull::new(header, seal, from, now));
        out.push(GroupsOutput::Send(
            from,
            GroupsMessage::Want { group: group_name, origin, version },
        ));
    }

    pub(super) fn on_want(
        &mut self,
        now: Instant,
        from: NodeId,
        group_name: &str,
        origin: NodeId,
        version: Version,
        out: &mut Vec<GroupsOutput>,
    ) {
        let stall = self.config.pull_stall;
        let Some(group) = self.groups.get_mut(group_name) else {
            self.counters.refused += 1;
            return;
        };
        let Some(held) = group.logs.get(&origin).and_then(|log| log.get(version)) else {
            return;
        };
        // A peer that asks again before its pull could have stalled is not served twice.
        group.served.retain(|_, at| now.saturating_since(*at) < stall);
        if group.served.insert((from, origin, version), now).is_some() {
            return;
        }
        for (offset, bytes) in pull::chunks(&held.data.body) {
            let header = held.data.header.clone();
            let chunk = GroupsMessage::Chunk { header, offset, bytes: bytes.to_vec() };
            out.push(GroupsOutput::Send(from, chunk));
        }
    }

    /// Holds a message new to this node, makes it durable, floods it on and delivers what is
    /// next. Returns `false` if it was held already or there was no room for it.
    pub(super) fn accept(
        &mut self,
        now: Instant,
        data: GroupData,
        from: Option<NodeId>,
        out: &mut Vec<GroupsOutput>,
    ) -> bool {
        let len = data.body.len() as u64;
        let (name, origin) = (data.group().to_owned(), data.origin());
        if self.groups[&name].logs.get(&origin).is_some_and(|log| log.has(data.version())) {
            self.counters.duplicates += 1;
            return false;
        }
        if !self.make_room(len, out) {
            return false;
        }
        let group = self.groups.get_mut(&name).expect("checked above");
        let log = group.logs.entry(origin).or_default();
        log.insert(Held { data: data.clone(), received_at: now });
        self.stored_bytes += len;
        out.push(GroupsOutput::Store(data.clone()));
        self.spread(&data, from, out);
        self.advance(now, &name, origin, out);
        true
    }

    /// Sends a message held whole to the topology neighbours that may lack it.
    fn spread(&self, data: &GroupData, from: Option<NodeId>, out: &mut Vec<GroupsOutput>) {
        let group = &self.groups[data.group()];
        for &peer in &group.neighbors {
            if Some(peer) == from || group.peer_holds(peer, data.origin(), data.version()) {
                continue;
            }
            out.push(GroupsOutput::Send(peer, offer_or_push(data)));
        }
    }
}

/// The message that gives `data` to a neighbour: the whole body if it fits one chunk, else an
/// offer.
pub(super) fn offer_or_push(data: &GroupData) -> GroupsMessage {
    if data.body.len() as u64 <= CHUNK_LEN {
        GroupsMessage::Chunk { header: data.header.clone(), offset: 0, bytes: data.body.to_vec() }
    } else {
        GroupsMessage::Offer { header: data.header.clone() }
    }
}
