//! The groups component's tunables: floodd's local parameters and herald's own bounds.

use std::time::Duration;

/// Largest body of one data message by default: 16 MiB.
pub const MESSAGE_LEN_MAX_DEFAULT: u64 = 16 * 1024 * 1024;

/// Tunables of the groups component on one node.
#[derive(Clone, Debug)]
pub struct GroupsConfig {
    /// The largest body a data message may have. Default [`MESSAGE_LEN_MAX_DEFAULT`].
    pub message_len_max: u64,
    /// floodd's `data-storage-max`: the bytes of message bodies kept, held for repair or
    /// waiting for delivery, across all groups. Default 256 MiB (guess: sixteen messages of the
    /// largest size; floodd's manual gives no default).
    pub data_storage_max: u64,
    /// floodd's `log-purge-period`: how long a delivered message is kept to repair members
    /// that missed it. Default 1 hour (guess: floodd's manual gives no default).
    pub log_purge_period: Duration,
    /// How often a node compares what it holds with one topology neighbour per group.
    /// Default 1 s (guess, like the grid's anti-entropy round).
    pub repair_interval: Duration,
    /// How long a node that has never heard from an origin waits for that origin's earlier
    /// messages, once a member that delivered them was asked, before it delivers from the
    /// lowest it holds; with no such member asked it waits `log_purge_period`. A first
    /// message (seq 1) is delivered at once. Default 2 s (two repair rounds).
    pub start_wait: Duration,
    /// How long a pull may go without a chunk before it is asked of the next neighbour that
    /// offered the message. Default 5 s.
    pub pull_stall: Duration,
    /// Bytes of this node's own messages that no topology neighbour is known to hold yet, at
    /// most; a publish beyond it is refused as busy (backpressure). Default 64 MiB.
    pub publish_queue_max: u64,
    /// Messages offered in answer to one digest, at most. Default 64.
    pub offers_per_digest_max: usize,
}

impl Default for GroupsConfig {
    fn default() -> GroupsConfig {
        GroupsConfig {
            message_len_max: MESSAGE_LEN_MAX_DEFAULT,
            data_storage_max: 256 * 1024 * 1024,
            log_purge_period: Duration::from_secs(3600),
            repair_interval: Duration::from_secs(1),
            start_wait: Duration::from_secs(2),
            pull_stall: Duration::from_secs(5),
            publish_queue_max: 64 * 1024 * 1024,
            offers_per_digest_max: 64,
        }
    }
}
