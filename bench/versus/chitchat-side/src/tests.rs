//! Runs of the membership workload: a small one that must succeed, one whose deadline cannot
//! be met, and the sanity measurements at chitchat's default interval (ignored by default).
//! Runs take turns: the CPU time a run reads is the whole process's.

use std::sync::Mutex;
use std::time::Duration;

use chitchat::ProtocolVersion;
use versus_common::{MembershipOutcome, MembershipParams};

use crate::membership::membership_with;
use crate::{DEFAULT_GOSSIP_INTERVAL, membership};

/// Held by every test for the length of its runs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn five_nodes_converge_and_find_a_stopped_node() {
    let params = MembershipParams {
        nodes: 5,
        settle: Duration::from_secs(1),
        idle_window: Duration::from_secs(2),
        deadline: Duration::from_secs(60),
    };
    let _turn = take_turn();
    let outcome = membership(&params, Duration::from_millis(200)).unwrap();
    println!("chitchat 5 nodes at 200 ms: {outcome:?}");
    let deadline = params.deadline.as_secs_f64();
    for (name, seconds) in [("converge_s", outcome.converge_s), ("detect_s", outcome.detect_s)] {
        assert!(
            seconds.is_finite() && seconds > 0.0 && seconds < deadline,
            "{name} = {seconds}: {outcome:?}"
        );
    }
    assert!(outcome.idle.cpu_s >= 0.0, "{outcome:?}");
    assert!(outcome.idle.wall_s >= params.idle_window.as_secs_f64(), "{outcome:?}");
}

#[test]
fn a_deadline_too_short_says_how_far_convergence_got() {
    let params = MembershipParams {
        nodes: 5,
        settle: Duration::ZERO,
        idle_window: Duration::ZERO,
        deadline: Duration::from_millis(1),
    };
    let _turn = take_turn();
    let error = membership(&params, Duration::from_millis(200)).unwrap_err().to_string();
    assert!(error.starts_with("no convergence: after "), "{error}");
    assert!(error.ends_with(" of 5 nodes saw everyone"), "{error}");
}

fn sanity(nodes: usize, protocol_version: ProtocolVersion) -> MembershipOutcome {
    let params = MembershipParams {
        nodes,
        settle: Duration::from_secs(5),
        idle_window: Duration::from_secs(10),
        deadline: Duration::from_secs(120),
    };
    let outcome = membership_with(&params, DEFAULT_GOSSIP_INTERVAL, protocol_version).unwrap();
    let per_node_s = |bytes: u64| bytes as f64 / nodes as f64 / params.idle_window.as_secs_f64();
    println!(
        "chitchat {protocol_version:?} nodes={nodes}: converge {:.2} s, detect {:.2} s, idle cpu \
         {:.2} s over {:.1} s, idle bytes {:?} ({:?} B per node per s)",
        outcome.converge_s,
        outcome.detect_s,
        outcome.idle.cpu_s,
        outcome.idle.wall_s,
        outcome.idle.wire_bytes,
        outcome.idle.wire_bytes.map(per_node_s).map(f64::round),
    );
    outcome
}

#[test]
#[ignore = "sanity measurement, about a minute"]
fn sanity_at_the_default_interval() {
    let _turn = take_turn();
    for nodes in [10, 100] {
        sanity(nodes, ProtocolVersion::V0);
    }
}

#[test]
#[ignore = "sanity measurement, about a minute"]
fn sanity_with_the_compressed_digest() {
    let _turn = take_turn();
    for nodes in [10, 100] {
        sanity(nodes, ProtocolVersion::V1);
    }
}
