//! Property tests of grid control's payload readers: whatever a `grid-control` announcement or a
//! manager's list holds, reading it never panics; the lenient reading of a list the strict one
//! accepts is that same list; and edits keep every other entry.
//!
//! Seeded like `properties.rs`: from `HERALD_SEED`, or a drawn seed printed with the failure.

mod support;

use herald_core::grid_control::recommendation::{
    parse_lenient, parse_strict, with_added, with_removed,
};
use herald_core::grid_control::{ManagerList, Recommendation};
use herald_core::{Keypair, NodeId};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};
use support::config_for;

fn ids() -> Vec<NodeId> {
    (1..=4).map(|n| Keypair::from_secret([n; 32]).id()).collect()
}

/// One entry of a `recommendations` list: mostly well formed, sometimes not.
fn entry() -> impl Strategy<Value = Value> {
    let who = prop_oneof![
        3 => (0..4usize).prop_map(|n| Value::String(ids()[n].to_string())),
        1 => "[a-z2-7]{0,60}".prop_map(Value::String),
        1 => any::<i64>().prop_map(|n| json!(n)),
    ];
    let what = prop_oneof![
        3 => prop::sample::select(vec!["send-shares-to", "accept-shares-from", "x"])
            .prop_map(|what| Value::String(what.to_owned())),
        1 => ".{0,70}".prop_map(Value::String),
        1 => Just(Value::Null),
    ];
    let petname = prop_oneof![Just(None), ".{0,80}".prop_map(Some)];
    prop_oneof![
        6 => (who, what, petname).prop_map(|(who, what, petname)| {
            let mut entry = json!({"who": who, "what": what});
            if let Some(petname) = petname {
                entry["petname"] = Value::String(petname);
            }
            entry
        }),
        1 => any::<u8>().prop_map(|n| json!(n)),
    ]
}

/// A `grid-control` payload: an object with a list, other keys, or something else entirely.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(entry(), 0..12).prop_map(|list| {
            json!({"recommendations": list, "grid-control-FURL": "pb://x"}).to_string().into_bytes()
        }),
        1 => vec(any::<u8>(), 0..200),
        1 => Just(b"{\"recommendations\": 7}".to_vec()),
    ]
}

proptest! {
    #![proptest_config(config_for("grid_control_properties"))]

    #[test]
    fn a_list_the_strict_reading_accepts_reads_the_same_leniently(payload in payload()) {
        let lenient = parse_lenient(&payload);
        if let Ok(strict) = parse_strict(&payload) {
            prop_assert_eq!(lenient, strict);
        }
    }

    #[test]
    fn an_edit_keeps_every_other_entry_or_refuses(
        payload in payload(),
        who in 0..4usize,
        what in prop::sample::select(vec!["send-shares-to", "x"]),
    ) {
        let who = ids()[who];
        let Ok(before) = parse_strict(&payload) else {
            // A payload that is not a valid list cannot be edited.
            let added = Recommendation::new(who, "", what).unwrap();
            prop_assert!(with_added(&payload, added).is_err());
            return Ok(());
        };
        let added = Recommendation::new(who, "p", what).unwrap();
        let after = parse_strict(&with_added(&payload, added.clone()).unwrap()).unwrap();
        prop_assert!(after.contains(&added));
        let others = |list: &[Recommendation]| -> Vec<Recommendation> {
            list.iter().filter(|r| r.who != who || r.what != what).cloned().collect()
        };
        prop_assert_eq!(others(&after), others(&before));
        let removed = parse_strict(&with_removed(&payload_of(&after), who, what).unwrap()).unwrap();
        prop_assert_eq!(removed, others(&before));
    }

    #[test]
    fn a_managers_list_decodes_without_panicking(bytes in vec(any::<u8>(), 0..2000)) {
        if let Some(list) = ManagerList::decode(&bytes) {
            prop_assert_eq!(ManagerList::decode(&list.encode()), Some(list));
        }
    }
}

fn payload_of(list: &[Recommendation]) -> Vec<u8> {
    let entries: Vec<Value> = list.iter().map(Recommendation::to_json).collect();
    json!({"recommendations": entries}).to_string().into_bytes()
}
