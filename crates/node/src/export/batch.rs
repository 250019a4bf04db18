//! [`take_batch`]: how many queued messages go to the export command in one run.

use std::sync::Arc;

/// Bounds on one batch. A message larger than `bytes_max` is still exported, alone, so that it
/// cannot block its group's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// The most messages in one batch. Default 100, a guess: few enough that a failing batch is
    /// cheap to send again, enough that a busy group does not start a shell per message. Zero
    /// behaves as one.
    pub messages_max: usize,
    /// The most body bytes in one batch, counted as they are written to standard input.
    /// Default 16 MiB, a guess: a run's input stays a modest amount of data to send again.
    pub bytes_max: usize,
}

impl Default for BatchLimits {
    fn default() -> BatchLimits {
        BatchLimits { messages_max: 100, bytes_max: 16 << 20 }
    }
}

/// How many messages from the front of `queue` form the next batch: as many as fit in both of
/// `limits`, and at least one when `queue` is not empty, however large that message is.
///
/// `queue` holds the group's unexported messages in delivery order, each with the node's local
/// index for it; only the bodies count here.
pub fn take_batch(queue: &[(u64, Arc<[u8]>)], limits: BatchLimits) -> usize {
    let mut bytes = 0usize;
    let mut count = 0;
    for (_, body) in queue.iter().take(limits.messages_max.max(1)) {
        bytes = bytes.saturating_add(body.len());
        if count > 0 && bytes > limits.bytes_max {
            break;
        }
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue of bodies of the given lengths, indexed from 10.
    fn queue(lengths: &[usize]) -> Vec<(u64, Arc<[u8]>)> {
        (10..).zip(lengths).map(|(index, &len)| (index, Arc::from(vec![b'x'; len]))).collect()
    }

    fn limits(messages_max: usize, bytes_max: usize) -> BatchLimits {
        BatchLimits { messages_max, bytes_max }
    }

    #[test]
    fn defaults_are_100_messages_and_16_mib() {
        assert_eq!(BatchLimits::default(), limits(100, 16 * 1024 * 1024));
    }

    #[test]
    fn empty_queue_gives_an_empty_batch() {
        assert_eq!(take_batch(&[], BatchLimits::default()), 0);
    }

    #[test]
    fn small_queue_goes_whole() {
        assert_eq!(take_batch(&queue(&[3, 0, 7]), BatchLimits::default()), 3);
    }

    #[test]
    fn batch_stops_at_messages_max() {
        assert_eq!(take_batch(&queue(&[1; 150]), BatchLimits::default()), 100);
        assert_eq!(take_batch(&queue(&[1; 5]), limits(4, 1000)), 4);
    }

    #[test]
    fn batch_may_fill_bytes_max_exactly() {
        assert_eq!(take_batch(&queue(&[4, 4, 4, 4]), limits(100, 8)), 2);
        assert_eq!(take_batch(&queue(&[4, 4, 4, 4]), limits(100, 12)), 3);
    }

    #[test]
    fn message_that_would_pass_bytes_max_starts_the_next_batch() {
        assert_eq!(take_batch(&queue(&[4, 4, 4, 4]), limits(100, 11)), 2);
        assert_eq!(take_batch(&queue(&[2, 50, 2]), limits(100, 10)), 1);
    }

    #[test]
    fn oversized_first_message_goes_alone() {
        assert_eq!(take_batch(&queue(&[50]), limits(100, 10)), 1);
        assert_eq!(take_batch(&queue(&[50, 1, 1]), limits(100, 10)), 1);
    }

    #[test]
    fn empty_bodies_count_only_against_messages_max() {
        assert_eq!(take_batch(&queue(&[0; 10]), limits(6, 0)), 6);
        assert_eq!(take_batch(&queue(&[0, 0, 1, 0]), limits(100, 0)), 2);
    }

    #[test]
    fn zero_messages_max_behaves_as_one() {
        assert_eq!(take_batch(&queue(&[1, 1]), limits(0, 100)), 1);
    }
}
