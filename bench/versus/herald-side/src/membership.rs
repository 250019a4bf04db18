//! The membership workload on herald: nodes that have joined start at once, each knowing node
//! 0, and the run times full views, measures idle traffic, then crashes one node silently (as
//! `kill -9` would: its socket goes dark) and times until every survivor holds it dead.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use versus_common::{MembershipOutcome, MembershipParams, Meter};

use crate::grid::Grid;

/// Runs the membership workload on a fresh grid in a temporary directory. Figures that come
/// from polls are rounded up to [`crate::grid::POLL`].
pub fn membership(params: &MembershipParams) -> Result<MembershipOutcome> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(run(*params))
}

async fn run(params: MembershipParams) -> Result<MembershipOutcome> {
    if params.nodes < 3 {
        bail!("the membership workload needs at least 3 nodes, not {}", params.nodes);
    }
    let root = tempfile::Builder::new().prefix("versus-herald-").tempdir()?;
    let (mut grid, started) = Grid::start(root.path(), params.nodes, true).await?;
    let everyone: Vec<usize> = (0..params.nodes).collect();
    let converged = grid
        .wait_seen(&everyone, &["alive"], params.deadline, "every node to see every other alive")
        .await?;
    let converge_s = converged.duration_since(started).as_secs_f64();

    tokio::time::sleep(params.settle).await;
    let meter = Meter::start()?;
    tokio::time::sleep(params.idle_window).await;
    let idle = meter.stop()?;

    let victim = params.nodes - 1;
    let node = grid.nodes[victim].take().context("the victim is not running")?;
    let crashed = Instant::now();
    node.crash().await;
    let known = grid
        .wait_seen(&[victim], &["dead"], params.deadline, "every survivor to hold the crash dead")
        .await?;
    let detect_s = known.duration_since(crashed).as_secs_f64();
    grid.shutdown().await?;
    Ok(MembershipOutcome { converge_s, detect_s, idle })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn five_nodes_converge_and_find_a_crash() {
        let params = MembershipParams {
            nodes: 5,
            settle: Duration::from_secs(1),
            idle_window: Duration::from_secs(2),
            deadline: Duration::from_secs(60),
        };
        let outcome = membership(&params).unwrap();
        assert!(outcome.converge_s > 0.0 && outcome.converge_s < 60.0, "{outcome:?}");
        assert!(outcome.detect_s > 0.0 && outcome.detect_s < 60.0, "{outcome:?}");
        assert!(outcome.idle.wall_s >= 2.0, "{outcome:?}");
    }
}
