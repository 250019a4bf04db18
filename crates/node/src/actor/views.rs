//! What the API shows, built from the actor's state: status, members, services, overlay,
//! counters and Prometheus metrics, as methods of the actor.

use herald_core::{MemberState, NodeId, Profile, RecordKind, Role, SlotKey};

use super::Actor;
use crate::api::model::{MemberView, StatusCounts, StatusView};
use crate::datadir::Contact;
use crate::metrics::Snapshot;

impl Actor {
    /// The profile `id` announced, if it arrived.
    pub(super) fn profile_of(&self, id: NodeId) -> Option<Profile> {
        let slot = SlotKey { origin: id, family: RecordKind::Profile, key: String::new() };
        self.node.records().get(&slot).and_then(|record| Profile::decode(&record.record.payload))
    }

    /// `GET /v1/status`.
    pub(crate) fn status_view(&self) -> StatusView {
        StatusView {
            node_id: self.id().to_string(),
            name: self.profile.name.clone(),
            role: self.profile.role.name().to_owned(),
            grid_id: self.policy.grid.to_string(),
            addresses: self.advertised.clone(),
            uptime_s: self.started.elapsed().as_secs(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ready: self.readiness.is_ready(),
            not_ready_reason: self
                .readiness
                .reason(self.node.overlay().active().len(), self.transport.stats().dial_failures),
            counts: StatusCounts {
                members: 1 + self.node.membership().map_or(0, |m| m.members().len() as u64),
                alive: self.members_in(MemberState::Alive),
                records: self.node.records().len() as u64,
                services: self.services.len() as u64,
                neighbours: self.node.overlay().active().len() as u64,
            },
        }
    }

    /// How many members, this node included (it is alive to itself), are in `state`.
    fn members_in(&self, state: MemberState) -> u64 {
        let others = self.node.membership().map_or(0, |membership| {
            membership.members().values().filter(|member| member.state == state).count()
        });
        others as u64 + u64::from(state == MemberState::Alive)
    }

    /// One member as this node sees it; `None` if it is not known.
    pub(crate) fn member_view(&self, id: NodeId) -> Option<MemberView> {
        let profile = self.profile_of(id);
        let (name, role, addresses) = match profile {
            Some(profile) => (profile.name, profile.role.name().to_owned(), profile.addresses),
            None => (String::new(), String::new(), self.addresses.of(&id)),
        };
        if id == self.id() {
            let membership = self.node.membership();
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
        let known = self.node.membership()?.members().get(&id)?;
        Some(MemberView {
            node_id: id.to_string(),
            name,
            role,
            state: known.state.name().to_owned(),
            addresses,
            rtt_ms: known.rtt().map(|rtt| rtt.as_millis() as u64),
            last_heard_ms_ago: known.last_heard.map(|at| self.clock.since(at).as_millis() as u64),
            seq: known.incarnation,
        })
    }

    /// `GET /v1/members`: this node first, then every member it knows, in id order.
    pub(crate) fn members_view(&self) -> Vec<MemberView> {
        let others = self.node.membership().map(|membership| membership.members().keys().copied());
        std::iter::once(self.id())
            .chain(others.into_iter().flatten())
            .filter_map(|id| self.member_view(id))
            .collect()
    }

    /// Servers this node considers alive, with their addresses, this node first if it is one.
    pub(crate) fn live_servers(&self, limit: usize) -> Vec<Contact> {
        let me = self.id();
        let alive_others = self.node.membership().into_iter().flat_map(|membership| {
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
                    Some(self.profile.role)
                } else {
                    self.profile_of(*id).map(|p| p.role)
                };
                role == Some(Role::Server)
            })
            .map(|id| Contact {
                id,
                addresses: if id == me { self.advertised.clone() } else { self.addresses.of(&id) },
            })
            .filter(|contact| !contact.addresses.is_empty())
            .take(limit)
            .collect()
    }

    /// `GET /v1/overlay`: the views, the broadcast tree's shared eager and lazy links, and the
    /// partners of the last anti-entropy rounds, newest first.
    pub(crate) fn overlay_view(&self) -> serde_json::Value {
        let ids = |set: &std::collections::BTreeSet<NodeId>| -> Vec<String> {
            set.iter().map(NodeId::to_string).collect()
        };
        let overlay = self.node.overlay();
        let broadcast = self.node.broadcast();
        serde_json::json!({
            "active": ids(overlay.active()),
            "passive": ids(overlay.passive()),
            "clients": ids(overlay.clients()),
            "eager": ids(broadcast.eager()),
            "lazy": ids(broadcast.lazy()),
            "anti_entropy": self
                .node
                .anti_entropy_partners()
                .map(|(round, partner)| {
                    serde_json::json!({ "round": round, "partner": partner.to_string() })
                })
                .collect::<Vec<_>>(),
        })
    }

    /// `GET /v1/stats`: the core's counters (with frames and bytes by message kind), the
    /// transport's, and the depths of the node's queues.
    pub(crate) fn stats_view(&self) -> serde_json::Value {
        let queues: serde_json::Map<String, serde_json::Value> = self
            .queue_depths()
            .into_iter()
            .map(|(name, depth)| (name.into(), depth.into()))
            .collect();
        serde_json::json!({
            "core": self.node.stats(),
            "routing": self.node.routing().map(|routing| routing.counters()),
            "groups": self.node.groups().counters(),
            "export": self.export_counters(),
            "transport": self.transport.stats(),
            "queues": queues,
        })
    }

    /// Items waiting in the node's queues: operations for the next commit, frames held until
    /// it, messages for the export command, and the core's outputs not yet carried out.
    fn queue_depths(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("commit", self.commits.pending_len() as u64),
            ("held_for_commit", self.commits.held_len() as u64),
            ("export", self.export.pending_len() as u64),
        ]
    }

    /// `GET /metrics`: Prometheus text (see [`crate::metrics`]).
    pub(crate) fn metrics_text(&mut self) -> String {
        let states =
            [MemberState::Alive, MemberState::Suspect, MemberState::Dead, MemberState::Left];
        let members = states.iter().map(|state| (state.name(), self.members_in(*state))).collect();
        let snapshot = Snapshot {
            core: self.node.stats(),
            routing: self.node.routing().map(|routing| routing.counters()),
            groups: self.node.groups().counters(),
            transport: self.transport.stats(),
            members,
            records: self.node.records().len() as u64,
            ready: self.readiness.is_ready(),
            queues: self.queue_depths(),
            exported: self.export.exported(),
        };
        self.metrics.render(&snapshot)
    }
}
