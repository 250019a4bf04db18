//! Reach curves: how fast each published record spread, for plots.
//!
//! A curve holds, for one record, the time from its publication to its first delivery at every
//! node alive at the end of the run, sorted. The fraction of nodes reached `t` after
//! publication is the number of delays up to `t` divided by the nodes that could be reached
//! (the live nodes other than the origin). Curves are kept out of the JSON report: they grow
//! with broadcasts × nodes.

use std::collections::{BTreeMap, BTreeSet};

use herald_core::SlotKey;

use crate::network::NodeIndex;
use crate::report::millis;
use crate::sim::Sim;

/// How one published record reached the live nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct ReachCurve {
    /// The record's key (the announcement's service name).
    pub key: String,
    /// The node that published it.
    pub origin: NodeIndex,
    /// When it was published, in virtual milliseconds since the start of the run.
    pub published_ms: f64,
    /// Nodes it could reach: those alive at the end, the origin aside.
    pub targets: u32,
    /// Milliseconds from publication to the first delivery at each reached target, ascending.
    pub delays_ms: Vec<f64>,
}

impl ReachCurve {
    /// The fraction of targets reached within `ms` of publication.
    pub fn fraction_at(&self, ms: f64) -> f64 {
        if self.targets == 0 {
            return 1.0;
        }
        let reached = self.delays_ms.partition_point(|delay| *delay <= ms);
        reached as f64 / f64::from(self.targets)
    }

    /// The fraction of targets reached by the end of the run.
    pub fn final_fraction(&self) -> f64 {
        self.fraction_at(f64::INFINITY)
    }

    /// The mean over `curves` of the fraction reached within `ms` (0 when there are none).
    pub fn mean_fraction_at(curves: &[ReachCurve], ms: f64) -> f64 {
        if curves.is_empty() {
            return 0.0;
        }
        curves.iter().map(|curve| curve.fraction_at(ms)).sum::<f64>() / curves.len() as f64
    }
}

/// One curve per slot whose record a live node holds, in the order of `slots`.
pub(crate) fn reach_curves(sim: &Sim, slots: &[SlotKey]) -> Vec<ReachCurve> {
    let live: BTreeSet<NodeIndex> = (0..sim.len()).filter(|node| sim.is_up(*node)).collect();
    let mut curves = Vec::new();
    let mut index_of_digest = BTreeMap::new();
    for slot in slots {
        let Some(origin) = sim.index(&slot.origin) else { continue };
        let held = live.iter().find_map(|node| sim.node(*node)?.records().get(slot));
        let Some(digest) = held.map(|record| record.digest()) else { continue };
        let Some(published_at) = sim.published().get(&digest) else { continue };
        index_of_digest.insert(digest, curves.len());
        let targets = live.len() as u32 - u32::from(live.contains(&origin));
        curves.push((
            ReachCurve {
                key: slot.key.clone(),
                origin,
                published_ms: published_at.as_micros() as f64 / 1000.0,
                targets,
                delays_ms: Vec::new(),
            },
            *published_at,
            BTreeSet::new(),
        ));
    }
    // Deliveries are in time order, so the first one per node is its first delivery.
    for delivery in sim.deliveries() {
        let Some(index) = index_of_digest.get(&delivery.digest) else { continue };
        let (curve, published_at, reached) = &mut curves[*index];
        if delivery.node == curve.origin
            || !live.contains(&delivery.node)
            || !reached.insert(delivery.node)
        {
            continue;
        }
        let delay = delivery.at.saturating_since(*published_at);
        curve.delays_ms.push(millis(delay));
    }
    curves
        .into_iter()
        .map(|(mut curve, _, _)| {
            curve.delays_ms.sort_by(f64::total_cmp);
            curve
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(targets: u32, delays_ms: Vec<f64>) -> ReachCurve {
        ReachCurve { key: "s".into(), origin: 0, published_ms: 0.0, targets, delays_ms }
    }

    #[test]
    fn fraction_counts_deliveries_up_to_and_including_the_time() {
        let c = curve(4, vec![10.0, 20.0, 20.0]);
        assert_eq!(c.fraction_at(0.0), 0.0);
        assert_eq!(c.fraction_at(10.0), 0.25);
        assert_eq!(c.fraction_at(20.0), 0.75);
        assert_eq!(c.final_fraction(), 0.75);
        assert_eq!(curve(0, Vec::new()).final_fraction(), 1.0);
    }

    #[test]
    fn mean_fraction_averages_the_curves() {
        let curves = [curve(2, vec![10.0, 30.0]), curve(2, vec![20.0, 40.0])];
        assert_eq!(ReachCurve::mean_fraction_at(&curves, 20.0), 0.5);
        assert_eq!(ReachCurve::mean_fraction_at(&curves, 30.0), 0.75);
        assert_eq!(ReachCurve::mean_fraction_at(&[], 20.0), 0.0);
    }
}
