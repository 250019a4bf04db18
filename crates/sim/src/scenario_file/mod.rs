//! Scenario files: a [`Scenario`], the fixed seeds it runs with, and the bounds every run of it
//! must meet, written in TOML.
//!
//! ```toml
//! description = "Half the grid crashes at once; the rest must still hold every record."
//! seeds = [1, 2]
//!
//! [scenario]
//! nodes = 200
//! broadcast = "plumtree"   # or "flood", or "gossip" (fanout ceil(ln N))
//! settle = "10s"           # durations are humantime: "500ms", "20s", "1m 30s"
//!
//! [[fault]]
//! kind = "crash"           # or "partition", "churn", "swizzle-clog"
//! fraction = 0.5
//!
//! [expect]
//! delivered_fraction_min = 1.0
//! ```
//!
//! Every key of `[scenario]` is optional and defaults to [`Scenario::default`]; unknown keys
//! anywhere are errors (style.md). The seeds are a fixed list so that a test over the file runs
//! the same simulations every time; `[expect]` holds the bounds that test asserts.

mod expect;
mod grid_control;
mod values;

use std::path::{Path, PathBuf};

use herald_core::BroadcastMode;
use serde::Deserialize;

use crate::fault::Fault;
use crate::groups::GroupScenario;
use crate::network::LossModel;
use crate::scenario::{Origins, Scenario, gossip_fanout};
use crate::service::ServiceModel;
pub use expect::Expect;
use grid_control::GridControlRepr;
use values::{Fraction, HumanDuration, NodeCount, Positive, Probability, Rate};

/// Largest grid a scenario file may ask for (the same bound as `herald sim --nodes`).
pub const FILE_NODES_MAX: u32 = 1_000_000;

/// A scenario file, parsed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioFile {
    /// Where it was read from, as given.
    pub path: PathBuf,
    /// What the scenario exercises, in a sentence or two.
    pub description: Option<String>,
    /// The scenario, with its seed set to the first of `seeds`.
    pub scenario: Scenario,
    /// The seeds a test runs it with; never empty.
    pub seeds: Vec<u64>,
    /// Bounds every run must meet.
    pub expect: Expect,
}

/// Why a scenario file could not be used. Each message is one sentence naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioFileError {
    /// The file could not be read.
    #[error("cannot read scenario file {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The file is not valid TOML or does not follow the format; toml gave a position.
    #[error("scenario file {}, line {line}, column {column}: {message}", path.display())]
    At {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column in characters, from 1.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file does not follow the format, with no position to point at.
    #[error("scenario file {}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl ScenarioFile {
    /// Reads and parses the scenario file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<ScenarioFile, ScenarioFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|error| ScenarioFileError::Read { path: path.to_owned(), error })?;
        ScenarioFile::parse(&text, path)
    }

    /// Parses `text`, the contents of the file at `path` (used only in messages).
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<ScenarioFile, ScenarioFileError> {
        let path = path.as_ref().to_owned();
        let file: FileRepr = toml::from_str(text).map_err(|error| {
            let message = one_line(error.message());
            match error.span() {
                Some(span) => {
                    let (line, column) = line_and_column(text, span.start);
                    ScenarioFileError::At { path: path.clone(), line, column, message }
                }
                None => ScenarioFileError::Invalid { path: path.clone(), message },
            }
        })?;
        let seeds = file.seeds;
        let Some(first_seed) = seeds.first().copied() else {
            return Err(ScenarioFileError::Invalid {
                path,
                message: "`seeds` must list at least one seed".to_owned(),
            });
        };
        let mut scenario = file.scenario.into_scenario(first_seed, file.faults);
        scenario.group = file.group.map(GroupRepr::group);
        scenario.grid_control = file.grid_control.map(GridControlRepr::grid_control);
        Ok(ScenarioFile {
            path,
            description: file.description,
            scenario,
            seeds,
            expect: file.expect,
        })
    }

    /// The file's scenario run with `seed`.
    pub fn with_seed(&self, seed: u64) -> Scenario {
        Scenario { seed, ..self.scenario.clone() }
    }

    /// A name for the scenario: the file's name without its extension.
    pub fn name(&self) -> String {
        self.path.file_stem().map_or_else(
            || self.path.display().to_string(),
            |stem| stem.to_string_lossy().into_owned(),
        )
    }
}

/// The top level of a scenario file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    #[serde(default)]
    description: Option<String>,
    seeds: Vec<u64>,
    #[serde(default)]
    scenario: ScenarioRepr,
    #[serde(default, rename = "fault")]
    faults: Vec<FaultRepr>,
    #[serde(default)]
    group: Option<GroupRepr>,
    #[serde(default)]
    grid_control: Option<GridControlRepr>,
    #[serde(default)]
    expect: Expect,
}

/// `[scenario]`: [`Scenario`]'s fields, each optional, without the seed (see `seeds`) and the
/// faults (see `[[fault]]`).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioRepr {
    nodes: Option<NodeCount>,
    latency: Option<HumanDuration>,
    jitter: Option<HumanDuration>,
    loss: Option<Probability>,
    loss_model: Option<LossModel>,
    broadcast: Option<BroadcastKind>,
    membership: Option<bool>,
    routing: Option<bool>,
    broadcasts: Option<u32>,
    broadcast_interval: Option<HumanDuration>,
    payload_bytes: Option<usize>,
    origins: Option<OriginsKind>,
    newcomer: Option<bool>,
    warmup: Option<HumanDuration>,
    settle: Option<HumanDuration>,
    service: Option<ServiceKind>,
    /// Cores the nodes share, as when they run in one process; each node gets its share.
    cores: Option<Positive>,
    /// Inputs a busy node takes under one commit (1: a commit per input).
    inputs_per_turn: Option<Positive>,
}

/// `[group]`: [`GroupScenario`]'s fields, each optional.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupRepr {
    size: Option<u32>,
    connectivity: Option<Positive>,
    messages: Option<u32>,
    message_bytes: Option<usize>,
    message_interval: Option<HumanDuration>,
    master: Option<bool>,
    log_purge_period: Option<HumanDuration>,
}

impl GroupRepr {
    fn group(self) -> GroupScenario {
        let base = GroupScenario::default();
        GroupScenario {
            size: self.size.unwrap_or(base.size),
            connectivity: self
                .connectivity
                .map_or(base.connectivity, |k| u8::try_from(k.0).unwrap_or(u8::MAX)),
            messages: self.messages.unwrap_or(base.messages),
            message_bytes: self.message_bytes.unwrap_or(base.message_bytes),
            message_interval: self.message_interval.map_or(base.message_interval, |d| d.0),
            master: self.master.unwrap_or(base.master),
            log_purge_period: self.log_purge_period.map(|d| d.0),
        }
    }
}

/// How long a node takes over its inputs, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ServiceKind {
    /// Every input at once.
    Instant,
    /// [`ServiceModel::MEASURED`].
    Measured,
}

impl ScenarioRepr {
    fn into_scenario(self, seed: u64, faults: Vec<FaultRepr>) -> Scenario {
        let base = Scenario::default();
        let nodes = self.nodes.map_or(base.nodes, |count| count.0);
        let duration = |value: Option<HumanDuration>, default| value.map_or(default, |d| d.0);
        Scenario {
            nodes,
            seed,
            latency: duration(self.latency, base.latency),
            jitter: duration(self.jitter, base.jitter),
            loss: self.loss.map_or(base.loss, |p| p.0),
            loss_model: self.loss_model.unwrap_or(base.loss_model),
            broadcast: self.broadcast.map_or(base.broadcast, |kind| kind.mode(nodes)),
            membership: self.membership.unwrap_or(base.membership),
            routing: self.routing.unwrap_or(base.routing),
            broadcasts: self.broadcasts.unwrap_or(base.broadcasts),
            broadcast_interval: duration(self.broadcast_interval, base.broadcast_interval),
            payload_bytes: self.payload_bytes.unwrap_or(base.payload_bytes),
            origins: self.origins.map_or(base.origins, OriginsKind::origins),
            faults: faults.into_iter().map(FaultRepr::fault).collect(),
            newcomer: self.newcomer.unwrap_or(base.newcomer),
            warmup: duration(self.warmup, base.warmup),
            settle: duration(self.settle, base.settle),
            service: self.service_model(nodes),
            group: None,
            grid_control: None,
        }
    }

    fn service_model(&self, nodes: u32) -> ServiceModel {
        let model = match self.service {
            Some(ServiceKind::Measured) => ServiceModel::MEASURED,
            Some(ServiceKind::Instant) | None => ServiceModel::INSTANT,
        };
        let model = match self.cores {
            Some(cores) => model.shared(nodes.div_ceil(cores.0)),
            None => model,
        };
        match self.inputs_per_turn {
            Some(inputs) => ServiceModel { inputs_per_turn: inputs.0 as usize, ..model },
            None => model,
        }
    }
}

/// The broadcast algorithm by name; gossip's fanout follows from the grid's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum BroadcastKind {
    Plumtree,
    Flood,
    Gossip,
}

impl BroadcastKind {
    fn mode(self, nodes: u32) -> BroadcastMode {
        match self {
            BroadcastKind::Plumtree => BroadcastMode::Plumtree,
            BroadcastKind::Flood => BroadcastMode::Flood,
            BroadcastKind::Gossip => BroadcastMode::Gossip { fanout: gossip_fanout(nodes) },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum OriginsKind {
    Single,
    Random,
}

impl OriginsKind {
    fn origins(self) -> Origins {
        match self {
            OriginsKind::Single => Origins::Single,
            OriginsKind::Random => Origins::Random,
        }
    }
}

/// One `[[fault]]` table, told apart by its `kind`. `at` defaults to the end of the warm-up.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum FaultRepr {
    Crash {
        #[serde(default)]
        at: HumanDuration,
        fraction: Fraction,
    },
    Partition {
        #[serde(default)]
        at: HumanDuration,
        duration: HumanDuration,
        fraction: Fraction,
        #[serde(default)]
        one_way: bool,
    },
    Churn {
        #[serde(default)]
        at: HumanDuration,
        duration: HumanDuration,
        crashes_per_s: Rate,
        downtime: HumanDuration,
    },
    SwizzleClog {
        #[serde(default)]
        at: HumanDuration,
        fraction: Fraction,
        step: HumanDuration,
    },
}

impl FaultRepr {
    fn fault(self) -> Fault {
        match self {
            FaultRepr::Crash { at, fraction } => Fault::Crash { at: at.0, fraction: fraction.0 },
            FaultRepr::Partition { at, duration, fraction, one_way } => {
                Fault::Partition { at: at.0, duration: duration.0, fraction: fraction.0, one_way }
            }
            FaultRepr::Churn { at, duration, crashes_per_s, downtime } => Fault::Churn {
                at: at.0,
                duration: duration.0,
                crashes_per_s: crashes_per_s.0,
                downtime: downtime.0,
            },
            FaultRepr::SwizzleClog { at, fraction, step } => {
                Fault::SwizzleClog { at: at.0, fraction: fraction.0, step: step.0 }
            }
        }
    }
}

/// `text` on one line, so that an error stays one sentence.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The 1-based line and character column of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::grid_control::GridControlScenario;
    use crate::groups::GroupsReport;
    use crate::report::{Percentiles, Report, RoutingReport};
    use crate::routes::RouteCheck;

    fn parse(text: &str) -> Result<ScenarioFile, ScenarioFileError> {
        ScenarioFile::parse(text, "scenarios/test.toml")
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("the file is invalid").to_string()
    }

    #[test]
    fn a_full_file_parses_into_its_scenario_seeds_and_bounds() {
        let file = parse(
            r#"
description = "everything at once"
seeds = [7, 8]

[scenario]
nodes = 250
latency = "5ms"
jitter = "20ms"
loss = 0.05
loss_model = "drop"
broadcast = "gossip"
membership = false
routing = true
broadcasts = 12
broadcast_interval = "250ms"
payload_bytes = 64
origins = "single"
newcomer = true
warmup = "15s"
settle = "1m 30s"
service = "measured"
cores = 2

[[fault]]
kind = "crash"
fraction = 0.5

[[fault]]
kind = "partition"
at = "2s"
duration = "10s"
fraction = 0.3
one_way = true

[[fault]]
kind = "churn"
duration = "20s"
crashes_per_s = 2.5
downtime = "3s"

[[fault]]
kind = "swizzle-clog"
at = "500ms"
fraction = 0.1
step = "200ms"

[group]
size = 40
connectivity = 3
messages = 7
message_bytes = 100000
message_interval = "1s"
log_purge_period = "2m"

[grid_control]
recommenders = 50
removal_after = "3s"

[expect]
delivered_fraction_min = 1.0
latency_p99_ms_max = 2000
membership_converged_ms_max = 20000
"#,
        )
        .unwrap();
        assert_eq!(file.seeds, vec![7, 8]);
        assert_eq!(file.description.as_deref(), Some("everything at once"));
        assert_eq!(file.name(), "test");
        let expected = Scenario {
            nodes: 250,
            seed: 7,
            latency: Duration::from_millis(5),
            jitter: Duration::from_millis(20),
            loss: 0.05,
            loss_model: LossModel::Drop,
            broadcast: BroadcastMode::Gossip { fanout: 6 },
            membership: false,
            routing: true,
            broadcasts: 12,
            broadcast_interval: Duration::from_millis(250),
            payload_bytes: 64,
            origins: Origins::Single,
            faults: vec![
                Fault::Crash { at: Duration::ZERO, fraction: 0.5 },
                Fault::Partition {
                    at: Duration::from_secs(2),
                    duration: Duration::from_secs(10),
                    fraction: 0.3,
                    one_way: true,
                },
                Fault::Churn {
                    at: Duration::ZERO,
                    duration: Duration::from_secs(20),
                    crashes_per_s: 2.5,
                    downtime: Duration::from_secs(3),
                },
                Fault::SwizzleClog {
                    at: Duration::from_millis(500),
                    fraction: 0.1,
                    step: Duration::from_millis(200),
                },
            ],
            newcomer: true,
            warmup: Duration::from_secs(15),
            settle: Duration::from_secs(90),
            // 250 nodes on 2 cores: 125 nodes share each.
            service: ServiceModel::MEASURED.shared(125),
            group: Some(GroupScenario {
                size: 40,
                connectivity: 3,
                messages: 7,
                message_bytes: 100_000,
                message_interval: Duration::from_secs(1),
                master: false,
                log_purge_period: Some(Duration::from_secs(120)),
            }),
            grid_control: Some(GridControlScenario {
                recommenders: 50,
                removal_after: Duration::from_secs(3),
                ..GridControlScenario::default()
            }),
        };
        assert_eq!(file.scenario, expected);
        assert_eq!(file.with_seed(8).seed, 8);
        assert_eq!(file.expect.delivered_fraction_min, Some(1.0));
        assert_eq!(file.expect.latency_p99_ms_max, Some(2000.0));
        assert_eq!(file.expect.membership_converged_ms_max, Some(20_000));
        assert_eq!(file.expect.len(), 3);
    }

    #[test]
    fn missing_keys_take_the_scenario_defaults() {
        let file = parse("seeds = [3]").unwrap();
        assert_eq!(file.scenario, Scenario { seed: 3, ..Scenario::default() });
        assert!(file.expect.is_empty());
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_file_line_and_column() {
        let message = error("seeds = [1]\n[scenario]\nnodes = 10\nnodez = 20\n");
        assert!(message.starts_with("scenario file scenarios/test.toml, line 4, column 1: "));
        assert!(message.contains("unknown field `nodez`"), "{message}");
    }

    #[test]
    fn an_unknown_key_at_the_top_in_expect_or_in_a_fault_is_an_error() {
        assert!(error("seeds = [1]\nseed = 2\n").contains("unknown field `seed`"));
        let expect = error("seeds = [1]\n[expect]\ndelivered_min = 1.0\n");
        assert!(expect.contains("unknown field `delivered_min`"), "{expect}");
        let fault =
            error("seeds = [1]\n[[fault]]\nkind = \"crash\"\nfraction = 0.1\nwhen = \"1s\"\n");
        assert!(fault.contains("unknown field `when`"), "{fault}");
    }

    #[test]
    fn an_unknown_fault_kind_or_broadcast_is_an_error() {
        let fault = error("seeds = [1]\n[[fault]]\nkind = \"meteor\"\n");
        assert!(fault.contains("unknown variant `meteor`"), "{fault}");
        let broadcast = error("seeds = [1]\n[scenario]\nbroadcast = \"telepathy\"\n");
        assert!(broadcast.contains("line 3, column 13"), "{broadcast}");
        assert!(broadcast.contains("unknown variant `telepathy`"), "{broadcast}");
    }

    #[test]
    fn bad_values_are_errors_that_say_what_was_expected() {
        let duration = error("seeds = [1]\n[scenario]\nsettle = \"soon\"\n");
        assert!(duration.contains("line 3, column 10"), "{duration}");
        assert!(duration.contains("\"soon\" is not a duration"), "{duration}");
        let number = error("seeds = [1]\n[scenario]\nsettle = 20\n");
        assert!(number.contains("a duration in a string"), "{number}");
        assert!(error("seeds = [1]\n[scenario]\nloss = 1.0\n").contains("below 1"));
        assert!(error("seeds = [1]\n[scenario]\nnodes = 0\n").contains("from 1 to"));
        assert!(
            error("seeds = [1]\n[scenario]\ncores = 0\n")
                .contains("must be from 1 to 4294967295, not 0")
        );
        assert!(error("seeds = [1]\n[scenario]\nservice = \"busy\"\n").contains("unknown variant"));
        let fraction = error("seeds = [1]\n[[fault]]\nkind = \"crash\"\nfraction = 1.5\n");
        assert!(fraction.contains("from 0 to 1, not 1.5"), "{fraction}");
    }

    #[test]
    fn seeds_are_required_and_not_empty() {
        assert!(error("[scenario]\nnodes = 10\n").contains("missing field `seeds`"));
        assert_eq!(
            error("seeds = []\n"),
            "scenario file scenarios/test.toml: `seeds` must list at least one seed"
        );
    }

    #[test]
    fn a_syntax_error_points_at_its_line_and_stays_on_one_line() {
        let message = error("seeds = [1]\n[scenario\nnodes = 10\n");
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let message = ScenarioFile::load("/nonexistent/herald.toml").unwrap_err().to_string();
        assert!(message.starts_with("cannot read scenario file /nonexistent/herald.toml: "));
    }

    fn report() -> Report {
        Report {
            nodes: 10,
            seed: 1,
            alive_at_end: 10,
            broadcasts: 1,
            delivered_fraction: 1.0,
            delivered_by_broadcast_fraction: 1.0,
            latency_ms: Percentiles { p50: 100.0, p99: 300.0, max: 400.0 },
            hops: Percentiles::default(),
            last_delivery_hop: Percentiles::default(),
            rmr: 0.1,
            rmr_repair: 0.0,
            rmr_after_warmup: 0.1,
            rmr_announcements: 0.1,
            messages_per_node: 50.0,
            bytes_per_node: 5000.0,
            messages_per_node_per_s: 1.0,
            bytes_per_node_per_s: 100.0,
            membership_converged_ms: Some(1000),
            newcomer_caught_up_ms: None,
            crash_known_99_ms: None,
            false_suspicions: 0,
            overlay: String::new(),
            broadcast: String::new(),
            membership: true,
            groups: None,
            grid_control: None,
            routing: None,
            overlay_components: 1,
            overlay_outside_largest: 0,
            overlay_isolated: 0,
            grafts: 0,
            prunes: 0,
            records_repaired: 0,
            virtual_ms: 0,
            steps: 0,
            verify_memo_hits: 0,
            verify_memo_misses: 0,
            trace_hash: String::new(),
            violation: None,
            wall_ms: 0,
        }
    }

    #[test]
    fn expectations_list_every_bound_a_run_misses() {
        let met = Expect {
            delivered_fraction_min: Some(1.0),
            latency_p99_ms_max: Some(300.0),
            rmr_max: Some(0.1),
            membership_converged_ms_max: Some(1000),
            false_suspicions_max: Some(0),
            ..Expect::default()
        };
        assert_eq!(met.misses(&report()), Vec::<String>::new());
        let strict = Expect {
            delivered_fraction_min: Some(1.0),
            latency_p99_ms_max: Some(299.0),
            membership_converged_ms_max: Some(999),
            newcomer_caught_up_ms_max: Some(5000),
            ..Expect::default()
        };
        let worse = Report {
            delivered_fraction: 0.99,
            violation: Some("checker x failed".into()),
            ..report()
        };
        assert_eq!(
            strict.misses(&worse),
            vec![
                "a safety checker failed: checker x failed",
                "delivered_fraction is 0.99, below the expected minimum 1",
                "latency_ms.p99 is 300, above the expected maximum 299",
                "membership_converged_ms is 1000 ms, above the expected maximum 999 ms",
                "the newcomer never caught up, where at most 5000 ms was expected",
            ]
        );
    }

    #[test]
    fn routing_bounds_need_routing_and_right_tables() {
        let expect = Expect {
            routes_correct: Some(true),
            routes_converged_ms_max: Some(5000),
            ..Expect::default()
        };
        assert_eq!(
            expect.misses(&report()),
            vec![
                "the routing tables were never all right, where at most 5000 ms was expected",
                "routing did not run, where its tables were to be checked",
            ]
        );
        let routing = |loops, converged_ms| RoutingReport {
            check: RouteCheck { nodes: 3, complete_fraction: 1.0, loops, ..RouteCheck::default() },
            converged_ms,
            checked_after_end_ms: 0,
            advertisements_per_node: 1.0,
            link_state_bytes_per_node: 0.0,
            link_state_bytes_per_node_per_s: 0.0,
        };
        let right = Report { routing: Some(routing(0, Some(4000))), ..report() };
        assert_eq!(expect.misses(&right), Vec::<String>::new());
        let looping = Report { routing: Some(routing(2, Some(6000))), ..report() };
        assert_eq!(
            expect.misses(&looping),
            vec![
                "routing.converged_ms is 6000 ms, above the expected maximum 5000 ms",
                "the routing tables are wrong at the end: 1.0000 of the pairs have a route, 2 \
                 walks loop and 0 break",
            ]
        );
    }

    #[test]
    fn group_order_and_split_bounds_need_a_group_that_met_them() {
        let expect = Expect {
            group_in_order: Some(true),
            group_split_delivered_fraction_min: Some(0.99),
            ..Expect::default()
        };
        assert_eq!(expect.len(), 2);
        assert_eq!(
            expect.misses(&report()),
            vec!["the run had no group, where one was to be checked"]
        );
        let groups = |order_violations, duplicates, split_messages, split_delivered_fraction| {
            Some(GroupsReport {
                members: 10,
                connectivity: 2,
                topology_agreed: true,
                topology_k_connected: true,
                topology_edges: 10,
                topology_from_master: 0,
                messages: 5,
                delivered_fraction: 1.0,
                latency_ms: Percentiles::default(),
                duplicates,
                redelivered_after_crash: 0,
                order_violations,
                split_messages,
                split_delivered_fraction,
                group_bytes_per_member: 0.0,
            })
        };
        let met = Report { groups: groups(0, 0, 3, 0.995), ..report() };
        assert_eq!(expect.misses(&met), Vec::<String>::new());
        let missed = Report { groups: groups(2, 1, 3, 0.5), ..report() };
        assert_eq!(
            expect.misses(&missed),
            vec![
                "2 group messages were delivered after a later one of their origin",
                "1 group messages were delivered twice",
                "groups.split_delivered_fraction is 0.5, below the expected minimum 0.99",
            ]
        );
        let no_split = Report { groups: groups(0, 0, 0, 1.0), ..report() };
        assert_eq!(expect.misses(&no_split), vec!["no group message was published during a split"]);
    }

    #[test]
    fn a_violation_misses_even_empty_expectations() {
        let broken = Report { violation: Some("x".into()), ..report() };
        assert_eq!(Expect::default().misses(&broken).len(), 1);
    }
}
