//! Reconciliation with one peer: comparing a digest page with what this node holds, settling
//! origins whose fingerprints differ by lists of held records, and pushing what the peer lacks
//! within the round's byte bound.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{AntiEntropy, AntiEntropyMessage, AntiEntropyOutput};
use crate::id::NodeId;
use crate::record::{SignedRecord, Version};
use crate::record_set::{RecordSet, digest_head};
use crate::rng::Rng;

impl AntiEntropy {
    /// Settles a peer's digest of the origins `in_range` selects: pushes what the peer lacks,
    /// and asks for, or lists, what this node lacks.
    pub(super) fn on_digest(
        &mut self,
        from: NodeId,
        in_range: impl Fn(&NodeId) -> bool,
        entries: Vec<(NodeId, u64, Version)>,
        records: &RecordSet,
        rng: &mut Rng,
        out: &mut Vec<AntiEntropyOutput>,
    ) {
        let theirs: BTreeMap<NodeId, (u64, Version)> = entries
            .into_iter()
            .take(self.config.digest_page_max)
            .map(|(origin, fingerprint, high)| (origin, (fingerprint, high)))
            .collect();
        let mut to_push = Vec::new();
        let mut wanted = Vec::new();
        let mut listed = Vec::new();
        let mut listed_len = 0;
        for (origin, mine) in records.origins().filter(|(origin, _)| in_range(origin)) {
            match theirs.get(origin) {
                None => to_push.push((*origin, None)),
                Some((fingerprint, _)) if *fingerprint == mine.fingerprint => {}
                // Versions only grow, so a peer behind on an origin lacks what lies above its
                // high; one ahead has what lies above ours. Equal highs with different contents
                // (a middle record missed) are settled by listing the records held, or, for an
                // origin too large to list, by sending the whole origin both ways.
                Some((_, high)) if mine.high > *high => to_push.push((*origin, Some(*high))),
                Some((_, high)) if mine.high < *high => wanted.push((*origin, Some(mine.high))),
                Some(_) if listed_len + mine.slots as usize <= self.config.held_list_max => {
                    listed_len += mine.slots as usize;
                    listed.push((*origin, heads_of(records, *origin)));
                }
                Some(_) => {
                    to_push.push((*origin, None));
                    wanted.push((*origin, None));
                }
            }
        }
        wanted.extend(
            theirs
                .keys()
                .filter(|origin| in_range(origin) && records.origin(origin).is_none())
                .map(|origin| (*origin, None)),
        );
        let groups = to_push
            .into_iter()
            .map(|(origin, above)| above_version(records, origin, above))
            .collect();
        self.push(from, groups, rng, out);
        if !wanted.is_empty() {
            out.push(AntiEntropyOutput::Send(from, AntiEntropyMessage::Want { origins: wanted }));
        }
        if !listed.is_empty() {
            let message = AntiEntropyMessage::Held { origins: listed, reply: false };
            out.push(AntiEntropyOutput::Send(from, message));
        }
    }

    /// Pushes the records of the listed origins that the peer did not list, and, unless the
    /// list was itself a reply, lists this node's records of the origins where the peer holds
    /// something this node lacks.
    pub(super) fn on_held(
        &mut self,
        from: NodeId,
        origins: Vec<(NodeId, Vec<u64>)>,
        reply: bool,
        records: &RecordSet,
        rng: &mut Rng,
        out: &mut Vec<AntiEntropyOutput>,
    ) {
        let mut groups = Vec::new();
        let mut lacking = Vec::new();
        let mut listed_len = 0;
        for (origin, theirs) in origins.into_iter().take(self.config.digest_page_max) {
            let theirs: BTreeSet<u64> =
                theirs.into_iter().take(self.config.held_list_max).collect();
            let mine: Vec<(u64, &Arc<SignedRecord>)> =
                records.of_origin(origin).map(|record| (digest_head(record), record)).collect();
            let held: BTreeSet<u64> = mine.iter().map(|(head, _)| *head).collect();
            groups.push(
                mine.into_iter()
                    .filter(|(head, _)| !theirs.contains(head))
                    .map(|(_, record)| record)
                    .collect(),
            );
            let lacks_some = theirs.iter().any(|head| !held.contains(head));
            if !reply && lacks_some && listed_len + held.len() <= self.config.held_list_max {
                listed_len += held.len();
                lacking.push((origin, held.into_iter().collect()));
            }
        }
        self.push(from, groups, rng, out);
        if !lacking.is_empty() {
            let message = AntiEntropyMessage::Held { origins: lacking, reply: true };
            out.push(AntiEntropyOutput::Send(from, message));
        }
    }

    /// Pushes to `to` the given records, grouped by origin, up to the per-round byte bound,
    /// leaving out those still fresh. The groups, and the records inside each, are taken from a
    /// random starting point, so that when the bound cuts a push short, later rounds reach
    /// what this one left out.
    pub(super) fn push(
        &self,
        to: NodeId,
        mut groups: Vec<Vec<&Arc<SignedRecord>>>,
        rng: &mut Rng,
        out: &mut Vec<AntiEntropyOutput>,
    ) {
        groups.retain(|group| !group.is_empty());
        if groups.is_empty() {
            return;
        }
        let first = rng.index(groups.len());
        groups.rotate_left(first);
        let mut batch: Vec<Arc<SignedRecord>> = Vec::new();
        let mut bytes = 0;
        let mut more = false;
        'origins: for group in groups {
            let mut held: Vec<&Arc<SignedRecord>> = group
                .into_iter()
                .filter(|record| {
                    !self.fresh.contains(&(record.record.origin, record.record.version))
                })
                .collect();
            if held.is_empty() {
                continue;
            }
            let first = rng.index(held.len());
            held.rotate_left(first);
            for record in held {
                let size = record.encoded_len_max();
                if bytes + size > self.config.push_bytes_max && !batch.is_empty() {
                    more = true;
                    break 'origins;
                }
                bytes += size;
                batch.push(Arc::clone(record));
            }
        }
        if !batch.is_empty() {
            out.push(AntiEntropyOutput::Send(
                to,
                AntiEntropyMessage::Records { records: batch, more },
            ));
        }
    }
}

/// The records held from `origin` above `above` (all of them for `None`).
pub(super) fn above_version(
    records: &RecordSet,
    origin: NodeId,
    above: Option<Version>,
) -> Vec<&Arc<SignedRecord>> {
    records
        .of_origin(origin)
        .filter(|record| above.is_none_or(|above| record.record.version > above))
        .collect()
}

/// The digest heads of every record held from `origin`.
fn heads_of(records: &RecordSet, origin: NodeId) -> Vec<u64> {
    records.of_origin(origin).map(|record| digest_head(record)).collect()
}
