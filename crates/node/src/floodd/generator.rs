//! floodd's `topology-generator`: an external command that computes a group's topology at the
//! master site. It gets the group's members and measured link costs as JSON on its standard
//! input and prints one edge a line, `A B`, each end a site name or a node id (blank lines and
//! lines starting with `#` are skipped). Its answer is checked by the core
//! ([`herald_core::Node::offer_topology`]): an unknown site, a graph that does not connect the
//! members, a failure or a time-out is refused with a logged reason, and the last good
//! topology stays.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use herald_core::NodeId;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::datadir::unix_ms;
use crate::handle::NodeHandle;

/// How long the generator may run.
pub const GENERATOR_TIMEOUT: Duration = Duration::from_secs(30);

/// The most the generator may print; more is refused.
pub const GENERATOR_OUTPUT_MAX: u64 = 1024 * 1024;

/// One run of a group's generator.
#[derive(Debug)]
pub(crate) struct TopologyJob {
    pub group: String,
    pub command: String,
    /// The generator's standard input.
    pub input: GeneratorInput,
    /// Every name an edge may use for a member: its site name and its node id.
    pub names: BTreeMap<String, NodeId>,
}

/// What the generator reads, as JSON.
#[derive(Debug, Serialize)]
pub(crate) struct GeneratorInput {
    pub group: String,
    pub connectivity: u8,
    pub members: Vec<GeneratorMember>,
    pub estimates: Vec<GeneratorEstimate>,
}

/// A member, in [`GeneratorInput`].
#[derive(Debug, Serialize)]
pub(crate) struct GeneratorMember {
    pub node_id: String,
    /// Its site name, or its node id if its profile carries none.
    pub site: String,
}

/// A measured link cost, in [`GeneratorInput`]: the round trip plus the time a 64 KiB chunk
/// takes to cross at the probed bandwidth, in milliseconds.
#[derive(Debug, Serialize)]
pub(crate) struct GeneratorEstimate {
    pub a: String,
    pub b: String,
    pub cost_ms: u32,
}

/// Runs the generator jobs the actor queues, one at a time, until the node stops.
pub(crate) async fn run(handle: NodeHandle, dir: PathBuf, mut jobs: mpsc::Receiver<TopologyJob>) {
    while let Some(job) = jobs.recv().await {
        let group = job.group.clone();
        let edges = match generate(&job, &dir).await {
            Ok(edges) => edges,
            Err(reason) => {
                warn!(%group, %reason, "the topology generator's answer was refused; the last topology stays");
                continue;
            }
        };
        let count = edges.len();
        let offered =
            handle.call(move |actor| actor.offer_generated_topology(&job.group, &edges)).await;
        match offered {
            Ok(Ok(())) => {
                info!(%group, edges = count, at_ms = unix_ms(), "the topology generator's topology is in use")
            }
            Ok(Err(reason)) => {
                warn!(%group, %reason, "the topology generator's answer was refused; the last topology stays");
            }
            Err(_) => return,
        }
    }
}

/// Runs the job's command and reads its edges.
async fn generate(job: &TopologyJob, dir: &PathBuf) -> Result<Vec<(NodeId, NodeId)>, String> {
    let input = serde_json::to_vec(&job.input).map_err(|error| error.to_string())?;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&job.command)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("`{}` could not start: {error}", job.command))?;
    let mut stdin = child.stdin.take().ok_or("no standard input")?;
    let writer = tokio::spawn(async move {
        // A generator that exits without reading its input is not an error here.
        let _ = stdin.write_all(&input).await;
    });
    let mut stdout = child.stdout.take().ok_or("no standard output")?;
    let mut output = Vec::new();
    let reading = async {
        (&mut stdout).take(GENERATOR_OUTPUT_MAX + 1).read_to_end(&mut output).await?;
        child.wait().await
    };
    let status = match tokio::time::timeout(GENERATOR_TIMEOUT, reading).await {
        Ok(Ok(status)) => status,
        Ok(Err(error)) => return Err(format!("`{}` failed: {error}", job.command)),
        Err(_) => return Err(format!("`{}` timed out after {GENERATOR_TIMEOUT:?}", job.command)),
    };
    writer.abort();
    if !status.success() {
        return Err(format!("`{}` exited with {status}", job.command));
    }
    if output.len() as u64 > GENERATOR_OUTPUT_MAX {
        return Err(format!("`{}` printed more than {GENERATOR_OUTPUT_MAX} bytes", job.command));
    }
    parse_edges(&String::from_utf8_lossy(&output), &job.names)
}

/// Reads `A B` lines into edges between the members `names` knows.
fn parse_edges(
    text: &str,
    names: &BTreeMap<String, NodeId>,
) -> Result<Vec<(NodeId, NodeId)>, String> {
    let mut edges = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let ends: Vec<&str> = line.split_whitespace().collect();
        let [a, b] = ends[..] else {
            return Err(format!("line {}: an edge is two names, not {line:?}", number + 1));
        };
        let node = |name: &str| {
            names
                .get(name)
                .copied()
                .ok_or_else(|| format!("line {}: no member {name:?}", number + 1))
        };
        edges.push((node(a)?, node(b)?));
    }
    Ok(edges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_read_by_site_name_or_node_id_and_unknown_sites_are_refused() {
        let alpha = NodeId::from_bytes([1; 32]);
        let beta = NodeId::from_bytes([2; 32]);
        let names: BTreeMap<String, NodeId> =
            [("alpha".to_owned(), alpha), (beta.to_string(), beta)].into();
        let text = format!("# a comment\n\nalpha {beta}\n");
        assert_eq!(parse_edges(&text, &names), Ok(vec![(alpha, beta)]));
        assert_eq!(parse_edges("alpha gamma\n", &names), Err("line 1: no member \"gamma\"".into()));
        assert!(parse_edges("alpha\n", &names).unwrap_err().contains("two names"));
    }
}
