//! How long a simulated node is busy with what it is given. Without a service model a node
//! handles every frame in zero time, and a burst that would swamp a real node looks free.
//!
//! A node works on one input at a time, in arrival order. An input that comes while it is busy
//! waits until it is free. Handling an input costs CPU: a fixed part per input, and a part per
//! signature checked. As in herald-node's actor (`actor/commit.rs`), what the node owes (its own
//! records, its issued high) is committed before the first transmit that follows it, and what
//! it only relays waits for the next commit, or `lazy_commit_delay`; a commit keeps the node
//! busy. A frame is sent when the work and the commits before it are done. Not modelled: the
//! actor's group commit, which takes every input that is ready under one commit; here each
//! input that persists something owed commits on its own.
//!
//! Each node has a CPU of its own, as on a grid of separate machines. Many nodes sharing a few
//! cores (`herald demo` runs them in one process) are modelled by scaling the times by the
//! nodes per core; see [`ServiceModel::shared`].

use std::time::Duration;

/// Service times of one node.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServiceModel {
    /// CPU per input: decoding, the protocol's work and sending, whatever the frame carries.
    pub per_input: Duration,
    /// CPU per signature checked (the simulator's memo saves real time, not modelled time).
    pub per_signature: Duration,
    /// One store commit, taken before the transmits that depend on it.
    pub commit: Duration,
    /// How long operations the node does not owe (records it relays) may wait for a commit:
    /// herald-node's actor commits them with the next owed commit, or this long after.
    pub lazy_commit_delay: Duration,
    /// Inputs a busy node takes in one turn, under one commit, at most: 256 in herald-node's
    /// actor (group commit); 1 gives every input a commit of its own, as the actor did before.
    pub inputs_per_turn: usize,
}

impl ServiceModel {
    /// Zero service times: every input handled at once (the default).
    pub const INSTANT: ServiceModel = ServiceModel {
        per_input: Duration::ZERO,
        per_signature: Duration::ZERO,
        commit: Duration::ZERO,
        lazy_commit_delay: Duration::ZERO,
        inputs_per_turn: 1,
    };

    /// Times measured on the development machine (2 cores, BENCHMARKS.md):
    /// - per signature 30 µs: `record_verify`, 32.7 K/s with cached keys (criterion);
    /// - commit 0.5 ms: `RedbStore::apply` of 100 records, 201 K records/s, so one commit of
    ///   a few records costs about as much; fsync on the same disk takes 0.15 ms;
    /// - per input 20 µs: a guess bounded by issue 15's 100-node burst, where 30–73 s of CPU
    ///   went on about 1.5 million frames with 592,000 record copies among them (25–50 µs a
    ///   frame, 12 µs of it for the signatures), QUIC and TLS included.
    pub const MEASURED: ServiceModel = ServiceModel {
        per_input: Duration::from_micros(20),
        per_signature: Duration::from_micros(30),
        commit: Duration::from_micros(500),
        lazy_commit_delay: Duration::from_millis(100),
        inputs_per_turn: 256,
    };

    /// Whether every input takes no time, so that no event ever waits.
    pub fn is_instant(&self) -> bool {
        *self == ServiceModel::INSTANT
    }

    /// These times on a node that gets `1 / nodes_per_core` of a core, as when `nodes_per_core`
    /// nodes share each core of one machine. The disk is shared too, so commits slow down as
    /// much: issue 15 measured about 20 ms per `announce` commit with 100 nodes in one process
    /// on 2 cores, against 0.5 ms for one store alone (0.5 ms × 50 = 25 ms).
    pub fn shared(self, nodes_per_core: u32) -> ServiceModel {
        ServiceModel {
            per_input: self.per_input * nodes_per_core,
            per_signature: self.per_signature * nodes_per_core,
            commit: self.commit * nodes_per_core,
            lazy_commit_delay: self.lazy_commit_delay,
            inputs_per_turn: self.inputs_per_turn,
        }
    }

    /// CPU for one input that checked `signatures` signatures.
    pub fn work(&self, signatures: u64) -> Duration {
        self.per_input + self.per_signature * u32::try_from(signatures).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_counts_the_input_and_each_signature() {
        let model = ServiceModel::MEASURED;
        assert_eq!(model.work(0), Duration::from_micros(20));
        assert_eq!(model.work(3), Duration::from_micros(110));
        assert_eq!(ServiceModel::INSTANT.work(5), Duration::ZERO);
        assert!(ServiceModel::INSTANT.is_instant() && !model.is_instant());
        assert_eq!(model.shared(50).per_input, Duration::from_millis(1));
        assert_eq!(model.shared(50).commit, Duration::from_millis(25));
    }
}
