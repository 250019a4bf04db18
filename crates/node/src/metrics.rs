//! `/metrics`: the node's counters, gauges and histograms in Prometheus' text format, checked
//! by `promtool check metrics` in CI.
//!
//! The metrics crate's Prometheus exporter writes the text; each node owns its own recorder and
//! never installs it globally, because one process may run many nodes (`herald demo`, the
//! tests) and each node's page must show its own figures. (prometheus-client was the other
//! candidate: it writes only OpenMetrics, whose counter samples promtool 2.42's linter refuses;
//! docs/decisions.md.)
//!
//! Counters the core and the transport already keep are copied in at scrape time
//! ([`NodeMetrics::render`]); the two histograms, store commit latency and probe round trip,
//! are recorded as they happen. Names follow Prometheus' conventions: `herald_` first,
//! `_total` on counters, base units (`_seconds`, `_bytes`).

use std::collections::BTreeSet;
use std::time::Duration;

use herald_core::groups::GroupsCounters;
use herald_core::routing::RoutingCounters;
use herald_core::{MemberState, MessageKind, NodeId, Stats};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::transport::TransportStats;

/// Histogram buckets of the store's commit latency, in seconds: an fsync on a fast disk
/// takes well under a millisecond, a loaded one tens of milliseconds.
const COMMIT_BUCKETS: [f64; 10] =
    [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];
/// Histogram buckets of probe round trips, in seconds: loopback to intercontinental.
const RTT_BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
/// Observations between two upkeeps of the recorder, which fold recorded samples into the
/// histograms so that a node nobody scrapes does not keep them all.
const UPKEEP_EVERY: u32 = 1024;

/// What the actor knows at scrape time that the metrics copy in.
pub(crate) struct Snapshot<'a> {
    /// The core's counters.
    pub core: &'a Stats,
    /// Routing's counters, when routing runs.
    pub routing: Option<RoutingCounters>,
    /// The groups' counters.
    pub groups: GroupsCounters,
    /// The transport's counters.
    pub transport: TransportStats,
    /// Members by state.
    pub members: Vec<(&'static str, u64)>,
    /// Records held.
    pub records: u64,
    /// Whether the node is ready.
    pub ready: bool,
    /// Queue depths, by queue name.
    pub queues: Vec<(&'static str, u64)>,
    /// Messages handed to the export command and acknowledged.
    pub exported: u64,
}

/// One node's metrics.
pub(crate) struct NodeMetrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    since_upkeep: u32,
    /// Members this node holds suspect now, to tell a refuted suspicion from a confirmed one.
    suspected: BTreeSet<NodeId>,
    suspicions_raised: u64,
    suspicions_refuted: u64,
    export_runs: u64,
    export_failures: u64,
}

impl NodeMetrics {
    /// A recorder of this node's own, with every metric described.
    pub(crate) fn new() -> NodeMetrics {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets_for_metric(
                Matcher::Full("herald_store_commit_seconds".into()),
                &COMMIT_BUCKETS,
            )
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full("herald_probe_rtt_seconds".into()),
                    &RTT_BUCKETS,
                )
            })
            .expect("the bucket lists are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, describe);
        NodeMetrics {
            recorder,
            handle,
            since_upkeep: 0,
            suspected: BTreeSet::new(),
            suspicions_raised: 0,
            suspicions_refuted: 0,
            export_runs: 0,
            export_failures: 0,
        }
    }

    /// A store commit took `took`.
    pub(crate) fn observe_commit(&mut self, took: Duration) {
        let seconds = took.as_secs_f64();
        metrics::with_local_recorder(&self.recorder, || {
            histogram!("herald_store_commit_seconds").record(seconds);
        });
        self.upkeep_now_and_then();
    }

    /// A member answered a direct probe after `rtt`.
    pub(crate) fn observe_probe_rtt(&mut self, rtt: Duration) {
        let seconds = rtt.as_secs_f64();
        metrics::with_local_recorder(&self.recorder, || {
            histogram!("herald_probe_rtt_seconds").record(seconds);
        });
        self.upkeep_now_and_then();
    }

    /// A member changed state in this node's view: a suspicion is raised when it turns
    /// suspect, and refuted when it is alive again without having been declared dead.
    pub(crate) fn note_member_state(&mut self, member: NodeId, state: MemberState) {
        match state {
            MemberState::Suspect => {
                if self.suspected.insert(member) {
                    self.suspicions_raised += 1;
                }
            }
            MemberState::Alive => {
                if self.suspected.remove(&member) {
                    self.suspicions_refuted += 1;
                }
            }
            _ => {
                self.suspected.remove(&member);
            }
        }
    }

    /// The export command ran once, and succeeded or failed.
    pub(crate) fn note_export_run(&mut self, succeeded: bool) {
        self.export_runs += 1;
        self.export_failures += u64::from(!succeeded);
    }

    fn upkeep_now_and_then(&mut self) {
        self.since_upkeep += 1;
        if self.since_upkeep >= UPKEEP_EVERY {
            self.since_upkeep = 0;
            self.handle.run_upkeep();
        }
    }

    /// The page: the snapshot's figures copied in, then everything rendered.
    pub(crate) fn render(&mut self, snapshot: &Snapshot<'_>) -> String {
        metrics::with_local_recorder(&self.recorder, || {
            self.copy_in(snapshot);
        });
        self.since_upkeep = 0;
        self.handle.render()
    }

    fn copy_in(&self, snapshot: &Snapshot<'_>) {
        let core = snapshot.core;
        for kind in MessageKind::ALL {
            let counts = core.by_kind.get(kind);
            let kind = kind.name();
            counter!("herald_frames_total", "direction" => "in", "kind" => kind)
                .absolute(counts.frames_in);
            counter!("herald_frames_total", "direction" => "out", "kind" => kind)
                .absolute(counts.frames_out);
            counter!("herald_frame_bytes_total", "direction" => "in", "kind" => kind)
                .absolute(counts.bytes_in);
            counter!("herald_frame_bytes_total", "direction" => "out", "kind" => kind)
                .absolute(counts.bytes_out);
        }
        let records = [
            ("stored", core.records_stored),
            ("duplicate", core.records_duplicate),
            ("stale", core.records_stale),
            ("conflicting", core.records_conflicting),
            ("rejected", core.records_rejected),
            ("unreachable", core.records_unreachable),
        ];
        for (outcome, count) in records {
            counter!("herald_records_received_total", "outcome" => outcome).absolute(count);
        }
        counter!("herald_records_repaired_total").absolute(core.records_repaired);
        counter!("herald_records_expired_total").absolute(core.records_expired);
        let by_broadcast = core.records_out - core.records_out_repair;
        counter!("herald_record_copies_sent_total", "by" => "broadcast").absolute(by_broadcast);
        counter!("herald_record_copies_sent_total", "by" => "anti_entropy")
            .absolute(core.records_out_repair);
        counter!("herald_grafts_total").absolute(core.grafts);
        counter!("herald_prunes_total").absolute(core.prunes);
        counter!("herald_commands_refused_total").absolute(core.commands_refused);
        let transport = &snapshot.transport;
        let drops = [
            ("undecodable", core.decode_errors),
            ("too_large", core.frames_dropped),
            ("send_queue_full", transport.frames_dropped_queue_full),
            ("unreachable", transport.frames_dropped_unreachable),
            ("inbound_queue_full", transport.frames_dropped_inbound),
            ("invalid", transport.frames_dropped_invalid),
        ];
        for (reason, count) in drops {
            counter!("herald_frames_dropped_total", "reason" => reason).absolute(count);
        }
        counter!("herald_dials_total").absolute(transport.dials);
        counter!("herald_dial_failures_total").absolute(transport.dial_failures);
        counter!("herald_handshake_failures_total").absolute(transport.handshake_failures);
        counter!("herald_guests_refused_total").absolute(transport.guests_refused);
        counter!("herald_suspicions_total", "outcome" => "raised").absolute(self.suspicions_raised);
        counter!("herald_suspicions_total", "outcome" => "refuted")
            .absolute(self.suspicions_refuted);
        counter!("herald_export_runs_total").absolute(self.export_runs);
        counter!("herald_export_failures_total").absolute(self.export_failures);
        counter!("herald_exported_messages_total").absolute(snapshot.exported);
        copy_groups(&snapshot.groups);
        if let Some(routing) = &snapshot.routing {
            counter!("herald_routing_advertisements_total").absolute(routing.advertisements);
            counter!("herald_routing_recomputes_total").absolute(routing.recomputes);
            counter!("herald_routed_messages_total", "outcome" => "forwarded")
                .absolute(routing.forwarded);
            counter!("herald_routed_messages_total", "outcome" => "dropped")
                .absolute(routing.dropped);
        }
        for (state, count) in &snapshot.members {
            gauge!("herald_members", "state" => *state).set(*count as f64);
        }
        gauge!("herald_records").set(snapshot.records as f64);
        gauge!("herald_connections_open").set(transport.connections_open as f64);
        gauge!("herald_ready").set(f64::from(u8::from(snapshot.ready)));
        for (queue, depth) in &snapshot.queues {
            gauge!("herald_queue_depth", "queue" => *queue).set(*depth as f64);
        }
    }
}

fn copy_groups(groups: &GroupsCounters) {
    let messages = [
        ("published", groups.published),
        ("received", groups.received),
        ("duplicate", groups.duplicates),
        ("delivered", groups.delivered),
        ("repaired", groups.repaired),
        ("expired", groups.expired),
    ];
    for (event, count) in messages {
        counter!("herald_group_messages_total", "event" => event).absolute(count);
    }
    let drops = [
        ("held_by_neighbors", groups.dropped_held_by_neighbors),
        ("oldest", groups.dropped_oldest),
        ("undelivered", groups.dropped_undelivered),
        ("gap_skipped", groups.gaps_skipped),
        ("publish_refused", groups.publishes_refused),
        ("frame_refused", groups.refused),
        ("pull_abandoned", groups.pulls_abandoned),
    ];
    for (reason, count) in drops {
        counter!("herald_group_drops_total", "reason" => reason).absolute(count);
    }
}

/// The HELP text of every metric.
fn describe() {
    describe_counter!(
        "herald_frames_total",
        "Protocol frames received and sent, by direction and message kind."
    );
    describe_counter!(
        "herald_frame_bytes_total",
        "Bytes of protocol frames received and sent, by direction and message kind."
    );
    describe_counter!(
        "herald_records_received_total",
        "Records that arrived, by what became of them: stored (new), duplicate, stale, conflicting, rejected (bad signature or bounds), unreachable (refused by the forwarding policy)."
    );
    describe_counter!(
        "herald_records_repaired_total",
        "Records that arrived by anti-entropy and were new: what broadcast had missed."
    );
    describe_counter!(
        "herald_records_expired_total",
        "Records removed because their origin departed long enough ago."
    );
    describe_counter!(
        "herald_record_copies_sent_total",
        "Record copies sent to peers, by broadcast or by anti-entropy."
    );
    describe_counter!("herald_grafts_total", "Plumtree grafts sent (tree repairs).");
    describe_counter!("herald_prunes_total", "Plumtree prunes sent (redundant links made lazy).");
    describe_counter!(
        "herald_commands_refused_total",
        "Local commands refused (stale sequence number, too large, ...)."
    );
    describe_counter!("herald_frames_dropped_total", "Frames dropped, by reason.");
    describe_counter!("herald_dials_total", "Outgoing connection attempts.");
    describe_counter!(
        "herald_dial_failures_total",
        "Outgoing connection attempts that failed or timed out."
    );
    describe_counter!(
        "herald_handshake_failures_total",
        "Handshakes that failed on either side (bad certificate, wrong id, policy)."
    );
    describe_counter!(
        "herald_guests_refused_total",
        "Connections closed because a peer without a membership certificate sent frames."
    );
    describe_counter!(
        "herald_suspicions_total",
        "Suspicions of members in this node's view: raised, and refuted by the member being heard alive again."
    );
    describe_counter!("herald_export_runs_total", "Runs of the export command.");
    describe_counter!(
        "herald_export_failures_total",
        "Runs of the export command that failed (the batch is kept and retried)."
    );
    describe_counter!(
        "herald_exported_messages_total",
        "Group messages the export command acknowledged."
    );
    describe_counter!("herald_group_messages_total", "Group data messages, by event.");
    describe_counter!(
        "herald_group_drops_total",
        "Group messages, frames and pulls dropped or given up, by reason."
    );
    describe_counter!(
        "herald_routing_advertisements_total",
        "Link-state advertisements of this node's links published."
    );
    describe_counter!("herald_routing_recomputes_total", "Routing tables computed.");
    describe_counter!(
        "herald_routed_messages_total",
        "Routed messages forwarded for others, or dropped."
    );
    describe_gauge!("herald_members", "Members in this node's view, by state.");
    describe_gauge!("herald_records", "Records held.");
    describe_gauge!("herald_connections_open", "QUIC connections open, inbound and outbound.");
    describe_gauge!("herald_ready", "1 once the node is ready (see /v1/status), else 0.");
    describe_gauge!("herald_queue_depth", "Items waiting, by queue.");
    describe_histogram!(
        "herald_store_commit_seconds",
        metrics::Unit::Seconds,
        "Time one store commit took, fsync included."
    );
    describe_histogram!(
        "herald_probe_rtt_seconds",
        metrics::Unit::Seconds,
        "Round trip of direct membership probes."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(core: &Stats) -> Snapshot<'_> {
        Snapshot {
            core,
            routing: None,
            groups: GroupsCounters::default(),
            transport: TransportStats::default(),
            members: vec![("alive", 3), ("dead", 1)],
            records: 7,
            ready: true,
            queues: vec![("commit", 2)],
            exported: 0,
        }
    }

    #[test]
    fn counters_gauges_and_histograms_are_named_and_described() {
        let mut metrics = NodeMetrics::new();
        let core = Stats { grafts: 4, ..Stats::default() };
        metrics.observe_commit(Duration::from_micros(700));
        metrics.observe_probe_rtt(Duration::from_millis(3));
        let text = metrics.render(&snapshot(&core));
        for line in [
            "# TYPE herald_grafts_total counter",
            "herald_grafts_total 4",
            "# TYPE herald_members gauge",
            "herald_members{state=\"alive\"} 3",
            "herald_ready 1",
            "# TYPE herald_store_commit_seconds histogram",
            "herald_store_commit_seconds_bucket{le=\"0.001\"} 1",
            "herald_probe_rtt_seconds_count 1",
            "herald_frames_total{direction=\"in\",kind=\"overlay\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line:?} in\n{text}");
        }
        for line in text.lines().filter(|line| line.starts_with("# TYPE ")) {
            let name = line.split_whitespace().nth(2).unwrap_or("");
            assert!(text.contains(&format!("# HELP {name} ")), "{name} has no HELP");
            if line.ends_with(" counter") {
                assert!(name.ends_with("_total"), "counter {name} lacks _total");
            }
        }
    }

    #[test]
    fn a_refuted_suspicion_is_told_from_a_confirmed_one() {
        let mut metrics = NodeMetrics::new();
        let (a, b) = (NodeId::from_bytes([1; 32]), NodeId::from_bytes([2; 32]));
        metrics.note_member_state(a, MemberState::Suspect);
        metrics.note_member_state(a, MemberState::Suspect);
        metrics.note_member_state(a, MemberState::Alive);
        metrics.note_member_state(b, MemberState::Suspect);
        metrics.note_member_state(b, MemberState::Dead);
        metrics.note_member_state(b, MemberState::Alive);
        assert_eq!((metrics.suspicions_raised, metrics.suspicions_refuted), (2, 1));
    }
}
