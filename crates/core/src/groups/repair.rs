//! Repair: members compare what they delivered with a topology neighbour every round (and now
//! and then with any member) and offer each other what the other lacks; pulls that stall move to another neighbour that
//! offered the message.

use crate::id::NodeId;
use crate::record::Version;
use crate::rng::Rng;
use crate::time::Instant;

use super::{Groups, GroupsMessage, GroupsOutput, offer_or_push};

/// Origins a digest may list, at most; a longer one is refused.
pub const DIGEST_HEADS_MAX: usize = 4096;

/// One repair round in this many compares with a random member rather than a neighbour.
pub const STRANGER_ROUND: u64 = 4;

impl Groups {
    /// Sends each group's digest to one of its neighbours, picked at random.
    /// Every [`STRANGER_ROUND`]th round it goes to any other member instead, so that a member
    /// whose neighbours all failed is repaired before the topology is computed again without
    /// them (floodd had no such path: its sites waited for the master's next topology).
    pub(super) fn send_digests(&mut self, rng: &mut Rng, out: &mut Vec<GroupsOutput>) {
        self.rounds += 1;
        let stranger_round = self.rounds.is_multiple_of(STRANGER_ROUND);
        for (name, group) in &self.groups {
            let members = group.topology.as_ref().map_or(&[][..], |t| &t.members[..]);
            let candidates =
                if stranger_round && members.len() > 1 { members } else { &group.neighbors[..] };
            let peer = match candidates.len() {
                0 => continue,
                len => candidates[rng.index(len)],
            };
            if peer != self.me {
                out.push(GroupsOutput::Send(peer, self.digest_of(name, false)));
            }
        }
    }

    /// This node's digest of `group`: what it delivered from each origin.
    fn digest_of(&self, name: &str, reply: bool) -> GroupsMessage {
        let heads = self.groups[name]
            .logs
            .iter()
            .filter_map(|(origin, log)| Some((*origin, log.cursor()?)))
            .take(DIGEST_HEADS_MAX)
            .collect();
        GroupsMessage::Digest { group: name.to_owned(), heads, reply }
    }

    /// A member's digest: remember what it holds, offer it what it lacks, and answer with this
    /// node's digest if the member has something this node lacks, or (from an origin this node
    /// has delivered nothing of) delivered something this node only holds: it then offers what
    /// this node lacks, which lets an unknown origin's start wait end (see the `log` module).
    pub(super) fn on_digest(
        &mut self,
        now: Instant,
        from: NodeId,
        name: &str,
        heads: Vec<(NodeId, Version)>,
        reply: bool,
        out: &mut Vec<GroupsOutput>,
    ) {
        let offers_max = self.config.offers_per_digest_max;
        let Some(group) = self.groups.get_mut(name) else {
            self.counters.refused += 1;
            return;
        };
        if heads.len() > DIGEST_HEADS_MAX {
            self.counters.refused += 1;
            return;
        }
        let heads: std::collections::BTreeMap<NodeId, Version> = heads.into_iter().collect();
        let mut lacks = false;
        for (origin, head) in &heads {
            match group.logs.get_mut(origin) {
                // Before its first delivery from an origin, this node answers a member that
                // delivered what it merely holds, so that member offers the gap before it.
                Some(log) if log.cursor().is_none() => {
                    lacks |= !log.is_delivered(*head);
                    log.vouched(now, *head);
                }
                Some(log) => lacks |= !log.has(*head),
                None => lacks = true,
            }
        }
        let mut offered = 0;
        'origins: for (origin, log) in &group.logs {
            for held in log.held_above(heads.get(origin).copied()) {
                if offered == offers_max {
                    break 'origins;
                }
                out.push(GroupsOutput::Send(from, offer_or_push(&held.data)));
                offered += 1;
            }
        }
        if group.neighbors.binary_search(&from).is_ok() {
            group.peer_heads.insert(from, heads);
        }
        if lacks && !reply {
            out.push(GroupsOutput::Send(from, self.digest_of(name, true)));
        }
    }

    /// Asks another neighbour for each pull that made no progress for `pull_stall`, and gives
    /// up on those no other neighbour offered.
    pub(super) fn retry_stalled_pulls(&mut self, now: Instant, out: &mut Vec<GroupsOutput>) {
        let stall = self.config.pull_stall;
        for (name, group) in &mut self.groups {
            let mut abandoned = Vec::new();
            for (key, pull) in &mut group.pulls {
                if now.saturating_since(pull.progressed_at) < stall {
                    continue;
                }
                let Some(next) = pull.others.pop() else {
                    abandoned.push(*key);
                    continue;
                };
                pull.from = next;
                pull.progressed_at = now;
                let (origin, version) = *key;
                let want = GroupsMessage::Want { group: name.clone(), origin, version };
                out.push(GroupsOutput::Send(next, want));
            }
            for key in abandoned {
                if let Some(pull) = group.pulls.remove(&key) {
                    self.pulling_bytes -= pull.len();
                    self.counters.pulls_abandoned += 1;
                }
            }
        }
    }
}
