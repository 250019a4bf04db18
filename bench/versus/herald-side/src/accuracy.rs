//! The accuracy workload on herald: its protocol core in herald-sim, with full membership and
//! failure detection, `members` members, `loss` of every packet lost, `kills` members crashed
//! at once when the warm-up ends, then `virtual_s` seconds. The loss model is herald's
//! transport's: QUIC retransmits a lost packet, so loss becomes delay (foca's side runs on
//! datagrams, where a lost packet is a lost message; BENCHMARKS.md says so beside the figures).

use std::time::Duration;

use anyhow::{Result, bail};
use herald_sim::{Fault, Scenario};
use versus_common::{AccuracyOutcome, AccuracyParams};

/// Runs the accuracy workload. Progress goes to stderr every tenth of the run.
pub fn accuracy(params: &AccuracyParams) -> Result<AccuracyOutcome> {
    if params.members < 2 || params.kills >= params.members {
        bail!("{} kills among {} members: nothing would be left", params.kills, params.members);
    }
    let scenario = Scenario {
        nodes: u32::try_from(params.members)?,
        seed: params.seed,
        loss: params.loss,
        broadcasts: 0,
        faults: vec![Fault::Crash {
            at: Duration::ZERO,
            fraction: params.kills as f64 / params.members as f64,
        }],
        settle: Duration::from_secs(params.virtual_s),
        ..Scenario::default()
    };
    let mut tenth = 0;
    let report = scenario.run(|done, total| {
        let now = done * 10 / total.max(1);
        if now > tenth {
            tenth = now;
            eprintln!("herald-sim: {}% of the virtual time", tenth * 10);
        }
    });
    if let Some(violation) = report.violation {
        bail!("herald-sim found a violation: {violation}");
    }
    Ok(AccuracyOutcome {
        false_deaths: report.false_suspicions,
        detect_s: report.crash_known_99_ms.map(|ms| ms as f64 / 1e3),
        messages_per_member_s: report.messages_per_node_per_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_grid_finds_its_crashes_without_false_deaths() {
        let params = AccuracyParams { members: 50, loss: 0.0, virtual_s: 60, kills: 2, seed: 1 };
        let outcome = accuracy(&params).unwrap();
        assert_eq!(outcome.false_deaths, 0);
        let detect_s = outcome.detect_s.expect("both crashes are found");
        assert!(detect_s > 0.0 && detect_s < 30.0, "{outcome:?}");
    }
}
