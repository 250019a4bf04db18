//! [`EventStream`]: the node's Server-Sent Events (`GET /v1/events`), one [`Event`] at a time.
//!
//! Only what the node sends is read: `event` and `data` fields, comments (its keep-alives)
//! skipped, `id` and `retry` ignored, as the SSE specification has a client do.

use std::fmt;
use std::io::BufRead;

use anyhow::{Context, Result};

/// One event of the node's event stream: its name and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The SSE event name (`message`, `member`, `lagged`, ...); `message` when unnamed.
    pub name: String,
    /// The data lines, joined by newlines.
    pub data: String,
}

/// The node's Server-Sent Events, read one event at a time.
pub struct EventStream {
    lines: Box<dyn BufRead + Send>,
    base: String,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream").field("base", &self.base).finish_non_exhaustive()
    }
}

impl EventStream {
    /// The events in `lines`, the stream of the node at `base` (named in errors).
    pub fn new(lines: impl BufRead + Send + 'static, base: String) -> EventStream {
        EventStream { lines: Box::new(lines), base }
    }

    /// The next event; `None` when the node ended the stream.
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        let mut name = String::new();
        let mut data: Option<String> = None;
        let mut line = String::new();
        loop {
            line.clear();
            let read = self.lines.read_line(&mut line).with_context(|| {
                format!("reading the event stream of the node at {}", self.base)
            })?;
            if read == 0 {
                return Ok(None);
            }
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                // A blank line dispatches the event; one without data is no event (SSE).
                if let Some(data) = data.take() {
                    let name = if name.is_empty() { "message".to_owned() } else { name };
                    return Ok(Some(Event { name, data }));
                }
                name.clear();
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => value.clone_into(&mut name),
                "data" => match &mut data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => data = Some(value.to_owned()),
                },
                // Comments (keep-alives) have an empty field name; `id` and `retry` are unused.
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_fields_follow_the_sse_rules() {
        let text = ": comment\nevent:message\ndata: {\"a\":\ndata:1}\nid: 7\n\ndata: x\r\n\r\n";
        let mut stream =
            EventStream::new(std::io::Cursor::new(text.as_bytes().to_vec()), "test".into());
        let first = stream.next_event().unwrap().unwrap();
        assert_eq!((first.name.as_str(), first.data.as_str()), ("message", "{\"a\":\n1}"));
        let second = stream.next_event().unwrap().unwrap();
        assert_eq!((second.name.as_str(), second.data.as_str()), ("message", "x"));
        assert_eq!(stream.next_event().unwrap(), None);
    }
}
