//! Fuzzes the parsing of a node id's text form, which users type and config files hold.
//!
//! Parsing must never panic, and an id that parses prints back as the same text: each id has
//! exactly one text form.

#![no_main]

use herald_core::NodeId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let Ok(id) = text.parse::<NodeId>() else { return };
    assert_eq!(id.to_string(), text, "a node id parsed from text prints differently");
});
