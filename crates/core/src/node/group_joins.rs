//! Joining a group the definition does not list this node in (seed 004's join requests), and
//! each group's access rule.
//!
//! A join request is a `GroupJoin` record: signed, kept and repaired like any record, so every
//! member learns of it and counts the joiner as a member when the group's access rule is
//! `open`; under `listed` it is refused, and the group's view names the refused nodes. A node
//! whose configuration no longer puts it in a group replaces its request with a leave (the
//! same record, payload [`GROUP_LEAVE`]). floodd
//! repeats its join request every `join-period` in case the master site lost its state. Here a
//! member that lost its state gets the records back by anti-entropy, so the one case left is
//! a master whose published topology leaves this node out: every `join-period` a joiner checks
//! the master's topology, and publishes its request again if the master's members lack it.

use std::collections::BTreeMap;

use crate::groups::{GroupAccess, GroupParams, GroupSpec};
use crate::id::NodeId;
use crate::record::{KEY_LEN_MAX, RecordKind, Version};
use crate::time::Instant;

use super::{CommandError, Node};

/// The payload of a `GroupJoin` record that withdraws the request: the node left the group. A
/// join's payload is empty.
pub(crate) const GROUP_LEAVE: &[u8] = b"leave";

/// The groups this node asked to join, and whose joins its view refuses.
#[derive(Clone, Debug, Default)]
pub(super) struct GroupJoins {
    /// Each group this node asked to join, with when its membership is next checked.
    asked: BTreeMap<String, Instant>,
    /// Each group's joiners that its access rule refuses, sorted.
    refused: BTreeMap<String, Vec<NodeId>>,
    /// Join requests published again because a master's topology left this node out.
    resent: u64,
}

impl GroupJoins {
    /// When a joined group's membership is next checked, if this node asked to join one.
    pub(super) fn due(&self) -> Option<Instant> {
        self.asked.values().min().copied()
    }
}

impl Node {
    /// Asks to be a member of group `name`, whose definition need not list this node: publishes
    /// its join request, and repeats it every `join-period` while the group's master site
    /// leaves this node out.
    pub fn join_group(
        &mut self,
        now: Instant,
        name: &str,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        if name.is_empty() || name.len() > KEY_LEN_MAX {
            self.stats.commands_refused += 1;
            let reason = format!("a group name has 1 to {KEY_LEN_MAX} bytes");
            return Err(CommandError::BadGroup { name: name.to_owned(), reason });
        }
        let version = self.publish_own(
            now,
            RecordKind::GroupJoin,
            name.to_owned(),
            Vec::new(),
            issued_at_ms,
        )?;
        let period = self.group_definitions().remove(name).map(|spec| spec.params.join_period);
        let first_check = now + period.unwrap_or(GroupParams::default().join_period);
        self.groups_refresh.joins.asked.insert(name.to_owned(), first_check);
        self.note_groups_record(RecordKind::GroupJoin);
        Ok(version)
    }

    /// Withdraws this node's join request from every group not in `kept` (the groups its
    /// configuration still puts it in): each becomes a leave, so an `open` group stops counting
    /// this node a member. Returns the groups left.
    pub fn leave_groups_except(
        &mut self,
        now: Instant,
        kept: &[String],
        issued_at_ms: u64,
    ) -> Vec<String> {
        let me = self.id();
        let left: Vec<String> = self
            .records
            .iter()
            .filter(|record| {
                record.record.origin == me
                    && record.record.kind == RecordKind::GroupJoin
                    && record.record.payload.is_empty()
                    && !kept.contains(&record.record.key)
            })
            .map(|record| record.record.key.clone())
            .collect();
        for name in &left {
            // A leave is as small and bounded as the join it replaces; it cannot be refused.
            let _ = self.publish_own(
                now,
                RecordKind::GroupJoin,
                name.clone(),
                GROUP_LEAVE.to_vec(),
                issued_at_ms,
            );
            self.groups_refresh.joins.asked.remove(name);
        }
        if !left.is_empty() {
            self.note_groups_record(RecordKind::GroupJoin);
        }
        left
    }

    /// The nodes that asked to join group `name` and have not left it since, sorted.
    pub fn group_joiners(&self, name: &str) -> Vec<NodeId> {
        let mut joiners: Vec<NodeId> = self
            .records
            .iter()
            .filter(|record| {
                record.record.kind == RecordKind::GroupJoin
                    && record.record.key == name
                    && record.record.payload.is_empty()
            })
            .map(|record| record.record.origin)
            .collect();
        joiners.sort_unstable();
        joiners
    }

    /// The nodes whose join of group `name` its access rule refuses, as last computed.
    pub fn refused_joins(&self, name: &str) -> &[NodeId] {
        self.groups_refresh.joins.refused.get(name).map_or(&[], Vec::as_slice)
    }

    /// Join requests published again because a master's topology left this node out.
    pub fn joins_resent(&self) -> u64 {
        self.groups_refresh.joins.resent
    }

    /// The nodes group `name` takes as members: those its sites name, and the joiners its access
    /// rule lets in. The joiners it refuses are noted for [`Node::refused_joins`].
    pub(super) fn group_nodes(&mut self, name: &str, spec: &GroupSpec) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> =
            self.resolve_sites(&spec.sites).into_iter().flatten().collect();
        nodes.sort_unstable();
        nodes.dedup();
        let sites = nodes.len();
        let mut refused = Vec::new();
        for joiner in self.group_joiners(name) {
            // Only the sites are sorted: the joiners let in are pushed after them.
            if nodes[..sites].binary_search(&joiner).is_ok() {
                continue;
            }
            match spec.params.access {
                GroupAccess::Open => nodes.push(joiner),
                GroupAccess::Listed => refused.push(joiner),
            }
        }
        nodes.sort_unstable();
        let joins = &mut self.groups_refresh.joins;
        if refused.is_empty() {
            joins.refused.remove(name);
        } else {
            joins.refused.insert(name.to_owned(), refused);
        }
        nodes
    }

    /// Every `join-period`, publishes this node's join request again for each group it asked
    /// to join whose live master site published a topology without it (floodd: the master lost
    /// its state). A group that refuses this node, or has no master, is left alone.
    pub(super) fn resend_joins(&mut self, now: Instant) {
        if self.groups_refresh.joins.due().is_none_or(|due| due > now) {
            return;
        }
        let definitions = self.group_definitions();
        let me = self.id();
        let due: Vec<String> = self
            .groups_refresh
            .joins
            .asked
            .iter()
            .filter(|(_, due)| **due <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in due {
            let spec = definitions.get(&name);
            let period =
                spec.map_or(GroupParams::default().join_period, |spec| spec.params.join_period);
            self.groups_refresh.joins.asked.insert(name.clone(), now + period);
            let Some(spec) = spec else { continue };
            let listed = self.resolve_sites(&spec.sites).contains(&Some(me));
            if listed || spec.params.access == GroupAccess::Listed {
                continue;
            }
            let Some(master) =
                self.master_node(spec).filter(|master| *master != me && !self.is_gone(master))
            else {
                continue;
            };
            let left_out =
                self.decree_of(master, &name).is_some_and(|decree| !decree.members.contains(&me));
            if left_out {
                self.republish_own(now, RecordKind::GroupJoin, name.clone(), Vec::new());
                self.groups_refresh.joins.resent += 1;
            }
        }
    }
}
