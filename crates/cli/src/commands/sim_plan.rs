//! How `herald sim`'s flags become the scenario to run: a scenario file's values, overridden
//! by each flag given, every value checked (a bad one is a usage error, exit 2).

use std::time::Duration;

use herald_core::BroadcastMode;

use super::*;
use crate::commands::usage::usage;

/// The scenario to run, and whether flags changed the file's.
pub(super) struct Plan {
    pub(super) scenario: Scenario,
    pub(super) file: Option<ScenarioFile>,
    pub(super) overridden: bool,
}

impl SimArgs {
    pub(super) fn plan(&self) -> anyhow::Result<Plan> {
        let file = match self.scenario.as_slice() {
            [] => None,
            [path] => Some(ScenarioFile::load(path)?),
            _ => return Err(usage("--scenario names one file, except with --sweep")),
        };
        let mut scenario =
            file.as_ref().map_or_else(Scenario::default, |file| file.scenario.clone());
        scenario.seed = self.seed.or(file.as_ref().map(|file| file.seeds[0])).unwrap_or(1);
        let mut overridden = false;
        let mut set = |given: bool| {
            overridden |= given;
            given
        };
        if let Some(nodes) = self.nodes {
            set(true);
            if nodes == 0 || nodes > NODES_MAX {
                return Err(usage(format!(
                    "--nodes must be between 1 and {NODES_MAX}, not {nodes}"
                )));
            }
            scenario.nodes = nodes;
        }
        if let Some(latency) = self.latency {
            set(true);
            scenario.latency = millis("--latency", latency)?;
        }
        if let Some(jitter) = self.jitter {
            set(true);
            scenario.jitter = millis("--jitter", jitter)?;
        }
        if let Some(loss) = self.loss {
            set(true);
            if !(0.0..1.0).contains(&loss) {
                return Err(usage(format!("--loss must be at least 0 and below 1, not {loss}")));
            }
            scenario.loss = loss;
        }
        if let Some(model) = self.loss_model {
            set(true);
            scenario.loss_model = match model {
                LossModelArg::Retransmit => LossModel::Retransmit,
                LossModelArg::Drop => LossModel::Drop,
            };
        }
        if set(self.kill.is_some() || self.partition.is_some()) {
            scenario.faults = self.faults()?;
        }
        if set(self.newcomer) {
            scenario.newcomer = true;
        }
        if let Some(bytes) = self.payload_bytes {
            set(true);
            scenario.payload_bytes = bytes;
        }
        if let Some(broadcasts) = self.broadcasts {
            set(true);
            scenario.broadcasts = broadcasts;
        }
        if let Some(broadcast) = self.broadcast {
            set(true);
            scenario.broadcast = broadcast.mode(scenario.nodes);
        }
        // Gossip's fanout follows the grid's size, whichever of the file and the flags set it.
        if let BroadcastMode::Gossip { .. } = scenario.broadcast {
            scenario.broadcast = BroadcastArg::Gossip.mode(scenario.nodes);
        }
        if let Some(origins) = self.origins {
            set(true);
            scenario.origins = match origins {
                OriginsArg::Single => Origins::Single,
                OriginsArg::Random => Origins::Random,
            };
        }
        if set(self.no_membership) {
            scenario.membership = false;
        }
        if set(self.routing) {
            scenario.routing = true;
        }
        if let Some(warmup) = self.warmup {
            set(true);
            scenario.warmup = seconds("--warmup", warmup)?;
        }
        if let Some(settle) = self.settle {
            set(true);
            scenario.settle = seconds("--settle", settle)?;
        }
        Ok(Plan { scenario, file, overridden })
    }

    fn faults(&self) -> anyhow::Result<Vec<Fault>> {
        let mut faults = Vec::new();
        if let Some(kill) = self.kill {
            if !(0.0..=1.0).contains(&kill) {
                return Err(usage(format!("--kill must be between 0 and 1, not {kill}")));
            }
            if kill > 0.0 {
                faults.push(Fault::Crash { at: Duration::ZERO, fraction: kill });
            }
        }
        if let Some(spec) = &self.partition {
            let (fraction, secs) = spec.split_once(':').unwrap_or((spec, "10"));
            let fraction: f64 = fraction
                .parse()
                .ok()
                .filter(|f| (0.0..=0.5).contains(f))
                .ok_or_else(|| usage(format!("--partition takes FRACTION[:SECONDS] with FRACTION from 0 to 0.5, not {spec:?}")))?;
            let secs: f64 = secs.parse().map_err(|_| {
                usage(format!("--partition SECONDS must be a number, not {secs:?}"))
            })?;
            let duration = seconds("--partition SECONDS", secs)?;
            faults.push(Fault::Partition {
                at: Duration::ZERO,
                duration,
                fraction,
                one_way: false,
            });
        }
        Ok(faults)
    }
}

fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    millis(flag, value * 1000.0)
}

fn millis(flag: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value / 1000.0)
        .ok()
        .filter(|duration| *duration <= Duration::from_secs(3600))
        .ok_or_else(|| {
            usage(format!("{flag} must be between 0 and 3600000 milliseconds, not {value}"))
        })
}
