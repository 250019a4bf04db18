//! Fuzzes `floodd::config::parse`, the reader of floodd configuration files that users write.
//!
//! Parsing must never panic. Beyond that, what the parser promises:
//! - a configuration it accepts names each site once, and every site a group lists (or has as
//!   master) is one of its sites, listed once in the group;
//! - a refusal points at a character of the text: line and column from 1, the line one of the
//!   text's lines (split at LF), the column within that line. Only `TooLarge` has no position,
//!   and only for text over `CONFIG_SIZE_MAX`.

#![no_main]

use std::collections::BTreeSet;

use herald_node::floodd::config::{self, CONFIG_SIZE_MAX, ConfigError, Position};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    match config::parse(text) {
        Ok(config) => {
            let mut sites = BTreeSet::new();
            for site in &config.sites {
                assert!(sites.insert(site.name.as_str()), "site {:?} defined twice", site.name);
                assert_names_a_character(text, site.position);
            }
            for group in &config.groups {
                assert_names_a_character(text, group.position);
                let mut members = BTreeSet::new();
                for member in &group.sites {
                    assert!(sites.contains(member.as_str()), "group lists undefined {member:?}");
                    assert!(members.insert(member), "group lists {member:?} twice");
                }
                if let Some(master) = &group.master_site {
                    assert!(sites.contains(master.as_str()), "undefined master {master:?}");
                }
            }
        }
        Err(error @ ConfigError::TooLarge { .. }) => {
            assert!(text.len() > CONFIG_SIZE_MAX, "{error} for {} bytes", text.len());
        }
        Err(error) => {
            let at = error.position().expect("every error but TooLarge has a position");
            assert_names_a_character(text, at);
        }
    }
});

/// Checks that `at` is the place of one character of `text`, counting as the parser does:
/// lines end at LF, columns count characters.
fn assert_names_a_character(text: &str, at: Position) {
    assert!(at.line >= 1 && at.column >= 1, "position {at:?} is not 1-based");
    let line_count = text.split('\n').count();
    assert!(at.line as usize <= line_count, "position {at:?} past the last line ({line_count})");
    let line = text.split('\n').nth(at.line as usize - 1).unwrap_or_default();
    let width = line.chars().count();
    assert!(at.column as usize <= width, "position {at:?} past the end of its line ({width})");
}
