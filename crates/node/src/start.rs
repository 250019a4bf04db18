//! Starting and stopping a node: [`RunningNode::start`] opens the data directory, restores the
//! core from the store, binds QUIC and the HTTP API, and spawns the actor;
//! [`RunningNode::shutdown`] announces departure, flushes and closes its connections;
//! [`RunningNode::crash`] stops it without a word, as `kill -9` would (for the demo and tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use herald_core::groups::GroupSpec;
use herald_core::{Config, Node, NodeId, Role, RoutingConfig};
use herald_store::Store;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::actor::{Actor, ActorParts, GridControl};
use crate::api::{Auth, router, serve};
use crate::clock::Clock;
use crate::contact;
use crate::datadir::{
    API_ADDR_FILE, API_TOKEN_FILE, CLIENT_ADDR_FILE, DataDir, LISTEN_ADDR_FILE, os_random,
    read_small_file, write_file,
};
use crate::export::{self, ExportCommand};
use crate::floodd::client::NodeService;
use crate::floodd::generator;
use crate::floodd::line::{self, LineLimits};
use crate::handle::NodeHandle;
use crate::policy::{GridPolicy, grid_root_from_secret};
use crate::transport::{Transport, TransportConfig};

/// Peer traffic's default address (interface.md).
pub const LISTEN_DEFAULT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 7420);
/// How long one run of the export command may take by default: 10 minutes (guess: floodd set
/// no limit; long enough for a mirror script, short enough that a hung one is noticed).
pub const EXPORT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(600);

/// The floodd client interface's default address.
pub const CLIENT_PORT_DEFAULT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7422);

/// The HTTP API's default address (interface.md).
pub const HTTP_DEFAULT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7421);
/// How long a stopping node gives its last frames (its departure) to leave.
const DEPARTURE_GRACE: Duration = Duration::from_millis(300);

/// How to run a node.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Where peer traffic (QUIC over UDP) is received; port 0 picks one.
    pub listen: SocketAddr,
    /// Where the HTTP API listens; `None` runs without one.
    pub http: Option<SocketAddr>,
    /// The petname; by default the stored one, or `node-<short id>`.
    pub name: Option<String>,
    /// Addresses to contact at start, beside the stored contacts.
    pub peers: Vec<SocketAddr>,
    /// Admit anyone who knows an address (floodd's keyless grids).
    pub open: bool,
    /// The role the node must have (`--role`); its membership certificate fixes the role, so a
    /// mismatch stops the start before anything is written.
    pub role: Option<Role>,
    /// Hosts to contact at start, as (host, port), retried until they answer: a floodd
    /// configuration's other sites.
    pub peer_hosts: Vec<(String, u16)>,
    /// floodd's `grid-secret`: the node belongs to the grid whose root key the secret derives,
    /// certifying itself, and admits only nodes that did the same (or were invited).
    pub grid_secret: Option<String>,
    /// Groups this node defines at start, as its floodd configuration lists them.
    pub groups: Vec<(String, GroupSpec)>,
    /// floodd's `export-command`: run with each batch of messages delivered here.
    pub export_command: Option<String>,
    /// How long one run of the export command may take before it is killed and its batch
    /// retried.
    pub export_timeout: Duration,
    /// Where the floodd client interface listens; `None` runs without one.
    pub client_port: Option<SocketAddr>,
    /// Whether `client_port` was asked for: if not (the default address), a port in use is
    /// a warning, not a failure, so that several nodes can run on one machine.
    pub client_port_explicit: bool,
    /// Protocol tunables. The role and epoch are taken from the data directory.
    pub core: Config,
}

impl NodeOptions {
    /// The defaults of interface.md for a data directory.
    pub fn new(data_dir: PathBuf) -> NodeOptions {
        NodeOptions {
            data_dir,
            listen: LISTEN_DEFAULT,
            http: Some(HTTP_DEFAULT),
            name: None,
            peers: Vec::new(),
            open: false,
            role: None,
            peer_hosts: Vec::new(),
            grid_secret: None,
            groups: Vec::new(),
            export_command: None,
            export_timeout: EXPORT_TIMEOUT_DEFAULT,
            client_port: Some(CLIENT_PORT_DEFAULT),
            client_port_explicit: false,
            core: Config { routing: Some(RoutingConfig::default()), ..Config::with_membership() },
        }
    }
}

/// A node that is running.
pub struct RunningNode {
    /// Its node id.
    pub id: NodeId,
    /// Its grid.
    pub grid: NodeId,
    /// Whether this start created the grid.
    pub created_grid: bool,
    /// The address peer traffic arrives at.
    pub listen_addr: SocketAddr,
    /// The HTTP API's address, if it has one.
    pub http_addr: Option<SocketAddr>,
    /// The floodd client interface's address, if it has one.
    pub client_addr: Option<SocketAddr>,
    /// Notified when a client asks the daemon to exit (the line protocol's `exit`).
    exit: Arc<Notify>,
    client: Option<JoinHandle<()>>,
    export: Option<JoinHandle<()>>,
    generator: JoinHandle<()>,
    handle: NodeHandle,
    transport: Transport,
    actor: JoinHandle<Result<()>>,
    http_stop: watch::Sender<bool>,
    http: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningNode {
    /// Starts a node as `options` say.
    pub async fn start(options: NodeOptions) -> Result<RunningNode> {
        let mut data = DataDir::open(&options.data_dir)?;
        let keypair = data.keypair().clone();
        if let Some(secret) = &options.grid_secret {
            let name = options.name.clone().unwrap_or_else(|| data.default_name());
            data.join_secret_grid(&grid_root_from_secret(secret), &name)?;
        }
        let created_grid = data.grid()?.is_none();
        if created_grid && options.role == Some(Role::Client) {
            bail!(
                "{} belongs to no grid, and a node that creates one is its server; join a grid \
                 with a client invitation first (herald join CODE)",
                options.data_dir.display()
            );
        }
        if created_grid {
            let name = options.name.clone().unwrap_or_else(|| data.default_name());
            data.create_grid(&name)?;
        }
        let grid = data.grid()?.context("the data directory lost its grid")?;
        let chain = data.chain()?.context("the data directory has a grid but no certificate")?;
        let mut profile =
            data.profile()?.context("the data directory has a grid but no profile")?;
        if let Some(role) = options.role.filter(|role| *role != profile.role) {
            bail!(
                "this node's membership certificate makes it a {}, not a {}",
                profile.role.name(),
                role.name()
            );
        }
        if let Some(name) = options.name.as_ref().filter(|name| **name != profile.name) {
            profile.name.clone_from(name);
            data.set_profile(&profile)?;
        }
        let contacts = data.contacts()?;
        let epoch = data.epoch()?;
        let snapshot = data.store().load()?;
        let mut config = options.core.clone();
        config.role = profile.role;
        config.epoch = epoch;
        let seed = u64::from_le_bytes(os_random()?);
        let clock = Clock::start();
        let node = Node::restore(keypair.clone(), config, seed, clock.now(), snapshot);
        let policy = GridPolicy { grid, open: options.open };
        if options.open {
            warn!("this grid is open: any node that knows an address may join");
        }
        let mut transport_config =
            TransportConfig::new(options.listen, keypair.clone(), Arc::new(policy));
        transport_config.membership = Some(chain.encode());
        let (transport, transport_events) = Transport::bind(transport_config)
            .await
            .with_context(|| format!("listening for peers on {}", options.listen))?;
        let listen_addr = transport.local_addr();
        let advertised = advertised_addresses(listen_addr, profile.seen_as);
        write_file(&options.data_dir, LISTEN_ADDR_FILE, listen_addr.to_string().as_bytes(), 0o644)?;
        let (events, _) = broadcast::channel(1024);
        let (topology_jobs, topology_jobs_in) = mpsc::channel(16);
        let grid_control = GridControl::load(&data)?;
        let mut actor = Actor::new(ActorParts {
            node,
            data,
            transport: transport.clone(),
            clock,
            policy,
            chain,
            profile,
            advertised,
            contacts: contacts.clone(),
            events: events.clone(),
            topology_jobs,
            grid_control,
        });
        actor.publish_profile()?;
        actor.define_groups(&options.groups)?;
        let export_queued = match &options.export_command {
            Some(_) => Some(actor.start_export()?),
            None => None,
        };
        actor.join(contacts.iter().map(|contact| contact.id).collect());
        let (calls, calls_in) = mpsc::channel(256);
        let handle = NodeHandle::new(calls, events);
        let actor = tokio::spawn(actor.run(calls_in, transport_events));
        for peer in &options.peers {
            tokio::spawn(contact::greet_peer(transport.clone(), handle.clone(), *peer));
        }
        for (host, port) in &options.peer_hosts {
            let greeting =
                contact::greet_host(transport.clone(), handle.clone(), host.clone(), *port);
            tokio::spawn(greeting);
        }
        let (http_stop, http_stopped) = watch::channel(false);
        let (http_addr, http) = match options.http {
            None => (None, None),
            Some(address) => {
                let (address, task) =
                    start_http(&options.data_dir, address, handle.clone(), http_stopped).await?;
                (Some(address), Some(task))
            }
        };
        let export = options.export_command.clone().zip(export_queued).map(|(command, queued)| {
            let command =
                ExportCommand::new(command, options.data_dir.clone(), options.export_timeout);
            tokio::spawn(export::worker::run(handle.clone(), command, queued))
        });
        let generator = tokio::spawn(generator::run(
            handle.clone(),
            options.data_dir.clone(),
            topology_jobs_in,
        ));
        let exit = Arc::new(Notify::new());
        let (client_addr, client) = match options.client_port {
            None => (None, None),
            Some(address) => {
                let service = NodeService::new(handle.clone(), exit.clone());
                match start_client_port(&options.data_dir, address, service).await {
                    Ok((address, task)) => (Some(address), Some(task)),
                    Err(error) if !options.client_port_explicit => {
                        warn!(error = %format!("{error:#}"), "running without the floodd client interface");
                        (None, None)
                    }
                    Err(error) => return Err(error),
                }
            }
        };
        info!(id = %keypair.id(), grid = %grid, listen = %listen_addr, seed, version = env!("CARGO_PKG_VERSION"), "node started");
        Ok(RunningNode {
            id: keypair.id(),
            grid,
            created_grid,
            listen_addr,
            http_addr,
            client_addr,
            exit,
            client,
            export,
            generator,
            handle,
            transport,
            actor,
            http_stop,
            http,
        })
    }

    /// A handle for queries and commands.
    pub fn handle(&self) -> &NodeHandle {
        &self.handle
    }

    /// Notified when a client asks the daemon to exit (the line protocol's `exit`, accepted
    /// only from loopback); the caller then shuts the node down.
    pub fn exit_requested(&self) -> Arc<Notify> {
        self.exit.clone()
    }

    /// Announces departure, flushes the store, and stops.
    pub async fn shutdown(self) -> Result<()> {
        self.stop_tasks();
        let left = self.handle.leave().await;
        let outcome = match self.actor.await {
            Ok(result) => result,
            Err(error) => Err(anyhow::anyhow!("the node task failed: {error}")),
        };
        if left.is_ok() {
            tokio::time::sleep(DEPARTURE_GRACE).await;
        }
        self.transport.close().await;
        let _ = self.http_stop.send(true);
        if let Some(http) = self.http {
            let _ = http.await;
        }
        outcome
    }

    /// Stops at once and without a word, as `kill -9` would: no departure, no QUIC close; the
    /// socket goes dark before anything else stops, so the peers learn of it only by probing.
    /// The HTTP API stops listening before this returns, and the store is closed.
    pub async fn crash(self) {
        self.transport.go_dark();
        self.stop_tasks();
        self.actor.abort();
        let _ = self.actor.await;
        let _ = self.http_stop.send(true);
        if let Some(http) = self.http {
            http.abort();
            let _ = http.await;
        }
    }

    /// Stops the client interface, the export worker (a running export command is killed; its
    /// batch stays queued in the store) and the topology generator's worker.
    fn stop_tasks(&self) {
        for task in [&self.client, &self.export].into_iter().flatten() {
            task.abort();
        }
        self.generator.abort();
    }

    /// Waits until the node stops by itself (a store failure), returning why.
    pub async fn wait(&mut self) -> Result<()> {
        match (&mut self.actor).await {
            Ok(result) => result,
            Err(error) => Err(anyhow::anyhow!("the node task failed: {error}")),
        }
    }
}

/// What to announce for a bound address. A specific address is announced as it is. A wildcard
/// bind is announced on the address of the interface that holds the default route (found
/// without sending anything), on the address a server saw this node join from, and on
/// loopback, in that order; peers add the address they see a connection come from.
fn advertised_addresses(bound: SocketAddr, seen_as: Option<IpAddr>) -> Vec<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let (loopback, probe): (IpAddr, SocketAddr) = if bound.is_ipv4() {
        (IpAddr::V4(Ipv4Addr::LOCALHOST), SocketAddr::from(([192, 0, 2, 1], 9)))
    } else {
        (IpAddr::V6(Ipv6Addr::LOCALHOST), SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 9)))
    };
    // Connecting a UDP socket only looks up the route; no packet leaves the machine.
    let routed = std::net::UdpSocket::bind(SocketAddr::new(bound.ip(), 0))
        .and_then(|socket| socket.connect(probe).and_then(|()| socket.local_addr()))
        .ok()
        .map(|local| local.ip());
    let mut addresses: Vec<SocketAddr> = Vec::new();
    for ip in [routed, seen_as, Some(loopback)].into_iter().flatten() {
        let address = SocketAddr::new(ip, bound.port());
        let usable = !ip.is_unspecified() && (ip.is_loopback() == (ip == loopback));
        if usable && !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    addresses
}

/// Listens for the floodd client interface on `address`, and records the address it got.
async fn start_client_port(
    data_dir: &std::path::Path,
    address: SocketAddr,
    service: NodeService,
) -> Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening for the floodd client interface on {address}"))?;
    let address = listener.local_addr().context("reading the client interface's address")?;
    write_file(data_dir, CLIENT_ADDR_FILE, address.to_string().as_bytes(), 0o644)?;
    let task = tokio::spawn(line::serve(listener, Arc::new(service), LineLimits::default()));
    Ok((address, task))
}

async fn start_http(
    data_dir: &std::path::Path,
    address: SocketAddr,
    handle: NodeHandle,
    mut stopped: watch::Receiver<bool>,
) -> Result<(SocketAddr, JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening for the HTTP API on {address}"))?;
    let address = listener.local_addr().context("reading the HTTP API's address")?;
    let token = match read_small_file(data_dir, API_TOKEN_FILE)? {
        Some(token) => token,
        None => {
            let token: String =
                os_random::<16>()?.iter().map(|byte| format!("{byte:02x}")).collect();
            write_file(data_dir, API_TOKEN_FILE, token.as_bytes(), 0o600)?;
            token
        }
    };
    write_file(data_dir, API_ADDR_FILE, address.to_string().as_bytes(), 0o644)?;
    let auth = if address.ip().is_loopback() { Auth::None } else { Auth::Bearer(token) };
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let task = tokio::spawn(serve(listener, router(handle, auth), shutdown));
    Ok((address, task))
}
