//! The fake node's grid control: recommendations, a manager list and follows kept in memory,
//! enough for the routes and the CLI's client commands to be exercised. It checks nothing the
//! core checks; reachability is only the direct recommendations of the kind asked.

use std::collections::BTreeSet;

use herald_core::NodeId;

use super::{Call, FakeApi, lock};
use crate::api::grid_control::{
    GridControlApi, ListChange, ManagerView, RecommendationView, RecommendationsView,
};
use crate::api::model::ApiError;

/// The key [`FakeApi`]'s `create_manager` makes (a node id that parses).
pub const MANAGER_KEY: &str = "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmma";
/// A server's id that parses, for recommendations and lists.
pub const SERVER_ID: &str = "sssssssssssssssssssssssssssssssssssssssssssssssssssa";

/// One grid-control call, with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GridControlCall {
    /// `recommendations()`.
    Recommendations,
    /// `recommend(who, what, petname)`.
    Recommend(String, String, String),
    /// `unrecommend(who, what)`.
    Unrecommend(String, String),
    /// `reachable(what, depth)`.
    Reachable(String, Option<u32>),
    /// `manager()`.
    Manager,
    /// `create_manager()`.
    CreateManager,
    /// `edit_manager(server, change)`: true to add.
    EditManager(String, bool),
    /// `follows()`.
    Follows,
    /// `follow(manager, follow)`.
    Follow(String, bool),
}

#[derive(Debug, Default)]
pub(super) struct FakeGridControl {
    seq: Option<u64>,
    recommendations: Vec<RecommendationView>,
    manager: Option<ManagerView>,
    follows: Vec<ManagerView>,
}

impl FakeGridControl {
    /// The servers of every followed list.
    pub(super) fn followed_servers(&self) -> BTreeSet<String> {
        self.follows.iter().flat_map(|list| list.servers.iter().cloned()).collect()
    }

    fn view(&self) -> RecommendationsView {
        RecommendationsView { seq: self.seq, recommendations: self.recommendations.clone() }
    }

    fn bump(&mut self) {
        self.seq = Some(self.seq.map_or(1, |seq| seq + 1));
    }
}

impl FakeApi {
    fn grid_call(&self, call: GridControlCall) -> Result<(), ApiError> {
        self.record(Call::GridControl(call))
    }

    /// Makes the fake follow a list of `servers` under `key`, as if it had heard of it.
    pub fn add_followed_list(&self, key: &str, servers: &[&str]) {
        let servers = servers.iter().map(|&server| server.to_owned()).collect();
        let list = ManagerView { key: key.to_owned(), version: 1, servers };
        lock(&self.inner.grid_control).follows.push(list);
    }
}

impl GridControlApi for FakeApi {
    async fn recommendations(&self) -> Result<RecommendationsView, ApiError> {
        self.grid_call(GridControlCall::Recommendations)?;
        Ok(lock(&self.inner.grid_control).view())
    }

    async fn recommend(
        &self,
        who: NodeId,
        what: String,
        petname: String,
    ) -> Result<RecommendationsView, ApiError> {
        let who = who.to_string();
        self.grid_call(GridControlCall::Recommend(who.clone(), what.clone(), petname.clone()))?;
        let mut state = lock(&self.inner.grid_control);
        state.recommendations.retain(|held| held.who != who || held.what != what);
        state.recommendations.push(RecommendationView { who, petname, what });
        state.bump();
        Ok(state.view())
    }

    async fn unrecommend(
        &self,
        who: NodeId,
        what: String,
    ) -> Result<RecommendationsView, ApiError> {
        let who = who.to_string();
        self.grid_call(GridControlCall::Unrecommend(who.clone(), what.clone()))?;
        let mut state = lock(&self.inner.grid_control);
        let before = state.recommendations.len();
        state.recommendations.retain(|held| held.who != who || held.what != what);
        if state.recommendations.len() == before {
            return Err(ApiError::NotFound(format!("{who} is not recommended for {what:?}")));
        }
        state.bump();
        Ok(state.view())
    }

    async fn reachable(&self, what: String, depth: Option<u32>) -> Result<Vec<String>, ApiError> {
        self.grid_call(GridControlCall::Reachable(what.clone(), depth))?;
        let state = lock(&self.inner.grid_control);
        let direct = state.recommendations.iter().filter(|held| held.what == what);
        Ok(direct.map(|held| held.who.clone()).collect())
    }

    async fn manager(&self) -> Result<ManagerView, ApiError> {
        self.grid_call(GridControlCall::Manager)?;
        lock(&self.inner.grid_control)
            .manager
            .clone()
            .ok_or_else(|| ApiError::NotFound("this node keeps no grid-manager key".into()))
    }

    async fn create_manager(&self) -> Result<ManagerView, ApiError> {
        self.grid_call(GridControlCall::CreateManager)?;
        let mut state = lock(&self.inner.grid_control);
        if state.manager.is_some() {
            return Err(ApiError::Conflict("this node keeps a grid-manager key already".into()));
        }
        let list = ManagerView { key: MANAGER_KEY.into(), version: 1, servers: Vec::new() };
        state.manager = Some(list.clone());
        Ok(list)
    }

    async fn edit_manager(
        &self,
        server: NodeId,
        change: ListChange,
    ) -> Result<ManagerView, ApiError> {
        let server = server.to_string();
        self.grid_call(GridControlCall::EditManager(server.clone(), change == ListChange::Add))?;
        let mut state = lock(&self.inner.grid_control);
        let list = state
            .manager
            .as_mut()
            .ok_or_else(|| ApiError::NotFound("this node keeps no grid-manager key".into()))?;
        let listed = list.servers.contains(&server);
        match change {
            ListChange::Add if listed => {
                return Err(ApiError::Conflict(format!("{server} is on the list already")));
            }
            ListChange::Remove if !listed => {
                return Err(ApiError::NotFound(format!("{server} is not on the list")));
            }
            ListChange::Add => list.servers.push(server),
            ListChange::Remove => list.servers.retain(|held| *held != server),
        }
        list.version += 1;
        Ok(list.clone())
    }

    async fn follows(&self) -> Result<Vec<ManagerView>, ApiError> {
        self.grid_call(GridControlCall::Follows)?;
        Ok(lock(&self.inner.grid_control).follows.clone())
    }

    async fn follow(&self, manager: NodeId, follow: bool) -> Result<Vec<ManagerView>, ApiError> {
        let key = manager.to_string();
        self.grid_call(GridControlCall::Follow(key.clone(), follow))?;
        let mut state = lock(&self.inner.grid_control);
        state.follows.retain(|list| list.key != key);
        if follow {
            state.follows.push(ManagerView { key, version: 0, servers: Vec::new() });
        }
        Ok(state.follows.clone())
    }
}
