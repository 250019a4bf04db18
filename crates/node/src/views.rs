//! What the API shows, built from the actor's state: status, members, services, overlay,
//! counters and Prometheus metrics.

use std::fmt::Write as _;
use std::sync::Arc;

use herald_core::{MemberState, NodeId, Profile, RecordKind, Role, SignedRecord, SlotKey};

use crate::actor::Actor;
use crate::api::model::{MemberView, ServiceView, StatusCounts, StatusView};
use crate::datadir::Contact;

/// The profile `id` announced, if it arrived.
fn profile_of(actor: &Actor, id: NodeId) -> Option<Profile> {
    let slot = SlotKey { origin: id, family: RecordKind::Profile, key: String::new() };
    actor.node.records().get(&slot).and_then(|record| Profile::decode(&record.record.payload))
}

/// `GET /v1/status`.
pub(crate) fn status(actor: &Actor) -> StatusView {
    StatusView {
        node_id: actor.id().to_string(),
        name: actor.profile.name.clone(),
        role: actor.profile.role.name().to_owned(),
        grid_id: actor.policy.grid.to_string(),
        addresses: actor.advertised.clone(),
        uptime_s: actor.started.elapsed().as_secs(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ready: actor.ready,
        counts: StatusCounts {
            members: 1 + actor.node.membership().map_or(0, |m| m.members().len() as u64),
            alive: members_in(actor, MemberState::Alive),
            records: actor.node.records().len() as u64,
            services: actor.node.services(None).count() as u64,
            neighbours: actor.node.overlay().active().len() as u64,
        },
    }
}

/// How many members, this node included (it is alive to itself), are in `state`.
fn members_in(actor: &Actor, state: MemberState) -> u64 {
    let others = actor.node.membership().map_or(0, |membership| {
        membership.members().values().filter(|member| member.state == state).count()
    });
    others as u64 + u64::from(state == MemberState::Alive)
}

/// One member as this node sees it; `None` if it is not known.
pub(crate) fn member(actor: &Actor, id: NodeId) -> Option<MemberView> {
    let profile = profile_of(actor, id);
    let (name, role, addresses) = match profile {
        Some(profile) => (profile.name, profile.role.name().to_owned(), profile.addresses),
        None => (String::new(), String::new(), actor.addresses.of(&id)),
    };
    if id == actor.id() {
        let membership = actor.node.membership();
        return Some(MemberView {
            node_id: id.to_string(),
            name,
            role,
            state: MemberState::Alive.name().to_owned(),
            addresses,
            rtt_ms: Some(0),
            last_heard_ms_ago: Some(0),
            seq: membership.map_or(0, |membership| membership.incarnation()),
        });
    }
    let known = actor.node.membership()?.members().get(&id)?;
    Some(MemberView {
        node_id: id.to_string(),
        name,
        role,
        state: known.state.name().to_owned(),
        addresses,
        rtt_ms: known.rtt().map(|rtt| rtt.as_millis() as u64),
        last_heard_ms_ago: known.last_heard.map(|at| actor.clock.since(at).as_millis() as u64),
        seq: known.incarnation,
    })
}

/// `GET /v1/members`: this node first, then every member it knows, in id order.
pub(crate) fn members(actor: &Actor) -> Vec<MemberView> {
    let others = actor.node.membership().map(|membership| membership.members().keys().copied());
    std::iter::once(actor.id())
        .chain(others.into_iter().flatten())
        .filter_map(|id| member(actor, id))
        .collect()
}

/// One announcement (or withdrawal, with a null payload) as the API shows it.
pub(crate) fn service(record: &Arc<SignedRecord>) -> ServiceView {
    let payload = if record.record.kind == RecordKind::Announcement {
        serde_json::from_slice(&record.record.payload).unwrap_or(serde_json::Value::Null)
    } else {
        serde_json::Value::Null
    };
    ServiceView {
        origin: record.record.origin.to_string(),
        service: record.record.key.clone(),
        seq: record.record.version.seq,
        issued_at: record.record.issued_at_ms,
        payload,
    }
}

/// `GET /v1/services`.
pub(crate) fn services(actor: &Actor, name: Option<&str>) -> Vec<ServiceView> {
    actor.node.services(name).map(service).collect()
}

/// Servers this node considers alive, with their addresses, this node first if it is one.
pub(crate) fn live_servers(actor: &Actor, limit: usize) -> Vec<Contact> {
    let me = actor.id();
    let alive_others = actor.node.membership().into_iter().flat_map(|membership| {
        membership
            .members()
            .iter()
            .filter(|(_, member)| member.state == MemberState::Alive)
            .map(|(id, _)| *id)
    });
    std::iter::once(me)
        .chain(alive_others)
        .filter(|id| {
            let role = if *id == me {
                Some(actor.profile.role)
            } else {
                profile_of(actor, *id).map(|p| p.role)
            };
            role == Some(Role::Server)
        })
        .map(|id| Contact {
            id,
            addresses: if id == me { actor.advertised.clone() } else { actor.addresses.of(&id) },
        })
        .filter(|contact| !contact.addresses.is_empty())
        .take(limit)
        .collect()
}

/// `GET /v1/overlay`.
pub(crate) fn overlay(actor: &Actor) -> serde_json::Value {
    let ids = |set: &std::collections::BTreeSet<NodeId>| -> Vec<String> {
        set.iter().map(NodeId::to_string).collect()
    };
    let overlay = actor.node.overlay();
    let broadcast = actor.node.broadcast();
    serde_json::json!({
        "active": ids(overlay.active()),
        "passive": ids(overlay.passive()),
        "clients": ids(overlay.clients()),
        "eager": ids(broadcast.eager()),
        "lazy": ids(broadcast.lazy()),
    })
}

/// `GET /v1/stats`: the core's counters and the transport's.
pub(crate) fn stats(actor: &Actor) -> serde_json::Value {
    serde_json::json!({
        "core": actor.node.stats(),
        "transport": actor.transport.stats(),
    })
}

/// `GET /metrics`: every counter of [`stats`], flattened, plus member counts by state.
pub(crate) fn metrics(actor: &Actor) -> String {
    let mut text = String::new();
    flatten_metrics(&mut text, "herald", &stats(actor));
    let _ = writeln!(text, "# TYPE herald_members gauge");
    for state in [MemberState::Alive, MemberState::Suspect, MemberState::Dead, MemberState::Left] {
        let (name, count) = (state.name(), members_in(actor, state));
        let _ = writeln!(text, "herald_members{{state=\"{name}\"}} {count}");
    }
    let _ = writeln!(text, "# TYPE herald_records gauge");
    let _ = writeln!(text, "herald_records {}", actor.node.records().len());
    text
}

fn flatten_metrics(text: &mut String, prefix: &str, value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                flatten_metrics(text, &format!("{prefix}_{key}"), inner);
            }
        }
        serde_json::Value::Number(number) => {
            let _ = writeln!(text, "# TYPE {prefix} counter");
            let _ = writeln!(text, "{prefix} {number}");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_counters_flatten_into_prometheus_lines() {
        let mut text = String::new();
        let value = serde_json::json!({"core": {"frames_in": 3}, "dropped": 1, "name": "x"});
        flatten_metrics(&mut text, "herald", &value);
        assert!(text.contains("herald_core_frames_in 3\n"), "{text}");
        assert!(text.contains("herald_dropped 1\n"), "{text}");
        assert!(!text.contains("name"), "{text}");
    }
}
