//! Each group's members and topology, as this node computes them from the records it holds:
//! the winning definition, the profiles that name its sites, the members' states and their
//! shared estimates. Every member computes the same from the same records.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::groups::topology::{self, CostMatrix, TopologyParams};
use crate::groups::{
    ComputedBy, Estimates, GroupSpec, GroupTopology, TopologyDecree, chunk_transfer_ms,
    winning_definition,
};
use crate::id::NodeId;
use crate::profile::Profile;
use crate::record::{KEY_LEN_MAX, RecordKind, SignedRecord, Version};
use crate::record_set::SlotKey;
use crate::time::Instant;

use super::group_joins::GroupJoins;
use super::{CommandError, Event, Node, Output};

/// The weight of a hop of diameter in a group topology's objective, against milliseconds of
/// summed link round trips. In the simulator (200 members, k = 3), 3,000 rather than the
/// topology module's default 1,000 halved a 1 KB message's latency to every member (median 440
/// to 240 ms) for 6% more edges (BENCHMARKS.md).
pub const DIAMETER_WEIGHT: u32 = 3000;

/// The shortest time between two computations of the groups' topologies. A crash is learnt
/// member by member; this makes the many deaths of a mass failure cost a computation a second,
/// not one each. 1 s (guess: well under the failure detection time).
pub const TOPOLOGY_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// When the groups' topologies are computed again: once something they depend on changed, at
/// most once every [`TOPOLOGY_REFRESH_INTERVAL`]. Nothing is ever due on a node that holds no
/// group definition, so a grid without groups runs exactly as before.
#[derive(Clone, Debug, Default)]
pub(super) struct GroupsRefresh {
    /// Whether a group definition was ever held.
    defined: bool,
    /// Whether something changed since the last computation.
    stale: bool,
    /// When the last computation ran.
    last: Option<Instant>,
    /// Each group's winning definition with the nodes it takes (those its sites name and the
    /// joiners it lets in), kept until a definition, a join or a profile changes (a member's
    /// change of state only filters it).
    resolved: Option<Vec<(String, GroupSpec, Vec<NodeId>)>>,
    /// The inputs last handed to the driver's topology generator, by group.
    requested: BTreeMap<String, (Vec<NodeId>, CostMatrix)>,
    /// The groups this node asked to join, and the joins refused (see `group_joins`).
    pub(super) joins: GroupJoins,
}

impl GroupsRefresh {
    /// When a computation, or a check of this node's joins, is due, if one is.
    pub(super) fn due(&self) -> Option<Instant> {
        [self.computation_due(), self.joins.due()].into_iter().flatten().min()
    }

    /// When a computation is due, if one is.
    fn computation_due(&self) -> Option<Instant> {
        self.stale.then(|| self.last.map_or(Instant::ZERO, |last| last + TOPOLOGY_REFRESH_INTERVAL))
    }

    /// Whether a computation is due at `now`; if so it counts as done.
    fn take(&mut self, now: Instant) -> bool {
        if self.computation_due().is_none_or(|due| due > now) {
            return false;
        }
        self.stale = false;
        self.last = Some(now);
        true
    }
}

impl Node {
    /// A record of `kind` was stored or removed: a definition or a join, or (once a group is
    /// defined) a profile or an estimate, may change a group's members or costs.
    pub(super) fn note_groups_record(&mut self, kind: RecordKind) {
        match kind {
            RecordKind::GroupDefinition | RecordKind::GroupJoin => {
                self.groups_refresh.defined = true;
                self.groups_refresh.stale = true;
                self.groups_refresh.resolved = None;
            }
            RecordKind::Profile => {
                self.groups_refresh.resolved = None;
                self.note_groups_changed();
            }
            RecordKind::Estimate | RecordKind::GroupTopology => self.note_groups_changed(),
            _ => {}
        }
    }

    /// A member's state changed, or a record a group depends on did.
    pub(super) fn note_groups_changed(&mut self) {
        let refresh = &mut self.groups_refresh;
        refresh.stale |= refresh.defined;
    }

    /// Publishes this node's definition of group `name`, as read from its configuration.
    pub fn define_group(
        &mut self,
        now: Instant,
        name: &str,
        spec: &GroupSpec,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        let bad = |reason: String| CommandError::BadGroup { name: name.to_owned(), reason };
        if name.is_empty() || name.len() > KEY_LEN_MAX {
            self.stats.commands_refused += 1;
            return Err(bad(format!("a group name has 1 to {KEY_LEN_MAX} bytes")));
        }
        if let Err(error) = spec.check() {
            self.stats.commands_refused += 1;
            return Err(bad(error.to_string()));
        }
        let version = self.publish_own(
            now,
            RecordKind::GroupDefinition,
            name.to_owned(),
            spec.encode(),
            issued_at_ms,
        )?;
        self.note_groups_record(RecordKind::GroupDefinition);
        Ok(version)
    }

    /// Computes each defined group's members and topology again if anything they depend on
    /// changed: the winning definition, the profiles that name its sites, the members' states
    /// and their estimates. Every member computes the same from the same records. A site is
    /// named by a node id, or by the name in a node's profile (floodd's site names).
    pub(super) fn refresh_groups(&mut self, now: Instant) {
        if !self.groups_refresh.take(now) {
            return;
        }
        let resolved = match self.groups_refresh.resolved.take() {
            Some(resolved) => resolved,
            None => {
                let mut resolved = Vec::new();
                for (name, spec) in self.group_definitions() {
                    let nodes = self.group_nodes(&name, &spec);
                    resolved.push((name, spec, nodes));
                }
                resolved
            }
        };
        if resolved.is_empty() && self.groups.names().next().is_none() {
            return;
        }
        let mut topologies = Vec::new();
        for (name, spec, nodes) in &resolved {
            let members: Vec<NodeId> =
                nodes.iter().copied().filter(|id| !self.is_gone(id)).collect();
            topologies.push((name.clone(), spec.clone(), members));
        }
        self.groups_refresh.resolved = Some(resolved);
        let me = self.id();
        let mut out = Vec::new();
        let mut kept = BTreeMap::new();
        let mut decrees = Vec::new();
        for (name, spec, members) in topologies {
            if !members.contains(&me) {
                continue;
            }
            let costs = self.cost_matrix(&members);
            let master = self.master_node(&spec).filter(|id| members.contains(id));
            // This node is the master and an external command computes the topology: ask the
            // driver to run it whenever its inputs changed (the members, or only the costs
            // under the topology it made last), and compute one meanwhile if there is none.
            let generator = master == Some(me) && spec.params.topology_generator.is_some();
            if generator {
                self.want_generated_topology(&name, &spec, &members, &costs);
            }
            if let Some(topology) = self.master_topology(&name, &spec, &members, &costs, master) {
                kept.insert(name, topology);
                continue;
            }
            let computed_by = if master == Some(me) && !generator {
                ComputedBy::Master(me)
            } else {
                ComputedBy::Members
            };
            // A member's change of state that changed no member, or estimates that moved no
            // cost, leave the topology as it is: computing it is the expensive part.
            if let Some(held) = self.groups.topology(&name)
                && held.spec.as_ref() == Some(&spec)
                && held.members == members
                && held.costs == costs
                && held.computed_by == computed_by
            {
                kept.insert(name, held.clone());
                continue;
            }
            let params = TopologyParams {
                connectivity: usize::from(spec.params.connectivity),
                diameter_weight: DIAMETER_WEIGHT,
                ..TopologyParams::default()
            };
            let computed = topology::compute(&members, &costs, &params);
            if computed_by == ComputedBy::Master(me) {
                decrees.push((name.clone(), TopologyDecree::of(&members, &computed.edges)));
            }
            let topology = GroupTopology {
                spec: Some(spec),
                members,
                costs,
                edges: computed.edges,
                connectivity: computed.connectivity,
                computed_by,
                version: 0,
            };
            kept.insert(name, topology);
        }
        for (name, decree) in decrees {
            // A decree is bounded by the group's bounds; publishing it cannot be refused.
            let _ = self.publish_own(now, RecordKind::GroupTopology, name, decree.encode(), 0);
        }
        let left: Vec<String> = self
            .groups
            .names()
            .filter(|name| !kept.contains_key(*name))
            .map(str::to_owned)
            .collect();
        for name in left {
            self.groups.leave(&name, &mut out);
        }
        for (name, topology) in kept {
            self.groups.set_topology(&name, topology);
        }
        self.apply_groups(now, out);
    }

    /// The winning definition of every group this node holds one of, by name.
    pub fn group_definitions(&self) -> BTreeMap<String, GroupSpec> {
        let mut definitions: BTreeMap<&str, Vec<&SignedRecord>> = BTreeMap::new();
        for record in self.records.iter() {
            if record.record.kind == RecordKind::GroupDefinition {
                definitions.entry(&record.record.key).or_default().push(record);
            }
        }
        definitions
            .into_iter()
            .filter_map(|(name, records)| Some((name.to_owned(), winning_definition(records)?.1)))
            .collect()
    }

    /// The node that group `spec`'s master site names, if it has one and it is known.
    pub(super) fn master_node(&self, spec: &GroupSpec) -> Option<NodeId> {
        let site = spec.params.master_site.as_ref()?;
        self.resolve_sites(std::slice::from_ref(site)).pop().flatten()
    }

    /// The topology `master` published for group `name`, if this node holds a valid one.
    pub(super) fn decree_of(&self, master: NodeId, name: &str) -> Option<TopologyDecree> {
        let slot =
            SlotKey { origin: master, family: RecordKind::GroupTopology, key: name.to_owned() };
        TopologyDecree::decode(&self.records.get(&slot)?.record.payload)
    }

    /// The node each of `sites` names, if known: a node id, or a name a profile carries.
    pub fn resolve_sites(&self, sites: &[String]) -> Vec<Option<NodeId>> {
        let names = self.sites_by_name();
        sites
            .iter()
            .map(|site| site.parse().ok().or_else(|| names.get(site.as_str()).copied()))
            .collect()
    }

    /// Each site name held in a profile, with the node that carries it (the lowest id if
    /// several do).
    fn sites_by_name(&self) -> BTreeMap<String, NodeId> {
        let mut sites = BTreeMap::new();
        for record in self.records.iter().filter(|record| record.record.kind == RecordKind::Profile)
        {
            if let Some(profile) = Profile::decode(&record.record.payload) {
                let id = record.record.origin;
                sites
                    .entry(profile.name)
                    .and_modify(|held: &mut NodeId| *held = (*held).min(id))
                    .or_insert(id);
            }
        }
        sites
    }

    /// The topology `master` (another live member, or this node when a generator made it)
    /// decreed for group `name`, if it joins the same members this node sees and connects
    /// them; else this node computes its own.
    fn master_topology(
        &self,
        name: &str,
        spec: &GroupSpec,
        members: &[NodeId],
        costs: &CostMatrix,
        master: Option<NodeId>,
    ) -> Option<GroupTopology> {
        // The master's own decree counts only if an external command made it.
        let master = master
            .filter(|master| *master != self.id() || spec.params.topology_generator.is_some())?;
        let decree = self.decree_of(master, name).filter(|decree| decree.members == members)?;
        let pairs: Vec<(usize, usize)> =
            decree.edges.iter().map(|&(a, b, _)| (usize::from(a), usize::from(b))).collect();
        if !topology::is_connected(members.len(), &pairs) {
            return None;
        }
        // A generator's topology need only connect the members (floodd's rule); say how
        // connected it is.
        let asked = usize::from(spec.params.connectivity).min(members.len().saturating_sub(1));
        let k = if topology::vertex_connectivity_at_least(members.len(), &pairs, asked) {
            asked
        } else {
            1
        };
        Some(GroupTopology {
            spec: Some(spec.clone()),
            members: members.to_vec(),
            costs: costs.clone(),
            edges: decree.edges(),
            connectivity: k,
            computed_by: ComputedBy::Master(master),
            version: 0,
        })
    }

    /// Asks the driver to run group `name`'s topology generator, unless it was asked with
    /// these members and costs already.
    fn want_generated_topology(
        &mut self,
        name: &str,
        spec: &GroupSpec,
        members: &[NodeId],
        costs: &CostMatrix,
    ) {
        let inputs = (members.to_vec(), costs.clone());
        if self.groups_refresh.requested.get(name) == Some(&inputs) {
            return;
        }
        self.groups_refresh.requested.insert(name.to_owned(), inputs);
        let mut measured = Vec::new();
        for (a, first) in members.iter().enumerate() {
            for (b, second) in members.iter().enumerate().skip(a + 1) {
                if let Some(cost) = costs.get(a, b) {
                    measured.push((*first, *second, cost));
                }
            }
        }
        let Some(command) = spec.params.topology_generator.clone() else { return };
        self.outputs.push_back(Output::Event(Event::TopologyWanted {
            group: name.to_owned(),
            command,
            connectivity: spec.params.connectivity,
            members: members.to_vec(),
            costs: measured,
        }));
    }

    /// A topology of group `name` made by its generator (this node is the master): checked,
    /// published as the master's decree, and flooded over from now on. Refused, with the
    /// reason, if an edge names a node that is not a live member or the graph does not
    /// connect them all; the last good topology then stays.
    pub fn offer_topology(
        &mut self,
        now: Instant,
        name: &str,
        edges: &[(NodeId, NodeId)],
    ) -> Result<(), String> {
        let members = self
            .groups
            .topology(name)
            .map(|topology| topology.members.clone())
            .ok_or_else(|| format!("this node computes no topology for group {name:?}"))?;
        let costs = self.cost_matrix(&members);
        let mut decree_edges = Vec::new();
        let mut pairs = Vec::new();
        for (a, b) in edges {
            let index = |id: &NodeId| {
                members
                    .binary_search(id)
                    .map_err(|_| format!("{} is not a live member", id.short()))
            };
            let (a, b) = (index(a)?, index(b)?);
            if a == b {
                continue;
            }
            let (a, b) = (a.min(b), a.max(b));
            let cost = costs.get(a, b).unwrap_or(topology::UNKNOWN_COST_MS_DEFAULT);
            pairs.push((a, b));
            decree_edges.push(crate::groups::Edge { a: members[a], b: members[b], cost_ms: cost });
        }
        if !topology::is_connected(members.len(), &pairs) {
            return Err(format!("the edges do not connect all {} members", members.len()));
        }
        decree_edges.sort_by_key(|edge| (edge.a, edge.b));
        decree_edges.dedup_by_key(|edge| (edge.a, edge.b));
        let decree = TopologyDecree::of(&members, &decree_edges);
        self.publish_own(now, RecordKind::GroupTopology, name.to_owned(), decree.encode(), 0)
            .map_err(|error| error.to_string())?;
        self.note_groups_changed();
        Ok(())
    }

    /// Whether membership holds `id` dead or departed.
    pub(super) fn is_gone(&self, id: &NodeId) -> bool {
        self.membership.as_ref().is_some_and(|membership| {
            membership.members().get(id).is_some_and(|member| member.state.is_gone())
        })
    }

    /// The costs between `members`, from the estimates they shared: a link's round trip plus
    /// the time a chunk takes to cross it at its probed bandwidth (the mean of both ends'
    /// figures where both measured). A link with a round trip but no bandwidth yet costs its
    /// round trip.
    fn cost_matrix(&self, members: &[NodeId]) -> CostMatrix {
        let mut costs = CostMatrix::new(members.len());
        let mut rtts: BTreeMap<(usize, usize), Vec<u32>> = BTreeMap::new();
        let mut bandwidths: BTreeMap<(usize, usize), Vec<u32>> = BTreeMap::new();
        for (from, member) in members.iter().enumerate() {
            let slot =
                SlotKey { origin: *member, family: RecordKind::Estimate, key: String::new() };
            let Some(estimates) = self
                .records
                .get(&slot)
                .and_then(|record| Estimates::decode(&record.record.payload))
            else {
                continue;
            };
            let figures =
                [(estimates.rtt_ms, &mut rtts), (estimates.bandwidth_kbps, &mut bandwidths)];
            for (measured, into) in figures {
                for (peer, figure) in measured {
                    if let Ok(to) = members.binary_search(&peer) {
                        into.entry((from.min(to), from.max(to))).or_default().push(figure);
                    }
                }
            }
        }
        let mean = |figures: &[u32]| {
            let sum = figures.iter().map(|figure| u64::from(*figure)).sum::<u64>();
            u32::try_from(sum / figures.len() as u64).unwrap_or(u32::MAX)
        };
        for (pair, figures) in rtts {
            let transfer = bandwidths.get(&pair).map_or(0, |kbps| chunk_transfer_ms(mean(kbps)));
            costs.set(pair.0, pair.1, mean(&figures).saturating_add(transfer));
        }
        costs
    }
}
