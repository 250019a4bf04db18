//! Anti-entropy: periodic digest exchange that repairs whatever broadcast missed.
//!
//! Every `interval` a node sends one active peer the *root* fingerprint of everything it holds.
//! A peer that holds the same answers nothing. A peer that differs answers with a *digest*: for
//! a page of origins, in origin order from a rotating cursor, a 64-bit fingerprint of the
//! records it holds from each. The initiator compares the page with its own holdings in the
//! same range, pushes the records of every origin whose fingerprint differs or that the peer
//! lacks, and names the origins it needs in return.
//!
//! A peer holding more origins than there are *buckets* (64, by the top bits of the origin id)
//! answers a differing root with the fingerprint of each bucket instead. The initiator sends a
//! digest of its own origins in the buckets that differ, and the peer settles them as above,
//! roles swapped. During a broadcast, roots differ because of
//! the few records in flight: a full digest then listed every origin (about 10 KB at 300
//! members, and most of the steady-state bytes), where the buckets cost about 600 bytes and
//! the digest of one bucket a sixty-fourth of the full one. An origin whose highest versions agree
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

mod buckets;
mod config;
mod message;
mod reconcile;

use reconcile::above_version;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

pub use config::AntiEntropyConfig;
pub use message::{AntiEntropyMessage, AntiEntropyOutput};

use crate::id::NodeId;
use crate::record::{SignedRecord, Version};
use crate::record_set::{FINGERPRINT_BUCKETS, RecordSet, bucket_of};
use crate::rng::Rng;
use crate::time::Instant;

/// Rounds whose partner [`AntiEntropy::recent_partners`] remembers.
pub const RECENT_PARTNERS_MAX: usize = 8;

/// A node's anti-entropy state.
#[derive(Clone, Debug)]
pub struct AntiEntropy {
    config: AntiEntropyConfig,
    cursor: Option<NodeId>,
    next_round: Instant,
    /// When the last round with every neighbour at once started.
    last_sweep: Option<Instant>,
    rounds: u64,
    /// The partners of the last [`RECENT_PARTNERS_MAX`] rounds, newest first, with each
    /// round's number: what `GET /v1/overlay` shows.
    recent_partners: VecDeque<(u64, NodeId)>,
    /// Records stored within `fresh_hold`, oldest first, and the same as a set.
    fresh_queue: VecDeque<(Instant, (NodeId, Version))>,
    fresh: BTreeSet<(NodeId, Version)>,
}

impl AntiEntropy {
    /// Anti-entropy that starts its first round after one interval.
    pub fn new(config: AntiEntropyConfig, now: Instant) -> AntiEntropy {
        let next_round = now + config.interval;
        AntiEntropy {
            config,
            cursor: None,
            next_round,
            last_sweep: None,
            rounds: 0,
            recent_partners: VecDeque::with_capacity(RECENT_PARTNERS_MAX),
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

    /// The partners of the most recent rounds, newest first, each with its round's number
    /// (the first round is 1).
    pub fn recent_partners(&self) -> impl Iterator<Item = (u64, NodeId)> + '_ {
        self.recent_partners.iter().copied()
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
        out: &mut Vec<AntiEntropyOutput>,
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
        out: &mut Vec<AntiEntropyOutput>,
    ) {
        if self.last_sweep.is_some_and(|at| now.saturating_since(at) < self.config.interval) {
            return;
        }
        self.last_sweep = Some(now);
        for peer in peers {
            self.start_round(*peer, records, out);
        }
    }

    fn start_round(&mut self, peer: NodeId, records: &RecordSet, out: &mut Vec<AntiEntropyOutput>) {
        self.rounds += 1;
        if self.recent_partners.len() == RECENT_PARTNERS_MAX {
            self.recent_partners.pop_back();
        }
        self.recent_partners.push_front((self.rounds, peer));
        out.push(AntiEntropyOutput::Send(
            peer,
            AntiEntropyMessage::Root { fingerprint: records.fingerprint() },
        ));
    }

    /// A digest page of the origins from the cursor on, which moves past them.
    fn next_page(&mut self, records: &RecordSet) -> AntiEntropyMessage {
        let start = self.cursor;
        let mut page = records.origins_from(start);
        let entries: Vec<(NodeId, u64, Version)> = page
            .by_ref()
            .take(self.config.digest_page_max)
            .map(|(origin, summary)| (*origin, summary.fingerprint, summary.high))
            .collect();
        let end = page.next().map(|(origin, _)| *origin);
        self.cursor = end;
        AntiEntropyMessage::Digest { start, end, entries }
    }

    /// Handles a message from `from`. Returns the records it carried, to be verified and
    /// merged by the node.
    pub fn handle(
        &mut self,
        now: Instant,
        from: NodeId,
        message: AntiEntropyMessage,
        records: &RecordSet,
        rng: &mut Rng,
        out: &mut Vec<AntiEntropyOutput>,
    ) -> Vec<Arc<SignedRecord>> {
        self.age(now);
        match message {
            AntiEntropyMessage::Root { fingerprint } => {
                if fingerprint == records.fingerprint() {
                    // In step: nothing to say.
                } else if records.origin_count() <= FINGERPRINT_BUCKETS {
                    let page = self.next_page(records);
                    out.push(AntiEntropyOutput::Send(from, page));
                } else {
                    let fingerprints = records.bucket_fingerprints().to_vec();
                    out.push(AntiEntropyOutput::Send(
                        from,
                        AntiEntropyMessage::Buckets { fingerprints },
                    ));
                }
                Vec::new()
            }
            AntiEntropyMessage::Buckets { fingerprints } => {
                if let Some(digest) = self.digest_of_differing_buckets(&fingerprints, records) {
                    out.push(AntiEntropyOutput::Send(from, digest));
                }
                Vec::new()
            }
            AntiEntropyMessage::Digest { start, end, entries } => {
                let in_range = |origin: &NodeId| {
                    start.is_none_or(|s| *origin >= s) && end.is_none_or(|e| *origin < e)
                };
                self.on_digest(from, in_range, entries, records, rng, out);
                Vec::new()
            }
            AntiEntropyMessage::BucketDigest { buckets, entries } => {
                let in_range = |origin: &NodeId| buckets & (1 << bucket_of(origin)) != 0;
                self.on_digest(from, in_range, entries, records, rng, out);
                Vec::new()
            }
            AntiEntropyMessage::Want { origins } => {
                let origins: BTreeMap<NodeId, Option<Version>> =
                    origins.into_iter().take(self.config.digest_page_max).collect();
                let groups = origins
                    .into_iter()
                    .map(|(origin, above)| above_version(records, origin, above))
                    .collect();
                self.push(from, groups, rng, out);
                Vec::new()
            }
            AntiEntropyMessage::Held { origins, reply } => {
                self.on_held(from, origins, reply, records, rng, out);
                Vec::new()
            }
            AntiEntropyMessage::Records { records: received, more } => {
                if more {
                    // The peer had more for us: go on at once instead of waiting a full round.
                    self.next_round = now;
                }
                received
            }
        }
    }
}
