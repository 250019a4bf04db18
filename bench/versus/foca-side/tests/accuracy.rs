//! The accuracy run on foca: small runs that must detect and must replay. The measurement
//! itself is `examples/accuracy.rs`.

use versus_common::{AccuracyOutcome, AccuracyParams};
use versus_foca::{accuracy, accuracy_details};

fn small(loss: f64, seed: u64) -> AccuracyParams {
    AccuracyParams { members: 50, loss, virtual_s: 60, kills: 2, seed }
}

/// Every figure, bit for bit, so that two outcomes can be compared exactly.
fn figures(outcome: &AccuracyOutcome) -> (u64, Option<u64>, u64) {
    (
        outcome.false_deaths,
        outcome.detect_s.map(f64::to_bits),
        outcome.messages_per_member_s.to_bits(),
    )
}

#[test]
fn a_small_lossless_run_detects_both_crashes_without_false_deaths() {
    let details = accuracy_details(&small(0.0, 1)).unwrap();
    let outcome = details.outcome;
    eprintln!("{details:?}");
    assert_eq!(details.never_joined, 0, "every member must join on a lossless network");
    assert_eq!(details.rejoins, 0, "no member may be told it is down on a lossless network");
    assert_eq!(outcome.false_deaths, 0, "no member may be declared dead on a lossless network");
    let detect_s = outcome.detect_s.expect("both crashes must reach 99% of the running members");
    assert!(detect_s > 0.0 && detect_s < 30.0, "detection took {detect_s} s");
    assert!(outcome.messages_per_member_s > 0.0);
}

#[test]
fn the_same_seed_replays_the_same_run_and_another_seed_does_not() {
    for loss in [0.0, 0.2] {
        let first = accuracy_details(&small(loss, 7)).unwrap();
        let again = accuracy_details(&small(loss, 7)).unwrap();
        assert_eq!(figures(&first.outcome), figures(&again.outcome), "loss {loss}");
        assert_eq!(first.trace, again.trace, "loss {loss}: the runs diverged");
        assert_eq!((first.datagrams, first.bytes), (again.datagrams, again.bytes));
        let other = accuracy_details(&small(loss, 8)).unwrap();
        assert_ne!(first.trace, other.trace, "loss {loss}: the seed changed nothing");
    }
}

#[test]
fn nothing_is_killed_when_no_kill_is_asked_for() {
    let outcome =
        accuracy(&AccuracyParams { members: 20, loss: 0.0, virtual_s: 10, kills: 0, seed: 3 })
            .unwrap();
    assert_eq!(outcome.detect_s, None, "there was no crash to detect");
    assert_eq!(outcome.false_deaths, 0);
}

#[test]
fn impossible_params_are_refused() {
    let base = small(0.0, 1);
    assert!(accuracy(&AccuracyParams { members: 1, kills: 0, ..base }).is_err());
    assert!(accuracy(&AccuracyParams { kills: 50, ..base }).is_err());
    assert!(accuracy(&AccuracyParams { loss: 1.0, ..base }).is_err());
}
