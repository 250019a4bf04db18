//! Safety checkers: invariants checked after every simulation step.
//!
//! A checker sees every event a node emitted in the step and the records the simulation
//! published; it returns a violation as one sentence. The first violation stops the run.

use std::collections::{BTreeMap, BTreeSet};

use herald_core::{Digest, Event, NodeId};

use crate::network::NodeIndex;

/// An invariant checked after every step.
pub trait Checker {
    /// A short name for reports.
    fn name(&self) -> &'static str;
    /// Called for each event of the step; `published` holds the digest of every record a node
    /// made by a local command so far.
    fn check(
        &mut self,
        node: NodeIndex,
        event: &Event,
        published: &BTreeSet<Digest>,
    ) -> Result<(), String>;
    /// Called when a node restarts from its store, which legitimately forgets its in-memory
    /// state.
    fn on_restart(&mut self, _node: NodeIndex) {}
}

/// No node delivers the same record twice.
#[derive(Debug, Default)]
pub struct NoDuplicateDelivery {
    delivered: BTreeMap<NodeIndex, BTreeSet<Digest>>,
}

impl Checker for NoDuplicateDelivery {
    fn name(&self) -> &'static str {
        "no-duplicate-delivery"
    }

    fn check(
        &mut self,
        node: NodeIndex,
        event: &Event,
        _published: &BTreeSet<Digest>,
    ) -> Result<(), String> {
        if let Event::RecordStored { record, .. } = event
            && !self.delivered.entry(node).or_default().insert(record.digest())
        {
            return Err(format!(
                "node {node} delivered record {} of {:?} twice",
                record.record.version, record.record.origin
            ));
        }
        Ok(())
    }
}

/// No node delivers a record that no node published: nothing unsigned or forged gets through.
#[derive(Debug, Default)]
pub struct NoForgedDelivery;

impl Checker for NoForgedDelivery {
    fn name(&self) -> &'static str {
        "no-forged-delivery"
    }

    fn check(
        &mut self,
        node: NodeIndex,
        event: &Event,
        published: &BTreeSet<Digest>,
    ) -> Result<(), String> {
        if let Event::RecordStored { record, from: Some(_), .. } = event
            && !published.contains(&record.digest())
        {
            return Err(format!(
                "node {node} delivered a record no node published: {:?}",
                record.record
            ));
        }
        Ok(())
    }
}

/// No node's view of a member's incarnation ever goes backwards.
#[derive(Debug, Default)]
pub struct IncarnationsNeverGoBack {
    seen: BTreeMap<(NodeIndex, NodeId), u64>,
}

impl Checker for IncarnationsNeverGoBack {
    fn name(&self) -> &'static str {
        "incarnations-never-go-back"
    }

    fn check(
        &mut self,
        node: NodeIndex,
        event: &Event,
        _published: &BTreeSet<Digest>,
    ) -> Result<(), String> {
        if let Event::MemberChanged { id, state, incarnation } = event {
            let highest = self.seen.entry((node, *id)).or_insert(*incarnation);
            if *incarnation < *highest {
                return Err(format!(
                    "node {node} saw {id:?} go {} at incarnation {incarnation} after incarnation {highest}",
                    state.name()
                ));
            }
            *highest = *incarnation;
        }
        Ok(())
    }

    fn on_restart(&mut self, node: NodeIndex) {
        // A restarted node rebuilds its view from stored claims, which never go back either,
        // but it may learn of a member afresh after a purge; start its history again.
        self.seen.retain(|(observer, _), _| *observer != node);
    }
}

/// The checkers every run uses.
pub fn standard_checkers() -> Vec<Box<dyn Checker>> {
    vec![
        Box::new(NoDuplicateDelivery::default()),
        Box::new(NoForgedDelivery),
        Box::new(IncarnationsNeverGoBack::default()),
    ]
}
