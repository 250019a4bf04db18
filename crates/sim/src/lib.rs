//! herald-sim: a deterministic discrete-event simulator of many herald-core nodes.
//!
//! One thread runs one simulation. Events sit on a heap ordered by (virtual time, insertion
//! sequence); a [`NetworkModel`] delays, loses and partitions messages; crashed nodes keep their
//! in-memory store and restart from it; [`Checker`]s verify safety invariants after every step.
//! Everything random draws from one seeded generator, so a seed replays a run exactly, and
//! [`Sim::trace_hash`] proves it.
//!
//! Main types: [`Sim`] (the event loop), [`Scenario`] (a standard workload that yields a
//! [`Report`], the `herald sim --json` object, and [`ReachCurve`]s for plots),
//! [`ScenarioFile`] (a scenario, its seeds and its expected bounds in TOML), [`NetworkModel`],
//! [`Checker`], and [`checks::SEEDED_CHECKS`] (the randomized checks that the tests run on fixed
//! seeds and `herald sim --sweep` on any).
//!
//! Not here: tokio, sockets or wall-clock reads (clippy.toml bans them), or real disks.

mod checkers;
pub mod checks;
mod connectivity;
mod fault;
mod grid_control;
mod groups;
mod memo;
mod network;
mod queue;
mod reach;
mod report;
mod routes;
mod scenario;
mod scenario_file;
pub mod seed;
mod service;
mod sim;

pub use checkers::{
    Checker, IncarnationsNeverGoBack, NoDuplicateDelivery, NoForgedDelivery, standard_checkers,
};
pub use connectivity::Connectivity;
pub use fault::Fault;
pub use grid_control::{GridControlReport, GridControlScenario};
pub use groups::{GROUP_NAME, GroupScenario, GroupsReport};
pub use memo::MemoVerifier;
pub use network::{LossModel, NetworkModel, NodeIndex, RETRANSMISSIONS_MAX};
pub use reach::ReachCurve;
pub use report::{Percentiles, Report};
pub use routes::{RouteCheck, advertisements_agree, check as check_routes};
pub use scenario::{Origins, Scenario, gossip_fanout};
pub use scenario_file::{Expect, FILE_NODES_MAX, ScenarioFile, ScenarioFileError};
pub use service::ServiceModel;
pub use sim::{Delivery, NetworkChange, Sim, SimCommand, Violation};
