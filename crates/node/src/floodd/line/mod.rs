//! floodd's client line protocol, for applications and for people at `nc` or `telnet`: one
//! command a line, answered with SMTP-style numbered replies (interface.md "floodd client
//! interface", seed 004).
//!
//! - `parser`: the sans-IO [`Parser`], bytes in and [`Parsed`] events out, with the
//!   [`LineLimits`] that bound what a client can make the node hold; its docs say exactly how a
//!   `data` or `binary` body is read.
//! - `reply`: [`Reply`] and its wire form (`NNN-` on every line but the last, CRLF line ends).
//! - `service`: [`FlooddService`], what the server needs of the node.
//! - `server`: [`serve`], the tokio server, one task per connection.
//!
//! Input lines end in LF or CRLF; verbs are matched without regard to case.
//!
//! # Replies
//!
//! | code | when |
//! |---|---|
//! | 220 | the greeting, on connecting |
//! | 214 | `help`: one line per command |
//! | 250 | success: `group`, `groups`, `statistics` and `topology` with one line per entry (the code alone for an empty list); `nearest` as `<node id> <rtt> ms`; a flooded message as `250 <id>` |
//! | 354 | `data` accepted: send the lines, then a line holding a single `.` |
//! | 221 | `quit`, and `exit` from loopback; the connection is then closed |
//! | 421 | too many connections: sent instead of the greeting, then closed |
//! | 450 | `nearest`: no round-trip time is known yet |
//! | 451 | the node is busy and did not take the message; retry later |
//! | 500 | unknown command, line over the length limit, line not UTF-8 |
//! | 501 | a known command with the wrong arguments (the reply gives its usage); `binary` SIZE not a whole number (negative included); no group named for a message while the node is in several |
//! | 550 | no such group (`group`, `topology`, `data`, `binary`); a message with no group named while the node is in none; `exit` from another machine |
//! | 552 | a message above the size limit: `binary` SIZE over it (no byte is read as the body), a `data` body past it (read to its `.` and dropped) |
//!
//! Every refusal leaves the connection open, and the next line is read as a command.

mod parser;
mod reply;
mod server;
mod service;

pub use parser::{LineLimits, Parsed, Parser, Request};
pub use reply::Reply;
pub use server::{GREETING, serve};
pub use service::{BoxFuture, FlooddService, Nearest, PublishError};
