//! `herald doctor`: checks a node's data directory and surroundings, and says for each problem
//! what to do about it.
//!
//! The checks: the data directory and its keys are the user's alone; the node's ports can be
//! bound (or are held by the node itself, running); its stored contacts answer; and this
//! machine's clock is not behind the grid's. A running node holds its store, so while it runs
//! the last two are asked of its API instead of read from the store. Exit status 1 when any
//! check found a problem.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use herald_node::api::model::StatusView;
use herald_node::datadir::{API_ADDR_FILE, DataDir, unix_ms};
use herald_node::peer_requests::{self, PeerRequest};
use herald_node::policy::GridPolicy;
use herald_node::transport::{Transport, TransportConfig};
use herald_store::Store;

use crate::commands::client::http::Client;
use crate::commands::node_place::NodePlaceArgs;

/// How long a stored contact gets to answer a hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(3);
/// How far the newest record of another node may be ahead of this machine's clock.
const CLOCK_SLACK_MS: u64 = 60_000;
/// Files that must be the user's alone.
const SECRET_FILES: [&str; 4] = ["node.key", "grid-root.key", "grid-manager.key", "api.token"];

/// Checks a node's data directory, ports, contacts and clock.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Read as `herald run` reads them.
    #[command(flatten)]
    place: NodePlaceArgs,
}

/// What one check found.
enum Finding {
    Ok(String),
    Problem(String),
}

/// Runs every check, prints one line each, and exits 1 if any found a problem.
pub fn run(args: DoctorArgs) -> Result<ExitCode> {
    let (dir, file) = args.place.data_dir_and_file()?;
    let (listen, http) = (args.place.listen(&file), args.place.http(&file));
    let mut findings = vec![("data directory", directory(&dir))];
    findings.push(("secret files", secret_files(&dir)));
    let running = running_status(&dir);
    findings.push(("ports", ports(listen, http, running.is_some())));
    match &running {
        Some(status) => {
            findings.push(("contacts", contacts_of_running(status)));
            findings.push(("clock", clock_of_running(&dir)));
        }
        None if dir.join("node.key").exists() => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let (contacts, clock) = runtime.block_on(stopped_node(&dir));
            findings.push(("contacts", contacts));
            findings.push(("clock", clock));
        }
        None => {}
    }
    let mut problems = 0;
    for (check, finding) in &findings {
        match finding {
            Finding::Ok(text) => println!("ok       {check}: {text}"),
            Finding::Problem(text) => {
                problems += 1;
                println!("PROBLEM  {check}: {text}");
            }
        }
    }
    if problems == 0 {
        println!("no problems found");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{problems} problem(s) found");
        Ok(ExitCode::FAILURE)
    }
}

fn directory(dir: &Path) -> Finding {
    let shown = dir.display();
    let Ok(metadata) = std::fs::metadata(dir) else {
        return Finding::Problem(format!(
            "{shown} does not exist: make it a node with `herald grid create` or `herald join`, \
             or name the right directory with --data-dir"
        ));
    };
    if !metadata.is_dir() {
        return Finding::Problem(format!(
            "{shown} is not a directory: name a directory with --data-dir"
        ));
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Finding::Problem(format!(
            "{shown} can be read by other users (mode {mode:o}): chmod 700 {shown}"
        ));
    }
    let probe = dir.join(".herald-doctor-probe");
    if let Err(error) = std::fs::write(&probe, b"") {
        return Finding::Problem(format!(
            "{shown} is not writable ({error}): run as the user that owns it, or chown it to the \
             service user"
        ));
    }
    let _ = std::fs::remove_file(&probe);
    Finding::Ok(format!("{shown} is yours alone (mode {mode:o}) and writable"))
}

fn secret_files(dir: &Path) -> Finding {
    let mut checked = Vec::new();
    let mut exposed = Vec::new();
    for name in SECRET_FILES {
        let path = dir.join(name);
        let Ok(metadata) = std::fs::metadata(&path) else { continue };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let shown = path.display();
            exposed.push(format!(
                "{shown} can be read by other users (mode {mode:o}): chmod 600 {shown}"
            ));
        }
        checked.push(name);
    }
    if !exposed.is_empty() {
        return Finding::Problem(exposed.join("; "));
    }
    if !checked.contains(&"node.key") {
        return Finding::Problem(format!(
            "{} holds no node key: it has not joined a grid; run `herald join CODE` or \
             `herald grid create` with this --data-dir",
            dir.display()
        ));
    }
    Finding::Ok(format!("{} readable by you alone", checked.join(", ")))
}

/// The node's status, if a node runs on this directory and its API answers.
fn running_status(dir: &Path) -> Option<StatusView> {
    let address = std::fs::read_to_string(dir.join(API_ADDR_FILE)).ok()?;
    let token = std::fs::read_to_string(dir.join("api.token")).ok();
    let client = Client::with_token(address.trim(), token.map(|token| token.trim().to_owned()));
    let status = client.get("/v1/status", &[]).ok()?;
    serde_json::from_value(status).ok()
}

fn ports(listen: SocketAddr, http: SocketAddr, running: bool) -> Finding {
    if running {
        return Finding::Ok(format!(
            "{listen} (QUIC) and {http} (API) are held by this node, which runs"
        ));
    }
    let taken = |what: &str, address: SocketAddr, error: std::io::Error| {
        let advice = match error.kind() {
            std::io::ErrorKind::AddrInUse => {
                format!(
                    "another program holds it; stop that program, or choose another address with --{what}"
                )
            }
            std::io::ErrorKind::PermissionDenied => {
                "ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a higher port"
                    .to_owned()
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "no interface of this machine has that address; use one `ip addr` shows".to_owned()
            }
            _ => "check the address".to_owned(),
        };
        Finding::Problem(format!("cannot bind {address} (--{what}): {error}; {advice}"))
    };
    if let Err(error) = UdpSocket::bind(listen) {
        return taken("listen", listen, error);
    }
    if let Err(error) = TcpListener::bind(http) {
        return taken("http", http, error);
    }
    Finding::Ok(format!("{listen} (QUIC, UDP) and {http} (API, TCP) can be bound"))
}

fn contacts_of_running(status: &StatusView) -> Finding {
    match (&status.not_ready_reason, status.counts.neighbours) {
        (_, neighbours) if neighbours > 0 => {
            Finding::Ok(format!("the running node has {neighbours} neighbours"))
        }
        (Some(reason), _) => {
            Finding::Problem(format!("the running node has no neighbour: {reason}"))
        }
        (None, _) => Finding::Ok("the running node is the grid's only node".to_owned()),
    }
}

fn clock_of_running(dir: &Path) -> Finding {
    let address = std::fs::read_to_string(dir.join(API_ADDR_FILE)).unwrap_or_default();
    let token = std::fs::read_to_string(dir.join("api.token")).ok();
    let client = Client::with_token(address.trim(), token.map(|token| token.trim().to_owned()));
    let services = client.get("/v1/services", &[]).unwrap_or_default();
    let newest = services
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|service| service["issued_at"].as_u64())
        .max();
    clock(newest)
}

/// Whether this machine's clock is behind the newest record the grid signed.
fn clock(newest_ms: Option<u64>) -> Finding {
    let now = unix_ms();
    match newest_ms {
        Some(newest) if newest > now + CLOCK_SLACK_MS => Finding::Problem(format!(
            "this machine's clock is at least {} s behind a record the grid signed; records it \
             signs look old to the others: turn on NTP (timedatectl set-ntp true)",
            (newest - now) / 1000
        )),
        Some(_) => Finding::Ok("no record held was signed in this machine's future".to_owned()),
        None => Finding::Ok("no record of another node to compare with".to_owned()),
    }
}

/// The checks that read the store of a node that is not running: whether its stored contacts
/// answer a hello, and the clock against the records it holds.
async fn stopped_node(dir: &Path) -> (Finding, Finding) {
    let mut data = match DataDir::open(dir) {
        Ok(data) => data,
        Err(error) => {
            let problem = format!(
                "cannot open the store ({error:#}): if another process holds it, stop it first"
            );
            return (Finding::Problem(problem.clone()), Finding::Problem(problem));
        }
    };
    let me = data.keypair().id();
    let newest = data.store().load().ok().and_then(|snapshot| {
        let others = snapshot.records.iter().filter(|record| record.record.origin != me);
        others.map(|record| record.record.issued_at_ms).max()
    });
    (stored_contacts(&data).await, clock(newest))
}

async fn stored_contacts(data: &DataDir) -> Finding {
    let (Ok(contacts), Ok(Some(grid))) = (data.contacts(), data.grid()) else {
        return Finding::Problem(
            "the store holds no grid: join one with `herald join CODE`".into(),
        );
    };
    if contacts.is_empty() {
        return Finding::Ok("no stored contacts: this is the grid's first node".to_owned());
    }
    let policy = Arc::new(GridPolicy { grid, open: false });
    let mut config =
        TransportConfig::new(SocketAddr::from(([0, 0, 0, 0], 0)), data.keypair().clone(), policy);
    config.membership = data.chain().ok().flatten().map(|chain| chain.encode());
    let transport = match Transport::bind(config).await {
        Ok((transport, _events)) => transport,
        Err(error) => return Finding::Problem(format!("cannot open a QUIC socket: {error:#}")),
    };
    let hello = peer_requests::encode(&PeerRequest::Hello);
    let mut answered = Vec::new();
    for contact in &contacts {
        for address in &contact.addresses {
            if transport.request(*address, &hello, HELLO_TIMEOUT).await.is_ok() {
                answered.push(address.to_string());
                break;
            }
        }
    }
    transport.close().await;
    if answered.is_empty() {
        return Finding::Problem(format!(
            "none of the {} stored contacts answered within {} s: start one of them, or check \
             that this machine reaches their UDP ports (firewall); if they are gone for good, \
             join again with a new invitation",
            contacts.len(),
            HELLO_TIMEOUT.as_secs()
        ));
    }
    Finding::Ok(format!(
        "{} of {} stored contacts answered ({})",
        answered.len(),
        contacts.len(),
        answered.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_behind_the_grid_is_a_problem() {
        let now = unix_ms();
        assert!(matches!(clock(Some(now + 10 * CLOCK_SLACK_MS)), Finding::Problem(_)));
        assert!(matches!(clock(Some(now - 5_000)), Finding::Ok(_)));
        assert!(matches!(clock(None), Finding::Ok(_)));
    }
}
