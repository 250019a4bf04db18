//! `herald run`: runs a node in the foreground until SIGINT or SIGTERM.
//!
//! Settings come from flags, then `HERALD_*` environment variables, then the configuration file
//! (`--config`, else `herald.toml` in the data directory), then the defaults of interface.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use herald_core::Role;
use herald_node::config::FileConfig;
use herald_node::floodd::site::{self, FlooddSite};
use herald_node::{NodeOptions, RunningNode};

use crate::commands::config::{CheckedFile, as_toml, checked};
use crate::commands::logging::{LogFormat, init_logging};
use crate::commands::node_place::NodePlaceArgs;
use crate::commands::service_manager;

/// Runs a node in the foreground.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    place: NodePlaceArgs,
    /// The floodd client interface's address [default: the floodd site's client-port on all
    /// interfaces, else 127.0.0.1:7422]; port 0 picks a free port.
    #[arg(long, env = "HERALD_CLIENT_PORT")]
    client_port: Option<SocketAddr>,
    /// This node's petname; with --floodd-config, the site this process is (default: the site
    /// whose hostname is this machine's).
    #[arg(long, env = "HERALD_NAME")]
    name: Option<String>,
    /// The role this node must have; it is fixed by its membership certificate.
    #[arg(long, value_parser = ["server", "client"])]
    role: Option<String>,
    /// An address to contact at start, beside the stored contacts (repeatable).
    #[arg(long = "peer")]
    peers: Vec<SocketAddr>,
    /// A floodd s-expression configuration: its sites, groups and local parameters.
    #[arg(long, env = "HERALD_FLOODD_CONFIG")]
    floodd_config: Option<PathBuf>,
    /// Admit any node that knows an address (floodd's keyless grids); logs a warning.
    #[arg(long)]
    open: bool,
    /// Log format [default: the configuration file's log_format, else text].
    #[arg(long, value_enum, env = "HERALD_LOG_FORMAT")]
    log_format: Option<LogFormat>,
    /// Print the configuration that flags, HERALD_* variables, the file and the defaults make,
    /// as herald.toml lines, and exit without starting the node.
    #[arg(long)]
    print_config: bool,
}

/// Runs the node until a signal; exit 0 after a clean departure.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    let (data_dir, file) = args.place.data_dir_and_file()?;
    let CheckedFile { file, log_format: file_log_format, warnings } = checked(file)?;
    let log_format = args.log_format.or(file_log_format).unwrap_or(LogFormat::Text);
    init_logging(log_format);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let mut options = NodeOptions::new(data_dir);
    options.listen = args.place.listen(&file);
    options.http = Some(args.place.http(&file));
    options.name = args.name.clone().or(file.name);
    options.peers = if args.peers.is_empty() { file.peers } else { args.peers.clone() };
    options.open = args.open || file.open.unwrap_or(false);
    options.role = args.role.as_deref().and_then(Role::from_name);
    options.core.grid_control.forward_only_reachable = file.forward_only_reachable;
    if let Some(address) = args.client_port {
        options.client_port = Some(address);
        options.client_port_explicit = true;
    }
    if let Some(path) = &args.floodd_config {
        apply_floodd(&mut options, path, &args)?;
    }
    if args.print_config {
        print!("{}", effective_config(&options, log_format));
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(run_until_signal(options))
}

/// The effective configuration of a node about to start with `options`, as herald.toml lines
/// after a comment naming the data directory (which the file cannot set).
fn effective_config(options: &NodeOptions, log_format: LogFormat) -> String {
    let log_format = log_format.to_possible_value().map(|value| value.get_name().to_owned());
    let effective = FileConfig {
        listen: Some(options.listen),
        http: options.http,
        name: options.name.clone(),
        peers: options.peers.clone(),
        open: Some(options.open),
        log_format,
        forward_only_reachable: options.core.grid_control.forward_only_reachable.clone(),
    };
    format!("# data directory: {}\n{}", options.data_dir.display(), as_toml(&effective))
}

/// Takes this site's settings from a floodd configuration: its name, ports, peers, groups and
/// local parameters. Flags given on the command line win over the file.
fn apply_floodd(options: &mut NodeOptions, path: &Path, args: &RunArgs) -> Result<()> {
    let config = site::load(path)?;
    let hostname = site::local_hostname();
    let chosen = config
        .pick_site(args.name.as_deref(), &hostname)
        .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
    let site = FlooddSite::new(&config, chosen);
    options.name = Some(site.name.clone());
    if !args.place.listen_given()
        && let Some(port) = site.data_port
    {
        options.listen = SocketAddr::from(([0, 0, 0, 0], port));
    }
    if args.client_port.is_none()
        && let Some(port) = site.client_port
    {
        options.client_port = Some(SocketAddr::from(([0, 0, 0, 0], port)));
        options.client_port_explicit = true;
    }
    options.peer_hosts = site.peers.clone();
    options.groups = site.groups.clone();
    options.export_command = site.export_command.clone();
    options.grid_secret = site.grid_secret.clone();
    let core = &mut options.core;
    if let Some(bytes) = site.data_storage_max {
        core.groups.data_storage_max = bytes;
    }
    if let Some(period) = site.log_purge_period {
        core.groups.log_purge_period = period;
    }
    if let Some(period) = site.site_purge_period {
        core.records.departed_grace = period;
    }
    if !options.open && options.grid_secret.is_none() {
        tracing::warn!(
            "floodd sites have no keys: without --open or a grid-secret, only nodes admitted to \
             this grid by invitation can join it"
        );
    }
    Ok(())
}

async fn run_until_signal(options: NodeOptions) -> Result<ExitCode> {
    // Listening before anything can say the node is ready: a service manager may stop the
    // node the moment it is, and a SIGTERM with no listener would kill it without a departure.
    let mut signals = ShutdownSignals::listen()?;
    let mut node = RunningNode::start(options).await?;
    if node.created_grid {
        println!("created grid {}", node.grid);
    }
    println!("node id    {}", node.id);
    println!("grid       {}", node.grid);
    println!("listening  {} (QUIC)", node.listen_addr);
    if let Some(http) = node.http_addr {
        println!("dashboard  http://{http}/");
    }
    if let Some(client) = node.client_addr {
        println!("client     {client} (floodd line protocol)");
    }
    let telling = tokio::spawn(service_manager::tell_readiness(node.handle().clone()));
    let exit = node.exit_requested();
    tokio::select! {
        result = node.wait() => {
            result.context("the node stopped")?;
            return Ok(ExitCode::SUCCESS);
        }
        () = signals.next() => {}
        () = exit.notified() => tracing::info!("a client asked the daemon to exit"),
    }
    tracing::info!("stopping: announcing departure and flushing the store");
    telling.abort();
    service_manager::tell_stopping();
    node.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

/// SIGINT and SIGTERM, listened for from the moment this is made.
struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn listen() -> Result<ShutdownSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignals {
                interrupt: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignals {})
    }

    /// Resolves on the next SIGINT or SIGTERM.
    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
