//! Contacting peers given by address at start: `--peer` addresses, and the other sites of a
//! floodd configuration, whose host names may not resolve yet.

use std::net::SocketAddr;
use std::time::Duration;

use tracing::{info, warn};

use crate::handle::NodeHandle;
use crate::peer_requests::{self, PeerAnswer, PeerRequest};
use crate::transport::Transport;

/// How long a `--peer` gets to answer a hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// The first wait before a site's host is tried again; it doubles up to [`HOST_RETRY_MAX`].
const HOST_RETRY_FIRST: Duration = Duration::from_secs(5);
/// The longest wait between two tries of a site's host.
const HOST_RETRY_MAX: Duration = Duration::from_secs(60);

/// Resolves `host` and greets it on `port` until one of its addresses answers, retrying with
/// back-off: a floodd configuration names its sites by host names that may not resolve yet,
/// or hosts that are down. The first failure is logged as a warning, later ones at debug level.
pub(crate) async fn greet_host(transport: Transport, handle: NodeHandle, host: String, port: u16) {
    let mut wait = HOST_RETRY_FIRST;
    let mut warned = false;
    loop {
        match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(addresses) => {
                for address in addresses {
                    if greet_peer(transport.clone(), handle.clone(), address).await {
                        info!(%host, %address, "joined through a configured site");
                        return;
                    }
                }
            }
            Err(error) if !warned => {
                warn!(%host, %error, retry_s = wait.as_secs(), "cannot resolve a configured site's host; retrying");
                warned = true;
            }
            Err(error) => tracing::debug!(%host, %error, "cannot resolve a configured site's host"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(HOST_RETRY_MAX);
    }
}

/// Resolves a `--peer` address to a node id with a hello, then joins through it; whether it
/// could.
pub(crate) async fn greet_peer(transport: Transport, handle: NodeHandle, peer: SocketAddr) -> bool {
    let request = peer_requests::encode(&PeerRequest::Hello);
    let (identity, answer) = match transport.request(peer, &request, HELLO_TIMEOUT).await {
        Ok(reply) => reply,
        Err(error) => {
            warn!(%peer, %error, "could not reach a --peer address");
            return false;
        }
    };
    let observed = match peer_requests::decode::<PeerAnswer>(&answer) {
        Ok(PeerAnswer::Hello { observed }) => Some(observed),
        _ => None,
    };
    let id = identity.id;
    let joined = handle
        .call(move |actor| {
            if !actor.learn_member_address(&identity, peer) {
                warn!(%peer, "the --peer address is not a member of this grid; ignoring it");
                return anyhow::Ok(());
            }
            if let Some(observed) = observed {
                actor.add_advertised(observed)?;
            }
            actor.join(vec![id]);
            anyhow::Ok(())
        })
        .await;
    match joined {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            warn!(%peer, error = %format!("{error:#}"), "joining through a --peer address failed");
            false
        }
        Err(_) => false,
    }
}
