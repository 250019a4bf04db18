//! The broadcast workload end to end on real iroh-gossip nodes on loopback: a small run that
//! must deliver everything, and (ignored, for a manual sanity check) the sizes the comparison
//! uses, with their figures printed.

use std::time::Duration;

use versus_common::{BroadcastOutcome, BroadcastParams, percentile};

fn run(nodes: usize, messages: usize, deadline_s: u64) -> BroadcastOutcome {
    let params = BroadcastParams {
        nodes,
        messages,
        payload: 1024,
        deadline: Duration::from_secs(deadline_s),
    };
    versus_iroh::broadcast(&params).expect("the broadcast run failed")
}

#[test]
fn every_delivery_arrives_with_a_sane_latency() {
    let outcome = run(5, 20, 20);
    assert_eq!(outcome.expected, 80);
    assert_eq!(outcome.latencies_ms.len(), outcome.expected, "deliveries missing");
    for latency in &outcome.latencies_ms {
        assert!(latency.is_finite() && *latency >= 0.0, "latency {latency} ms");
    }
    assert!(outcome.cost.wall_s > 0.0);
}

#[test]
fn too_few_nodes_or_too_large_a_payload_is_an_error() {
    let one = BroadcastParams { nodes: 1, messages: 1, payload: 1024, deadline: Duration::ZERO };
    assert!(versus_iroh::broadcast(&one).is_err());
    let large =
        BroadcastParams { nodes: 2, messages: 1, payload: 8192, deadline: Duration::from_secs(1) };
    let error = versus_iroh::broadcast(&large).expect_err("8 KiB exceeds the 4 KiB default");
    assert!(format!("{error:#}").contains("maximum message size"), "{error:#}");
}

/// `cargo test --release -p versus-iroh -- --ignored --nocapture`
#[test]
#[ignore = "a manual sanity measurement: tens of seconds"]
fn sanity_figures() {
    for nodes in [10, 50] {
        let outcome = run(nodes, 200, 20);
        let latencies = &outcome.latencies_ms;
        let p50 = percentile(latencies, 0.5);
        let p99 = percentile(latencies, 0.99);
        println!(
            "iroh-gossip nodes={nodes} messages=200 payload=1024: deliveries {}/{} \
             p50 {p50:?} ms p99 {p99:?} ms wall {:.3} s cpu {:.3} s",
            latencies.len(),
            outcome.expected,
            outcome.cost.wall_s,
            outcome.cost.cpu_s,
        );
        assert_eq!(latencies.len(), outcome.expected);
    }
}
