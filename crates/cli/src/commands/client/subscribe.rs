//! `herald subscribe GROUP [--from-start]`: a group's messages on stdout as they arrive.
//!
//! New messages come from the node's event stream (`message` events of the group). With
//! `--from-start` the messages the node already holds come first, paged from
//! `/v1/groups/{g}/messages`. The seam between the two must neither lose nor repeat a message,
//! so the order is: open the event stream (the node subscribes this client before it answers),
//! then page through what is held, then go on with the events, skipping those whose message a
//! page printed already. A message delivered while the pages are read is in a page and in an
//! event; one delivered before the stream opened is in a page only; one delivered after the
//! last page is read is in an event only.
//!
//! A thread reads the event stream while the pages are read, so that the node's event channel
//! does not overflow meanwhile; its queue is bounded, so a reader that stops reading pushes back
//! on the node, which then reports `lagged` (said on stderr) rather than this process growing.

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use clap::Args;
use herald_node::api::model::{MessageView, MessagesPage};

use super::events::EventStream;
use super::groups::group_path;
use super::http::TooLong;
use super::{ApiArgs, Client, parse};

/// Messages asked for in one page; halved while a page's answer is over [`PAGE_BYTES_MAX`].
const PAGE_LIMIT: usize = 256;
/// The largest page answer read: room for a 16 MiB message in base64 with its fields.
const PAGE_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Events read ahead of the output, at most.
const EVENTS_QUEUED_MAX: usize = 256;

/// Arguments of `herald subscribe`.
#[derive(Args, Debug)]
#[command(after_help = "\
Prints the raw bodies one after another, as floodd's export command gets them; with --json,
one JSON object per line: {group, id, origin, seq, received_at, data_base64}.
Runs until interrupted; it fails (exit 1) when the node ends the stream.")]
pub struct SubscribeArgs {
    /// The group whose messages to print.
    pub group: String,
    /// First print every message the node holds in the group, then the new ones.
    #[arg(long)]
    pub from_start: bool,
    /// Where the node is, and the output format.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// What the event thread hands over.
enum Item {
    /// A message of the group.
    Message(MessageView),
    /// The node dropped this many events for this client: it read too slowly.
    Lagged(String),
}

/// `herald subscribe`: prints the group's messages until the stream ends.
pub fn subscribe(args: SubscribeArgs) -> Result<()> {
    let client = Client::new(&args.api)?;
    // An unknown group is an error now, rather than a stream that stays silent forever.
    client.get(&group_path(&args.group), &[])?;
    let events = client.events()?;
    let (queue, queued) = sync_channel(EVENTS_QUEUED_MAX);
    let group = args.group.clone();
    let reader = thread::spawn(move || read_events(events, &group, &queue));

    let mut out = Printer { json: args.api.json, out: io::stdout().lock() };
    let mut paged = HashSet::new();
    if args.from_start {
        page_through(&client, &args.group, |message| {
            out.print(&message)?;
            paged.insert(message.id);
            Ok(())
        })?;
    }
    follow(&queued, &mut paged, &mut out, &args.group)?;
    match reader.join() {
        Ok(Ok(())) => Err(anyhow!(
            "the node at {} ended the event stream: it stopped or restarted",
            client.base_url()
        )),
        Ok(Err(error)) => Err(error),
        Err(_) => bail!("the thread reading the node's events failed"),
    }
}

/// Prints the queued messages until the event thread ends, skipping (and forgetting) those a
/// page printed: each message has one event, so an id is skipped at most once.
fn follow(
    queued: &Receiver<Item>,
    paged: &mut HashSet<String>,
    out: &mut Printer<impl Write>,
    group: &str,
) -> Result<()> {
    for item in queued {
        match item {
            Item::Message(message) if paged.remove(&message.id) => {}
            Item::Message(message) => out.print(&message)?,
            Item::Lagged(missed) => eprintln!(
                "herald: this reader fell behind the node's events ({missed}); some messages \
                 of {group} may be missing"
            ),
        }
    }
    Ok(())
}

/// Reads events until the stream ends or `queue`'s reader goes away, passing on the messages of
/// `group` and the lag notices.
fn read_events(mut events: EventStream, group: &str, queue: &SyncSender<Item>) -> Result<()> {
    while let Some(event) = events.next_event()? {
        let item = match event.name.as_str() {
            "message" => {
                let message: MessageView = serde_json::from_str(&event.data)
                    .context("the node sent a message event of an unexpected shape")?;
                if message.group != group {
                    continue;
                }
                Item::Message(message)
            }
            "lagged" => Item::Lagged(lag_text(&event.data)),
            _ => continue,
        };
        if queue.send(item).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// "missed 12 events" from a `lagged` event's `{"missed": 12}`.
fn lag_text(data: &str) -> String {
    let missed = serde_json::from_str::<serde_json::Value>(data)
        .ok()
        .and_then(|value| value["missed"].as_u64());
    match missed {
        Some(missed) => format!("missed {missed} events"),
        None => "missed some events".to_owned(),
    }
}

/// Hands every message the node holds in `group` to `each`, oldest first.
fn page_through(
    client: &Client,
    group: &str,
    mut each: impl FnMut(MessageView) -> Result<()>,
) -> Result<()> {
    let path = format!("{}/messages", group_path(group));
    let mut after = String::new();
    let mut limit = PAGE_LIMIT;
    loop {
        let limit_text = limit.to_string();
        let mut query = vec![("limit", limit_text.as_str())];
        if !after.is_empty() {
            query.push(("after", after.as_str()));
        }
        let answer = match client.get_large(&path, &query, PAGE_BYTES_MAX) {
            // Large messages: ask for fewer at a time. One message always fits.
            Err(error) if limit > 1 && error.downcast_ref::<TooLong>().is_some() => {
                limit /= 2;
                continue;
            }
            other => other?,
        };
        let page = parse::<MessagesPage>(answer, "messages page")?;
        let count = page.messages.len();
        for message in page.messages {
            each(message)?;
        }
        // A page short of the limit is the last: the node looked at everything after the
        // cursor. A cursor that does not move would ask for the same page again.
        if count < limit || page.next == after {
            return Ok(());
        }
        after = page.next;
    }
}

/// Writes messages as raw bodies or as JSON lines, flushing after each so that a reader down
/// a pipe gets it at once.
struct Printer<W: Write> {
    json: bool,
    out: W,
}

impl<W: Write> Printer<W> {
    fn print(&mut self, message: &MessageView) -> Result<()> {
        if self.json {
            let line = serde_json::to_string(message).context("encoding a message as JSON")?;
            self.out.write_all(line.as_bytes())?;
            self.out.write_all(b"\n")?;
        } else {
            let body = base64::engine::general_purpose::STANDARD
                .decode(&message.data_base64)
                .with_context(|| {
                    format!("the body of message {} is not valid base64", message.id)
                })?;
            self.out.write_all(&body)?;
        }
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(group: &str, id: &str, body: &str) -> MessageView {
        MessageView {
            group: group.into(),
            id: id.into(),
            origin: "o".into(),
            seq: 1,
            received_at: 0,
            data_base64: base64::engine::general_purpose::STANDARD.encode(body),
        }
    }

    fn sse(events: &[(&str, String)]) -> EventStream {
        let mut text = String::from(": keep-alive\n\n");
        for (name, data) in events {
            text.push_str(&format!("event: {name}\ndata: {data}\n\n"));
        }
        EventStream::new(io::Cursor::new(text.into_bytes()), "test".into())
    }

    #[test]
    fn events_of_other_groups_and_kinds_are_passed_over() {
        let json = |message: &MessageView| serde_json::to_string(message).unwrap();
        let stream = sse(&[
            ("message", json(&view("other", "1", "x"))),
            ("member", "{}".to_owned()),
            ("message", json(&view("g", "2", "y"))),
            ("lagged", r#"{"missed":3}"#.to_owned()),
        ]);
        let (queue, queued) = sync_channel(8);
        read_events(stream, "g", &queue).unwrap();
        drop(queue);
        let items: Vec<String> = queued
            .iter()
            .map(|item| match item {
                Item::Message(message) => format!("message {}", message.id),
                Item::Lagged(missed) => missed,
            })
            .collect();
        assert_eq!(items, ["message 2", "missed 3 events"]);
    }

    #[test]
    fn events_of_paged_messages_are_skipped_once() {
        let (queue, queued) = sync_channel(8);
        for (id, body) in [("1", "a"), ("2", "b"), ("3", "c")] {
            queue.send(Item::Message(view("g", id, body))).unwrap();
        }
        drop(queue);
        let mut paged: HashSet<String> = ["1".to_owned(), "9".to_owned()].into();
        let mut out = Printer { json: false, out: Vec::new() };
        follow(&queued, &mut paged, &mut out, "g").unwrap();
        assert_eq!(String::from_utf8(out.out).unwrap(), "bc");
        assert_eq!(paged, ["9".to_owned()].into(), "a skipped id is forgotten");
    }

    #[test]
    fn json_lines_carry_the_whole_view() {
        let mut out = Printer { json: true, out: Vec::new() };
        out.print(&view("g", "1", "hi")).unwrap();
        assert_eq!(
            String::from_utf8(out.out).unwrap(),
            "{\"group\":\"g\",\"id\":\"1\",\"origin\":\"o\",\"seq\":1,\"received_at\":0,\
             \"data_base64\":\"aGk=\"}\n"
        );
    }
}
