//! Anti-entropy: periodic digest exchange that repairs whatever broadcast missed.
//!
//! Every `interval` a node sends one active peer the *root* fingerprint of everything it holds.
//! A peer that holds the same answers nothing. A peer that differs answers with a *digest*: for
//! a page of origins, in origin order from a rotating cursor, a 64-bit fingerprint of the
//! records it holds from each. The initiator compares the page with its own holdings in the
//! same range, pushes the records of every origin whose fingerprint differs or that the peer
//! lacks, and names the origins it needs in return. An origin whose highest versions agree
//! but whose fingerprints differ (a record in the middle missed, or two arrived out of order)
//! is settled by exchanging lists of the records held from that origin, so that only the
//! records missing on either side travel, not the whole origin. Pushes are bounded per round
//! (`push_bytes_max`); when a push was cut short the initiator runs the next round at once, so
//! a newcomer or a node back from a partition catches up in pages, one round trip each,
//! without stalling anybody else. Digest pages are bounded by `digest_page_max` origins.
//!
//! A record stored less than `fresh_hold` ago is not pushed: broadcast is still carrying it,
//! and a digest taken mid-broadcast would otherwise send a second copy to every peer the tree
//! has not reached yet. Anti-entropy repairs what broadcast *missed*, so it waits until
//! broadcast has had its chance.
//!
//! When a neighbour fails, the node starts a round with every other neighbour at once (at most
//! once per `interval`): the failure may be one of many, and a node learns that a neighbour is
//! dead only when it sends to it. After a mass crash, a node that lost all its neighbours
//! would otherwise find them out one round, a second, at a time.
//!
//! (Demers et al., "Epidemic algorithms for replicated database maintenance", PODC 1987, call
//! this push-pull anti-entropy; the per-origin summary is the one Scuttlebutt uses, van Renesse
//! et al., "Efficient reconciliation and flow control for anti-entropy protocols", 2008.)

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::id::NodeId;
use crate::record::{SignedRecord, Version};
use crate::record_set::{RecordSet, digest_head};
use crate::rng::Rng;
use crate::time::Instant;
use crate::wire::record_size_bound;

/// Anti-entropy parameters.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Time between two rounds started by this node. Default 1 s (guess, measured in sim: idle
    /// cost is one small digest per second per node).
    pub interval: Duration,
    /// Origins in one digest page. Default 2,048 (about 82 KB; a grid of 10,000 nodes is covered
    /// in 5 rounds).
    pub digest_page_max: usize,
    /// Records listed in one `Held` message. Default 4,096 (32 KB); an origin with more records
    /// than this falls back to pushing all of them.
    pub held_list_max: usize,
    /// Record bytes pushed in answer to one digest or want. Default 192 KiB, so one push fits a
    /// frame.
    pub push_bytes_max: usize,
    /// How long after a record is stored this node leaves it to broadcast and does not push it.
    /// Default 200 ms (measured in sim: at 300 nodes with one origin, 200 ms leaves 0.002 of
    /// RMR to repairs where 0 ms left 0.11; 500 ms pushed the mass-failure scenario's p99
    /// latency past its bound; see docs/decisions.md).
    pub fresh_hold: Duration,
}

impl Default for SyncConfig {
    fn default() -> SyncConfig {
        SyncConfig {
            interval: Duration::from_secs(1),
            digest_page_max: 2048,
            push_bytes_max: 192 * 1024,
            held_list_max: 4096,
            fresh_hold: Duration::from_millis(200),
        }
    }
}

/// Anti-entropy messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncMessage {
    /// What the sender holds for the origins in `[start, end)` (`None`: unbounded).
    Digest {
        /// First origin of the range, inclusive.
        start: Option<NodeId>,
        /// End of the range, exclusive.
        end: Option<NodeId>,
        /// (origin, fingerprint, highest version held) for every origin the sender holds in
        /// the range.
        entries: Vec<(NodeId, u64, Version)>,
    },
    /// Origins whose records the sender wants.
    Want {
        /// (origin, the highest version the sender holds from it): records above it are
        /// wanted, all of them for `None`.
        origins: Vec<(NodeId, Option<Version>)>,
    },
    /// Records the receiver lacked.
    Records {
        /// The records, verified by the receiver.
        records: Vec<SignedRecord>,
        /// Whether the push was cut short by the size bound.
        more: bool,
    },
    /// The records the sender holds of origins whose highest versions agreed with the
    /// receiver's but whose fingerprints did not, each named by the first 8 bytes of its
    /// digest. The receiver pushes what is not listed and, unless this is a `reply`, lists its
    /// own records of the origins where it lacks some.
    Held {
        /// (origin, the digest heads of every record held from it).
        origins: Vec<(NodeId, Vec<u64>)>,
        /// Whether this answers a `Held`; a reply is not answered with another list.
        reply: bool,
    },
    /// The fingerprint of everything the sender holds. A peer holding the same answers
    /// nothing, so an idle grid exchanges one small message per node per round; a peer that
    /// differs answers with a digest page.
    Root {
        /// XOR of the sender's origin fingerprints.
        fingerprint: u64,
    },
}

/// What anti-entropy asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncOutput {
    /// Send a message.
    Send(NodeId, SyncMessage),
}

/// A node's anti-entropy state.
#[derive(Clone, Debug)]
pub struct Sync {
    config: SyncConfig,
    cursor: Option<NodeId>,
    next_round: Instant,
    /// When the last round with every neighbour at once started.
    last_sweep: Option<Instant>,
    rounds: u64,
    /// Records stored within `fresh_hold`, oldest first, and the same as a set.
    fresh_queue: VecDeque<(Instant, (NodeId, Version))>,
    fresh: BTreeSet<(NodeId, Version)>,
}

impl Sync {
    /// Anti-entropy that starts its first round after one interval.
    pub fn new(config: SyncConfig, now: Instant) -> Sync {
        let next_round = now + config.interval;
        Sync {
            config,
            cursor: None,
            next_round,
            last_sweep: None,
            rounds: 0,
            fresh_queue: VecDeque::new(),
            fresh: BTreeSet::new(),
        }
    }

    /// When the next round starts.
    pub fn poll_timeout(&self) -> Instant {
        self.next_round
    }

    /// Rounds started so far.
    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    /// Notes that a record was stored at `now`, so that it is left to broadcast for a while.
    pub fn note_stored(&mut self, now: Instant, record: &SignedRecord) {
        let id = (record.record.origin, record.record.version);
        if self.fresh.insert(id) {
            self.fresh_queue.push_back((now, id));
        }
    }

    /// Forgets records that are no longer fresh.
    fn age(&mut self, now: Instant) {
        while let Some((stored_at, id)) = self.fresh_queue.front() {
            if now.saturating_since(*stored_at) < self.config.fresh_hold {
                break;
            }
            self.fresh.remove(id);
            self.fresh_queue.pop_front();
        }
    }

    /// Starts a round with a random peer when it is time.
    pub fn on_timeout(
        &mut self,
        now: Instant,
        peers: &[NodeId],
        records: &RecordSet,
        rng: &mut Rng,
        out: &mut Vec<SyncOutput>,
    ) {
        if now < self.next_round {
            return;
        }
        self.age(now);
        self.next_round = now + self.config.interval;
        if peers.is_empty() {
            return;
        }
        let peer = peers[rng.index(peers.len())];
        self.start_round(peer, records, out);
    }

    /// Starts a round with each of `peers` at once (a neighbour failed), unless it did so
    /// within the last interval.
    pub fn sweep<'a>(
        &mut self,
        now: Instant,
        peers: impl IntoIterator<Item = &'a NodeId>,
        records: &RecordSet,
        out: &mut Vec<SyncOutput>,
    ) {
        if self.last_sweep.is_some_and(|at| now.saturating_since(at) < self.config.interval) {
            return;
        }
        self.last_sweep = Some(now);
        for peer in peers {
            self.start_round(*peer, records, out);
        }
    }

    fn start_round(&mut self, peer: NodeId, records: &RecordSet, out: &mut Vec<SyncOutput>) {
        self.rounds += 1;
        out.push(SyncOutput::Send(peer, SyncMessage::Root { fingerprint: records.fingerprint() }));
    }

    /// A digest page of the origins from the cursor on, which moves past them.
    fn next_page(&mut self, records: &RecordSet) -> SyncMessage {
        let start = self.cursor;
        let mut page = match start {
            Some(start) => records.origins().range(start..),
            None => records.origins().range(..),
        };
        let entries: Vec<(NodeId, u64, Version)> = page
            .by_ref()
            .take(self.config.digest_page_max)
            .map(|(origin, summary)| (*origin, summary.fingerprint, summary.high))
            .collect();
        let end = page.next().map(|(origin, _)| *origin);
        self.cursor = end;
        SyncMessage::Digest { start, end, entries }
    }

    /// Handles a message from `from`. Returns the records it carried, to be verified and
    /// merged by the node.
    pub fn handle(
        &mut self,
        now: Instant,
        from: NodeId,
        message: SyncMessage,
        records: &RecordSet,
        rng: &mut Rng,
        out: &mut Vec<SyncOutput>,
    ) -> Vec<SignedRecord> {
        self.age(now);
        match message {
            SyncMessage::Root { fingerprint } => {
                if fingerprint != records.fingerprint() {
                    let page = self.next_page(records);
                    out.push(SyncOutput::Send(from, page));
                }
                Vec::new()
            }
            SyncMessage::Digest { start, end, entries } => {
                self.on_digest(from, (start, end), entries, records, rng, out);
                Vec::new()
            }
            SyncMessage::Want { origins } => {
                let origins: BTreeMap<NodeId, Option<Version>> =
                    origins.into_iter().take(self.config.digest_page_max).collect();
                let groups = origins
                    .into_iter()
                    .map(|(origin, above)| above_version(records, origin, above))
                    .collect();
                self.push(from, groups, rng, out);
                Vec::new()
            }
            SyncMessage::Held { origins, reply } => {
                self.on_held(from, origins, reply, records, rng, out);
                Vec::new()
            }
            SyncMessage::Records { records: received, more } => {
                if more {
                    // The peer had more for us: go on at once instead of waiting a full round.
                    self.next_round = now;
                }
                received
            }
        }
    }

    fn on_digest(
        &mut self,
        from: NodeId,
        (start, end): (Option<NodeId>, Option<NodeId>),
        entries: Vec<(NodeId, u64, Version)>,
        records: &RecordSet,
        rng: &mut Rng,
        out: &mut Vec<SyncOutput>,
    ) {
        let theirs: BTreeMap<NodeId, (u64, Version)> = entries
            .into_iter()
            .take(self.config.digest_page_max)
            .map(|(origin, fingerprint, high)| (origin, (fingerprint, high)))
            .collect();
        let in_range =
            |origin: &NodeId| start.is_none_or(|s| *origin >= s) && end.is_none_or(|e| *origin < e);
        let mut to_push = Vec::new();
        let mut wanted = Vec::new();
        let mut listed = Vec::new();
        let mut listed_len = 0;
        for (origin, mine) in records.origins().iter().filter(|(origin, _)| in_range(origin)) {
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
                .filter(|origin| in_range(origin) && !records.origins().contains_key(origin))
                .map(|origin| (*origin, None)),
        );
        let groups = to_push
            .into_iter()
            .map(|(origin, above)| above_version(records, origin, above))
            .collect();
        self.push(from, groups, rng, out);
        if !wanted.is_empty() {
            out.push(SyncOutput::Send(from, SyncMessage::Want { origins: wanted }));
        }
        if !listed.is_empty() {
            let message = SyncMessage::Held { origins: listed, reply: false };
            out.push(SyncOutput::Send(from, message));
        }
    }

    /// Pushes the records of the listed origins that the peer did not list, and, unless the
    /// list was itself a reply, lists this node's records of the origins where the peer holds
    /// something this node lacks.
    fn on_held(
        &mut self,
        from: NodeId,
        origins: Vec<(NodeId, Vec<u64>)>,
        reply: bool,
        records: &RecordSet,
        rng: &mut Rng,
        out: &mut Vec<SyncOutput>,
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
            let message = SyncMessage::Held { origins: lacking, reply: true };
            out.push(SyncOutput::Send(from, message));
        }
    }

    /// Pushes to `to` the given records, grouped by origin, up to the per-round byte bound,
    /// leaving out those still fresh. The groups, and the records inside each, are taken from a
    /// random starting point, so that when the bound cuts a push short, later rounds reach
    /// what this one left out.
    fn push(
        &self,
        to: NodeId,
        mut groups: Vec<Vec<&Arc<SignedRecord>>>,
        rng: &mut Rng,
        out: &mut Vec<SyncOutput>,
    ) {
        groups.retain(|group| !group.is_empty());
        if groups.is_empty() {
            return;
        }
        let first = rng.index(groups.len());
        groups.rotate_left(first);
        let mut batch: Vec<SignedRecord> = Vec::new();
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
                let size = record_size_bound(record);
                if bytes + size > self.config.push_bytes_max && !batch.is_empty() {
                    more = true;
                    break 'origins;
                }
                bytes += size;
                batch.push((**record).clone());
            }
        }
        if !batch.is_empty() {
            out.push(SyncOutput::Send(to, SyncMessage::Records { records: batch, more }));
        }
    }
}

/// The records held from `origin` above `above` (all of them for `None`).
fn above_version(
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
