//! The second level of anti-entropy's comparison: from a peer's bucket fingerprints to a
//! digest of this node's origins in the buckets that differ.

use super::{AntiEntropy, AntiEntropyMessage};
use crate::record_set::{FINGERPRINT_BUCKETS, RecordSet, bucket_of, bucket_start};

impl AntiEntropy {
    /// A digest of this node's origins in the buckets where `theirs` differs from its own, with
    /// at most `digest_page_max` origins. Buckets go in whole, in order, while they fit; the
    /// rest differ still and are found in a later round. A first bucket too large to fit is
    /// sent as a plain digest page that ends at the first origin left out, so that every
    /// digest covers its range exactly. A bucket missing from `theirs` counts as differing;
    /// `None` when no bucket differs.
    pub(super) fn digest_of_differing_buckets(
        &self,
        theirs: &[u64],
        records: &RecordSet,
    ) -> Option<AntiEntropyMessage> {
        let mine = records.bucket_fingerprints();
        let differing: Vec<usize> = (0..FINGERPRINT_BUCKETS)
            .filter(|bucket| theirs.get(*bucket) != Some(&mine[*bucket]))
            .collect();
        let first = *differing.first()?;
        let mut per_bucket = vec![Vec::new(); FINGERPRINT_BUCKETS];
        for (origin, summary) in records.origins_from(bucket_start(first)) {
            per_bucket[bucket_of(origin)].push((*origin, summary.fingerprint, summary.high));
        }
        if per_bucket[first].len() > self.config.digest_page_max {
            let mut entries = std::mem::take(&mut per_bucket[first]);
            let end = entries.get(self.config.digest_page_max).map(|(origin, _, _)| *origin);
            entries.truncate(self.config.digest_page_max);
            return Some(AntiEntropyMessage::Digest { start: bucket_start(first), end, entries });
        }
        let mut covered = 0u64;
        let mut entries = Vec::new();
        for bucket in differing {
            if entries.len() + per_bucket[bucket].len() > self.config.digest_page_max {
                break;
            }
            covered |= 1 << bucket;
            entries.append(&mut per_bucket[bucket]);
        }
        Some(AntiEntropyMessage::BucketDigest { buckets: covered, entries })
    }
}
