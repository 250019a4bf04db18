//! Grid control in the real node: the API's views of this node's recommendations, of
//! reachability, of its grid-manager list and of the lists it follows, and the commands that
//! change them. The protocol side (recommendation rules, reachability, list records) is
//! herald-core's; this file adds the manager key and the followed managers, which the data
//! directory keeps.

use std::collections::BTreeSet;

use anyhow::Result;
use herald_core::grid_control::{ManagerList, Recommendation};
use herald_core::{Keypair, NodeId, PersistOp};

use super::Actor;
use crate::api::grid_control::{ListChange, ManagerView, RecommendationView, RecommendationsView};
use crate::api::model::{ApiError, ServiceView};
use crate::datadir::{DataDir, unix_ms};
use crate::handle::command_refusal;

/// The grid-control state a node keeps beside the core's: its manager key, if it is a grid
/// manager, and the managers it follows.
pub(crate) struct GridControl {
    manager: Option<Keypair>,
    follows: BTreeSet<NodeId>,
}

impl GridControl {
    /// What the data directory kept.
    pub(crate) fn load(data: &DataDir) -> Result<GridControl> {
        Ok(GridControl { manager: data.manager_key()?, follows: data.follows()? })
    }

    /// Whether `op` is owed as this node's own records are: a list of the manager whose key
    /// this node keeps is acknowledged to the user who edited it, but its origin is the
    /// manager's key, which the core's rule ([`PersistOp::is_owed_by`]) does not know as ours.
    pub(crate) fn owes(&self, op: &PersistOp) -> bool {
        match (op, &self.manager) {
            (PersistOp::PutRecord(record), Some(manager)) => record.record.origin == manager.id(),
            _ => false,
        }
    }
}

/// The answer when this node is no manager.
fn no_manager() -> ApiError {
    ApiError::NotFound(
        "this node keeps no grid-manager key: `herald manager create` makes one".into(),
    )
}

impl Actor {
    /// `GET /v1/recommendations`.
    pub(crate) fn recommendations_view(&self) -> RecommendationsView {
        // From the core, not the service index: a command's own record reaches the index only
        // when the turn's outputs are drained, after this answer is made.
        let seq = self.node.grid_control_record(self.id()).map(|record| record.record.version.seq);
        let recommendations = self
            .node
            .recommendations()
            .into_iter()
            .map(|held| RecommendationView {
                who: held.who.to_string(),
                petname: held.petname,
                what: held.what,
            })
            .collect();
        RecommendationsView { seq, recommendations }
    }

    /// `PUT /v1/recommendations`: the list as published; answer it after the commit.
    pub(crate) fn recommend(
        &mut self,
        who: NodeId,
        what: String,
        petname: String,
    ) -> Result<RecommendationsView, ApiError> {
        let recommendation = Recommendation::new(who, petname, what)
            .map_err(|error| ApiError::BadRequest(error.to_string()))?;
        self.publish(|node, now| node.recommend(now, recommendation, unix_ms()))
            .map_err(command_refusal)?;
        Ok(self.recommendations_view())
    }

    /// `DELETE /v1/recommendations`: the list as published; answer it after the commit.
    pub(crate) fn unrecommend(
        &mut self,
        who: NodeId,
        what: &str,
    ) -> Result<RecommendationsView, ApiError> {
        self.publish(|node, now| node.unrecommend(now, who, what, unix_ms()))
            .map_err(command_refusal)?;
        Ok(self.recommendations_view())
    }

    /// `GET /v1/reachable`.
    pub(crate) fn reachable_view(&self, what: &str, depth: Option<u32>) -> Vec<String> {
        self.node
            .reachable(what, depth)
            .into_iter()
            .map(|reached| reached.node.to_string())
            .collect()
    }

    /// `GET /v1/manager`.
    pub(crate) fn manager_view(&self) -> Result<ManagerView, ApiError> {
        let manager = self.grid_control.manager.as_ref().ok_or_else(no_manager)?;
        Ok(self.list_view(manager.id()))
    }

    /// `POST /v1/manager`: makes the key and publishes its first, empty list; answer it after
    /// the commit.
    pub(crate) fn create_manager(&mut self) -> Result<ManagerView, ApiError> {
        if let Some(manager) = &self.grid_control.manager {
            return Err(ApiError::Conflict(format!(
                "this node keeps grid-manager key {} already",
                manager.id()
            )));
        }
        let manager = self
            .data
            .create_manager_key()
            .map_err(|error| ApiError::NotReady(format!("{error:#}")))?;
        self.grid_control.manager = Some(manager.clone());
        self.publish_list(&manager, &ManagerList::default())
    }

    /// `PUT`/`DELETE /v1/manager/servers/{node}`; answer it after the commit.
    pub(crate) fn edit_manager(
        &mut self,
        server: NodeId,
        change: ListChange,
    ) -> Result<ManagerView, ApiError> {
        let manager = self.grid_control.manager.clone().ok_or_else(no_manager)?;
        let held = self.node.manager_list(manager.id()).map(|(_, list)| list).unwrap_or_default();
        let edited = match change {
            ListChange::Add => held.with(server),
            ListChange::Remove => held.without(server),
        };
        let edited = edited.map_err(|error| command_refusal(error.into()))?;
        self.publish_list(&manager, &edited)
    }

    /// `GET /v1/follows`.
    pub(crate) fn follows_view(&self) -> Vec<ManagerView> {
        self.grid_control.follows.iter().map(|manager| self.list_view(*manager)).collect()
    }

    /// `PUT`/`DELETE /v1/follows/{manager}`: durable before it answers.
    pub(crate) fn follow(
        &mut self,
        manager: NodeId,
        follow: bool,
    ) -> Result<Vec<ManagerView>, ApiError> {
        let mut follows = self.grid_control.follows.clone();
        let changed = if follow { follows.insert(manager) } else { follows.remove(&manager) };
        if !changed && !follow {
            return Err(ApiError::NotFound(format!("this node does not follow {manager}")));
        }
        self.data
            .set_follows(&follows)
            .map_err(|error| ApiError::NotReady(format!("{error:#}")))?;
        self.grid_control.follows = follows;
        Ok(self.follows_view())
    }

    /// `GET /v1/services?name=&followed=`.
    pub(crate) fn services_view(&self, name: Option<&str>, followed: bool) -> Vec<ServiceView> {
        let servers = followed.then(|| self.followed_servers());
        self.services
            .list(name)
            .filter(|view| {
                servers.as_ref().is_none_or(|servers| {
                    view.origin.parse().is_ok_and(|origin: NodeId| servers.contains(&origin))
                })
            })
            .cloned()
            .collect()
    }

    /// The servers on the newest list of every manager this node follows.
    fn followed_servers(&self) -> BTreeSet<NodeId> {
        self.grid_control
            .follows
            .iter()
            .filter_map(|manager| self.node.manager_list(*manager))
            .flat_map(|(_, list)| list.servers)
            .collect()
    }

    /// The newest list of `manager` this node holds; version 0 and no servers before any.
    fn list_view(&self, manager: NodeId) -> ManagerView {
        let (version, list) = self.node.manager_list(manager).unwrap_or_default();
        ManagerView {
            key: manager.to_string(),
            version: version.seq,
            servers: list.servers.iter().map(NodeId::to_string).collect(),
        }
    }

    /// Publishes `list` as `manager`'s next version; the list as published.
    fn publish_list(
        &mut self,
        manager: &Keypair,
        list: &ManagerList,
    ) -> Result<ManagerView, ApiError> {
        self.publish(|node, now| node.publish_manager_list(now, manager, list, unix_ms()))
            .map_err(command_refusal)?;
        Ok(self.list_view(manager.id()))
    }
}
