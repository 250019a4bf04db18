//! Tests of the line protocol's server over real loopback TCP (and, for a peer that is not
//! loopback, over an in-memory stream), with a fake node behind it.

use std::sync::Mutex;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;

use super::*;
use crate::floodd::line::service::{BoxFuture, Nearest};

const WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Publish(Option<String>, Vec<u8>),
    Exit,
}

/// A node with groups `mirror-1` (members master and inferno) and `mirror-2` (no members). A
/// message to group `busy` is refused as busy, to `big` as too large.
struct Fake {
    calls: Mutex<Vec<Call>>,
    nearest: Option<Nearest>,
}

impl Fake {
    fn new() -> Arc<Fake> {
        let nearest = Nearest { node: "abcdefghij".to_owned(), rtt: Duration::from_micros(12_340) };
        Arc::new(Fake { calls: Mutex::new(Vec::new()), nearest: Some(nearest) })
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

impl FlooddService for Fake {
    fn groups(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async { strings(&["mirror-1", "mirror-2"]) })
    }

    fn members(&self, group: String) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(async move {
            match group.as_str() {
                "mirror-1" => Some(strings(&["master", "inferno"])),
                "mirror-2" => Some(Vec::new()),
                _ => None,
            }
        })
    }

    fn publish(
        &self,
        group: Option<String>,
        body: Vec<u8>,
    ) -> BoxFuture<'_, Result<String, PublishError>> {
        Box::pin(async move {
            match group.as_deref() {
                None => Err(PublishError::Ambiguous { groups: strings(&["mirror-1", "mirror-2"]) }),
                Some("busy") => Err(PublishError::Busy),
                Some("big") => Err(PublishError::TooLarge { limit: 3 }),
                Some("mirror-1" | "mirror-2") => {
                    let mut calls = self.calls.lock().unwrap();
                    calls.push(Call::Publish(group, body));
                    Ok(format!("id-{}", calls.len()))
                }
                Some(other) => Err(PublishError::NoSuchGroup(other.to_owned())),
            }
        })
    }

    fn statistics(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async { strings(&["messages_flooded 2", "peers 1"]) })
    }

    fn topology(&self, group: String) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(async move {
            match group.as_str() {
                "mirror-1" => Some(strings(&["master inferno 12.5"])),
                "mirror-2" => Some(Vec::new()),
                _ => None,
            }
        })
    }

    fn nearest(&self) -> BoxFuture<'_, Option<Nearest>> {
        Box::pin(async { self.nearest.clone() })
    }

    fn exit(&self) -> BoxFuture<'_, ()> {
        Box::pin(async { self.calls.lock().unwrap().push(Call::Exit) })
    }
}

async fn start(service: Arc<Fake>, limits: LineLimits) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, service, limits));
    addr
}

struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Client {
    /// Connects and checks the greeting.
    async fn connect(addr: SocketAddr) -> Client {
        let mut client = Client::connect_only(addr).await;
        assert_eq!(client.reply().await, [format!("220 {GREETING}")]);
        client
    }

    async fn connect_only(addr: SocketAddr) -> Client {
        let (reader, writer) = TcpStream::connect(addr).await.unwrap().into_split();
        Client { reader: BufReader::new(reader), writer }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// Reads one reply, every line of it, without line ends (each checked to be CRLF).
    async fn reply(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = Vec::new();
            timeout(WAIT, self.reader.read_until(b'\n', &mut line)).await.unwrap().unwrap();
            let line = String::from_utf8(line).unwrap();
            let Some(text) = line.strip_suffix("\r\n") else {
                panic!("reply line {line:?} does not end in CRLF (after {lines:?})");
            };
            let last = text.len() == 3 || text.as_bytes()[3] == b' ';
            lines.push(text.to_owned());
            if last {
                return lines;
            }
        }
    }

    async fn send_and_reply(&mut self, bytes: &[u8]) -> Vec<String> {
        self.send(bytes).await;
        self.reply().await
    }

    async fn assert_closed(&mut self) {
        let mut rest = Vec::new();
        timeout(WAIT, self.reader.read_to_end(&mut rest)).await.unwrap().unwrap();
        assert_eq!(String::from_utf8_lossy(&rest), "", "nothing after the last reply");
    }
}

#[tokio::test]
async fn the_greeting_then_help_lists_every_command() {
    let addr = start(Fake::new(), LineLimits::default()).await;
    let mut client = Client::connect(addr).await;
    assert_eq!(
        client.send_and_reply(b"help\r\n").await,
        [
            "214-help                 this list",
            "214-group NAME           the members of group NAME",
            "214-groups               the groups, one a line",
            "214-data [GROUP]         flood the lines up to a line holding a single \".\" as one \
             message",
            "214-binary SIZE [GROUP]  flood the next SIZE bytes after this line as one message",
            "214-statistics           the node's counters",
            "214-topology NAME        the edges of group NAME with their costs",
            "214-nearest              the nearest known node and its round-trip time",
            "214-quit                 close this connection",
            "214 exit                 stop the daemon (only from the same machine)",
        ]
    );
}

#[tokio::test]
async fn data_is_flooded_and_answered_with_its_id() {
    let fake = Fake::new();
    let addr = start(Arc::clone(&fake), LineLimits::default()).await;
    let mut client = Client::connect(addr).await;
    assert_eq!(
        client.send_and_reply(b"DATA mirror-1\r\n").await,
        ["354 send the message; end it with a line holding a single \".\""]
    );
    assert_eq!(client.send_and_reply(b"hello\r\n..dot\r\n.\r\n").await, ["250 id-1"]);
    assert_eq!(
        fake.calls(),
        [Call::Publish(Some("mirror-1".to_owned()), b"hello\n.dot\n".to_vec())]
    );
}

#[tokio::test]
async fn binary_is_flooded_and_answered_with_its_id() {
    let fake = Fake::new();
    let addr = start(Arc::clone(&fake), LineLimits::default()).await;
    let mut client = Client::connect(addr).await;
    assert_eq!(client.send_and_reply(b"binary 5 mirror-2\n\0\x01\n.\n").await, ["250 id-1"]);
    assert_eq!(client.send_and_reply(b"binary 2 mirror-1\r\nab").await, ["250 id-2"]);
    assert_eq!(
        fake.calls(),
        [
            Call::Publish(Some("mirror-2".to_owned()), b"\0\x01\n.\n".to_vec()),
            Call::Publish(Some("mirror-1".to_owned()), b"ab".to_vec()),
        ]
    );
}

#[tokio::test]
async fn group_queries_answer_one_line_per_entry_and_an_unknown_group_is_550() {
    let addr = start(Fake::new(), LineLimits::default()).await;
    let mut client = Client::connect(addr).await;
    assert_eq!(client.send_and_reply(b"group nope\n").await, ["550 no group is named `nope`"]);
    assert_eq!(client.send_and_reply(b"group mirror-1\n").await, ["250-master", "250 inferno"]);
    assert_eq!(client.send_and_reply(b"group mirror-2\n").await, ["250"]);
    assert_eq!(client.send_and_reply(b"groups\n").await, ["250-mirror-1", "250 mirror-2"]);
    assert_eq!(client.send_and_reply(b"topology nope\n").await, ["550 no group is named `nope`"]);
    assert_eq!(client.send_and_reply(b"topology mirror-1\n").await, ["250 master inferno 12.5"]);
    assert_eq!(
        client.send_and_reply(b"statistics\n").await,
        ["250-messages_flooded 2", "250 peers 1"]
    );
    assert_eq!(client.send_and_reply(b"nearest\n").await, ["250 abcdefghij 12.3 ms"]);
}

#[tokio::test]
async fn nearest_with_no_known_node_is_450() {
    let fake = Arc::new(Fake { calls: Mutex::new(Vec::new()), nearest: None });
    let addr = start(fake, LineLimits::default()).await;
    let mut client = Client::connect(addr).await;
    assert_eq!(
        client.send_and_reply(b"nearest\n").await,
        ["450 no node's round-trip time is known yet"]
    );
}

#[tokio::test]
async fn each_refused_message_gets_its_code_and_the_connection_goes_on() {
    let fake = Fake::new();
    let addr = start(Arc::clone(&fake), LineLimits::default()).await;
    let mut client = Client::connect(addr).await;
    client.send(b"data\nx\n.\nbinary 1 busy\nxbinary 1 big\nxbinary 1 nope\nx").await;
    assert_eq!(
        client.reply().await,
        ["354 send the message; end it with a line holding a single \".\""]
    );
    assert_eq!(
        client.reply().await,
        ["501 this node is in several groups (mirror-1, mirror-2); name one"]
    );
    assert_eq!(client.reply().await, ["451 the node is busy; try again later"]);
    assert_eq!(client.reply().await, ["552 the message is above the 3-byte limit"]);
    assert_eq!(client.reply().await, ["550 no group is named `nope`"]);
    assert_eq!(client.send_and_reply(b"binary 1 mirror-1\nx").await, ["250 id-1"]);
    assert_eq!(fake.calls(), [Call::Publish(Some("mirror-1".to_owned()), b"x".to_vec())]);
}

#[tokio::test]
async fn bad_input_is_answered_in_order_and_the_next_command_still_works() {
    let limits = LineLimits { line_len_max: 64, message_size_max: 100, ..LineLimits::default() };
    let addr = start(Fake::new(), limits).await;
    let mut client = Client::connect(addr).await;
    let long = "x".repeat(1000);
    client
        .send(format!("frob\nbinary -1\nbinary 101 mirror-1\n{long}\ngroup\ngroups\n").as_bytes())
        .await;
    assert_eq!(client.reply().await, ["500 unknown command `frob`; try `help`"]);
    assert_eq!(client.reply().await, ["501 SIZE must be a whole number of bytes, not `-1`"]);
    assert_eq!(client.reply().await, ["552 a message of 101 bytes is above the 100-byte limit"]);
    assert_eq!(client.reply().await, ["500 line longer than 64 bytes"]);
    assert_eq!(client.reply().await, ["501 usage: group NAME"]);
    assert_eq!(client.reply().await, ["250-mirror-1", "250 mirror-2"]);
}

#[tokio::test]
async fn quit_answers_221_and_closes() {
    let fake = Fake::new();
    let addr = start(Arc::clone(&fake), LineLimits::default()).await;
    let mut client = Client::connect(addr).await;
    assert_eq!(client.send_and_reply(b"QUIT\r\n").await, ["221 closing the connection"]);
    client.assert_closed().await;
    assert_eq!(fake.calls(), []);
}

#[tokio::test]
async fn exit_from_loopback_answers_221_closes_and_stops_the_daemon() {
    let fake = Fake::new();
    let addr = start(Arc::clone(&fake), LineLimits::default()).await;
    let mut client = Client::connect(addr).await;
    assert_eq!(client.send_and_reply(b"exit\n").await, ["221 the daemon is stopping"]);
    client.assert_closed().await;
    timeout(WAIT, async {
        while fake.calls() != [Call::Exit] {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("exit is called");
}

/// Runs one connection over an in-memory stream from `peer`, sends `input`, and returns all the
/// server wrote.
async fn over_memory(fake: &Fake, peer: &str, input: &[u8]) -> String {
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let peer: SocketAddr = peer.parse().unwrap();
    client.write_all(input).await.unwrap();
    let served = connection(server, peer, fake, LineLimits::default());
    let mut output = Vec::new();
    let both = async { tokio::join!(served, client.read_to_end(&mut output)) };
    let (result, read) = timeout(WAIT, both).await.expect("the server closes the connection");
    result.unwrap();
    read.unwrap();
    String::from_utf8(output).unwrap()
}

#[tokio::test]
async fn exit_from_another_machine_is_refused_and_the_connection_goes_on() {
    let fake = Fake::new();
    assert_eq!(
        over_memory(&fake, "192.0.2.1:4000", b"exit\nquit\n").await,
        format!(
            "220 {GREETING}\r\n550 exit is accepted only from this machine (loopback)\r\n\
             221 closing the connection\r\n"
        )
    );
    assert_eq!(fake.calls(), []);
    // A loopback address written as IPv4-mapped IPv6 is loopback too.
    let output = over_memory(&fake, "[::ffff:127.0.0.1]:4000", b"exit\n").await;
    assert_eq!(output, format!("220 {GREETING}\r\n221 the daemon is stopping\r\n"));
    assert_eq!(fake.calls(), [Call::Exit]);
}

#[tokio::test]
async fn a_client_that_leaves_mid_message_loses_only_that_message() {
    let fake = Fake::new();
    let addr = start(Arc::clone(&fake), LineLimits::default()).await;
    let mut leaver = Client::connect(addr).await;
    assert_eq!(leaver.send_and_reply(b"data mirror-1\n").await[0].get(..4), Some("354 "));
    leaver.send(b"half a mess").await;
    drop(leaver);
    let mut stayer = Client::connect(addr).await;
    assert_eq!(stayer.send_and_reply(b"data mirror-1\n").await[0].get(..4), Some("354 "));
    assert_eq!(stayer.send_and_reply(b"whole\n.\n").await, ["250 id-1"]);
    assert_eq!(fake.calls(), [Call::Publish(Some("mirror-1".to_owned()), b"whole\n".to_vec())]);
}

#[tokio::test]
async fn connections_past_the_limit_are_told_421_and_closed() {
    let limits = LineLimits { connections_max: 1, ..LineLimits::default() };
    let addr = start(Fake::new(), limits).await;
    let mut first = Client::connect(addr).await;
    let mut second = Client::connect_only(addr).await;
    assert_eq!(second.reply().await, ["421 too many connections; try again later"]);
    second.assert_closed().await;
    assert_eq!(first.send_and_reply(b"quit\n").await, ["221 closing the connection"]);
    first.assert_closed().await;
    // The slot is given back when the first connection's task ends, just after it closes.
    timeout(WAIT, async {
        loop {
            let mut third = Client::connect_only(addr).await;
            if third.reply().await[0].starts_with("220 ") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("a slot is free again");
}
