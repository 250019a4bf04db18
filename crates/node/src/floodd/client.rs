//! The floodd client interface served by a running node: [`FlooddService`] over the node's
//! [`NodeHandle`], so that every verb of the line protocol does what the HTTP API does.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::line::{BoxFuture, FlooddService, Nearest, PublishError};
use crate::api::model::{ApiError, NodeApi};
use crate::handle::NodeHandle;

/// The line protocol's view of a node.
pub struct NodeService {
    handle: NodeHandle,
    /// Notified when a client on loopback asks the daemon to exit.
    exit: Arc<Notify>,
}

impl NodeService {
    /// The service over `handle`; `exit` is notified on the `exit` verb.
    pub fn new(handle: NodeHandle, exit: Arc<Notify>) -> NodeService {
        NodeService { handle, exit }
    }

    /// The groups this node is a member of.
    async fn member_groups(&self) -> Vec<String> {
        let groups = self.handle.groups().await.unwrap_or_default();
        groups.into_iter().filter(|group| group.member).map(|group| group.name).collect()
    }
}

impl FlooddService for NodeService {
    fn groups(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            let groups = self.handle.groups().await.unwrap_or_default();
            groups.into_iter().map(|group| group.name).collect()
        })
    }

    fn members(&self, group: String) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(async move {
            let group = self.handle.group(group).await.ok()?;
            let line = |member: crate::api::model::GroupMemberView| {
                let node = member.node_id.unwrap_or_else(|| "-".to_owned());
                format!("{} {node} {}", member.site, member.state)
            };
            Some(group.members.into_iter().map(line).collect())
        })
    }

    fn publish(
        &self,
        group: Option<String>,
        body: Vec<u8>,
    ) -> BoxFuture<'_, Result<String, PublishError>> {
        Box::pin(async move {
            let group = match group {
                Some(group) => group,
                None => {
                    let mut groups = self.member_groups().await;
                    match groups.len() {
                        0 => return Err(PublishError::NoGroup),
                        1 => groups.remove(0),
                        _ => return Err(PublishError::Ambiguous { groups }),
                    }
                }
            };
            match self.handle.publish_group(group.clone(), body).await {
                Ok(published) => Ok(published.id),
                Err(ApiError::NotFound(_)) => Err(PublishError::NoSuchGroup(group)),
                Err(ApiError::TooLarge(_)) => Err(PublishError::TooLarge {
                    limit: herald_core::groups::MESSAGE_LEN_MAX_DEFAULT as usize,
                }),
                Err(_) => Err(PublishError::Busy),
            }
        })
    }

    fn statistics(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            let Ok(stats) = self.handle.stats().await else { return Vec::new() };
            let mut lines = Vec::new();
            flatten(&mut lines, "", &stats);
            lines
        })
    }

    fn topology(&self, group: String) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(async move {
            let topology = self.handle.topology(group).await.ok()?;
            Some(
                topology
                    .edges
                    .into_iter()
                    .map(|edge| format!("{} {} {}", edge.a, edge.b, edge.cost_ms))
                    .collect(),
            )
        })
    }

    fn nearest(&self) -> BoxFuture<'_, Option<Nearest>> {
        Box::pin(async move {
            let nearest = self.handle.nearest().await.ok()?.into_iter().next()?;
            let rtt = Duration::from_secs_f64(nearest.rtt_ms.max(0.0) / 1000.0);
            Some(Nearest { node: nearest.node_id, rtt })
        })
    }

    fn exit(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move { self.exit.notify_one() })
    }
}

/// `name value` lines for every number in `value`, names joined with `.`.
fn flatten(lines: &mut Vec<String>, prefix: &str, value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
            for (name, field) in fields {
                let name =
                    if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                flatten(lines, &name, field);
            }
        }
        serde_json::Value::Number(number) => lines.push(format!("{prefix} {number}")),
        _ => {}
    }
}
