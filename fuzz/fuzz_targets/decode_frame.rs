//! Fuzzes `wire::decode`, the decoder of every frame a peer sends.
//!
//! Decoding must never panic. A frame that decodes must also re-encode to a frame that decodes
//! to the same message, and the records it carries (a gossiped record, an anti-entropy push, an
//! overlay message's profile, a group message's header) go through `verify` and through a
//! `DirectVerifier`, as a node would do next; the two must accept and refuse the same records.

#![no_main]

use std::cell::RefCell;

use herald_core::anti_entropy::AntiEntropyMessage;
use herald_core::broadcast::BroadcastMessage;
use herald_core::groups::GroupsMessage;
use herald_core::wire::{self, Message};
use herald_core::{DirectVerifier, Verifier};
use libfuzzer_sys::fuzz_target;

thread_local! {
    /// Held across inputs, as a node holds it, so its key cache is hit as well as filled.
    static VERIFIER: RefCell<DirectVerifier> = RefCell::new(DirectVerifier::default());
}

fuzz_target!(|frame: &[u8]| {
    let Ok(message) = wire::decode(frame) else { return };
    let again = wire::encode(&message).expect("a decoded frame re-encodes within the frame limit");
    assert_eq!(wire::decode(&again).as_ref(), Ok(&message), "re-encoded frame decodes differently");
    let records = match &message {
        Message::Broadcast(BroadcastMessage::Gossip { record, .. }) => std::slice::from_ref(record),
        Message::AntiEntropy(AntiEntropyMessage::Records { records, .. }) => records.as_slice(),
        Message::Overlay { profile: Some(record), .. }
        | Message::Groups(GroupsMessage::Chunk { header: record, .. })
        | Message::Groups(GroupsMessage::Offer { header: record }) => std::slice::from_ref(record),
        _ => &[],
    };
    VERIFIER.with_borrow_mut(|verifier| {
        for record in records {
            let direct = record.verify();
            let cached = verifier.verify(record);
            assert_eq!(
                cached.is_ok(),
                direct.is_ok(),
                "DirectVerifier: {cached:?}, verify: {direct:?}"
            );
        }
    });
});
