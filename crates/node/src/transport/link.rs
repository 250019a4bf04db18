//! The receiving side of the transport: accepting connections, keeping the table of links,
//! reading frame streams and serving requests.
//!
//! Not here: dialling and writing frames (`writer`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_core::NodeId;
use quinn::{Connection, ConnectionError, RecvStream, SendStream};
use rustls::pki_types::CertificateDer;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::oneshot;

use super::{
    CLOSE_DONE, CLOSE_FRAMING, CLOSE_GUEST, Link, Shared, TransportError, TransportEvent, bump,
};
use crate::framing::{self, Decoder};
use crate::tls::{self, PeerIdentity};

/// How long a peer may take to send its whole request.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the node may take to answer a request before the stream is reset.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Stream reset code: the node did not answer the request.
const RESET_NO_ANSWER: u32 = 1;

/// Most bytes read from a stream at once.
const READ_CHUNK_MAX: usize = 64 * 1024;

/// The identity proven by the peer's certificate on an established connection.
pub(super) fn identity_of(conn: &Connection) -> Option<PeerIdentity> {
    let chain = conn.peer_identity()?.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    tls::peer_identity(chain.first()?).ok()
}

/// Accepts incoming connections until the endpoint closes.
pub(super) async fn accept(shared: Arc<Shared>) {
    while let Some(incoming) = shared.endpoint.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            match incoming.await {
                Ok(conn) => {
                    if let Some(peer) = identity_of(&conn) {
                        serve(shared, conn, peer, false).await;
                    }
                }
                Err(error) => {
                    bump(&shared.counters.handshake_failures, 1);
                    tracing::debug!(%remote, %error, "incoming handshake failed");
                }
            }
        });
    }
}

/// Adds `conn` to `peer`'s links, or makes it writable. A link that becomes writable goes last:
/// it is the newest.
pub(super) fn register(shared: &Shared, peer: NodeId, conn: &Connection, writable: bool) {
    let mut peers = shared.peers();
    let entry = peers.entry(peer).or_default();
    let id = conn.stable_id();
    match entry.links.iter().position(|link| link.conn.stable_id() == id) {
        Some(at) if writable && !entry.links[at].writable => {
            entry.links.remove(at);
        }
        Some(_) => return,
        None => {}
    }
    entry.links.push(Link { conn: conn.clone(), writable, since: Instant::now() });
}

/// Whether a connection that ended for `reason` means its peer may be gone: not when this
/// node or the peer closed it on purpose, nor when a quiet connection (not a link to one of
/// the overlay's neighbours, which are `kept`) timed out unused.
fn ended_by_failure(reason: &ConnectionError, kept: bool) -> bool {
    match reason {
        ConnectionError::LocallyClosed => false,
        ConnectionError::ApplicationClosed(close) => close.error_code != CLOSE_DONE.into(),
        ConnectionError::TimedOut => kept,
        _ => true,
    }
}

/// Serves one established connection until it ends: accepts the peer's streams (a frame stream
/// makes the connection a writable link) and, at the end, removes the link and reports a lost
/// link as `PeerDown`.
pub(super) async fn serve(
    shared: Arc<Shared>,
    conn: Connection,
    peer: PeerIdentity,
    writable: bool,
) {
    if shared.is_closed() {
        conn.close(super::CLOSE_BYE.into(), b"shutdown");
        return;
    }
    register(&shared, peer.id, &conn, writable);
    bump(&shared.counters.connections_open, 1);
    let mut writable = writable;
    let reason = loop {
        tokio::select! {
            stream = conn.accept_uni() => match stream {
                Ok(recv) => {
                    if peer.membership.is_none() && !shared.policy.guests_may_gossip() {
                        bump(&shared.counters.guests_refused, 1);
                        conn.close(CLOSE_GUEST.into(), b"guests may only ask to join");
                        continue;
                    }
                    if !writable {
                        writable = true;
                        register(&shared, peer.id, &conn, true);
                    }
                    tokio::spawn(read_frames(shared.clone(), conn.clone(), peer.clone(), recv));
                }
                Err(error) => break error,
            },
            stream = conn.accept_bi() => match stream {
                Ok((send, recv)) => {
                    let task = serve_request(shared.clone(), conn.clone(), peer.clone(), send, recv);
                    tokio::spawn(task);
                }
                Err(error) => break error,
            },
        }
    };
    shared.counters.connections_open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    let lost = {
        let mut peers = shared.peers();
        let Some(entry) = peers.get_mut(&peer.id) else { return };
        let before = entry.links.len();
        entry.links.retain(|link| link.conn.stable_id() != conn.stable_id());
        let removed = entry.links.len() < before;
        let others = entry.links.iter().any(|l| l.writable && l.conn.close_reason().is_none());
        if entry.links.is_empty() && entry.writer.is_none() {
            peers.remove(&peer.id);
        }
        removed && writable && !others
    };
    let failure = ended_by_failure(&reason, shared.is_kept(&peer.id));
    tracing::debug!(peer = %peer.id, %reason, writable, "connection ended");
    if lost && failure && !shared.is_closed() {
        let _ = shared.events.send(TransportEvent::PeerDown(peer.id)).await;
    }
}

/// Reads length-prefixed frames from one stream until it ends. A framing violation closes the
/// whole connection, before any memory is reserved for the announced frame.
async fn read_frames(
    shared: Arc<Shared>,
    conn: Connection,
    peer: PeerIdentity,
    mut recv: RecvStream,
) {
    let mut decoder = Decoder::new();
    let remote = conn.remote_address();
    let admitted = peer.membership.is_some();
    loop {
        let chunk = match recv.read_chunk(READ_CHUNK_MAX, true).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) | Err(_) => return,
        };
        let mut next = decoder.push(&chunk.bytes).and_then(|()| decoder.next_frame());
        loop {
            let frame = match next {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(peer = %peer.id, %error, "closing a connection: bad framing");
                    conn.close(CLOSE_FRAMING.into(), b"bad framing");
                    return;
                }
            };
            bump(&shared.counters.frames_in, 1);
            bump(&shared.counters.bytes_in, frame.len() as u64);
            let event = TransportEvent::Frame { from: peer.id, remote, admitted, bytes: frame };
            if let Err(TrySendError::Full(_)) = shared.events.try_send(event) {
                bump(&shared.counters.dropped_inbound, 1);
            }
            next = decoder.next_frame();
        }
    }
}

/// Reads exactly one frame from `recv` (capped at `FRAME_SIZE_MAX` before buffering).
pub(super) async fn read_one_frame(recv: &mut RecvStream) -> Result<Vec<u8>, TransportError> {
    let mut decoder = Decoder::new();
    loop {
        match recv.read_chunk(READ_CHUNK_MAX, true).await? {
            Some(chunk) => decoder.push(&chunk.bytes)?,
            None => return Err(TransportError::NoFrame),
        }
        if let Some(frame) = decoder.next_frame()? {
            return Ok(frame.to_vec());
        }
    }
}

/// Reads one request frame, hands it to the node, and writes back its answer.
async fn serve_request(
    shared: Arc<Shared>,
    conn: Connection,
    peer: PeerIdentity,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let bytes = match tokio::time::timeout(REQUEST_READ_TIMEOUT, read_one_frame(&mut recv)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(TransportError::Framing(error))) => {
            tracing::debug!(peer = %peer.id, %error, "closing a connection: bad request framing");
            conn.close(CLOSE_FRAMING.into(), b"bad framing");
            return;
        }
        Ok(Err(_)) | Err(_) => {
            let _ = send.reset(RESET_NO_ANSWER.into());
            return;
        }
    };
    let (reply, answer) = oneshot::channel();
    let event = TransportEvent::Request {
        from: peer.id,
        remote: conn.remote_address(),
        admitted: peer.membership.is_some(),
        bytes,
        reply,
    };
    if let Err(TrySendError::Full(_)) = shared.events.try_send(event) {
        bump(&shared.counters.dropped_inbound, 1);
    }
    let answer = match tokio::time::timeout(REPLY_TIMEOUT, answer).await {
        Ok(Ok(answer)) if !answer.is_empty() && answer.len() <= herald_core::FRAME_SIZE_MAX => {
            answer
        }
        Ok(Ok(answer)) => {
            tracing::warn!(len = answer.len(), "not sending a request answer outside the size cap");
            let _ = send.reset(RESET_NO_ANSWER.into());
            return;
        }
        Ok(Err(_)) | Err(_) => {
            let _ = send.reset(RESET_NO_ANSWER.into());
            return;
        }
    };
    let mut out = Vec::with_capacity(framing::PREFIX_LEN + answer.len());
    framing::encode(&answer, &mut out);
    if send.write_all(&out).await.is_ok() {
        let _ = send.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_neighbours_link_that_times_out_or_breaks_is_a_failure() {
        assert!(ended_by_failure(&ConnectionError::TimedOut, true));
        assert!(!ended_by_failure(&ConnectionError::TimedOut, false));
        assert!(!ended_by_failure(&ConnectionError::LocallyClosed, true));
        assert!(ended_by_failure(&ConnectionError::Reset, false));
        let closed = |code: u32| {
            ConnectionError::ApplicationClosed(quinn::ApplicationClose {
                error_code: code.into(),
                reason: Default::default(),
            })
        };
        assert!(!ended_by_failure(&closed(CLOSE_DONE), true));
        assert!(ended_by_failure(&closed(CLOSE_DONE + 1), false));
    }
}
