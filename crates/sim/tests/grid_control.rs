//! Grid control's forwarding policy in the simulator: without it, an announcement from a node
//! nobody recommends reaches every node; with it on at every node, it reaches none. (What the
//! policy costs the announcements that should spread is measured in BENCHMARKS.md, "Grid
//! control".)

use std::time::Duration;

use herald_sim::{GridControlReport, GridControlScenario, Scenario};

fn run(policy: bool) -> GridControlReport {
    let scenario = Scenario {
        nodes: 100,
        broadcasts: 0,
        settle: Duration::from_secs(15),
        grid_control: Some(GridControlScenario {
            recommenders: 90,
            policy,
            ..GridControlScenario::default()
        }),
        ..Scenario::default()
    };
    let report = scenario.run(|_, _| {});
    assert_eq!(report.violation, None);
    report.grid_control.expect("a run with grid control reports it")
}

#[test]
fn an_unrecommended_nodes_announcement_spreads_without_the_policy_and_not_with_it() {
    let open = run(false);
    assert_eq!(open.intruder_holders, Some(99), "{open:?}");
    assert_eq!(open.reachable_held_fraction, 1.0, "{open:?}");
    assert_eq!(open.reachability_agreed, open.live, "{open:?}");
    assert!(open.reachable_from_first > 10, "{open:?}");

    let filtered = run(true);
    assert!(filtered.policy);
    assert_eq!(filtered.intruder_holders, Some(0), "{filtered:?}");
    assert_eq!(filtered.removal_seen_fraction, 1.0, "a manager's list is no announcement");
}
