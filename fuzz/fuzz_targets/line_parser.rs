//! Fuzzes the floodd line protocol's `Parser`, which reads whatever a client connection sends.
//!
//! The input is a header, then the bytes the client sends:
//! - byte 0: `line_len_max` (0 to 255), byte 1: `message_size_max` (0 to 255), small so that
//!   the fuzzer reaches both limits;
//! - byte 2: how many piece lengths follow (its value modulo 16), then those bytes: the lengths
//!   of the pieces the client's bytes are fed in, used in turn until the bytes run out (0 feeds
//!   an empty piece).
//!
//! Feeding must never panic. Beyond that, what the parser promises:
//! - however the bytes are cut, the events are the same, and so is what it holds at the end:
//!   they are fed in one piece, in the pieces the header gives, and one byte at a time;
//! - `buffered()` is never more than one command line with its CR (`line_len_max + 1`) or one
//!   message body (`message_size_max`), checked after every piece.

#![no_main]

use herald_node::floodd::line::{LineLimits, Parsed, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let [line_len_max, message_size_max, count, rest @ ..] = input else { return };
    let limits = LineLimits {
        line_len_max: usize::from(*line_len_max),
        message_size_max: usize::from(*message_size_max),
        ..LineLimits::default()
    };
    let count = usize::from(count % 16).min(rest.len());
    let (lengths, bytes) = rest.split_at(count);

    let whole = feed(limits, [bytes]);
    let cut = feed(limits, pieces(bytes, lengths));
    let single = feed(limits, bytes.chunks(1));
    assert_eq!(cut, whole, "cut at {lengths:?}, the events or what is held differ");
    assert_eq!(single, whole, "fed a byte at a time, the events or what is held differ");
});

/// Feeds `pieces` to a new parser, checking its bound after each; returns the events and what
/// it holds at the end.
fn feed<'a>(
    limits: LineLimits,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<Parsed>, usize) {
    let bound = (limits.line_len_max + 1).max(limits.message_size_max);
    let mut parser = Parser::new(limits);
    let mut events = Vec::new();
    for piece in pieces {
        parser.feed(piece, &mut events);
        let held = parser.buffered();
        assert!(held <= bound, "{held} bytes buffered, above {bound} ({limits:?})");
    }
    (events, parser.buffered())
}

/// `bytes` cut into pieces of `lengths`, taken in turn; all of it in one piece if `lengths` is
/// empty or all zero.
fn pieces<'a>(mut bytes: &'a [u8], lengths: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    if lengths.iter().all(|&length| length == 0) {
        out.extend(lengths.iter().map(|_| &bytes[..0]));
        out.push(bytes);
        return out;
    }
    for &length in lengths.iter().cycle() {
        if bytes.is_empty() {
            break;
        }
        let (piece, rest) = bytes.split_at(usize::from(length).min(bytes.len()));
        out.push(piece);
        bytes = rest;
    }
    out
}
