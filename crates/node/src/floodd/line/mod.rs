//! floodd's client line protocol, for applications and for people at `nc` or `telnet`: one
//! command a line, answered with SMTP-style numbered replies (interface.md "floodd client
//! interface", seed 004).
//!
//! - `parser`: the sans-IO [`Parser`], bytes in and [`Parsed`] events out, with the
//!   [`LineLimits`] that bound what a client can make the node hold; its docs say exactly how a
//!   `data` or `binary` body is read.
//! - `reply`: [`Reply`] and its wire form (`NNN-` on every line but the last, CRLF line ends).
//!
//! Input lines end in LF or CRLF; verbs are matched without regard to case.

mod parser;
mod reply;

pub use parser::{LineLimits, Parsed, Parser, Request};
pub use reply::Reply;
