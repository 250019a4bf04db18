//! The QUIC transport: frames to and from peers named by their node id, over one UDP port.
//!
//! [`Transport::bind`] opens a quinn endpoint that both accepts and dials, with the mutual TLS of
//! [`crate::tls`], so every event's `from` is the id proven by the peer's certificate. Frames go
//! out through [`Transport::send`], which never blocks: each peer has a bounded send queue and
//! one writer task that dials the peer when needed and writes its frames, in order, on one
//! long-lived unidirectional stream, length-prefixed by [`crate::framing`]. Each connection has
//! one task that accepts the peer's streams, and each accepted stream is read by its own task
//! (normally one frame stream per connection; requests use short bidirectional streams).
//! Everything received lands on one bounded event channel; when it is full, frames are dropped
//! and counted. Joins use [`Transport::request`], one frame each way on a bidirectional stream.
//!
//! Connections per peer: a connection becomes a *link* (usable to send frames) when this node
//! dialled it to send frames, or when the peer opened a frame stream on it; connections that only
//! carry requests never carry frames. If both nodes dial each other at once, both links are kept
//! and both work: each side writes on its newest live link and reads from all of them. No link
//! is closed for being a duplicate, so no frame in flight is lost; the cost is one extra idle
//! connection with its keep-alives. A writer keeps writing on the link it chose while that link
//! lives, so frames stay in order; it moves to a newer link only when that one came up more than
//! [`SIMULTANEOUS_DIAL_WINDOW`] later (the peer restarted and dialled again while the old link
//! was not yet known to be dead). Frames sent on a link that dies are lost, never resent.
//!
//! Only links to the overlay's neighbours ([`Transport::keep_open`]) send keep-alives, when
//! this node dialled them. Any other connection, opened for a probe, a repair round or a join,
//! is quiet: it sends nothing while idle, stays open for the next use (a handshake costs about
//! 9 KB), and ends silently after [`tls::QUIET_IDLE_TIMEOUT`] without being reported as a lost
//! peer. So idle traffic does not grow with the members a node has talked to.
//!
//! [`Transport::close`] closes every connection, so peers learn of a clean exit at once;
//! [`Transport::go_dark`] stops it without a word, as `kill -9` would (see `dark`).
//!
//! Not here: deciding who may connect (the caller's [`PeerPolicy`]), peer liveness (the core's
//! failure detector; QUIC's idle timeout only reclaims dead connections), decoding frames.

mod dark;
mod link;
mod stats;
mod writer;

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use herald_core::{FRAME_SIZE_MAX, Keypair, NodeId};
use tokio::sync::{mpsc, oneshot};

use self::dark::{DarkSocket, DarkSwitch};
pub use self::stats::TransportStats;
use self::stats::{Counters, bump};
use crate::framing::{self, FramingError};
use crate::tls::{self, PeerIdentity, PeerPolicy, TlsError};

/// Default length of each peer's send queue, in frames (a guess: a few seconds of gossip).
pub const SEND_QUEUE_LEN_DEFAULT: usize = 1024;

/// Length of the inbound event channel, in events.
pub const EVENT_QUEUE_LEN: usize = 4096;

/// How long one dial to one address may take before the next address is tried. Loopback and
/// LAN handshakes take milliseconds; this leaves room for a few lost initial packets.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(3);

/// A writer moves from its link to a newer one only if the newer one came up this much later.
/// Two links that come up closer together are a simultaneous dial, where both work and moving
/// would reorder frames; a link that comes up later means the peer lost the old one (it
/// restarted), which QUIC notices only at the idle timeout.
pub const SIMULTANEOUS_DIAL_WINDOW: Duration = Duration::from_secs(5);

/// QUIC application close code: a request connection is done (not a lost link).
pub const CLOSE_DONE: u32 = 0;
/// QUIC application close code: the node shut down.
pub const CLOSE_BYE: u32 = 1;
/// QUIC application close code: the peer broke the framing (oversized or empty frame).
pub const CLOSE_FRAMING: u32 = 2;
/// QUIC application close code: a peer without a membership certificate opened a frame stream
/// where guests may only ask to join.
pub const CLOSE_GUEST: u32 = 3;

/// What [`Transport::bind`] needs.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// The UDP address to listen on (port 0 picks one; see [`Transport::local_addr`]).
    pub listen: SocketAddr,
    /// The node's key pair: its certificate's key and its id.
    pub keypair: Keypair,
    /// The membership certificate to present, if the node has been admitted.
    pub membership: Option<Vec<u8>>,
    /// Who may connect, asked in every handshake on both sides.
    pub policy: Arc<dyn PeerPolicy>,
    /// Frames queued per peer before new ones are dropped; default [`SEND_QUEUE_LEN_DEFAULT`].
    pub send_queue_len: usize,
}

impl TransportConfig {
    /// A configuration without membership and with the default send queue length.
    pub fn new(listen: SocketAddr, keypair: Keypair, policy: Arc<dyn PeerPolicy>) -> Self {
        TransportConfig {
            listen,
            keypair,
            membership: None,
            policy,
            send_queue_len: SEND_QUEUE_LEN_DEFAULT,
        }
    }
}

/// What the transport reports to the node.
#[derive(Debug)]
pub enum TransportEvent {
    /// A frame on an established connection. `admitted` = the peer's cert carried membership
    /// bytes (the policy accepted them).
    Frame {
        /// The peer's id, proven by its TLS certificate.
        from: NodeId,
        /// The peer's address on this connection.
        remote: SocketAddr,
        /// Whether the peer's certificate carried membership bytes.
        admitted: bool,
        /// The frame, without its length prefix.
        bytes: Arc<[u8]>,
    },
    /// The transport could not reach `peer` at any address it was given, or lost its connection.
    PeerDown(NodeId),
    /// A request on a bidirectional stream (used for joins): answer through `reply` (one frame).
    /// Dropping `reply` closes the stream.
    Request {
        /// The peer's id, proven by its TLS certificate.
        from: NodeId,
        /// The peer's address on this connection.
        remote: SocketAddr,
        /// Whether the peer's certificate carried membership bytes.
        admitted: bool,
        /// The request frame.
        bytes: Vec<u8>,
        /// Where the answer goes: one frame, non-empty and at most `FRAME_SIZE_MAX` bytes.
        reply: oneshot::Sender<Vec<u8>>,
    },
}

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The UDP socket could not be opened.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// The TLS configuration could not be made.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// quinn refused to start a connection.
    #[error("connecting: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The connection failed or closed.
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// Writing to a stream failed.
    #[error("writing: {0}")]
    Write(#[from] quinn::WriteError),
    /// Reading from a stream failed.
    #[error("reading: {0}")]
    Read(#[from] quinn::ReadError),
    /// The peer's answer broke the framing.
    #[error(transparent)]
    Framing(#[from] FramingError),
    /// The stream closed before a whole frame arrived.
    #[error("the peer closed the stream without a whole frame")]
    NoFrame,
    /// A frame to send is empty or larger than `FRAME_SIZE_MAX`.
    #[error("a frame of {0} bytes is outside 1..={FRAME_SIZE_MAX}")]
    FrameSize(usize),
    /// The operation did not finish in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The transport was closed.
    #[error("the transport is closed")]
    Closed,
}

/// A handle to the transport; cheap to clone. Its tasks run until [`Transport::close`].
#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
}

/// One connection to a peer.
#[derive(Clone)]
struct Link {
    conn: quinn::Connection,
    /// Whether frames may be sent on it (see the module doc).
    writable: bool,
    /// When it was opened, or became writable.
    since: std::time::Instant,
}

/// Everything the transport knows about one peer.
#[derive(Default)]
struct Peer {
    /// Open connections, writable ones in the order they became writable (newest last).
    links: Vec<Link>,
    /// The writer task's token and queue, while it runs.
    writer: Option<(u64, mpsc::Sender<Arc<[u8]>>)>,
    /// Where to dial the peer: the addresses of the latest `send`.
    addrs: Vec<SocketAddr>,
}

/// State shared by the handle and the tasks.
struct Shared {
    endpoint: quinn::Endpoint,
    local_addr: SocketAddr,
    /// This node's id.
    id: NodeId,
    policy: Arc<dyn PeerPolicy>,
    peers: Mutex<HashMap<NodeId, Peer>>,
    events: mpsc::Sender<TransportEvent>,
    counters: Counters,
    send_queue_len: usize,
    runtime: tokio::runtime::Handle,
    closed: AtomicBool,
    /// Thrown once by [`Transport::go_dark`]: the socket drops everything.
    dark: DarkSwitch,
    /// How connections that are not links to the overlay's neighbours are dialled.
    quiet_client: quinn::ClientConfig,
    /// The overlay's neighbours, whose connections keep alive (see the module doc).
    kept: Mutex<BTreeSet<NodeId>>,
    next_token: AtomicU64,
}

impl Shared {
    fn peers(&self) -> MutexGuard<'_, HashMap<NodeId, Peer>> {
        // A panic while holding the lock leaves the map consistent (each edit is one step).
        self.peers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn is_kept(&self, peer: &NodeId) -> bool {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(peer)
    }
}

impl Transport {
    /// Opens the endpoint on `config.listen` and starts accepting connections. Returns the
    /// handle and the receiver of every [`TransportEvent`]. Must be called within a tokio runtime.
    pub async fn bind(
        config: TransportConfig,
    ) -> Result<(Transport, mpsc::Receiver<TransportEvent>), TransportError> {
        let membership = config.membership.as_deref();
        let (server, client) = tls::configs(&config.keypair, membership, config.policy.clone())?;
        let bind_error = |source| TransportError::Bind { addr: config.listen, source };
        let socket = std::net::UdpSocket::bind(config.listen).map_err(bind_error)?;
        let runtime: Arc<dyn quinn::Runtime> = Arc::new(quinn::TokioRuntime);
        let (socket, dark) = DarkSocket::new(runtime.wrap_udp_socket(socket).map_err(bind_error)?);
        let mut endpoint = quinn::Endpoint::new_with_abstract_socket(
            quinn::EndpointConfig::default(),
            Some(server),
            Arc::new(socket),
            runtime,
        )
        .map_err(bind_error)?;
        let quiet_client = tls::quiet(&client);
        endpoint.set_default_client_config(client);
        let local_addr = endpoint.local_addr().map_err(bind_error)?;
        let (events, receiver) = mpsc::channel(EVENT_QUEUE_LEN);
        let shared = Arc::new(Shared {
            endpoint,
            local_addr,
            id: config.keypair.id(),
            policy: config.policy,
            peers: Mutex::new(HashMap::new()),
            events,
            counters: Counters::default(),
            send_queue_len: config.send_queue_len.max(1),
            runtime: tokio::runtime::Handle::current(),
            closed: AtomicBool::new(false),
            dark,
            quiet_client,
            kept: Mutex::new(BTreeSet::new()),
            next_token: AtomicU64::new(0),
        });
        tracing::debug!(id = %shared.id, %local_addr, "transport bound");
        tokio::spawn(link::accept(shared.clone()));
        Ok((Transport { shared }, receiver))
    }

    /// Names the overlay's neighbours: connections dialled to them from now on send
    /// keep-alives and time out after [`tls::IDLE_TIMEOUT`] of silence, reported as the peer
    /// lost. Every other connection is quiet (see the module doc).
    pub fn keep_open(&self, peers: BTreeSet<NodeId>) {
        *self.shared.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = peers;
    }

    /// The address the endpoint listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Never blocks: enqueues on `to`'s bounded send queue, dialling `addrs` in turn (server
    /// name "`<to>.herald`") if no connection is open; when the queue is full the frame is dropped
    /// and counted; when every address fails (or there are none) a PeerDown(to) event is
    /// emitted once per failed dial attempt and the queued frames are dropped and counted.
    ///
    /// The addresses of the latest call are the ones dialled. An empty or oversized frame, or
    /// one addressed to this node itself, is dropped and counted as invalid.
    pub fn send(&self, to: NodeId, addrs: &[SocketAddr], frame: Arc<[u8]>) {
        let shared = &self.shared;
        if frame.is_empty() || frame.len() > FRAME_SIZE_MAX || to == shared.id {
            bump(&shared.counters.dropped_invalid, 1);
            return;
        }
        if shared.is_closed() {
            bump(&shared.counters.dropped_unreachable, 1);
            return;
        }
        let mut peers = shared.peers();
        let peer = peers.entry(to).or_default();
        if peer.addrs != addrs {
            peer.addrs = addrs.to_vec();
        }
        let queue = match &peer.writer {
            Some((_, queue)) if !queue.is_closed() => queue.clone(),
            _ => {
                let token = shared.next_token.fetch_add(1, Ordering::Relaxed);
                let (queue, receiver) = mpsc::channel(shared.send_queue_len);
                peer.writer = Some((token, queue.clone()));
                shared.runtime.spawn(writer::run(shared.clone(), to, token, receiver));
                queue
            }
        };
        // Enqueueing under the lock orders it with a writer retiring on an empty queue.
        if queue.try_send(frame).is_err() {
            bump(&shared.counters.dropped_queue_full, 1);
        }
    }

    /// Dial a bare address (server name "any.herald"), open a bi stream, send one frame, read
    /// one answer frame (cap FRAME_SIZE_MAX), with `timeout`. Returns the peer's identity and the
    /// answer. The connection is closed afterwards and never carries frames.
    pub async fn request(
        &self,
        addr: SocketAddr,
        frame: &[u8],
        timeout: Duration,
    ) -> Result<(PeerIdentity, Vec<u8>), TransportError> {
        if frame.is_empty() || frame.len() > FRAME_SIZE_MAX {
            return Err(TransportError::FrameSize(frame.len()));
        }
        if self.shared.is_closed() {
            return Err(TransportError::Closed);
        }
        let exchange = async {
            let conn = writer::connect(&self.shared, addr, tls::ANY_SERVER_NAME, false).await?;
            let peer = link::identity_of(&conn).ok_or(TransportError::NoFrame)?;
            let (mut send, mut recv) = conn.open_bi().await?;
            let mut bytes = Vec::with_capacity(framing::PREFIX_LEN + frame.len());
            framing::encode(frame, &mut bytes);
            send.write_all(&bytes).await?;
            send.finish().map_err(|_| TransportError::NoFrame)?;
            let answer = link::read_one_frame(&mut recv).await;
            conn.close(CLOSE_DONE.into(), b"done");
            Ok((peer, answer?))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| TransportError::Timeout(timeout))?
    }

    /// The round trip QUIC estimates on the newest open connection to `peer`, if there is one:
    /// the measurement routing uses as a link's cost.
    pub fn rtt(&self, peer: &NodeId) -> Option<Duration> {
        let peers = self.shared.peers();
        let link =
            peers.get(peer)?.links.iter().rev().find(|link| link.conn.close_reason().is_none())?;
        Some(link.conn.rtt())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> TransportStats {
        self.shared.counters.snapshot()
    }

    /// Closes every connection to `peer`, without either side reporting the peer lost; the
    /// next frame dials again. For a member whose state or incarnation changed: a quiet
    /// connection to a process that crashed would otherwise take frames until it timed out.
    pub fn disconnect(&self, peer: &NodeId) {
        let links: Vec<quinn::Connection> = self
            .shared
            .peers()
            .get(peer)
            .map(|entry| entry.links.iter().map(|link| link.conn.clone()).collect())
            .unwrap_or_default();
        for conn in links {
            conn.close(CLOSE_DONE.into(), b"reconnect");
        }
    }

    /// Closes every connection and the endpoint, and stops the tasks. Queued frames are dropped.
    /// Waits (at most a second) for the peers to be told.
    pub async fn close(&self) {
        let shared = &self.shared;
        shared.closed.store(true, Ordering::Release);
        shared.endpoint.close(CLOSE_BYE.into(), b"shutdown");
        shared.peers().clear();
        let _ = tokio::time::timeout(Duration::from_secs(1), shared.endpoint.wait_idle()).await;
    }

    /// Stops the transport without a word to any peer, as `kill -9` would: from now on its
    /// socket sends and delivers nothing. The endpoint is then closed so that its connections
    /// and tasks end here; the close frames that makes go nowhere, and the peers find out only
    /// when their probes and QUIC's idle timeout do. Queued frames are dropped.
    pub fn go_dark(&self) {
        let shared = &self.shared;
        shared.dark.go_dark();
        shared.closed.store(true, Ordering::Release);
        shared.endpoint.close(CLOSE_BYE.into(), b"shutdown");
        shared.peers().clear();
    }
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("id", &self.shared.id)
            .field("local_addr", &self.shared.local_addr)
            .finish_non_exhaustive()
    }
}
