//! The sans-IO side of the line protocol: bytes in, in whatever pieces they arrive, and
//! [`Parsed`] events out, in order. No sockets and no clocks; the server in `server` drives it.
//!
//! Input lines end in LF, with or without a CR before it. A command line is read whole, up to
//! [`LineLimits::line_len_max`] bytes (its CR and LF not counted); a longer line is refused and
//! its rest skipped without being kept. Verbs are matched without regard to ASCII case; a blank
//! line gets no reply.
//!
//! A message body is never held as lines: it goes into one buffer that grows only with what the
//! client has sent and never past [`LineLimits::message_size_max`].
//! - After `data [GROUP]` the parser reports [`Parsed::DataStarted`] (answer `354`) and reads
//!   lines until one that holds a single `.`. A line that starts with `..` loses its first dot;
//!   any other line, including one that starts with a single `.` and goes on, is kept as is.
//!   Each line is kept with an LF at its end (a CR just before the LF is dropped, any other CR
//!   is kept), so the body is the lines joined by LF, with an LF after the last one, and `data`
//!   followed at once by `.` is an empty body. Data lines have no length limit of their own. A
//!   body that grows past the limit is dropped as it is read, up to its `.`, which is then
//!   answered `552`.
//! - After `binary SIZE [GROUP]` the next SIZE bytes after the command's LF are the body, as
//!   they are. A SIZE that is not a whole number (a sign included), or is above the limit, is
//!   answered `501` or `552` and no byte after the line is taken as the body: the next line is
//!   a command again.

use super::reply::Reply;

/// Bounds on what one client connection may make the node hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineLimits {
    /// The longest command line in bytes, its line end not counted. Default 4096, far above any
    /// command (a guess; SMTP's own limit is 512).
    pub line_len_max: usize,
    /// The largest message body in bytes, for `data` and `binary`. Default 16 MiB (a guess at
    /// the largest update a floodd application floods).
    pub message_size_max: usize,
    /// The most client connections served at once; further ones are told `421` and closed.
    /// Default 64 (a guess: floodd's clients were a handful of local scripts).
    pub connections_max: usize,
}

impl Default for LineLimits {
    fn default() -> LineLimits {
        LineLimits { line_len_max: 4096, message_size_max: 16 << 20, connections_max: 64 }
    }
}

/// A command the client sent, complete with its body for a publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `help`.
    Help,
    /// `group NAME`: the group's members.
    Group(String),
    /// `groups`.
    Groups,
    /// `data [GROUP]` or `binary SIZE [GROUP]` with its body: flood one message.
    Publish {
        /// The group named, if any.
        group: Option<String>,
        /// The message.
        body: Vec<u8>,
    },
    /// `statistics`.
    Statistics,
    /// `topology NAME`: the group's edges.
    Topology(String),
    /// `nearest`.
    Nearest,
    /// `quit`: close this connection.
    Quit,
    /// `exit`: stop the daemon.
    Exit,
}

/// What the parser makes of the input, in the order the client sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A complete request.
    Request(Request),
    /// A `data` command was accepted: answer `354` now; its body follows.
    DataStarted,
    /// Input refused, with the reply to send. Parsing goes on with the next line.
    Bad(Reply),
}

/// The commands, as `help` lists them: usage, then what it does.
pub(super) const COMMANDS: [(&str, &str); 10] = [
    ("help", "this list"),
    ("group NAME", "the members of group NAME"),
    ("groups", "the groups, one a line"),
    ("data [GROUP]", "flood the lines up to a line holding a single \".\" as one message"),
    ("binary SIZE [GROUP]", "flood the next SIZE bytes after this line as one message"),
    ("statistics", "the node's counters"),
    ("topology NAME", "the edges of group NAME with their costs"),
    ("nearest", "the nearest known node and its round-trip time"),
    ("quit", "close this connection"),
    ("exit", "stop the daemon (only from the same machine)"),
];

/// Where a `data` body's reader is within the current line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinePlace {
    Start,
    /// After a `.` that starts the line.
    Dot,
    /// After `.` and CR at the start of the line.
    DotCr,
    Middle,
}

#[derive(Debug)]
enum State {
    /// Reading a command line into `Parser::line`.
    Command,
    /// Dropping the rest of a command line that went past the limit.
    Skipping,
    Data(DataBody),
    /// Reading the body of `binary`: `size` bytes in all.
    Binary {
        group: Option<String>,
        body: Vec<u8>,
        size: usize,
    },
}

#[derive(Debug)]
struct DataBody {
    group: Option<String>,
    body: Vec<u8>,
    place: LinePlace,
    /// A CR was the last byte read, in the middle of a line: it is dropped if an LF follows.
    cr_pending: bool,
    /// The body went past the limit: the rest is read and dropped.
    overflow: bool,
}

impl DataBody {
    fn append(&mut self, bytes: &[u8], limit: usize) {
        if self.overflow {
            return;
        }
        if self.body.len() + bytes.len() > limit {
            self.overflow = true;
            self.body = Vec::new();
        } else {
            extend_within(&mut self.body, bytes, limit);
        }
    }
}

/// Appends `bytes` to `buffer`, growing it by doubling but never past `cap` bytes of capacity,
/// so that a body near the limit does not make the allocator reserve up to twice the limit.
fn extend_within(buffer: &mut Vec<u8>, bytes: &[u8], cap: usize) {
    let needed = buffer.len() + bytes.len();
    if needed > buffer.capacity() {
        let target = needed.max(buffer.capacity().saturating_mul(2)).min(cap).max(needed);
        buffer.reserve_exact(target - buffer.len());
    }
    buffer.extend_from_slice(bytes);
}

/// The line protocol's incremental parser for one connection.
#[derive(Debug)]
pub struct Parser {
    limits: LineLimits,
    state: State,
    /// The command line read so far: at most `line_len_max + 1` bytes (room for its CR).
    line: Vec<u8>,
}

impl Parser {
    /// A parser at the start of a connection.
    pub fn new(limits: LineLimits) -> Parser {
        Parser { limits, state: State::Command, line: Vec::new() }
    }

    /// Bytes held for the line or message being read: never more than one command line with
    /// its CR, or one message body, within the limits.
    pub fn buffered(&self) -> usize {
        match &self.state {
            State::Command | State::Skipping => self.line.len(),
            State::Data(data) => data.body.len(),
            State::Binary { body, .. } => body.len(),
        }
    }

    /// Reads `input`, the next bytes from the client, and appends to `out` what they complete.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<Parsed>) {
        while !input.is_empty() {
            let (used, body_done) = match &mut self.state {
                State::Command => (self.command(input, out), false),
                State::Skipping => match input.iter().position(|&byte| byte == b'\n') {
                    Some(end) => {
                        self.state = State::Command;
                        out.push(Parsed::Bad(self.too_long()));
                        (end + 1, false)
                    }
                    None => (input.len(), false),
                },
                State::Data(data) => data_step(data, input, self.limits.message_size_max),
                State::Binary { body, size, .. } => {
                    let used = input.len().min(*size - body.len());
                    extend_within(body, &input[..used], *size);
                    (used, body.len() == *size)
                }
            };
            if body_done {
                self.finish_body(out);
            }
            input = &input[used..];
        }
    }

    /// Ends the body being read and goes back to commands.
    fn finish_body(&mut self, out: &mut Vec<Parsed>) {
        match std::mem::replace(&mut self.state, State::Command) {
            State::Data(DataBody { overflow: true, .. }) => {
                out.push(Parsed::Bad(self.message_too_large()));
            }
            State::Data(DataBody { group, body, .. }) | State::Binary { group, body, .. } => {
                out.push(Parsed::Request(Request::Publish { group, body }));
            }
            // Not reached: only a body ends.
            State::Command | State::Skipping => {}
        }
    }

    /// Reads command-line bytes; returns how many it used.
    fn command(&mut self, input: &[u8], out: &mut Vec<Parsed>) -> usize {
        let room = self.limits.line_len_max.saturating_add(1);
        let Some(end) = input.iter().position(|&byte| byte == b'\n') else {
            if self.line.len() + input.len() > room {
                self.line.clear();
                self.state = State::Skipping;
            } else {
                extend_within(&mut self.line, input, room);
            }
            return input.len();
        };
        if self.line.len() + end > room {
            self.line.clear();
            out.push(Parsed::Bad(self.too_long()));
            return end + 1;
        }
        extend_within(&mut self.line, &input[..end], room);
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > self.limits.line_len_max {
            out.push(Parsed::Bad(self.too_long()));
        } else {
            self.command_line(&line, out);
        }
        line.clear();
        self.line = line;
        end + 1
    }

    /// Acts on one complete command line, without its line end.
    fn command_line(&mut self, line: &[u8], out: &mut Vec<Parsed>) {
        let Ok(text) = std::str::from_utf8(line) else {
            out.push(Parsed::Bad(Reply::new(500, "the line is not UTF-8 text")));
            return;
        };
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        let Some((verb, args)) = words.split_first() else {
            return;
        };
        let verb = verb.to_ascii_lowercase();
        let request = match (verb.as_str(), args) {
            ("help", []) => Request::Help,
            ("group", [name]) => Request::Group((*name).to_owned()),
            ("groups", []) => Request::Groups,
            ("data", [] | [_]) => {
                let group = args.first().map(|group| (*group).to_owned());
                let (body, place) = (Vec::new(), LinePlace::Start);
                let data = DataBody { group, body, place, cr_pending: false, overflow: false };
                self.state = State::Data(data);
                out.push(Parsed::DataStarted);
                return;
            }
            ("binary", [size, rest @ ..]) if rest.len() <= 1 => {
                let group = rest.first().map(|group| (*group).to_owned());
                match self.binary_size(size) {
                    Ok(0) => Request::Publish { group, body: Vec::new() },
                    Ok(size) => {
                        self.state = State::Binary { group, body: Vec::new(), size };
                        return;
                    }
                    Err(reply) => {
                        out.push(Parsed::Bad(reply));
                        return;
                    }
                }
            }
            ("statistics", []) => Request::Statistics,
            ("topology", [name]) => Request::Topology((*name).to_owned()),
            ("nearest", []) => Request::Nearest,
            ("quit", []) => Request::Quit,
            ("exit", []) => Request::Exit,
            (verb, _) => {
                let usage = COMMANDS
                    .iter()
                    .map(|(usage, _)| *usage)
                    .find(|usage| usage.split(' ').next() == Some(verb));
                out.push(Parsed::Bad(match usage {
                    Some(usage) => Reply::new(501, format!("usage: {usage}")),
                    None => Reply::new(
                        500,
                        format!("unknown command `{}`; try `help`", shorten(words[0])),
                    ),
                }));
                return;
            }
        };
        out.push(Parsed::Request(request));
    }

    /// The SIZE of `binary`: a whole number of bytes within the limit.
    fn binary_size(&self, text: &str) -> Result<usize, Reply> {
        if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            let found = shorten(text);
            return Err(Reply::new(
                501,
                format!("SIZE must be a whole number of bytes, not `{found}`"),
            ));
        }
        match text.parse::<usize>() {
            Ok(size) if size <= self.limits.message_size_max => Ok(size),
            _ => Err(Reply::new(
                552,
                format!(
                    "a message of {} bytes is above the {}-byte limit",
                    shorten(text),
                    self.limits.message_size_max
                ),
            )),
        }
    }

    fn too_long(&self) -> Reply {
        Reply::new(500, format!("line longer than {} bytes", self.limits.line_len_max))
    }

    fn message_too_large(&self) -> Reply {
        let limit = self.limits.message_size_max;
        Reply::new(552, format!("the message is above the {limit}-byte limit and was not flooded"))
    }
}

/// Reads `data` body bytes; returns how many it used and whether the terminating `.` line was
/// among them.
fn data_step(data: &mut DataBody, input: &[u8], limit: usize) -> (usize, bool) {
    let mut used = 0;
    while used < input.len() {
        let byte = input[used];
        match data.place {
            LinePlace::Start if byte == b'.' => {
                data.place = LinePlace::Dot;
                used += 1;
            }
            LinePlace::Dot | LinePlace::DotCr if byte == b'\n' => return (used + 1, true),
            LinePlace::Dot if byte == b'\r' => {
                data.place = LinePlace::DotCr;
                used += 1;
            }
            LinePlace::Dot if byte == b'.' => {
                // `..` stands for `.`: keep one dot and read the rest of the line.
                data.append(b".", limit);
                data.place = LinePlace::Middle;
                used += 1;
            }
            LinePlace::Dot => {
                data.append(b".", limit);
                data.place = LinePlace::Middle;
            }
            LinePlace::DotCr => {
                data.append(b".", limit);
                data.cr_pending = true;
                data.place = LinePlace::Middle;
            }
            LinePlace::Start => data.place = LinePlace::Middle,
            LinePlace::Middle => {
                let rest = &input[used..];
                let end = rest.iter().position(|&byte| byte == b'\n');
                let content = &rest[..end.unwrap_or(rest.len())];
                if data.cr_pending && !content.is_empty() {
                    data.append(b"\r", limit);
                }
                match end {
                    Some(end) => {
                        data.append(content.strip_suffix(b"\r").unwrap_or(content), limit);
                        data.append(b"\n", limit);
                        data.cr_pending = false;
                        data.place = LinePlace::Start;
                        used += end + 1;
                    }
                    None => {
                        let kept = content.strip_suffix(b"\r");
                        data.append(kept.unwrap_or(content), limit);
                        data.cr_pending = kept.is_some();
                        used = input.len();
                    }
                }
            }
        }
    }
    (used, false)
}

/// Client text to quote in a reply, cut to a readable length.
fn shorten(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
