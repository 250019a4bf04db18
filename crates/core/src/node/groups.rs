//! The node's calls into the groups component: publishing a data message, and what the
//! component's outputs become (each group's members and topology are `group_topology`'s).

use std::sync::Arc;

use crate::groups::{BodySeal, GroupData, Groups, GroupsMessage, GroupsOutput, PublishError};
use crate::id::NodeId;
use crate::persist::PersistOp;
use crate::record::{Record, RecordKind};
use crate::time::Instant;

use super::{Event, Node, Output};

impl Node {
    /// The groups component: which groups this node is in, the messages it holds, counters.
    pub fn groups(&self) -> &Groups {
        &self.groups
    }

    /// The groups component, for a driver that keeps messages for its export command
    /// ([`Groups::hold_for_export`], [`Groups::exported`]).
    pub fn groups_mut(&mut self) -> &mut Groups {
        &mut self.groups
    }

    /// Takes part in `group`, flooding to `neighbors` (this node's edges in the group's
    /// topology).
    pub fn set_group_neighbors(&mut self, group: &str, neighbors: Vec<NodeId>) {
        self.groups.set_neighbors(group, neighbors);
    }

    /// Publishes `body` to `group`, signed at `issued_at_ms`. On success the message's persist
    /// operations (owed) are queued ahead of its transmits: the driver acknowledges it once
    /// they are durable.
    pub fn publish_group_message(
        &mut self,
        now: Instant,
        group: &str,
        body: Vec<u8>,
        issued_at_ms: u64,
    ) -> Result<GroupData, PublishError> {
        if let Err(refusal) = self.groups.check_publish(group, body.len() as u64) {
            self.stats.commands_refused += 1;
            return Err(refusal);
        }
        let record = Record {
            origin: self.id(),
            kind: RecordKind::GroupMessage,
            key: group.to_owned(),
            version: self.groups.next_version(group, self.config.epoch),
            issued_at_ms,
            payload: BodySeal::of(&body).encode(),
        };
        let header = Arc::new(
            record.sign(&self.keypair).map_err(|_| PublishError::NotMember(group.to_owned()))?,
        );
        let data = GroupData { header, body: body.into() };
        let mut out = Vec::new();
        let published = self.groups.publish(now, data.clone(), &mut out);
        self.apply_groups(now, out);
        published.map(|()| data)
    }

    pub(super) fn on_groups_message(&mut self, now: Instant, from: NodeId, message: GroupsMessage) {
        let mut out = Vec::new();
        let verifier = &mut self.verifier;
        let mut verify = |header: &crate::record::SignedRecord| verifier.verify(header).is_ok();
        self.groups.handle(now, from, message, &mut verify, &mut out);
        self.apply_groups(now, out);
    }

    pub(super) fn apply_groups(&mut self, now: Instant, out: Vec<GroupsOutput>) {
        for output in out {
            match output {
                GroupsOutput::Send(to, message) => {
                    let bytes_before = self.stats.bytes_out;
                    self.send(to, &crate::wire::Message::Groups(message));
                    self.stats.group_bytes_out += self.stats.bytes_out - bytes_before;
                }
                GroupsOutput::Store(data) => {
                    self.outputs.push_back(Output::Persist(PersistOp::PutGroupMessage(data)));
                }
                GroupsOutput::Forget { group, origin, version } => {
                    let op = PersistOp::DeleteGroupMessage { group, origin, version };
                    self.outputs.push_back(Output::Persist(op));
                }
                GroupsOutput::Cursor { group, origin, version } => {
                    let op = PersistOp::SetGroupCursor { group, origin, version };
                    self.outputs.push_back(Output::Persist(op));
                }
                GroupsOutput::Deliver(data) => {
                    self.outputs.push_back(Output::Event(Event::GroupDelivered(data)));
                }
                GroupsOutput::ShareEstimates(estimates) => {
                    // The estimates are small and bounded; publishing them cannot be refused.
                    let _ = self.publish_own(
                        now,
                        RecordKind::Estimate,
                        String::new(),
                        estimates.encode(),
                        0,
                    );
                }
            }
        }
    }
}
