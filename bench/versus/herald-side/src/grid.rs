//! A grid of real herald nodes in this process: node 0 creates it, the others join with one
//! invitation; and the polls the workloads wait on.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use herald_node::api::model::{InvitationRequest, NodeApi};
use herald_node::join::{JoinOptions, join};
use herald_node::{NodeOptions, RunningNode};

/// How often the workloads look at the nodes' state; figures that come from polls are rounded
/// up to it.
pub const POLL: Duration = Duration::from_millis(20);

/// The nodes of one grid, by index; a crashed node's slot is empty.
pub struct Grid {
    /// The nodes.
    pub nodes: Vec<Option<RunningNode>>,
    /// Their ids, by index, as the API spells them.
    pub ids: Vec<String>,
    root: PathBuf,
}

impl Grid {
    /// Starts node 0 and joins `count - 1` more with one invitation. With `start_at_once`, the
    /// joined nodes are started together once all have joined, and the returned instant is
    /// when the last of them had started; otherwise each starts as it joins, as `herald demo`
    /// does.
    pub async fn start(root: &Path, count: usize, start_at_once: bool) -> Result<(Grid, Instant)> {
        let mut nodes = vec![Some(start_node(root, 0).await?)];
        let invitation = InvitationRequest {
            role: Some("server".into()),
            uses: Some(u32::try_from(count).context("too many nodes")?),
            expires_s: Some(3600),
        };
        let first = nodes[0].as_ref().context("node 0")?.handle().clone();
        let code = first.invite(invitation).await.map_err(|error| anyhow!("inviting: {error}"))?;
        for index in 1..count {
            let options = JoinOptions { data_dir: node_dir(root, index), name: None };
            join(&code.code, &options).await.with_context(|| format!("node {index} joining"))?;
            if !start_at_once {
                nodes.push(Some(start_node(root, index).await?));
            }
        }
        if start_at_once {
            let starts: Vec<_> = (1..count)
                .map(|index| {
                    let root = root.to_owned();
                    tokio::spawn(async move { start_node(&root, index).await })
                })
                .collect();
            for start in starts {
                nodes.push(Some(start.await.context("a node's start failed")??));
            }
        }
        let started = Instant::now();
        let ids = nodes.iter().flatten().map(|node| node.id.to_string()).collect();
        Ok((Grid { nodes, ids, root: root.to_owned() }, started))
    }

    /// Whether every running node sees every node of `subjects` in one of `states`; returns
    /// how many running nodes do.
    pub async fn seeing(&self, subjects: &[usize], states: &[&str]) -> Result<usize> {
        let mut seeing = 0;
        for node in self.nodes.iter().flatten() {
            let members = node.handle().members().await.map_err(|error| anyhow!("{error}"))?;
            let sees = subjects.iter().all(|&subject| {
                members.iter().any(|member| {
                    member.node_id == self.ids[subject] && states.contains(&member.state.as_str())
                })
            });
            seeing += usize::from(sees);
        }
        Ok(seeing)
    }

    /// How many nodes are running.
    pub fn running(&self) -> usize {
        self.nodes.iter().flatten().count()
    }

    /// Polls until every running node sees `subjects` in one of `states`, or `deadline`;
    /// returns when that held, or an error that says how far it got.
    pub async fn wait_seen(
        &self,
        subjects: &[usize],
        states: &[&str],
        deadline: Duration,
        what: &str,
    ) -> Result<Instant> {
        let started = Instant::now();
        loop {
            let seeing = self.seeing(subjects, states).await?;
            if seeing == self.running() {
                return Ok(Instant::now());
            }
            if started.elapsed() > deadline {
                bail!(
                    "{what}: after {} s, {seeing} of {} nodes saw it",
                    deadline.as_secs(),
                    self.running()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops every node that is still running, and removes the data directories.
    pub async fn shutdown(self) -> Result<()> {
        for node in self.nodes.into_iter().flatten() {
            node.shutdown().await?;
        }
        std::fs::remove_dir_all(&self.root).ok();
        Ok(())
    }
}

fn node_dir(root: &Path, index: usize) -> PathBuf {
    root.join(format!("node-{index}"))
}

/// Starts node `index` as `herald demo` does: peers on a free loopback port, no HTTP API and
/// no floodd client port (nothing here reads them), every other option at its default.
async fn start_node(root: &Path, index: usize) -> Result<RunningNode> {
    let mut options = NodeOptions::new(node_dir(root, index));
    options.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    options.http = None;
    options.client_port = None;
    RunningNode::start(options).await.with_context(|| format!("starting node {index}"))
}
