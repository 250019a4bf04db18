//! Human output of the client commands: aligned tables and `key: value` outlines.
//!
//! Pure functions from the API's views to text, so that the layout is tested without a node.
//! Machine output (`--json`) does not come through here: it prints the API's JSON as it came.

use std::time::Duration;

use herald_core::NODE_ID_SHORT_LEN;
use herald_node::api::model::{MemberView, ServiceView, StatusView};
use serde_json::Value;

/// The short form of a node id: its first [`NODE_ID_SHORT_LEN`] characters.
pub fn short_id(id: &str) -> &str {
    match id.char_indices().nth(NODE_ID_SHORT_LEN) {
        Some((end, _)) => &id[..end],
        None => id,
    }
}

/// Lays out `rows` under `headers` in columns two spaces apart. The last column is not padded,
/// so lines carry no trailing blanks.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header_row: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header_row).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[index].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `herald status`: one `key: value` line per field, values aligned.
pub fn status(view: &StatusView) -> String {
    let addresses = join_or_dash(view.addresses.iter().map(ToString::to_string));
    let counts = &view.counts;
    let lines = [
        ("node id", view.node_id.clone()),
        ("name", view.name.clone()),
        ("role", view.role.clone()),
        ("grid", view.grid_id.clone()),
        ("addresses", addresses),
        ("uptime", duration(Duration::from_secs(view.uptime_s))),
        ("version", view.version.clone()),
        ("ready", readiness(view)),
        ("members", format!("{} ({} alive)", counts.members, counts.alive)),
        ("services", counts.services.to_string()),
        ("records", counts.records.to_string()),
        ("neighbours", counts.neighbours.to_string()),
    ];
    key_values(&lines)
}

/// The `ready` line: yes, or no with the node's reason.
fn readiness(view: &StatusView) -> String {
    match (&view.not_ready_reason, view.ready) {
        (_, true) => "yes".to_owned(),
        (Some(reason), false) => format!("no: {reason}"),
        (None, false) => "no".to_owned(),
    }
}

/// `herald members`: a table, one member a row.
pub fn members(views: &[MemberView]) -> String {
    if views.is_empty() {
        return "no members known\n".to_owned();
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|member| {
            vec![
                short_id(&member.node_id).to_owned(),
                dash_if_empty(&member.name),
                dash_if_empty(&member.role),
                member.state.clone(),
                join_or_dash(member.addresses.iter().map(ToString::to_string)),
                member.rtt_ms.map_or("-".to_owned(), |rtt| format!("{rtt} ms")),
                member.last_heard_ms_ago.map_or("-".to_owned(), ago),
            ]
        })
        .collect();
    table(&["ID", "NAME", "ROLE", "STATE", "ADDRESSES", "RTT", "LAST HEARD"], &rows)
}

/// `herald services`: a table, one announcement a row; a withdrawal shows as `(withdrawn)`.
pub fn services(views: &[ServiceView]) -> String {
    if views.is_empty() {
        return "no announcements known\n".to_owned();
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|view| {
            let payload = match &view.payload {
                Value::Null => "(withdrawn)".to_owned(),
                payload => payload.to_string(),
            };
            vec![
                short_id(&view.origin).to_owned(),
                view.service.clone(),
                view.seq.to_string(),
                payload,
            ]
        })
        .collect();
    table(&["ORIGIN", "SERVICE", "SEQ", "PAYLOAD"], &rows)
}

/// Any JSON document as an indented outline: objects as aligned `key: value` lines, arrays as
/// `- item` lines, scalars as themselves. For `stats` and `overlay`, whose shapes the node owns.
pub fn outline(value: &Value) -> String {
    let mut out = String::new();
    outline_into(value, 0, &mut out);
    if out.is_empty() {
        out.push_str("(empty)\n");
    }
    out
}

fn outline_into(value: &Value, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            let width = map.keys().map(|k| k.chars().count()).max().unwrap_or(0);
            for (key, item) in map {
                if is_scalar(item) || is_empty(item) {
                    let pad = " ".repeat(width - key.chars().count());
                    out.push_str(&format!("{indent}{key}:{pad} {}\n", scalar(item)));
                } else {
                    out.push_str(&format!("{indent}{key}:\n"));
                    outline_into(item, depth + 1, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if is_scalar(item) || is_empty(item) {
                    out.push_str(&format!("{indent}- {}\n", scalar(item)));
                } else {
                    out.push_str(&format!("{indent}-\n"));
                    outline_into(item, depth + 1, out);
                }
            }
        }
        scalar_value => out.push_str(&format!("{indent}{}\n", scalar(scalar_value))),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Object(_) | Value::Array(_))
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// A scalar as a human reads it: strings without quotes, empty containers as `-`.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_owned(),
        Value::Object(_) | Value::Array(_) if is_empty(value) => "-".to_owned(),
        other => other.to_string(),
    }
}

/// `key: value` lines, the values aligned one column after the longest key.
pub fn key_values(lines: &[(&str, String)]) -> String {
    let width = lines.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    lines
        .iter()
        .map(|(key, value)| format!("{key}:{} {value}\n", " ".repeat(width - key.len())))
        .collect()
}

fn join_or_dash(items: impl Iterator<Item = String>) -> String {
    let joined = items.collect::<Vec<_>>().join(",");
    if joined.is_empty() { "-".to_owned() } else { joined }
}

fn dash_if_empty(text: &str) -> String {
    if text.is_empty() { "-".to_owned() } else { text.to_owned() }
}

/// A duration in whole seconds as humantime writes it ("1h 2m 3s"); under a second, "0s".
fn duration(elapsed: Duration) -> String {
    humantime::format_duration(Duration::from_secs(elapsed.as_secs())).to_string()
}

/// "how long ago", from milliseconds: "now" under a second, else whole seconds.
fn ago(ms: u64) -> String {
    if ms < 1000 {
        "now".to_owned()
    } else {
        format!("{} ago", duration(Duration::from_millis(ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_node::api::model::StatusCounts;
    use serde_json::json;

    const ID: &str = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz";

    #[test]
    fn short_id_keeps_ten_characters() {
        assert_eq!(short_id(ID), "abcdefghij");
        assert_eq!(short_id("abc"), "abc");
    }

    #[test]
    fn table_aligns_columns_without_trailing_blanks() {
        let text =
            table(&["A", "LONG HEADER", "C"], &[vec!["wide cell".into(), "x".into(), "".into()]]);
        assert_eq!(text, "A          LONG HEADER  C\nwide cell  x\n");
    }

    #[test]
    fn status_lines_are_aligned_key_values() {
        let view = StatusView {
            node_id: ID.into(),
            name: "alpha".into(),
            role: "server".into(),
            grid_id: "grid".into(),
            addresses: vec!["127.0.0.1:7420".parse().unwrap()],
            uptime_s: 3723,
            version: "0.1.0".into(),
            ready: true,
            not_ready_reason: None,
            counts: StatusCounts { members: 3, alive: 2, ..StatusCounts::default() },
        };
        let text = status(&view);
        assert!(text.contains("ready:      yes\n"), "{text}");
        let waiting = StatusView {
            ready: false,
            not_ready_reason: Some("no neighbour yet".into()),
            ..view.clone()
        };
        assert!(status(&waiting).contains("ready:      no: no neighbour yet\n"));
        assert!(text.starts_with(&format!("node id:    {ID}\n")), "{text}");
        assert!(text.contains("uptime:     1h 2m 3s\n"), "{text}");
        assert!(text.contains("members:    3 (2 alive)\n"), "{text}");
    }

    #[test]
    fn members_table_shows_short_ids_and_dashes_for_unknowns() {
        let view = MemberView {
            node_id: ID.into(),
            name: String::new(),
            role: "client".into(),
            state: "suspect".into(),
            addresses: vec![],
            rtt_ms: Some(12),
            last_heard_ms_ago: Some(61_500),
            seq: 1,
        };
        let text = members(&[view]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ID          NAME  ROLE    STATE    ADDRESSES  RTT    LAST HEARD");
        assert_eq!(lines[1], "abcdefghij  -     client  suspect  -          12 ms  1m 1s ago");
        assert_eq!(members(&[]), "no members known\n");
    }

    #[test]
    fn services_table_prints_compact_payloads_and_withdrawals() {
        let view = |service: &str, payload| ServiceView {
            origin: ID.into(),
            service: service.into(),
            seq: 4,
            issued_at: 0,
            payload,
        };
        let text = services(&[view("web", json!({"port": 80})), view("old", Value::Null)]);
        assert_eq!(
            text,
            "ORIGIN      SERVICE  SEQ  PAYLOAD\n\
             abcdefghij  web      4    {\"port\":80}\n\
             abcdefghij  old      4    (withdrawn)\n"
        );
    }

    #[test]
    fn outline_indents_nested_values() {
        let value = json!({"in": {"announce": 3, "probe": 10}, "active": ["a", "b"], "none": []});
        assert_eq!(
            outline(&value),
            "active:\n  - a\n  - b\nin:\n  announce: 3\n  probe:    10\nnone:   -\n"
        );
        assert_eq!(outline(&json!({})), "(empty)\n");
    }
}
