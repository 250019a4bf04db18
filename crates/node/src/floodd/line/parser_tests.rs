//! Tests of the line parser: every command, every refusal, the limits, and the same events
//! however the input is cut into pieces.

use super::*;

fn limits(line_len_max: usize, message_size_max: usize) -> LineLimits {
    LineLimits { line_len_max, message_size_max, ..LineLimits::default() }
}

fn parse(limits: LineLimits, input: &[u8]) -> Vec<Parsed> {
    let mut parser = Parser::new(limits);
    let mut out = Vec::new();
    parser.feed(input, &mut out);
    out
}

fn parse_default(input: &str) -> Vec<Parsed> {
    parse(LineLimits::default(), input.as_bytes())
}

fn request(request: Request) -> Parsed {
    Parsed::Request(request)
}

fn publish(group: Option<&str>, body: &[u8]) -> Parsed {
    let group = group.map(str::to_owned);
    Parsed::Request(Request::Publish { group, body: body.to_vec() })
}

fn bad(code: u16, text: &str) -> Parsed {
    Parsed::Bad(Reply::new(code, text))
}

/// A session that touches every state, with small limits: line 16 bytes, message 32.
const SESSION: &[u8] = b"HELP\r\n\
group mirror-1\n\
data mirror-1\r\n\
line one\r\n\
..dot\r\n\
.x\n\
a\rb\r\n\
\r\n\
.\r\n\
binary 5\n\
a\n.\r\n\
frobnicate\n\
this line is longer than sixteen bytes\n\
binary 33\n\
binary -1 g\n\
data\n\
a data line longer than the thirty-two byte message limit\n\
.\n\
nearest\n\
quit\n";

fn session_events() -> Vec<Parsed> {
    vec![
        request(Request::Help),
        request(Request::Group("mirror-1".to_owned())),
        Parsed::DataStarted,
        publish(Some("mirror-1"), b"line one\n.dot\n.x\na\rb\n\n"),
        publish(None, b"a\n.\r\n"),
        bad(500, "unknown command `frobnicate`; try `help`"),
        bad(500, "line longer than 16 bytes"),
        bad(552, "a message of 33 bytes is above the 32-byte limit"),
        bad(501, "SIZE must be a whole number of bytes, not `-1`"),
        Parsed::DataStarted,
        bad(552, "the message is above the 32-byte limit and was not flooded"),
        request(Request::Nearest),
        request(Request::Quit),
    ]
}

#[test]
fn a_session_in_one_piece_gives_every_event_in_order() {
    assert_eq!(parse(limits(16, 32), SESSION), session_events());
}

#[test]
fn the_same_events_come_out_whatever_the_pieces() {
    let expected = session_events();
    let mut parser = Parser::new(limits(16, 32));
    let mut out = Vec::new();
    for byte in SESSION {
        parser.feed(std::slice::from_ref(byte), &mut out);
        assert!(parser.buffered() <= 32, "held {} bytes", parser.buffered());
    }
    assert_eq!(out, expected, "one byte at a time");
    for split in 0..=SESSION.len() {
        let mut parser = Parser::new(limits(16, 32));
        let mut out = Vec::new();
        parser.feed(&SESSION[..split], &mut out);
        parser.feed(&SESSION[split..], &mut out);
        assert_eq!(out, expected, "split at byte {split}");
    }
    for piece in 2..12 {
        let mut parser = Parser::new(limits(16, 32));
        let mut out = Vec::new();
        for chunk in SESSION.chunks(piece) {
            parser.feed(chunk, &mut out);
        }
        assert_eq!(out, expected, "pieces of {piece} bytes");
    }
}

#[test]
fn every_command_is_read_whatever_the_case_of_its_verb() {
    let input = "HeLp\nGROUP g\ngroups\nStatistics\ntopology t\nNEAREST\nquit\nexit\n";
    assert_eq!(
        parse_default(input),
        [
            request(Request::Help),
            request(Request::Group("g".to_owned())),
            request(Request::Groups),
            request(Request::Statistics),
            request(Request::Topology("t".to_owned())),
            request(Request::Nearest),
            request(Request::Quit),
            request(Request::Exit),
        ]
    );
}

#[test]
fn lf_and_crlf_both_end_a_line_and_blank_lines_get_no_reply() {
    assert_eq!(
        parse_default("\n\r\n   \r\n\tgroup  a \r\ngroup b\n"),
        [request(Request::Group("a".to_owned())), request(Request::Group("b".to_owned()))]
    );
}

#[test]
fn data_lines_are_unstuffed_and_each_ends_in_lf() {
    let input = "data g\r\n..\r\n...\n. \n.\rx\r\nend\r\r\n.\r\n";
    assert_eq!(
        parse_default(input),
        [Parsed::DataStarted, publish(Some("g"), b".\n..\n. \n.\rx\nend\r\n")]
    );
}

#[test]
fn data_ended_at_once_is_an_empty_message() {
    assert_eq!(parse_default("data\n.\n"), [Parsed::DataStarted, publish(None, b"")]);
    assert_eq!(
        parse_default("binary 0 g\nhelp\n"),
        [publish(Some("g"), b""), request(Request::Help)]
    );
}

#[test]
fn binary_bytes_are_taken_as_they_are() {
    let mut input = b"BINARY 6 g\r\n".to_vec();
    input.extend_from_slice(b"\0\n.\r\n\xff");
    input.extend_from_slice(b"help\n");
    assert_eq!(
        parse(LineLimits::default(), &input),
        [publish(Some("g"), b"\0\n.\r\n\xff"), request(Request::Help)]
    );
}

#[test]
fn an_unknown_command_is_500_and_the_next_line_is_read() {
    let long = "z".repeat(50);
    assert_eq!(
        parse_default(&format!("FROB x y\n{long}\nhelp\n")),
        [
            bad(500, "unknown command `FROB`; try `help`"),
            bad(500, &format!("unknown command `{}...`; try `help`", "z".repeat(40))),
            request(Request::Help),
        ]
    );
}

#[test]
fn wrong_arguments_are_501_with_the_usage() {
    let input = "group\ngroups x\ntopology\nhelp me\ndata a b\nbinary\nbinary 1 g x\nquit now\n";
    assert_eq!(
        parse_default(input),
        [
            bad(501, "usage: group NAME"),
            bad(501, "usage: groups"),
            bad(501, "usage: topology NAME"),
            bad(501, "usage: help"),
            bad(501, "usage: data [GROUP]"),
            bad(501, "usage: binary SIZE [GROUP]"),
            bad(501, "usage: binary SIZE [GROUP]"),
            bad(501, "usage: quit"),
        ]
    );
}

#[test]
fn a_binary_size_that_is_too_large_negative_or_not_a_number_takes_no_bytes() {
    let limits = limits(4096, 10);
    for (size, reply) in [
        ("11", bad(552, "a message of 11 bytes is above the 10-byte limit")),
        (
            "99999999999999999999999999",
            bad(552, "a message of 99999999999999999999999999 bytes is above the 10-byte limit"),
        ),
        ("-1", bad(501, "SIZE must be a whole number of bytes, not `-1`")),
        ("+5", bad(501, "SIZE must be a whole number of bytes, not `+5`")),
        ("ten", bad(501, "SIZE must be a whole number of bytes, not `ten`")),
        ("1.5", bad(501, "SIZE must be a whole number of bytes, not `1.5`")),
    ] {
        let input = format!("binary {size} g\nhelp\n");
        assert_eq!(parse(limits, input.as_bytes()), [reply, request(Request::Help)], "{size}");
    }
    let input = b"binary 10\n0123456789help\n";
    assert_eq!(parse(limits, input), [publish(None, b"0123456789"), request(Request::Help)]);
}

#[test]
fn an_over_long_line_is_refused_and_skipped_without_being_kept() {
    let limits = limits(6, 1 << 20);
    assert_eq!(
        parse(limits, b"groups\r\ngroups\n"),
        [request(Request::Groups), request(Request::Groups)]
    );
    assert_eq!(
        parse(limits, b"groups \r\n groups\nhelp\n"),
        [
            bad(500, "line longer than 6 bytes"),
            bad(500, "line longer than 6 bytes"),
            request(Request::Help),
        ]
    );
    let mut parser = Parser::new(limits);
    let mut out = Vec::new();
    let chunk = [b'a'; 1 << 16];
    for _ in 0..16 {
        parser.feed(&chunk, &mut out);
        assert!(parser.buffered() <= 7, "held {} bytes", parser.buffered());
    }
    assert!(out.is_empty());
    parser.feed(b"\r\nhelp\n", &mut out);
    assert_eq!(out, [bad(500, "line longer than 6 bytes"), request(Request::Help)]);
}

#[test]
fn a_data_body_past_the_limit_is_dropped_to_its_dot_and_refused_with_552() {
    let limits = limits(4096, 10);
    assert_eq!(
        parse(limits, b"data\n012345678\n.\n"),
        [Parsed::DataStarted, publish(None, b"012345678\n")]
    );
    let mut parser = Parser::new(limits);
    let mut out = Vec::new();
    parser.feed(b"data g\n", &mut out);
    for _ in 0..1000 {
        parser.feed(b"a line of data\r\n", &mut out);
        assert!(parser.buffered() <= 10, "held {} bytes", parser.buffered());
    }
    parser.feed(b".\r\nhelp\n", &mut out);
    assert_eq!(
        out,
        [
            Parsed::DataStarted,
            bad(552, "the message is above the 10-byte limit and was not flooded"),
            request(Request::Help),
        ]
    );
}

#[test]
fn a_line_that_is_not_utf8_is_500() {
    assert_eq!(
        parse(LineLimits::default(), b"group \xff\xfe\nhelp\n"),
        [bad(500, "the line is not UTF-8 text"), request(Request::Help)]
    );
}

#[test]
fn a_body_buffer_never_reserves_more_than_the_limit() {
    let mut buffer = Vec::new();
    for _ in 0..100 {
        extend_within(&mut buffer, b"0123456789", 1000);
    }
    assert_eq!(buffer.len(), 1000);
    assert_eq!(buffer.capacity(), 1000);
}
