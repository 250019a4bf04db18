//! The record-store rules: which record a slot keeps, as pure functions over a set of records.
//!
//! For each slot (origin, family, key) the set keeps one record, the greatest by
//! [`precedence`]: the highest (epoch, seq), then a tombstone over a live record, then the larger
//! content digest. Because that is a total order and the set keeps the maximum, merging is
//! commutative, associative and idempotent: replicas that saw the same records in any order hold
//! the same set. Two different records with the same version in one slot are a conflict (only a
//! misbehaving or restored origin makes one); one is kept deterministically and the conflict is
//! counted.
//!
//! Records of origins that departed (dead or left) are kept for a grace period and then expire,
//! except the kinds that outlive their origin ([`RecordKind::outlives_origin`]): certificates,
//! revocations and admission records still matter after the node that made them is gone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::id::NodeId;
use crate::record::{Digest, Record, RecordKind, SignedRecord, Version};
use crate::time::Instant;

/// The name of the place a record occupies: at most one record per slot is kept.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotKey {
    /// The record's origin.
    pub origin: NodeId,
    /// The record kind's family (a tombstone's family is announcement).
    pub family: RecordKind,
    /// The record's key.
    pub key: String,
}

impl SlotKey {
    /// The slot `record` belongs in.
    pub fn of(record: &SignedRecord) -> SlotKey {
        SlotKey {
            origin: record.record.origin,
            family: record.record.kind.family(),
            key: record.record.key.clone(),
        }
    }
}

/// The total order used inside a slot; the greatest record is kept.
pub(crate) fn precedence(record: &SignedRecord) -> (Version, bool, Digest) {
    (record.record.version, record.record.kind.is_tombstone(), record.digest())
}

/// What merging one record into a set did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The slot was empty; the record was stored.
    Inserted,
    /// The record was newer than the one held and replaced it.
    Replaced,
    /// The record was older than the one held and was ignored.
    Stale,
    /// The very same record was already held.
    Duplicate,
    /// A different record with the same version was held. `stored` says whether the incoming one
    /// won the deterministic tie-break and replaced it.
    Conflict {
        /// Whether the incoming record now occupies the slot.
        stored: bool,
    },
}

impl MergeOutcome {
    /// Whether the set changed, so the record must be persisted and passed on.
    pub fn stored(self) -> bool {
        matches!(
            self,
            MergeOutcome::Inserted
                | MergeOutcome::Replaced
                | MergeOutcome::Conflict { stored: true }
        )
    }
}

/// Decides what a slot holding `held` does with `incoming`. Pure: no state is changed.
pub(crate) fn merge_decision(held: Option<&SignedRecord>, incoming: &SignedRecord) -> MergeOutcome {
    let Some(held) = held else { return MergeOutcome::Inserted };
    // Versions decide almost always; digests are computed only to break a tie.
    match incoming.record.version.cmp(&held.record.version) {
        std::cmp::Ordering::Greater => return MergeOutcome::Replaced,
        std::cmp::Ordering::Less => return MergeOutcome::Stale,
        std::cmp::Ordering::Equal => {}
    }
    let incoming_rank = precedence(incoming);
    let held_rank = precedence(held);
    if incoming_rank == held_rank {
        MergeOutcome::Duplicate
    } else if incoming.record.version == held.record.version {
        MergeOutcome::Conflict { stored: incoming_rank > held_rank }
    } else if incoming_rank > held_rank {
        MergeOutcome::Replaced
    } else {
        MergeOutcome::Stale
    }
}

/// A compact summary of everything a set holds from one origin, for anti-entropy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OriginSummary {
    /// XOR of the first 8 bytes of every held record's digest: equal sets give equal
    /// fingerprints, and a difference in any slot changes it with overwhelming probability.
    pub fingerprint: u64,
    /// Slots held.
    pub slots: u32,
    /// The highest version held from the origin: a peer that holds less than this is sent
    /// only what lies above its own high.
    pub high: Version,
}

/// The first 8 bytes of a record's digest, the unit fingerprints are made of; anti-entropy
/// also lists records by it.
pub(crate) fn digest_head(record: &SignedRecord) -> u64 {
    let digest = record.digest();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(head)
}

/// The records held from one origin, and their summary.
#[derive(Clone, Debug, Default)]
struct OriginRecords {
    summary: OriginSummary,
    /// One record per slot, in slot order (family, then key). The slot's name is read from the
    /// record itself, so a slot costs one shared pointer: at 10,000 members a node holds two or
    /// three slots per member, and a key per slot was most of the set's memory.
    records: Vec<Arc<SignedRecord>>,
}

impl OriginRecords {
    /// Where the slot (family, key) is, or would be inserted.
    fn find(&self, family: RecordKind, key: &str) -> Result<usize, usize> {
        self.records.binary_search_by(|held| {
            (held.record.kind.family(), held.record.key.as_str()).cmp(&(family, key))
        })
    }
}

/// How many buckets anti-entropy splits the origins into by the top bits of their ids, so that
/// two sets that differ in a few origins find them by comparing 64 bucket fingerprints instead
/// of listing every origin (see the `anti_entropy` module).
pub const FINGERPRINT_BUCKETS: usize = 64;

/// The bucket of `origin`: the top six bits of its id. Buckets are contiguous in origin order.
pub fn bucket_of(origin: &NodeId) -> usize {
    usize::from(origin.as_bytes()[0] >> 2)
}

/// The first origin id of `bucket`, or `None` past the last bucket (an unbounded range end).
pub fn bucket_start(bucket: usize) -> Option<NodeId> {
    let first_byte = u8::try_from(bucket.checked_mul(4)?).ok()?;
    let mut bytes = [0u8; 32];
    bytes[0] = first_byte;
    Some(NodeId::from_bytes(bytes))
}

/// A set of verified records, one per slot, with the departure times of their origins.
#[derive(Clone, Debug, Default)]
pub struct RecordSet {
    origins: BTreeMap<NodeId, OriginRecords>,
    /// Slots held, over every origin.
    len: usize,
    /// XOR of every origin's fingerprint: equal sets have equal fingerprints.
    fingerprint: u64,
    /// The same XOR per bucket of origins ([`bucket_of`]); empty until the first record.
    buckets: Vec<u64>,
    departed: BTreeMap<NodeId, Instant>,
    conflicts: u64,
}

impl RecordSet {
    /// An empty set.
    pub fn new() -> RecordSet {
        RecordSet::default()
    }

    /// Merges a record that has already been verified. Returns what happened.
    pub fn merge(&mut self, record: Arc<SignedRecord>) -> MergeOutcome {
        let version = record.record.version;
        let record_origin = record.record.origin;
        let held = self.origins.entry(record.record.origin).or_default();
        let (outcome, change) = match held.find(record.record.kind.family(), &record.record.key) {
            Err(at) => {
                let change = digest_head(&record);
                held.records.insert(at, record);
                held.summary.slots += 1;
                self.len += 1;
                (MergeOutcome::Inserted, change)
            }
            Ok(at) => {
                let outcome = merge_decision(Some(&held.records[at]), &record);
                let mut change = 0;
                if outcome.stored() {
                    change = digest_head(&record) ^ digest_head(&held.records[at]);
                    held.records[at] = record;
                }
                (outcome, change)
            }
        };
        if matches!(outcome, MergeOutcome::Conflict { .. }) {
            self.conflicts += 1;
        }
        if outcome.stored() {
            held.summary.fingerprint ^= change;
            held.summary.high = held.summary.high.max(version);
            self.fingerprint ^= change;
            let bucket = bucket_of(&record_origin);
            self.buckets.resize(FINGERPRINT_BUCKETS, 0);
            self.buckets[bucket] ^= change;
        }
        outcome
    }

    /// The record held in `slot`.
    pub fn get(&self, slot: &SlotKey) -> Option<&Arc<SignedRecord>> {
        let held = self.origins.get(&slot.origin)?;
        held.find(slot.family, &slot.key).ok().map(|at| &held.records[at])
    }

    /// Every held record, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<SignedRecord>> {
        self.origins.values().flat_map(|held| held.records.iter())
    }

    /// Number of slots held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fingerprint of the whole set: two sets holding the same records have the same one.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The fingerprint of each bucket of origins ([`bucket_of`]), [`FINGERPRINT_BUCKETS`] of
    /// them: two sets hold the same records in a bucket when these match.
    pub fn bucket_fingerprints(&self) -> [u64; FINGERPRINT_BUCKETS] {
        let mut buckets = [0; FINGERPRINT_BUCKETS];
        buckets[..self.buckets.len()].copy_from_slice(&self.buckets);
        buckets
    }

    /// Origins with at least one record held.
    pub fn origin_count(&self) -> usize {
        self.origins.len()
    }

    /// Per-origin summaries, in origin order.
    pub fn origins(&self) -> impl Iterator<Item = (&NodeId, &OriginSummary)> {
        self.origins.iter().map(|(origin, held)| (origin, &held.summary))
    }

    /// Per-origin summaries from `start` on (from the first when `None`), in origin order.
    pub fn origins_from(
        &self,
        start: Option<NodeId>,
    ) -> impl Iterator<Item = (&NodeId, &OriginSummary)> {
        let range = match start {
            Some(start) => self.origins.range(start..),
            None => self.origins.range(..),
        };
        range.map(|(origin, held)| (origin, &held.summary))
    }

    /// The summary of what is held from `origin`, if anything is.
    pub fn origin(&self, origin: &NodeId) -> Option<&OriginSummary> {
        self.origins.get(origin).map(|held| &held.summary)
    }

    /// Every record held from `origin`, in slot order.
    pub fn of_origin(&self, origin: NodeId) -> impl Iterator<Item = &Arc<SignedRecord>> {
        self.origins.get(&origin).into_iter().flat_map(|held| held.records.iter())
    }

    /// Same-version conflicts seen so far.
    pub fn conflicts(&self) -> u64 {
        self.conflicts
    }

    /// The highest version `origin` has issued in the slot (family, key), if any is held.
    pub fn version_of(&self, origin: NodeId, family: RecordKind, key: &str) -> Option<Version> {
        let held = self.origins.get(&origin)?;
        held.find(family, key).ok().map(|at| held.records[at].record.version)
    }

    /// Removes every record `predicate` selects and returns their slots, so the driver can
    /// delete them from disk.
    pub fn remove_where(&mut self, predicate: impl Fn(&Record) -> bool) -> Vec<SlotKey> {
        let mut doomed = Vec::new();
        let mut emptied = Vec::new();
        for (origin, held) in &mut self.origins {
            let before = held.records.len();
            held.records.retain(|record| {
                if !predicate(&record.record) {
                    return true;
                }
                let change = digest_head(record);
                held.summary.fingerprint ^= change;
                self.fingerprint ^= change;
                self.buckets[bucket_of(origin)] ^= change;
                doomed.push(SlotKey::of(record));
                false
            });
            if held.records.len() == before {
                continue;
            }
            self.len -= before - held.records.len();
            held.summary.slots = held.records.len() as u32;
            match held.records.iter().map(|record| record.record.version).max() {
                Some(high) => held.summary.high = high,
                None => emptied.push(*origin),
            }
        }
        for origin in emptied {
            self.origins.remove(&origin);
        }
        doomed
    }

    /// Notes that `origin` departed (was declared dead, or left) at `at`.
    pub fn mark_departed(&mut self, origin: NodeId, at: Instant) {
        self.departed.entry(origin).or_insert(at);
    }

    /// Notes that `origin` is back, so its records no longer expire.
    pub fn mark_returned(&mut self, origin: NodeId) {
        self.departed.remove(&origin);
    }

    /// Removes every record of origins that departed at least `grace` before `now`, except those
    /// of kinds that outlive their origin, and returns the slots removed so the driver can delete
    /// them from disk.
    pub fn expire(&mut self, now: Instant, grace: Duration) -> Vec<SlotKey> {
        let expired: Vec<NodeId> = self
            .departed
            .iter()
            .filter(|(_, departed_at)| now.saturating_since(**departed_at) >= grace)
            .map(|(origin, _)| *origin)
            .collect();
        for origin in &expired {
            self.departed.remove(origin);
        }
        self.remove_where(|record| {
            !record.kind.family().outlives_origin() && expired.contains(&record.origin)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Keypair;
    use crate::record::{Record, test_announcement};

    fn tombstone(keypair: &Keypair, key: &str, version: Version) -> SignedRecord {
        Record {
            origin: keypair.id(),
            kind: RecordKind::Tombstone,
            key: key.to_owned(),
            version,
            issued_at_ms: 0,
            payload: Vec::new(),
        }
        .sign(keypair)
        .unwrap()
    }

    #[test]
    fn newer_sequence_number_replaces_older() {
        let keypair = Keypair::from_secret([1; 32]);
        let mut set = RecordSet::new();
        assert_eq!(
            set.merge(Arc::new(test_announcement(&keypair, "s", Version::new(0, 1)))),
            MergeOutcome::Inserted
        );
        assert_eq!(
            set.merge(Arc::new(test_announcement(&keypair, "s", Version::new(0, 2)))),
            MergeOutcome::Replaced
        );
        assert_eq!(
            set.version_of(keypair.id(), RecordKind::Announcement, "s"),
            Some(Version::new(0, 2))
        );
    }

    #[test]
    fn older_sequence_number_is_ignored() {
        let keypair = Keypair::from_secret([1; 32]);
        let mut set = RecordSet::new();
        set.merge(Arc::new(test_announcement(&keypair, "s", Version::new(0, 5))));
        assert_eq!(
            set.merge(Arc::new(test_announcement(&keypair, "s", Version::new(0, 4)))),
            MergeOutcome::Stale
        );
        assert_eq!(
            set.version_of(keypair.id(), RecordKind::Announcement, "s"),
            Some(Version::new(0, 5))
        );
    }

    #[test]
    fn tombstone_replaces_older_announcement_and_a_stale_announcement_does_not_revive_it() {
        let keypair = Keypair::from_secret([1; 32]);
        let mut set = RecordSet::new();
        set.merge(Arc::new(test_announcement(&keypair, "s", Version::new(0, 1))));
        assert_eq!(
            set.merge(Arc::new(tombstone(&keypair, "s", Version::new(0, 2)))),
            MergeOutcome::Replaced
        );
        assert_eq!(
            set.merge(Arc::new(test_announcement(&keypair, "s", Version::new(0, 1)))),
            MergeOutcome::Stale
        );
        let held = set.iter().next().unwrap();
        assert_eq!(held.record.kind, RecordKind::Tombstone);
    }

    /// Receptor's merged route code accepted an update when `epoch > held.epoch || seq >
    /// held.seq`-style comparisons were mixed; a restarted node, with a new epoch and a low seq,
    /// must win over its old incarnation's high seq, and an old epoch with a high seq must lose.
    #[test]
    fn restarted_node_with_new_epoch_and_low_seq_wins() {
        let keypair = Keypair::from_secret([2; 32]);
        let mut set = RecordSet::new();
        set.merge(Arc::new(test_announcement(&keypair, "routes", Version::new(1, 900))));
        assert_eq!(
            set.merge(Arc::new(test_announcement(&keypair, "routes", Version::new(2, 1)))),
            MergeOutcome::Replaced
        );
        assert_eq!(
            set.merge(Arc::new(test_announcement(&keypair, "routes", Version::new(1, 901)))),
            MergeOutcome::Stale
        );
        assert_eq!(
            set.version_of(keypair.id(), RecordKind::Announcement, "routes"),
            Some(Version::new(2, 1))
        );
    }

    #[test]
    fn same_version_with_different_content_keeps_one_copy_and_counts_a_conflict() {
        let keypair = Keypair::from_secret([3; 32]);
        let a = test_announcement(&keypair, "s", Version::new(0, 1));
        let mut b_record = a.record.clone();
        b_record.payload = b"{}".to_vec();
        let b = b_record.sign(&keypair).unwrap();
        let mut ab = RecordSet::new();
        ab.merge(Arc::new(a.clone()));
        ab.merge(Arc::new(b.clone()));
        let mut ba = RecordSet::new();
        ba.merge(Arc::new(b));
        ba.merge(Arc::new(a));
        assert_eq!(ab.conflicts(), 1);
        assert_eq!(ba.conflicts(), 1);
        assert_eq!(ab.iter().next().unwrap().digest(), ba.iter().next().unwrap().digest());
    }

    #[test]
    fn records_of_departed_origins_expire_after_the_grace_period_only() {
        let gone = Keypair::from_secret([4; 32]);
        let staying = Keypair::from_secret([5; 32]);
        let mut set = RecordSet::new();
        set.merge(Arc::new(test_announcement(&gone, "a", Version::new(0, 1))));
        set.merge(Arc::new(test_announcement(&gone, "b", Version::new(0, 1))));
        set.merge(Arc::new(test_announcement(&staying, "a", Version::new(0, 1))));
        let grace = Duration::from_secs(600);
        set.mark_departed(gone.id(), Instant::from_micros(1_000_000));
        assert!(
            set.expire(Instant::from_micros(1_000_000) + Duration::from_secs(599), grace)
                .is_empty()
        );
        let removed = set.expire(Instant::from_micros(1_000_000) + grace, grace);
        assert_eq!(removed.len(), 2);
        assert!(removed.iter().all(|slot| slot.origin == gone.id()));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn certificates_revocations_and_admissions_outlive_their_departed_origin() {
        let gone = Keypair::from_secret([8; 32]);
        let mut set = RecordSet::new();
        for kind in RecordKind::ALL {
            if kind.is_tombstone() {
                continue;
            }
            let record = Record {
                origin: gone.id(),
                kind,
                key: String::new(),
                version: Version::new(0, 1),
                issued_at_ms: 0,
                payload: b"x".to_vec(),
            };
            set.merge(Arc::new(record.sign(&gone).unwrap()));
        }
        set.mark_departed(gone.id(), Instant::ZERO);
        let grace = Duration::from_secs(60);
        let removed = set.expire(Instant::ZERO + grace, grace);
        assert!(removed.iter().all(|slot| !slot.family.outlives_origin()));
        assert_eq!(removed.len(), RecordKind::ALL.len() - 1 - 3);
        let kept: Vec<RecordKind> = set.iter().map(|record| record.record.kind).collect();
        assert_eq!(
            kept,
            [RecordKind::MembershipCert, RecordKind::Revocation, RecordKind::Admission]
        );
        assert_eq!(set.origin(&gone.id()).unwrap().slots, 3);
    }

    #[test]
    fn origin_fingerprints_match_exactly_when_the_held_records_match() {
        let keypair = Keypair::from_secret([7; 32]);
        let v1 = Arc::new(test_announcement(&keypair, "a", Version::new(0, 1)));
        let v2 = Arc::new(test_announcement(&keypair, "a", Version::new(0, 2)));
        let mut old = RecordSet::new();
        old.merge(v1.clone());
        let mut new = RecordSet::new();
        new.merge(v2.clone());
        assert_ne!(old.origin(&keypair.id()).unwrap(), new.origin(&keypair.id()).unwrap());
        old.merge(v2);
        assert_eq!(old.origin(&keypair.id()).unwrap(), new.origin(&keypair.id()).unwrap());
        assert_eq!(old.origin(&keypair.id()).unwrap().slots, 1);
        assert_eq!(old.fingerprint(), new.fingerprint());
        assert_eq!(old.of_origin(keypair.id()).count(), 1);
        old.remove_where(|_| true);
        assert_eq!((old.fingerprint(), old.origins().count(), old.len()), (0, 0, 0));
        assert_eq!(old.bucket_fingerprints(), [0; FINGERPRINT_BUCKETS]);
    }

    #[test]
    fn bucket_fingerprints_follow_the_records_of_their_origins_alone() {
        let mut set = RecordSet::new();
        let keypairs: Vec<Keypair> = (1..=40).map(|n| Keypair::from_secret([n; 32])).collect();
        for keypair in &keypairs {
            set.merge(Arc::new(test_announcement(keypair, "a", Version::new(0, 1))));
        }
        let xor_of_buckets = set.bucket_fingerprints().iter().fold(0, |all, bucket| all ^ bucket);
        assert_eq!(xor_of_buckets, set.fingerprint());
        let before = set.bucket_fingerprints();
        let changed = &keypairs[7];
        set.merge(Arc::new(test_announcement(changed, "a", Version::new(0, 2))));
        let after = set.bucket_fingerprints();
        let differing: Vec<usize> =
            (0..FINGERPRINT_BUCKETS).filter(|b| before[*b] != after[*b]).collect();
        assert_eq!(differing, [bucket_of(&changed.id())]);
    }

    #[test]
    fn buckets_are_contiguous_ranges_of_origin_ids() {
        for bucket in 0..FINGERPRINT_BUCKETS {
            let start = bucket_start(bucket).expect("every bucket has a start");
            assert_eq!(bucket_of(&start), bucket);
            let mut last = [0xff; 32];
            last[0] = start.as_bytes()[0] | 3;
            assert_eq!(bucket_of(&NodeId::from_bytes(last)), bucket);
        }
        assert_eq!(bucket_start(FINGERPRINT_BUCKETS), None);
    }

    #[test]
    fn a_returning_origin_does_not_expire() {
        let keypair = Keypair::from_secret([6; 32]);
        let mut set = RecordSet::new();
        set.merge(Arc::new(test_announcement(&keypair, "a", Version::new(0, 1))));
        set.mark_departed(keypair.id(), Instant::ZERO);
        set.mark_returned(keypair.id());
        assert!(set.expire(Instant::from_micros(u64::MAX), Duration::from_secs(1)).is_empty());
    }
}
