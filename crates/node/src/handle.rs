//! [`NodeHandle`]: a cheap, cloneable way to ask the node actor for something, and the
//! [`NodeApi`] implementation the HTTP routes use.
//!
//! Every request is a closure run on the actor's own task, so it sees one consistent state and
//! never races the protocol. The answer comes back on a one-shot channel.

use herald_core::grid_control::{ManagerListError, RecommendationError};
use herald_core::{Announcement, CommandError, Instant, Node, NodeId, Version};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::actor::{Actor, Call};
use crate::api::grid_control::{GridControlApi, ListChange, ManagerView, RecommendationsView};
use crate::api::model::{
    ApiError, ApiEvent, GroupSummaryView, GroupView, InvitationRequest, InvitationView, MemberView,
    MessagesPage, NearestView, NodeApi, PingView, PublishedView, RouteView, SeqView, ServiceView,
    StatusView, TopologyView,
};
use crate::datadir::unix_ms;

/// How long `POST /v1/ping/{node}` waits for the answer.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A handle on a running node.
#[derive(Clone)]
pub struct NodeHandle {
    calls: mpsc::Sender<Call>,
    events: broadcast::Sender<ApiEvent>,
}

impl NodeHandle {
    pub(crate) fn new(
        calls: mpsc::Sender<Call>,
        events: broadcast::Sender<ApiEvent>,
    ) -> NodeHandle {
        NodeHandle { calls, events }
    }

    /// Runs `work` on the actor and returns its result.
    pub(crate) async fn call<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Actor) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let (reply, answer) = oneshot::channel();
        let call: Call = Box::new(move |actor| {
            let _ = reply.send(work(actor));
        });
        let stopped = || ApiError::NotReady("the node is shutting down".into());
        self.calls.send(call).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())
    }

    /// Runs `work` on the actor and returns its result once what it published is durable: the
    /// answer waits for the commit that ends the actor's turn, which it shares with whatever
    /// else the turn took in (group commit).
    async fn call_after_commit<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Actor) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let (reply, answer) = oneshot::channel();
        let call: Call = Box::new(move |actor| {
            let outcome = work(actor);
            actor.after_commit(Box::new(move |committed| {
                let _ = reply.send(committed.map(|()| outcome));
            }));
        });
        let stopped = || ApiError::NotReady("the node is shutting down".into());
        self.calls.send(call).await.map_err(|_| stopped())?;
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(error)) => Err(ApiError::NotReady(format!("committing to the store: {error}"))),
            Err(_) => Err(stopped()),
        }
    }

    /// Asks the node to announce its departure and stop; returns once the actor accepted.
    pub async fn leave(&self) -> Result<(), ApiError> {
        self.call(Actor::leave).await
    }
}

/// Runs a publishing command and maps its outcome to the API's. The caller answers once the
/// turn's commit is done ([`NodeHandle::call_after_commit`]).
fn run_command(
    actor: &mut Actor,
    command: impl FnOnce(&mut Node, Instant) -> Result<Version, CommandError>,
) -> Result<SeqView, ApiError> {
    let version = actor.publish(command).map_err(command_refusal)?;
    Ok(SeqView { seq: version.seq })
}

/// A refused command as the API answers it: 409 for a stale sequence number and for a manager's
/// list that cannot take the edit, 404 for what is not there to remove, 413 for too large, 400
/// for the rest.
pub(crate) fn command_refusal(error: CommandError) -> ApiError {
    match error {
        CommandError::Stale { .. } => ApiError::Conflict(format!("stale: {error}")),
        CommandError::ManagerList(ManagerListError::Listed(_) | ManagerListError::Full) => {
            ApiError::Conflict(error.to_string())
        }
        CommandError::Recommendation(RecommendationError::NotRecommended { .. })
        | CommandError::ManagerList(ManagerListError::NotListed(_)) => {
            ApiError::NotFound(error.to_string())
        }
        CommandError::PayloadTooLarge(_) => ApiError::TooLarge(error.to_string()),
        _ => ApiError::BadRequest(error.to_string()),
    }
}

impl NodeApi for NodeHandle {
    async fn status(&self) -> Result<StatusView, ApiError> {
        self.call(|actor| actor.status_view()).await
    }

    async fn members(&self) -> Result<Vec<MemberView>, ApiError> {
        self.call(|actor| actor.members_view()).await
    }

    async fn services(
        &self,
        name: Option<String>,
        followed: bool,
    ) -> Result<Vec<ServiceView>, ApiError> {
        self.call(move |actor| actor.services_view(name.as_deref(), followed)).await
    }

    async fn announce(
        &self,
        service: String,
        payload: serde_json::Map<String, serde_json::Value>,
        seq: Option<u64>,
    ) -> Result<SeqView, ApiError> {
        let payload = serde_json::to_vec(&payload)
            .map_err(|error| ApiError::BadRequest(format!("encoding the payload: {error}")))?;
        let announcement = Announcement { service, payload, issued_at_ms: unix_ms(), seq };
        self.call_after_commit(move |actor| {
            run_command(actor, |node, now| node.announce(now, announcement))
        })
        .await?
    }

    async fn withdraw(&self, service: String) -> Result<SeqView, ApiError> {
        self.call_after_commit(move |actor| {
            if !actor.announces(&service) {
                return Err(ApiError::NotFound(format!("this node does not announce {service:?}")));
            }
            run_command(actor, |node, now| node.withdraw(now, &service, unix_ms()))
        })
        .await?
    }

    async fn invite(&self, request: InvitationRequest) -> Result<InvitationView, ApiError> {
        self.call(move |actor| actor.invite(&request)).await?
    }

    async fn overlay(&self) -> Result<serde_json::Value, ApiError> {
        self.call(|actor| actor.overlay_view()).await
    }

    async fn routes(&self) -> Result<Vec<RouteView>, ApiError> {
        self.call(|actor| actor.routes_view()).await
    }

    async fn ping(&self, node: String) -> Result<PingView, ApiError> {
        let answer = self.call(move |actor| actor.ping(&node)).await??;
        match tokio::time::timeout(PING_TIMEOUT, answer).await {
            Ok(Ok(pong)) => Ok(pong),
            Ok(Err(_)) => {
                Err(ApiError::Timeout("the ping was given up: too many in flight".into()))
            }
            Err(_) => Err(ApiError::Timeout(format!(
                "no answer within {} s: the destination or a relay is down, or routes are changing",
                PING_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn nearest(&self) -> Result<Vec<NearestView>, ApiError> {
        self.call(|actor| actor.nearest_view()).await
    }

    async fn stats(&self) -> Result<serde_json::Value, ApiError> {
        self.call(|actor| actor.stats_view()).await
    }

    async fn metrics(&self) -> Result<String, ApiError> {
        self.call(|actor| actor.metrics_text()).await
    }

    async fn groups(&self) -> Result<Vec<GroupSummaryView>, ApiError> {
        self.call(|actor| actor.groups_view()).await
    }

    async fn group(&self, name: String) -> Result<GroupView, ApiError> {
        self.call(move |actor| actor.group_view(&name)).await?
    }

    async fn publish_group(&self, group: String, body: Vec<u8>) -> Result<PublishedView, ApiError> {
        self.call_after_commit(move |actor| actor.publish_group(&group, body)).await?
    }

    async fn group_messages(
        &self,
        group: String,
        after: u64,
        limit: usize,
    ) -> Result<MessagesPage, ApiError> {
        self.call(move |actor| actor.group_messages(&group, after, limit)).await?
    }

    async fn topology(&self, group: String) -> Result<TopologyView, ApiError> {
        self.call(move |actor| actor.topology_view(&group)).await?
    }

    fn subscribe(&self) -> broadcast::Receiver<ApiEvent> {
        self.events.subscribe()
    }
}

impl GridControlApi for NodeHandle {
    async fn recommendations(&self) -> Result<RecommendationsView, ApiError> {
        self.call(|actor| actor.recommendations_view()).await
    }

    async fn recommend(
        &self,
        who: NodeId,
        what: String,
        petname: String,
    ) -> Result<RecommendationsView, ApiError> {
        self.call_after_commit(move |actor| actor.recommend(who, what, petname)).await?
    }

    async fn unrecommend(
        &self,
        who: NodeId,
        what: String,
    ) -> Result<RecommendationsView, ApiError> {
        self.call_after_commit(move |actor| actor.unrecommend(who, &what)).await?
    }

    async fn reachable(&self, what: String, depth: Option<u32>) -> Result<Vec<String>, ApiError> {
        self.call(move |actor| actor.reachable_view(&what, depth)).await
    }

    async fn manager(&self) -> Result<ManagerView, ApiError> {
        self.call(|actor| actor.manager_view()).await?
    }

    async fn create_manager(&self) -> Result<ManagerView, ApiError> {
        self.call_after_commit(|actor| actor.create_manager()).await?
    }

    async fn edit_manager(
        &self,
        server: NodeId,
        change: ListChange,
    ) -> Result<ManagerView, ApiError> {
        self.call_after_commit(move |actor| actor.edit_manager(server, change)).await?
    }

    async fn follows(&self) -> Result<Vec<ManagerView>, ApiError> {
        self.call(|actor| actor.follows_view()).await
    }

    async fn follow(&self, manager: NodeId, follow: bool) -> Result<Vec<ManagerView>, ApiError> {
        self.call(move |actor| actor.follow(manager, follow)).await?
    }
}
