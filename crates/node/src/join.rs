//! The joiner's side of admission: `herald join CODE`.
//!
//! The code is checked locally first (check character, signature, expiry), so a damaged,
//! tampered or expired code is refused without touching the network. Then the listed servers are
//! tried in turn; any of them can admit, so the grid's creator need not be online. The
//! certificate chain a server issues is verified against the grid root named in the signed code
//! before it is stored, so a server that is not of that grid cannot enrol the node elsewhere.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use herald_core::NodeId;
use herald_core::Role;
use herald_core::admission::{CertChain, Invitation, JoinAnswer, JoinRequest, Refusal};

use crate::actor::CONTACTS_MAX;
use crate::address_book::ADDRESSES_PER_NODE_MAX;
use crate::datadir::{Contact, DataDir, StoredProfile, unix_ms};
use crate::peer_requests::{self, PeerAnswer, PeerRequest};
use crate::policy::AcceptAnyPeer;
use crate::tls::PeerIdentity;
use crate::transport::{Transport, TransportConfig};

/// How long one server may take to answer a join.
const JOIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What `herald join` needs besides the code.
#[derive(Clone, Debug)]
pub struct JoinOptions {
    /// The data directory to enrol.
    pub data_dir: PathBuf,
    /// The petname; by default `node-<short id>`.
    pub name: Option<String>,
}

/// The outcome of a successful join.
#[derive(Clone, Debug)]
pub struct Joined {
    /// The grid joined.
    pub grid: NodeId,
    /// This node's id.
    pub id: NodeId,
    /// The role granted.
    pub role: Role,
    /// The server that admitted the node.
    pub admitted_by: SocketAddr,
}

/// Joins the grid of `code` with the data directory of `options`.
pub async fn join(code: &str, options: &JoinOptions) -> Result<Joined> {
    let invitation = Invitation::from_code(code)?;
    invitation.check_expiry(unix_ms())?;
    let mut data = DataDir::open(&options.data_dir)?;
    if let Some(grid) = data.grid()? {
        if grid == invitation.grid {
            bail!("{} is already a member of grid {grid}", options.data_dir.display());
        }
        bail!(
            "{} belongs to grid {grid}, but this invitation is for grid {}",
            options.data_dir.display(),
            invitation.grid
        );
    }
    let keypair = data.keypair().clone();
    let name = options.name.clone().unwrap_or_else(|| data.default_name());
    let anywhere = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    let config = TransportConfig::new(anywhere, keypair.clone(), Arc::new(AcceptAnyPeer));
    let (transport, _events) =
        Transport::bind(config).await.context("opening a QUIC endpoint to contact the grid")?;
    let request = peer_requests::encode(&PeerRequest::Join(Box::new(JoinRequest {
        invitation: invitation.clone(),
        name: name.clone(),
    })));
    let mut failures = Vec::new();
    for server in &invitation.servers {
        let answer = match transport.request(*server, &request, JOIN_TIMEOUT).await {
            Ok((responder, _)) if !is_grid_server(&responder, invitation.grid) => {
                failures.push(format!("{server} (not a server of grid {})", invitation.grid));
                continue;
            }
            Ok((_, answer)) => answer,
            Err(error) => {
                failures.push(format!("{server} ({error})"));
                continue;
            }
        };
        match peer_requests::decode::<PeerAnswer>(&answer) {
            Ok(PeerAnswer::Join(JoinAnswer::Admitted { chain, observed_addr, servers })) => {
                let issued_to_us = chain.verify(invitation.grid, unix_ms()).is_ok()
                    && chain.subject() == keypair.id();
                if !issued_to_us {
                    failures.push(format!("{server} (issued a certificate that does not verify)"));
                    continue;
                }
                let contacts: Vec<Contact> = servers
                    .into_iter()
                    .filter(|(id, _)| *id != keypair.id())
                    .take(CONTACTS_MAX)
                    .map(|(id, mut addresses)| {
                        addresses.truncate(ADDRESSES_PER_NODE_MAX);
                        Contact { id, addresses }
                    })
                    .collect();
                let role = chain.role();
                let seen_as = Some(observed_addr.ip());
                data.set_membership(
                    invitation.grid,
                    &chain,
                    &StoredProfile { name, role, seen_as },
                    &contacts,
                )?;
                transport.close().await;
                return Ok(Joined {
                    grid: invitation.grid,
                    id: keypair.id(),
                    role,
                    admitted_by: *server,
                });
            }
            Ok(PeerAnswer::Join(JoinAnswer::Refused(refusal))) if is_final(&refusal) => {
                transport.close().await;
                bail!("{refusal}");
            }
            Ok(PeerAnswer::Join(JoinAnswer::Refused(refusal))) => {
                failures.push(format!("{server} ({refusal})"));
            }
            Ok(other) => failures.push(format!("{server} (unexpected answer {other:?})")),
            Err(error) => failures.push(format!("{server} ({error})")),
        }
    }
    transport.close().await;
    bail!(
        "no server listed in the invitation admitted this node ({} tried): {}",
        invitation.servers.len(),
        failures.join("; ")
    )
}

/// Whether another server would give the same refusal: the code itself is the problem.
fn is_final(refusal: &Refusal) -> bool {
    matches!(
        refusal,
        Refusal::WrongGrid { .. }
            | Refusal::Tampered
            | Refusal::Expired { .. }
            | Refusal::Spent { .. }
    )
}

/// Whether the node that answered holds a valid server certificate of `grid`: a host at a
/// listed address that is not one may not admit, refuse or list contacts.
fn is_grid_server(responder: &PeerIdentity, grid: NodeId) -> bool {
    let Some(chain) = responder.membership.as_deref().and_then(|b| CertChain::decode(b).ok())
    else {
        return false;
    };
    chain.verify(grid, unix_ms()).is_ok()
        && chain.subject() == responder.id
        && chain.role() == Role::Server
}
