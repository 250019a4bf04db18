//! A scenario file's `[expect]` table: the bounds a run's report must meet, and the sentence
//! for each one it misses.

use serde::{Deserialize, Serialize};

use crate::report::Report;

/// Bounds on a run's [`Report`]. Every bound is optional; a run with a safety violation always
/// misses its expectations.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Smallest acceptable `delivered_fraction`.
    pub delivered_fraction_min: Option<f64>,
    /// Smallest acceptable `delivered_by_broadcast_fraction` (before anti-entropy repair).
    pub delivered_by_broadcast_fraction_min: Option<f64>,
    /// Largest acceptable `latency_ms.p99`.
    pub latency_p99_ms_max: Option<f64>,
    /// Largest acceptable `rmr`.
    pub rmr_max: Option<f64>,
    /// Largest acceptable `messages_per_node` (a storm of control traffic is a regression too).
    pub messages_per_node_max: Option<f64>,
    /// Largest acceptable `membership_converged_ms`; a run that never converged misses it.
    pub membership_converged_ms_max: Option<u64>,
    /// Largest acceptable `false_suspicions`.
    pub false_suspicions_max: Option<u64>,
    /// Largest acceptable `newcomer_caught_up_ms`; a newcomer that never caught up misses it.
    pub newcomer_caught_up_ms_max: Option<u64>,
    /// When true, every live node's routing table must be right at the end: complete, and
    /// every hop-by-hop walk arrives without a loop (needs `routing = true`).
    pub routes_correct: Option<bool>,
    /// Largest acceptable `routing.converged_ms`; tables that were never right miss it.
    pub routes_converged_ms_max: Option<u64>,
    /// When true, the group's live members must agree on one k-connected topology, and
    /// deliver nothing twice (needs a `[group]`).
    pub group_topology_k_connected: Option<bool>,
    /// Smallest acceptable `groups.delivered_fraction` (needs a `[group]`).
    pub group_delivered_fraction_min: Option<f64>,
    /// When true, every live member must deliver each origin's messages in their order and
    /// none twice (needs a `[group]`).
    pub group_in_order: Option<bool>,
    /// Smallest acceptable `groups.split_delivered_fraction`: how far messages published
    /// during a partition went on their origin's side before it healed (needs a `[group]`).
    pub group_split_delivered_fraction_min: Option<f64>,
    /// When true, every live node must compute the same non-empty reachability from node 0
    /// (needs a `[grid_control]`).
    pub grid_control_reachability_agreed: Option<bool>,
    /// Smallest acceptable `grid_control.removal_seen_fraction` (needs a `[grid_control]`).
    pub grid_control_removal_seen_fraction_min: Option<f64>,
}

impl Expect {
    /// The bounds `report` misses, one sentence each; empty when the run met them all.
    pub fn misses(&self, report: &Report) -> Vec<String> {
        let mut misses = Vec::new();
        if let Some(violation) = &report.violation {
            misses.push(format!("a safety checker failed: {violation}"));
        }
        let mut floor = |name: &str, value: f64, bound: Option<f64>| {
            if let Some(bound) = bound
                && value < bound
            {
                let value = short(value);
                misses.push(format!("{name} is {value}, below the expected minimum {bound}"));
            }
        };
        floor("delivered_fraction", report.delivered_fraction, self.delivered_fraction_min);
        floor(
            "delivered_by_broadcast_fraction",
            report.delivered_by_broadcast_fraction,
            self.delivered_by_broadcast_fraction_min,
        );
        let mut ceiling = |name: &str, value: f64, bound: Option<f64>| {
            if let Some(bound) = bound
                && value > bound
            {
                let value = short(value);
                misses.push(format!("{name} is {value}, above the expected maximum {bound}"));
            }
        };
        ceiling("latency_ms.p99", report.latency_ms.p99, self.latency_p99_ms_max);
        ceiling("rmr", report.rmr, self.rmr_max);
        ceiling("messages_per_node", report.messages_per_node, self.messages_per_node_max);
        ceiling(
            "false_suspicions",
            report.false_suspicions as f64,
            self.false_suspicions_max.map(|bound| bound as f64),
        );
        let mut deadline = |name: &str, value: Option<u64>, bound: Option<u64>, never: &str| match (
            value, bound,
        ) {
            (_, None) => {}
            (None, Some(bound)) => {
                misses.push(format!("{never}, where at most {bound} ms was expected"))
            }
            (Some(value), Some(bound)) if value > bound => {
                misses.push(format!("{name} is {value} ms, above the expected maximum {bound} ms"))
            }
            (Some(_), Some(_)) => {}
        };
        deadline(
            "membership_converged_ms",
            report.membership_converged_ms,
            self.membership_converged_ms_max,
            "membership never converged",
        );
        deadline(
            "newcomer_caught_up_ms",
            report.newcomer_caught_up_ms,
            self.newcomer_caught_up_ms_max,
            "the newcomer never caught up",
        );
        deadline(
            "routing.converged_ms",
            report.routing.as_ref().and_then(|routing| routing.converged_ms),
            self.routes_converged_ms_max,
            "the routing tables were never all right",
        );
        self.group_misses(report, &mut misses);
        self.grid_control_misses(report, &mut misses);
        if self.routes_correct == Some(true) {
            match &report.routing {
                None => {
                    misses.push("routing did not run, where its tables were to be checked".into())
                }
                Some(routing) if !routing.check.is_correct() => misses.push(format!(
                    "the routing tables are wrong at the end: {:.4} of the pairs have a route, \
                     {} walks loop and {} break",
                    routing.check.complete_fraction, routing.check.loops, routing.check.broken
                )),
                Some(_) => {}
            }
        }
        misses
    }

    /// How many bounds are set.
    pub fn len(&self) -> usize {
        [
            self.delivered_fraction_min.is_some(),
            self.delivered_by_broadcast_fraction_min.is_some(),
            self.latency_p99_ms_max.is_some(),
            self.rmr_max.is_some(),
            self.messages_per_node_max.is_some(),
            self.membership_converged_ms_max.is_some(),
            self.false_suspicions_max.is_some(),
            self.newcomer_caught_up_ms_max.is_some(),
            self.routes_correct.is_some(),
            self.routes_converged_ms_max.is_some(),
            self.group_topology_k_connected.is_some(),
            self.group_delivered_fraction_min.is_some(),
            self.group_in_order.is_some(),
            self.group_split_delivered_fraction_min.is_some(),
            self.grid_control_reachability_agreed.is_some(),
            self.grid_control_removal_seen_fraction_min.is_some(),
        ]
        .iter()
        .filter(|set| **set)
        .count()
    }

    /// The grid-control bounds `report` misses.
    fn grid_control_misses(&self, report: &Report, misses: &mut Vec<String>) {
        let agreed = self.grid_control_reachability_agreed == Some(true);
        if !agreed && self.grid_control_removal_seen_fraction_min.is_none() {
            return;
        }
        let Some(control) = &report.grid_control else {
            misses.push("the run had no grid control, where it was to be checked".into());
            return;
        };
        if agreed && control.reachable_from_first == 0 {
            misses.push("node 0 reaches nobody: the recommendations were not seen".into());
        } else if agreed && control.reachability_agreed < control.live {
            misses.push(format!(
                "only {} of {} live nodes compute node 0's reachability alike",
                control.reachability_agreed, control.live
            ));
        }
        if let Some(bound) = self.grid_control_removal_seen_fraction_min
            && control.removal_seen_fraction < bound
        {
            let value = short(control.removal_seen_fraction);
            misses.push(format!(
                "grid_control.removal_seen_fraction is {value}, below the expected minimum {bound}"
            ));
        }
    }

    /// The group bounds `report` misses.
    fn group_misses(&self, report: &Report, misses: &mut Vec<String>) {
        if self.group_topology_k_connected.is_none()
            && self.group_delivered_fraction_min.is_none()
            && self.group_in_order.is_none()
            && self.group_split_delivered_fraction_min.is_none()
        {
            return;
        }
        let Some(groups) = &report.groups else {
            misses.push("the run had no group, where one was to be checked".into());
            return;
        };
        if self.group_topology_k_connected == Some(true) {
            if !groups.topology_agreed {
                misses.push("the group's live members computed different topologies".into());
            } else if !groups.topology_k_connected {
                let k = groups.connectivity;
                misses.push(format!("the group's topology is not {k}-vertex-connected"));
            }
            if groups.duplicates > 0 {
                misses.push(format!("{} group messages were delivered twice", groups.duplicates));
            }
        }
        if let Some(bound) = self.group_delivered_fraction_min
            && groups.delivered_fraction < bound
        {
            let value = short(groups.delivered_fraction);
            misses.push(format!(
                "groups.delivered_fraction is {value}, below the expected minimum {bound}"
            ));
        }
        if self.group_in_order == Some(true) {
            if groups.order_violations > 0 {
                misses.push(format!(
                    "{} group messages were delivered after a later one of their origin",
                    groups.order_violations
                ));
            }
            // The topology bound reports duplicates already.
            if groups.duplicates > 0 && self.group_topology_k_connected != Some(true) {
                misses.push(format!("{} group messages were delivered twice", groups.duplicates));
            }
        }
        if let Some(bound) = self.group_split_delivered_fraction_min {
            if groups.split_messages == 0 {
                misses.push("no group message was published during a split".into());
            } else if groups.split_delivered_fraction < bound {
                let value = short(groups.split_delivered_fraction);
                misses.push(format!(
                    "groups.split_delivered_fraction is {value}, below the expected minimum \
                     {bound}"
                ));
            }
        }
    }

    /// Whether no bound is set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `value` with at most six decimals and no trailing zeros, for messages.
fn short(value: f64) -> String {
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
