//! One origin's messages in one group, as this node holds them: which are delivered, which wait
//! for an earlier one, and the cursor that makes delivery exactly-once and in order.
//!
//! The cursor is the version up to which everything from the origin was delivered (or given
//! up on). A message at or below it is a duplicate. A message above it is held until it is the
//! next one: the seq after the cursor's in the same epoch, or seq 1 of a later epoch (the
//! origin lost its store and started a new sequence space). A message that is not next waits
//! for the gap before it to be repaired, for `gap_wait` at most. An origin never heard from
//! before starts at once from seq 1; from a later message it starts once a member that
//! delivered past the gap was asked for it (its digest covered the gap, and this node's
//! answered it) and `start_wait` passed with no earlier message arriving or being pulled: the
//! earlier ones are then held by no one asked, as for a member new to a group whose older
//! messages were purged. Without such a member, it waits `gap_wait` too, as a member cut off
//! from every holder by a partition must.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::record::Version;
use crate::time::Instant;

use super::data::GroupData;

/// A message this node holds.
#[derive(Clone, Debug)]
pub(super) struct Held {
    pub data: GroupData,
    /// When this node received (or published) it.
    pub received_at: Instant,
}

/// How long messages may wait for the ones before them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Waits {
    /// For an origin never heard from, after a member that delivered past the gap was asked.
    pub start: Duration,
    /// For a gap after the cursor.
    pub gap: Duration,
}

/// One origin's messages in one group.
#[derive(Clone, Debug, Default)]
pub(super) struct OriginLog {
    cursor: Option<Version>,
    held: BTreeMap<Version, Held>,
    /// Since when the first message above the cursor has been waiting for a gap to fill.
    waiting_since: Option<Instant>,
    /// Before the first delivery: when a member's digest first showed it delivered past the
    /// gap before the first message held.
    vouched_at: Option<Instant>,
}

impl OriginLog {
    /// A log restored with its durable cursor.
    pub fn with_cursor(cursor: Version) -> OriginLog {
        OriginLog { cursor: Some(cursor), ..OriginLog::default() }
    }

    /// The version up to which everything was delivered.
    pub fn cursor(&self) -> Option<Version> {
        self.cursor
    }

    /// Whether a message of this version was delivered, skipped or is held.
    pub fn has(&self, version: Version) -> bool {
        self.cursor.is_some_and(|cursor| version <= cursor) || self.held.contains_key(&version)
    }

    /// The message of this version, if held.
    pub fn get(&self, version: Version) -> Option<&Held> {
        self.held.get(&version)
    }

    /// Every message held, oldest version first.
    pub fn held(&self) -> impl DoubleEndedIterator<Item = &Held> {
        self.held.values()
    }

    /// Messages held above `version` (all of them for `None`), oldest first.
    pub fn held_above(&self, version: Option<Version>) -> impl Iterator<Item = &Held> {
        self.held.values().filter(move |held| version.is_none_or(|v| held.data.version() > v))
    }

    /// Whether the message of this version is delivered.
    pub fn is_delivered(&self, version: Version) -> bool {
        self.cursor.is_some_and(|cursor| version <= cursor)
    }

    /// Holds a message; `false` if it was delivered or held already.
    pub fn insert(&mut self, held: Held) -> bool {
        let version = held.data.version();
        if self.has(version) {
            return false;
        }
        self.held.insert(version, held);
        true
    }

    /// Holds a message restored from the store, delivered or not, without delivering it.
    pub fn restore(&mut self, held: Held) {
        self.held.insert(held.data.version(), held);
    }

    /// Removes a held message.
    pub fn remove(&mut self, version: Version) -> Option<Held> {
        self.held.remove(&version)
    }

    /// A member's digest says it delivered this origin up to `head`: if nothing was delivered
    /// here yet and that covers the gap before the first message held, the member will offer
    /// what it holds of the gap once it has this node's digest.
    pub fn vouched(&mut self, now: Instant, head: Version) {
        let Some(first) = self.held.keys().next().filter(|_| self.cursor.is_none()) else {
            return;
        };
        let covers = head.epoch > first.epoch
            || (head.epoch == first.epoch && head.seq.saturating_add(1) >= first.seq);
        if covers {
            self.vouched_at.get_or_insert(now);
        }
    }

    /// Delivers what is next, in order, and returns it with how many waits were given up on
    /// (gaps skipped, or an unknown start). The cursor moves past each delivered message.
    /// `pulling` says a message of this origin is being pulled, which holds an unknown start.
    pub fn advance(&mut self, now: Instant, waits: Waits, pulling: bool) -> (Vec<GroupData>, u64) {
        let mut delivered = Vec::new();
        let mut skipped = 0;
        loop {
            let next = match self.cursor {
                Some(cursor) => self.held.range(next_after(cursor)..).next(),
                None => self.held.iter().next(),
            };
            let Some((&version, held)) = next else {
                self.waiting_since = None;
                break;
            };
            if !self.follows(version) {
                let waited = now.saturating_since(*self.waiting_since.get_or_insert(now));
                let start_ends = self.cursor.is_none()
                    && !pulling
                    && waited >= waits.start
                    && self.vouched_at.is_some_and(|at| now.saturating_since(at) >= waits.start);
                if waited < waits.gap && !start_ends {
                    break;
                }
                skipped += 1;
            }
            delivered.push(held.data.clone());
            self.cursor = Some(version);
            self.waiting_since = None;
        }
        (delivered, skipped)
    }

    fn follows(&self, version: Version) -> bool {
        match self.cursor {
            None => version.seq == 1,
            Some(cursor) => {
                (version.epoch == cursor.epoch && version.seq == cursor.seq + 1)
                    || (version.epoch > cursor.epoch && version.seq == 1)
            }
        }
    }
}

/// The smallest version above `version`.
fn next_after(version: Version) -> Version {
    Version::new(version.epoch, version.seq.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::id::Keypair;
    use crate::record::{Record, RecordKind};

    const WAITS: Waits = Waits { start: Duration::from_secs(2), gap: Duration::from_secs(60) };

    fn held(epoch: u64, seq: u64) -> Held {
        let keypair = Keypair::from_secret([7; 32]);
        let record = Record {
            origin: keypair.id(),
            kind: RecordKind::GroupMessage,
            key: "g".into(),
            version: Version::new(epoch, seq),
            issued_at_ms: 0,
            payload: Vec::new(),
        };
        let header = Arc::new(record.sign(&keypair).unwrap());
        Held { data: GroupData { header, body: Arc::from(&b""[..]) }, received_at: at(0) }
    }

    fn at(secs: u64) -> Instant {
        Instant::from_micros(secs * 1_000_000)
    }

    fn seqs(delivered: &[GroupData]) -> Vec<u64> {
        delivered.iter().map(|data| data.version().seq).collect()
    }

    #[test]
    fn messages_are_delivered_once_in_order_whatever_order_they_arrive_in() {
        let mut log = OriginLog::default();
        assert!(log.insert(held(1, 2)));
        assert_eq!(seqs(&log.advance_at(at(0), WAITS).0), Vec::<u64>::new());
        assert!(log.insert(held(1, 1)));
        assert!(!log.insert(held(1, 1)), "a duplicate is refused");
        assert_eq!(seqs(&log.advance_at(at(0), WAITS).0), vec![1, 2]);
        assert!(!log.insert(held(1, 2)), "a delivered message is a duplicate");
        assert_eq!(log.cursor(), Some(Version::new(1, 2)));
    }

    #[test]
    fn a_gap_is_waited_for_then_skipped() {
        let mut log = OriginLog::with_cursor(Version::new(1, 1));
        log.insert(held(1, 3));
        assert!(log.advance_at(at(10), WAITS).0.is_empty());
        assert!(log.advance_at(at(69), WAITS).0.is_empty());
        let (delivered, skipped) = log.advance_at(at(70), WAITS);
        assert_eq!((seqs(&delivered), skipped), (vec![3], 1));
        assert!(!log.insert(held(1, 2)), "a skipped message is not delivered late");
    }

    impl OriginLog {
        fn advance_at(&mut self, now: Instant, waits: Waits) -> (Vec<GroupData>, u64) {
            self.advance(now, waits, false)
        }
    }

    #[test]
    fn an_unknown_origin_starts_at_once_from_seq_1_or_once_a_holder_was_asked() {
        let mut log = OriginLog::default();
        log.insert(held(1, 1));
        assert_eq!(seqs(&log.advance_at(at(0), WAITS).0), vec![1]);

        let mut late = OriginLog::default();
        late.insert(held(1, 7));
        assert!(late.advance_at(at(0), WAITS).0.is_empty());
        late.insert(held(1, 6));
        late.vouched(at(1), Version::new(1, 4));
        assert!(
            late.advance_at(at(5), WAITS).0.is_empty(),
            "a digest short of the gap vouches nothing"
        );
        late.vouched(at(5), Version::new(1, 5));
        assert!(late.advance_at(at(6), WAITS).0.is_empty(), "the start wait runs from the vouch");
        assert!(
            late.advance(at(7), WAITS, true).0.is_empty(),
            "an earlier message is being pulled"
        );
        let (delivered, skipped) = late.advance_at(at(7), WAITS);
        assert_eq!((seqs(&delivered), skipped), (vec![6, 7], 1));
    }

    #[test]
    fn an_unknown_origin_with_no_holder_asked_waits_the_gap_wait() {
        let mut cut_off = OriginLog::default();
        cut_off.insert(held(1, 2));
        assert!(cut_off.advance_at(at(0), WAITS).0.is_empty());
        assert!(cut_off.advance_at(at(59), WAITS).0.is_empty());
        let (delivered, skipped) = cut_off.advance_at(at(60), WAITS);
        assert_eq!((seqs(&delivered), skipped), (vec![2], 1));
    }

    #[test]
    fn a_new_epoch_starts_again_at_seq_1() {
        let mut log = OriginLog::with_cursor(Version::new(1, 5));
        log.insert(held(2, 1));
        assert_eq!(seqs(&log.advance_at(at(0), WAITS).0), vec![1]);
        assert_eq!(log.cursor(), Some(Version::new(2, 1)));
        assert!(!log.insert(held(1, 6)), "the old epoch is over");
    }
}
