//! A [`NodeApi`] for tests: canned views, a small in-memory announcement table, and a record of
//! every call.
//!
//! Built for this crate's tests and, with the `test-fake` feature, for other crates' tests (the
//! CLI drives its client commands against the real router over this fake). Not for production:
//! it checks nothing a real node checks beyond sequence-number staleness.

use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

mod grid_control;

pub use grid_control::{GridControlCall, MANAGER_KEY, SERVER_ID};

use super::model::{
    ApiError, ApiEvent, EdgeView, GroupMemberView, GroupParamsView, GroupSummaryView, GroupView,
    InvitationRequest, InvitationView, MemberView, MessageView, MessagesPage, NearestView, NodeApi,
    PingView, PublishedView, RouteView, SeqView, ServiceView, StatusCounts, StatusView,
    TopologyView,
};

/// The fake node's id (52 base32 characters).
pub const NODE_ID: &str = "aaaabbbbccccddddeeeeffffgggghhhhiiiijjjjkkkkllllmmmm";
/// A second, remote member's id.
pub const PEER_ID: &str = "zzzzyyyyxxxxwwwwvvvvuuuuttttssssrrrrqqqqppppoooonnnn";
/// The code [`FakeApi::invite`] hands out.
pub const INVITATION_CODE: &str = "herald-invite-fake-code";

/// One call the routes made, with its arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// `status()`.
    Status,
    /// `members()`.
    Members,
    /// `services(name, followed)`.
    Services(Option<String>, bool),
    /// `announce(service, payload, seq)`.
    Announce(String, Map<String, Value>, Option<u64>),
    /// `withdraw(service)`.
    Withdraw(String),
    /// `invite(request)`.
    Invite(InvitationRequest),
    /// `overlay()`.
    Overlay,
    /// `routes()`.
    Routes,
    /// `ping(node)`.
    Ping(String),
    /// `nearest()`.
    Nearest,
    /// `stats()`.
    Stats,
    /// `metrics()`.
    Metrics,
    /// `groups()`.
    Groups,
    /// `group(name)`.
    Group(String),
    /// `publish_group(group, body)`.
    PublishGroup(String, Vec<u8>),
    /// `group_messages(group, after, limit)`.
    GroupMessages(String, u64, usize),
    /// `topology(group)`.
    Topology(String),
    /// `subscribe()`: an event stream opened.
    Events,
    /// A grid-control call ([`grid_control`]).
    GridControl(GridControlCall),
}

/// The one group the fake is a member of.
pub const GROUP: &str = "mirror-1";

/// The fake node. Clones share their state.
#[derive(Clone, Debug)]
pub struct FakeApi {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    calls: Mutex<Vec<Call>>,
    services: Mutex<Vec<ServiceView>>,
    /// Bodies published to [`GROUP`], in order.
    messages: Mutex<Vec<Vec<u8>>>,
    fail_next: Mutex<Option<ApiError>>,
    events: broadcast::Sender<ApiEvent>,
    grid_control: Mutex<grid_control::FakeGridControl>,
}

impl Default for FakeApi {
    fn default() -> Self {
        FakeApi::new()
    }
}

impl FakeApi {
    /// A fake with no announcements and an event channel of 16 events.
    pub fn new() -> FakeApi {
        FakeApi::with_event_capacity(16)
    }

    /// A fake whose event channel holds `capacity` events, to provoke lagging.
    pub fn with_event_capacity(capacity: usize) -> FakeApi {
        FakeApi {
            inner: Arc::new(Inner {
                calls: Mutex::new(Vec::new()),
                services: Mutex::new(Vec::new()),
                messages: Mutex::new(Vec::new()),
                fail_next: Mutex::new(None),
                events: broadcast::channel(capacity).0,
                grid_control: Mutex::default(),
            }),
        }
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner.calls).clone()
    }

    /// Makes the next call (of any kind) fail with `error`.
    pub fn fail_next(&self, error: ApiError) {
        *lock(&self.inner.fail_next) = Some(error);
    }

    /// Sends an event to every subscriber; returns how many there were.
    pub fn send_event(&self, event: ApiEvent) -> usize {
        self.inner.events.send(event).unwrap_or(0)
    }

    /// How many event streams are open, so that a test can wait for a subscriber.
    pub fn subscribers(&self) -> usize {
        self.inner.events.receiver_count()
    }

    /// The view of the `number`th message (from 1) of [`GROUP`], as pages and events give it.
    pub fn message_view(number: u64, body: &[u8]) -> MessageView {
        MessageView {
            group: GROUP.into(),
            id: format!("{number:032x}"),
            origin: NODE_ID.into(),
            seq: number,
            received_at: 1_700_000_000_000,
            data_base64: base64::engine::general_purpose::STANDARD.encode(body),
        }
    }

    /// The member view of this fake node.
    pub fn own_member() -> MemberView {
        MemberView {
            node_id: NODE_ID.into(),
            name: "alpha".into(),
            role: "server".into(),
            state: "alive".into(),
            addresses: vec!["127.0.0.1:7420".parse().expect("a valid address")],
            rtt_ms: None,
            last_heard_ms_ago: None,
            seq: 1,
        }
    }

    fn record(&self, call: Call) -> Result<(), ApiError> {
        lock(&self.inner.calls).push(call);
        match lock(&self.inner.fail_next).take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// `Ok` for [`GROUP`], 404 for any other name.
fn fake_group(name: &str) -> Result<(), ApiError> {
    if name == GROUP {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("no group {name:?} is defined")))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock has failed already; go on with its data.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl NodeApi for FakeApi {
    async fn status(&self) -> Result<StatusView, ApiError> {
        self.record(Call::Status)?;
        Ok(StatusView {
            node_id: NODE_ID.into(),
            name: "alpha".into(),
            role: "server".into(),
            grid_id: PEER_ID.into(),
            addresses: vec!["127.0.0.1:7420".parse().expect("a valid address")],
            uptime_s: 42,
            version: "0.1.0".into(),
            ready: true,
            not_ready_reason: None,
            counts: StatusCounts {
                members: 2,
                alive: 2,
                records: 5,
                services: lock(&self.inner.services).len() as u64,
                neighbours: 1,
            },
        })
    }

    async fn members(&self) -> Result<Vec<MemberView>, ApiError> {
        self.record(Call::Members)?;
        let peer = MemberView {
            node_id: PEER_ID.into(),
            name: "bravo".into(),
            role: "client".into(),
            state: "suspect".into(),
            addresses: vec!["10.0.0.2:7420".parse().expect("a valid address")],
            rtt_ms: Some(12),
            last_heard_ms_ago: Some(1500),
            seq: 3,
        };
        Ok(vec![FakeApi::own_member(), peer])
    }

    async fn services(
        &self,
        name: Option<String>,
        followed: bool,
    ) -> Result<Vec<ServiceView>, ApiError> {
        self.record(Call::Services(name.clone(), followed))?;
        let servers = lock(&self.inner.grid_control).followed_servers();
        let services = lock(&self.inner.services);
        Ok(services
            .iter()
            .filter(|view| name.as_ref().is_none_or(|name| *name == view.service))
            .filter(|view| !followed || servers.contains(&view.origin))
            .cloned()
            .collect())
    }

    async fn announce(
        &self,
        service: String,
        payload: Map<String, Value>,
        seq: Option<u64>,
    ) -> Result<SeqView, ApiError> {
        self.record(Call::Announce(service.clone(), payload.clone(), seq))?;
        let mut services = lock(&self.inner.services);
        let current =
            services.iter().find(|view| view.service == service).map_or(0, |view| view.seq);
        let seq = match seq {
            Some(seq) if seq <= current => {
                return Err(ApiError::Conflict(format!(
                    "stale: sequence number {seq} is not newer than the current {current}"
                )));
            }
            Some(seq) => seq,
            None => current + 1,
        };
        services.retain(|view| view.service != service);
        let view = ServiceView {
            origin: NODE_ID.into(),
            service,
            seq,
            issued_at: 1_700_000_000_000,
            payload: Value::Object(payload),
        };
        services.push(view.clone());
        drop(services);
        self.send_event(ApiEvent::Announcement(view));
        Ok(SeqView { seq })
    }

    async fn withdraw(&self, service: String) -> Result<SeqView, ApiError> {
        self.record(Call::Withdraw(service.clone()))?;
        let mut services = lock(&self.inner.services);
        let Some(view) = services.iter_mut().find(|view| view.service == service) else {
            return Err(ApiError::NotFound(format!("this node has no announcement of {service}")));
        };
        view.seq += 1;
        view.payload = Value::Null;
        let (seq, withdrawn) = (view.seq, view.clone());
        drop(services);
        self.send_event(ApiEvent::Withdrawal(withdrawn));
        Ok(SeqView { seq })
    }

    async fn invite(&self, request: InvitationRequest) -> Result<InvitationView, ApiError> {
        self.record(Call::Invite(request))?;
        Ok(InvitationView { code: INVITATION_CODE.into() })
    }

    async fn overlay(&self) -> Result<Value, ApiError> {
        self.record(Call::Overlay)?;
        Ok(json!({
            "active": [PEER_ID],
            "passive": [],
            "eager": [PEER_ID],
            "lazy": [],
            "anti_entropy": [{"round": 1, "partner": PEER_ID}],
        }))
    }

    async fn routes(&self) -> Result<Vec<RouteView>, ApiError> {
        self.record(Call::Routes)?;
        Ok(vec![RouteView {
            destination: PEER_ID.into(),
            next_hop: PEER_ID.into(),
            cost: 12,
            path: vec![NODE_ID.into(), PEER_ID.into()],
        }])
    }

    /// Answers for [`PEER_ID`] only; any other node has no route.
    async fn ping(&self, node: String) -> Result<PingView, ApiError> {
        self.record(Call::Ping(node.clone()))?;
        if node != PEER_ID {
            return Err(ApiError::NotFound(format!("no route to {node}")));
        }
        Ok(PingView { rtt_ms: 12.5, path: vec![NODE_ID.into(), PEER_ID.into()] })
    }

    async fn nearest(&self) -> Result<Vec<NearestView>, ApiError> {
        self.record(Call::Nearest)?;
        Ok(vec![NearestView { node_id: PEER_ID.into(), rtt_ms: 0.8, group: 0 }])
    }

    async fn stats(&self) -> Result<Value, ApiError> {
        self.record(Call::Stats)?;
        Ok(json!({"messages_in": {"announce": 3, "probe": 10}, "duplicates": 1}))
    }

    async fn metrics(&self) -> Result<String, ApiError> {
        self.record(Call::Metrics)?;
        Ok("# TYPE herald_members gauge\nherald_members 2\n".into())
    }

    async fn groups(&self) -> Result<Vec<GroupSummaryView>, ApiError> {
        self.record(Call::Groups)?;
        let held = lock(&self.inner.messages).len();
        Ok(vec![GroupSummaryView {
            name: GROUP.into(),
            sites: 2,
            member: true,
            messages_held: held,
        }])
    }

    async fn group(&self, name: String) -> Result<GroupView, ApiError> {
        self.record(Call::Group(name.clone()))?;
        fake_group(&name)?;
        let member = |site: &str, id: &str| GroupMemberView {
            site: site.into(),
            node_id: Some(id.into()),
            state: "alive".into(),
            joined: false,
        };
        Ok(GroupView {
            name,
            members: vec![member("master", NODE_ID), member("inferno", PEER_ID)],
            parameters: GroupParamsView {
                connectivity: 2,
                ping_period_s: 15.0,
                bandwidth_period_s: 60.0,
                estimates_period_s: 30.0,
                join_period_s: 60.0,
                update_period_s: 120.0,
                master_site: Some("master".into()),
                topology_generator: None,
                access: "open".into(),
            },
            neighbors: vec![PEER_ID.into()],
            refused_joins: Vec::new(),
        })
    }

    /// Stores the body and, as a real node does for its own messages, sends a `message` event.
    async fn publish_group(&self, group: String, body: Vec<u8>) -> Result<PublishedView, ApiError> {
        self.record(Call::PublishGroup(group.clone(), body.clone()))?;
        fake_group(&group)?;
        let mut messages = lock(&self.inner.messages);
        let view = FakeApi::message_view(messages.len() as u64 + 1, &body);
        messages.push(body);
        drop(messages);
        self.send_event(ApiEvent::Message(view.clone()));
        Ok(PublishedView { id: view.id, origin: view.origin, seq: view.seq })
    }

    async fn group_messages(
        &self,
        group: String,
        after: u64,
        limit: usize,
    ) -> Result<MessagesPage, ApiError> {
        self.record(Call::GroupMessages(group.clone(), after, limit))?;
        fake_group(&group)?;
        let messages = lock(&self.inner.messages);
        let page: Vec<MessageView> = messages
            .iter()
            .enumerate()
            .skip(usize::try_from(after).unwrap_or(usize::MAX))
            .take(limit)
            .map(|(index, body)| FakeApi::message_view(index as u64 + 1, body))
            .collect();
        let next = (after + page.len() as u64).to_string();
        Ok(MessagesPage { messages: page, next })
    }

    async fn topology(&self, group: String) -> Result<TopologyView, ApiError> {
        self.record(Call::Topology(group.clone()))?;
        fake_group(&group)?;
        let edge = EdgeView { a: NODE_ID.into(), b: PEER_ID.into(), cost_ms: 12 };
        Ok(TopologyView {
            edges: vec![edge],
            connectivity: 1,
            computed_by: "members".into(),
            version: 1,
        })
    }

    /// Records the subscription (it cannot fail, so `fail_next` is left for the next call).
    fn subscribe(&self) -> broadcast::Receiver<ApiEvent> {
        lock(&self.inner.calls).push(Call::Events);
        self.inner.events.subscribe()
    }
}
