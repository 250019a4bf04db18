//! Unit tests of `groups`: the busy retry, the message size limit and the text formats.

use super::*;
use anyhow::anyhow;
use herald_node::api::model::EdgeView;

fn busy() -> anyhow::Error {
    anyhow!(Refusal::for_tests("busy", "the node is busy"))
}

#[test]
fn busy_answers_are_retried_until_one_succeeds() {
    let mut calls = 0;
    let mut notes = 0;
    let result = retry_while_busy(
        Duration::from_secs(5),
        || notes += 1,
        || {
            calls += 1;
            if calls < 3 { Err(busy()) } else { Ok(calls) }
        },
    );
    assert_eq!(result.unwrap(), 3);
    assert_eq!(notes, 1, "one note, however many retries");
}

#[test]
fn a_node_busy_past_the_budget_fails_with_its_message() {
    let started = Instant::now();
    let error =
        retry_while_busy(Duration::from_millis(250), || {}, || Err::<(), _>(busy())).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(format!("{error:#}"), "the node stayed busy for 250ms: the node is busy");
}

#[test]
fn other_refusals_are_not_retried() {
    let mut calls = 0;
    let error = retry_while_busy(
        Duration::from_secs(5),
        || {},
        || {
            calls += 1;
            Err::<(), _>(anyhow!(Refusal::for_tests("not_found", "no group")))
        },
    )
    .unwrap_err();
    assert_eq!((calls, format!("{error:#}")), (1, "no group".to_owned()));
}

#[test]
fn reading_stops_one_byte_past_the_limit() {
    assert_eq!(read_at_most(&b"abcd"[..], 4).unwrap(), Some(b"abcd".to_vec()));
    assert_eq!(read_at_most(&b"abcde"[..], 4).unwrap(), None);
}

#[test]
fn a_file_over_the_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    File::create(&path).unwrap().set_len(MESSAGE_LEN_MAX_DEFAULT + 1).unwrap();
    let error = format!("{:#}", read_message(path.to_str()).unwrap_err());
    assert_eq!(
        error,
        format!(
            "{} is 16777217 bytes, more than a group message may hold (16 MiB)",
            path.display()
        )
    );
}

#[test]
fn topology_formats_use_short_ids() {
    let id = |c: char| c.to_string().repeat(52);
    let topology = TopologyView {
        edges: vec![
            EdgeView { a: id('a'), b: id('b'), cost_ms: 12 },
            EdgeView { a: id('b'), b: id('c'), cost_ms: 250 },
        ],
        connectivity: 1,
        computed_by: "members".into(),
        version: 3,
    };
    assert_eq!(topology_text(&topology), "aaaaaaaaaa bbbbbbbbbb 12\nbbbbbbbbbb cccccccccc 250\n");
    assert_eq!(
        topology_dot(&topology),
        "graph {\n  \"aaaaaaaaaa\" -- \"bbbbbbbbbb\" [label=\"12 ms\"];\n  \
         \"bbbbbbbbbb\" -- \"cccccccccc\" [label=\"250 ms\"];\n}\n"
    );
}

#[test]
fn periods_print_as_durations_and_odd_values_as_they_came() {
    assert_eq!(period_text(90.0), "1m 30s");
    assert_eq!(period_text(0.5), "500ms");
    assert_eq!(period_text(-1.0), "-1s");
}
