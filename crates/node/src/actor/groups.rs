//! The actor's side of floodd groups: what the API shows of them, publishing, and the local
//! numbering of delivered messages that `GET /v1/groups/{g}/messages` pages through.

use std::collections::BTreeMap;

use base64::Engine as _;
use herald_core::groups::{ComputedBy, GroupData, GroupSpec, PublishError, message_id_text};
use herald_core::{MemberState, NodeId, Version};
use tracing::info;

use super::Actor;
use crate::api::model::{
    ApiError, ApiEvent, EdgeView, GroupMemberView, GroupParamsView, GroupSummaryView, GroupView,
    MessageView, MessagesPage, PublishedView, TopologyEventView, TopologyView,
};
use crate::datadir::unix_ms;
use crate::floodd::generator::{GeneratorEstimate, GeneratorInput, GeneratorMember, TopologyJob};

/// Delivered messages numbered in the order this node delivered them (those restored from the
/// store first, in (group, origin, version) order), so that a client can page through them.
/// The numbers last as long as the process; a message forgotten by retention leaves a hole.
#[derive(Debug, Default)]
pub(crate) struct MessageIndex {
    by_number: BTreeMap<u64, (String, NodeId, Version, u64)>,
    numbers: BTreeMap<(String, NodeId, Version), u64>,
    next: u64,
    /// The topology version last told to the event stream, by group.
    topologies_told: BTreeMap<String, u64>,
}

impl MessageIndex {
    /// Numbers a delivered message, received at `received_at` (Unix ms).
    fn push(&mut self, data: &GroupData, received_at: u64) {
        self.next += 1;
        let key = (data.group().to_owned(), data.origin(), data.version());
        self.by_number.insert(self.next, (key.0.clone(), key.1, key.2, received_at));
        self.numbers.insert(key, self.next);
    }

    /// Forgets a message retention dropped.
    pub(crate) fn forget(&mut self, group: &str, origin: NodeId, version: Version) {
        if let Some(number) = self.numbers.remove(&(group.to_owned(), origin, version)) {
            self.by_number.remove(&number);
        }
    }
}

impl Actor {
    /// Numbers the messages restored from the store.
    pub(crate) fn index_restored_messages(&mut self) {
        let now = unix_ms();
        let names: Vec<String> = self.node.groups().names().map(str::to_owned).collect();
        for name in names {
            let held: Vec<GroupData> =
                self.node.groups().messages(&name).map(|(data, _)| data.clone()).collect();
            for data in held {
                self.messages.push(&data, now);
            }
        }
    }

    /// A message delivered here: numbered and told to the event stream, if anyone listens (the
    /// event carries the body in base64, a tenth of a receiver's work on large messages).
    pub(crate) fn on_group_delivered(&mut self, data: &GroupData) {
        let received_at = unix_ms();
        self.messages.push(data, received_at);
        self.queue_export(data.group(), data.origin(), data.version());
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(ApiEvent::Message(message_view(data, received_at)));
        }
    }

    /// Tells the event stream of every group whose topology changed since it was last told.
    pub(crate) fn tell_topology_changes(&mut self) {
        let groups = self.node.groups();
        for name in groups.names() {
            let Some(topology) = groups.topology(name) else { continue };
            let told = self.messages.topologies_told.get(name).copied();
            if told == Some(topology.version) {
                continue;
            }
            self.messages.topologies_told.insert(name.to_owned(), topology.version);
            let event = TopologyEventView {
                group: name.to_owned(),
                version: topology.version,
                edges: topology.edges.len(),
            };
            let _ = self.events.send(ApiEvent::Topology(event));
        }
    }

    /// Publishes this node's definitions of the groups its configuration lists, with a join
    /// request for each; a group this node joined before that its configuration no longer
    /// lists is left.
    pub(crate) fn define_groups(&mut self, groups: &[(String, GroupSpec)]) -> anyhow::Result<()> {
        for (name, spec) in groups {
            self.command(|node, now| node.define_group(now, name, spec, unix_ms()))?
                .map_err(|error| anyhow::anyhow!("defining group {name:?}: {error}"))?;
            // The join request keeps this site a member under an `open` group's newer
            // definitions that do not list it (a master restarted with an older file).
            self.command(|node, now| node.join_group(now, name, unix_ms()))?
                .map_err(|error| anyhow::anyhow!("joining group {name:?}: {error}"))?;
        }
        let kept: Vec<String> = groups.iter().map(|(name, _)| name.clone()).collect();
        let left = self.node.leave_groups_except(self.clock.now(), &kept, unix_ms());
        self.drain()?;
        for group in left {
            info!(%group, "left the group: the configuration no longer puts this site in it");
        }
        Ok(())
    }

    /// Queues a run of a group's topology generator (this node is its master). A full queue
    /// drops the run: the next change of the group's inputs asks again.
    pub(crate) fn want_topology(
        &mut self,
        group: String,
        command: String,
        connectivity: u8,
        members: &[NodeId],
        costs: &[(NodeId, NodeId, u32)],
    ) {
        let name_of = |id: &NodeId| {
            self.profile_of(*id)
                .map(|profile| profile.name)
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| id.to_string())
        };
        let mut names = BTreeMap::new();
        let mut listed = Vec::new();
        for id in members {
            let site = name_of(id);
            names.insert(id.to_string(), *id);
            names.insert(site.clone(), *id);
            listed.push(GeneratorMember { node_id: id.to_string(), site });
        }
        let estimates = costs
            .iter()
            .map(|(a, b, cost_ms)| GeneratorEstimate {
                a: name_of(a),
                b: name_of(b),
                cost_ms: *cost_ms,
            })
            .collect();
        let input =
            GeneratorInput { group: group.clone(), connectivity, members: listed, estimates };
        if self.topology_jobs.try_send(TopologyJob { group, command, input, names }).is_err() {
            tracing::warn!("the topology generator is busy; this run is skipped");
        }
    }

    /// A generator's edges for `group`, offered to the core, which checks them.
    pub(crate) fn offer_generated_topology(
        &mut self,
        group: &str,
        edges: &[(NodeId, NodeId)],
    ) -> Result<(), String> {
        let now = self.clock.now();
        let offered = self.node.offer_topology(now, group, edges);
        self.drain().map_err(|error| format!("{error:#}"))?;
        offered
    }

    /// `GET /v1/groups`.
    pub(crate) fn groups_view(&self) -> Vec<GroupSummaryView> {
        let groups = self.node.groups();
        self.node
            .group_definitions()
            .into_iter()
            .map(|(name, spec)| GroupSummaryView {
                sites: spec.sites.len(),
                member: groups.is_member(&name),
                messages_held: groups.messages(&name).count(),
                name,
            })
            .collect()
    }

    /// `GET /v1/groups/{g}`.
    pub(crate) fn group_view(&self, name: &str) -> Result<GroupView, ApiError> {
        let spec = self.node.group_definitions().remove(name).ok_or_else(|| no_group(name))?;
        let nodes = self.node.resolve_sites(&spec.sites);
        let member_view = |site: String, node: Option<NodeId>, joined: bool| GroupMemberView {
            site,
            node_id: node.map(|id| id.to_string()),
            state: node.map_or("unknown", |id| self.state_of(id).name()).to_owned(),
            joined,
        };
        let mut members: Vec<GroupMemberView> = spec
            .sites
            .iter()
            .zip(&nodes)
            .map(|(site, node)| member_view(site.clone(), *node, false))
            .collect();
        let refused = self.node.refused_joins(name);
        for joiner in self.node.group_joiners(name) {
            if !nodes.contains(&Some(joiner)) && !refused.contains(&joiner) {
                let site = self.profile_of(joiner).map(|profile| profile.name);
                let site = site.filter(|site| !site.is_empty()).unwrap_or(joiner.to_string());
                members.push(member_view(site, Some(joiner), true));
            }
        }
        let params = &spec.params;
        Ok(GroupView {
            name: name.to_owned(),
            members,
            parameters: GroupParamsView {
                connectivity: params.connectivity,
                ping_period_s: params.ping_period.as_secs_f64(),
                bandwidth_period_s: params.bandwidth_period.as_secs_f64(),
                estimates_period_s: params.estimates_period.as_secs_f64(),
                join_period_s: params.join_period.as_secs_f64(),
                update_period_s: params.update_period.as_secs_f64(),
                master_site: params.master_site.clone(),
                topology_generator: params.topology_generator.clone(),
                access: params.access.name().to_owned(),
            },
            refused_joins: refused.iter().map(NodeId::to_string).collect(),
            neighbors: self.node.groups().neighbors(name).iter().map(NodeId::to_string).collect(),
        })
    }

    /// A node's state as this node sees it (alive for itself).
    fn state_of(&self, id: NodeId) -> MemberState {
        if id == self.id() {
            return MemberState::Alive;
        }
        self.node
            .membership()
            .and_then(|membership| membership.members().get(&id))
            .map_or(MemberState::Alive, |member| member.state)
    }

    /// `POST /v1/groups/{g}/messages` (answered after the turn's commit).
    pub(crate) fn publish_group(
        &mut self,
        group: &str,
        body: Vec<u8>,
    ) -> Result<PublishedView, ApiError> {
        let now = self.clock.now();
        let data = self
            .node
            .publish_group_message(now, group, body, unix_ms())
            .map_err(|refusal| publish_refusal(group, refusal))?;
        Ok(PublishedView {
            id: message_id_text(&data.id()),
            origin: data.origin().to_string(),
            seq: data.version().seq,
        })
    }

    /// `GET /v1/groups/{g}/messages`.
    pub(crate) fn group_messages(
        &self,
        group: &str,
        after: u64,
        limit: usize,
    ) -> Result<MessagesPage, ApiError> {
        if !self.node.group_definitions().contains_key(group) {
            return Err(no_group(group));
        }
        let mut next = after;
        let mut messages = Vec::new();
        for (number, (g, origin, version, received_at)) in
            self.messages.by_number.range(after.saturating_add(1)..)
        {
            if messages.len() == limit {
                break;
            }
            next = *number;
            if g != group {
                continue;
            }
            if let Some(data) = self.node.groups().get(group, *origin, *version) {
                messages.push(message_view(data, *received_at));
            }
        }
        Ok(MessagesPage { messages, next: next.to_string() })
    }

    /// `GET /v1/groups/{g}/topology`.
    pub(crate) fn topology_view(&self, group: &str) -> Result<TopologyView, ApiError> {
        if !self.node.group_definitions().contains_key(group) {
            return Err(no_group(group));
        }
        let Some(topology) = self.node.groups().topology(group) else {
            return Err(ApiError::NotFound(format!(
                "this node is not a member of group {group:?}, so it computes no topology for it"
            )));
        };
        Ok(TopologyView {
            edges: topology
                .edges
                .iter()
                .map(|edge| EdgeView {
                    a: edge.a.to_string(),
                    b: edge.b.to_string(),
                    cost_ms: edge.cost_ms,
                })
                .collect(),
            connectivity: topology.connectivity,
            computed_by: match topology.computed_by {
                ComputedBy::Members => "members".to_owned(),
                ComputedBy::Master(master) => format!("master:{master}"),
            },
            version: topology.version,
        })
    }
}

/// A message as the API shows it.
fn message_view(data: &GroupData, received_at: u64) -> MessageView {
    MessageView {
        group: data.group().to_owned(),
        id: message_id_text(&data.id()),
        origin: data.origin().to_string(),
        seq: data.version().seq,
        received_at,
        data_base64: base64::engine::general_purpose::STANDARD.encode(&data.body),
    }
}

fn no_group(name: &str) -> ApiError {
    ApiError::NotFound(format!("no group {name:?} is defined"))
}

/// A refused publish as the API answers it.
pub(crate) fn publish_refusal(group: &str, refusal: PublishError) -> ApiError {
    match refusal {
        PublishError::NotMember(_) => {
            ApiError::NotFound(format!("this node is not a member of group {group:?}"))
        }
        PublishError::TooLarge { .. } => ApiError::TooLarge(refusal.to_string()),
        PublishError::Busy { .. } | PublishError::NoRoom(_) => ApiError::Busy(refusal.to_string()),
    }
}
