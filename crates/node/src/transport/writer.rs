//! The sending side of the transport: one task per peer that owns the peer's send queue, dials
//! the peer when it has no live link, and writes its frames in order on one unidirectional
//! stream of its link.
//!
//! A writer lives while its peer has queued frames or an open frame stream; it retires when its
//! link is gone and its queue is empty, and `send` starts a new one when needed. Not here:
//! reading, accepting, and deciding when a connection is lost (`link`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use herald_core::NodeId;
use quinn::{Connection, ConnectionError, SendStream};
use tokio::sync::mpsc;

use super::{
    CLOSE_BYE, DIAL_TIMEOUT, Link, SIMULTANEOUS_DIAL_WINDOW, Shared, TransportError,
    TransportEvent, bump, link,
};
use crate::framing;
use crate::tls;

/// Most bytes gathered from the queue into one write (frames are never split across batches).
const BATCH_BYTES: usize = 64 * 1024;

type Queue = mpsc::Receiver<Arc<[u8]>>;

/// The writer task of `peer`, identified by `token` in the peer table.
pub(super) async fn run(shared: Arc<Shared>, peer: NodeId, token: u64, mut queue: Queue) {
    let mut out: Option<(Connection, SendStream)> = None;
    let mut batch = Vec::new();
    loop {
        let first = match &out {
            Some((conn, _)) => tokio::select! {
                frame = queue.recv() => frame,
                _ = conn.closed() => {
                    out = None;
                    continue;
                }
            },
            None => {
                if retire(&shared, peer, token, &mut queue) {
                    return;
                }
                queue.recv().await
            }
        };
        let Some(first) = first else { return };
        if !is_current(&shared, peer, token) {
            drop_queued(&shared, &mut queue, 1);
            return;
        }
        batch.clear();
        let (mut frames, mut bytes) = (1, first.len() as u64);
        framing::encode(&first, &mut batch);
        while batch.len() < BATCH_BYTES {
            let Ok(frame) = queue.try_recv() else { break };
            frames += 1;
            bytes += frame.len() as u64;
            framing::encode(&frame, &mut batch);
        }
        let current = out.as_ref().map(|(conn, _)| conn);
        let conn = match choose_link(&shared, peer, current) {
            Some(conn) => conn,
            None => {
                match dial(&shared, peer, token).await.or_else(|| choose_link(&shared, peer, None))
                {
                    Some(conn) => conn,
                    None => {
                        tracing::debug!(%peer, "peer unreachable at every address");
                        let _ = shared.events.send(TransportEvent::PeerDown(peer)).await;
                        drop_queued(&shared, &mut queue, frames);
                        out = None;
                        continue;
                    }
                }
            }
        };
        if out.as_ref().map(|(current, _)| current.stable_id()) != Some(conn.stable_id()) {
            if let Some((_, mut old)) = out.take() {
                let _ = old.finish();
            }
            match conn.open_uni().await {
                Ok(stream) => out = Some((conn, stream)),
                Err(error) => {
                    tracing::debug!(%peer, %error, "could not open a frame stream");
                    bump(&shared.counters.dropped_unreachable, frames);
                    continue;
                }
            }
        }
        let Some((_, stream)) = out.as_mut() else { continue };
        match stream.write_all(&batch).await {
            Ok(()) => {
                bump(&shared.counters.frames_out, frames);
                bump(&shared.counters.bytes_out, bytes);
            }
            Err(error) => {
                tracing::debug!(%peer, %error, "lost frames on a failed link");
                bump(&shared.counters.dropped_unreachable, frames);
                out = None;
            }
        }
    }
}

/// Opens a connection to `addr`, counting the dial and its failure.
pub(super) async fn connect(
    shared: &Shared,
    addr: SocketAddr,
    server_name: &str,
    keep_alive: bool,
) -> Result<Connection, TransportError> {
    bump(&shared.counters.dials, 1);
    let result = async {
        let connecting = if keep_alive {
            shared.endpoint.connect(addr, server_name)?
        } else {
            shared.endpoint.connect_with(shared.quiet_client.clone(), addr, server_name)?
        };
        match tokio::time::timeout(DIAL_TIMEOUT, connecting).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(TransportError::Timeout(DIAL_TIMEOUT)),
        }
    }
    .await;
    if let Err(error) = &result {
        bump(&shared.counters.dial_failures, 1);
        if let TransportError::Connection(
            ConnectionError::TransportError(_) | ConnectionError::ConnectionClosed(_),
        ) = error
        {
            bump(&shared.counters.handshake_failures, 1);
        }
        tracing::debug!(%addr, server_name, %error, "dial failed");
    }
    result
}

/// Dials the peer's addresses in turn; the first connection becomes a writable link.
async fn dial(shared: &Arc<Shared>, peer: NodeId, token: u64) -> Option<Connection> {
    let addrs = shared.peers().get(&peer).map(|entry| entry.addrs.clone()).unwrap_or_default();
    let server_name = tls::server_name(&peer);
    let keep_alive = shared.is_kept(&peer);
    for addr in addrs {
        let Ok(conn) = connect(shared, addr, &server_name, keep_alive).await else { continue };
        // The verifier has checked the certificate's id against the server name.
        let Some(identity) = link::identity_of(&conn) else { continue };
        if !register_dialled(shared, peer, token, &conn) {
            conn.close(CLOSE_BYE.into(), b"shutdown");
            return None;
        }
        tokio::spawn(link::serve(shared.clone(), conn.clone(), identity, true));
        return Some(conn);
    }
    None
}

/// Adds a dialled connection as the newest link, unless this writer was retired meanwhile
/// (the transport closed).
fn register_dialled(shared: &Shared, peer: NodeId, token: u64, conn: &Connection) -> bool {
    let mut peers = shared.peers();
    match peers.get_mut(&peer) {
        Some(entry) if entry.writer.as_ref().is_some_and(|(t, _)| *t == token) => {
            let since = std::time::Instant::now();
            entry.links.push(Link { conn: conn.clone(), writable: true, since });
            true
        }
        _ => false,
    }
}

/// The link to write on, among `peer`'s links (see [`choose`]).
fn choose_link(shared: &Shared, peer: NodeId, current: Option<&Connection>) -> Option<Connection> {
    let peers = shared.peers();
    let links = &peers.get(&peer)?.links;
    let candidates: Vec<Candidate> = links
        .iter()
        .map(|link| Candidate {
            since: link.since,
            usable: link.writable && link.conn.close_reason().is_none(),
        })
        .collect();
    let current = current
        .and_then(|conn| links.iter().position(|link| link.conn.stable_id() == conn.stable_id()));
    choose(&candidates, current).map(|index| links[index].conn.clone())
}

/// A link as the choice of link sees it.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    /// When it came up (or became writable).
    since: Instant,
    /// Writable and not closed.
    usable: bool,
}

/// Which of `links` (oldest first) to write on: `current` while it is usable, unless a usable
/// link came up more than [`SIMULTANEOUS_DIAL_WINDOW`] after it; otherwise the newest usable
/// link. Sticking to the current link keeps two nodes that dialled each other at once from
/// flapping between the two connections.
fn choose(links: &[Candidate], current: Option<usize>) -> Option<usize> {
    let newest = links.iter().rposition(|link| link.usable)?;
    match current.filter(|&index| links.get(index).is_some_and(|link| link.usable)) {
        Some(current) if links[newest].since < links[current].since + SIMULTANEOUS_DIAL_WINDOW => {
            Some(current)
        }
        _ => Some(newest),
    }
}

fn is_current(shared: &Shared, peer: NodeId, token: u64) -> bool {
    let peers = shared.peers();
    peers.get(&peer).and_then(|entry| entry.writer.as_ref()).is_some_and(|(t, _)| *t == token)
}

/// Decides, under the table lock, whether the writer ends: yes if it was replaced or removed,
/// or if its queue is empty (then it leaves the table, so the next `send` starts a new one).
fn retire(shared: &Shared, peer: NodeId, token: u64, queue: &mut Queue) -> bool {
    let mut peers = shared.peers();
    let entry =
        peers.get_mut(&peer).filter(|e| e.writer.as_ref().is_some_and(|(t, _)| *t == token));
    let Some(entry) = entry else {
        drop(peers);
        drop_queued(shared, queue, 0);
        return true;
    };
    if !queue.is_empty() {
        return false;
    }
    entry.writer = None;
    if entry.links.is_empty() {
        peers.remove(&peer);
    }
    true
}

/// Counts `taken` frames already out of the queue, and everything still in it, as unreachable.
fn drop_queued(shared: &Shared, queue: &mut Queue, taken: u64) {
    let mut dropped = taken;
    while queue.try_recv().is_ok() {
        dropped += 1;
    }
    bump(&shared.counters.dropped_unreachable, dropped);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn link(since: Instant, usable: bool) -> Candidate {
        Candidate { since, usable }
    }

    #[test]
    fn the_current_link_is_kept_against_a_link_from_a_simultaneous_dial() {
        let t = Instant::now();
        let links = [link(t, true), link(t + Duration::from_secs(1), true)];
        assert_eq!(choose(&links, Some(0)), Some(0));
    }

    #[test]
    fn a_link_much_newer_than_the_current_one_takes_over() {
        let t = Instant::now();
        let later = t + SIMULTANEOUS_DIAL_WINDOW + Duration::from_secs(1);
        let links = [link(t, true), link(later, true)];
        assert_eq!(choose(&links, Some(0)), Some(1));
    }

    #[test]
    fn without_a_usable_current_link_the_newest_usable_one_is_chosen() {
        let t = Instant::now();
        let links = [link(t, true), link(t, true), link(t, false)];
        assert_eq!(choose(&links, None), Some(1));
        assert_eq!(choose(&links, Some(2)), Some(1));
        assert_eq!(choose(&links, Some(7)), Some(1));
        assert_eq!(choose(&[link(t, false)], Some(0)), None);
    }
}
