//! The line protocol over TCP: [`serve`] accepts clients and runs one task per connection, which
//! feeds the [`Parser`] what it reads and answers each event with the [`FlooddService`], in
//! order. A client's bad input is answered and forgotten; only a read or write error, `quit`,
//! `exit` or the client closing ends its connection, and nothing a client does reaches further
//! than its own task.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use super::parser::{COMMANDS, LineLimits, Parsed, Parser, Request};
use super::reply::Reply;
use super::service::{FlooddService, PublishError};

/// The greeting's text, after `220`.
pub const GREETING: &str = "herald floodd client interface ready; type help for the commands";

/// Bytes read from a client at a time. One read's events are answered before the next read, so
/// this also bounds the replies waiting to be written.
const READ_CHUNK: usize = 16 << 10;

/// The pause after a failed accept (out of file descriptors, say) before trying again, so that
/// the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves the line protocol on `listener` until the task running it is dropped or aborted.
pub async fn serve(listener: TcpListener, service: Arc<dyn FlooddService>, limits: LineLimits) {
    let slots = Arc::new(Semaphore::new(limits.connections_max));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "floodd client port: accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // Best effort and without waiting: a client that does not read it just sees the close.
            let mut refusal = Vec::new();
            Reply::new(421, "too many connections; try again later").encode(&mut refusal);
            let _ = stream.try_write(&refusal);
            debug!(%peer, "floodd client refused: too many connections");
            continue;
        };
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            debug!(%peer, "floodd client connected");
            match connection(stream, peer, service.as_ref(), limits).await {
                Ok(()) => debug!(%peer, "floodd client disconnected"),
                Err(error) => debug!(%peer, %error, "floodd client connection failed"),
            }
            drop(slot);
        });
    }
}

/// What happens to the connection after a reply is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    Continue,
    Close,
    /// Close, then ask the daemon to stop.
    CloseAndExit,
}

/// Serves one client on `stream` until it leaves. A message whose body is still being read when
/// the client goes is dropped with the parser.
async fn connection<S>(
    mut stream: S,
    peer: SocketAddr,
    service: &dyn FlooddService,
    limits: LineLimits,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = Vec::new();
    Reply::new(220, GREETING).encode(&mut out);
    stream.write_all(&out).await?;
    let mut parser = Parser::new(limits);
    let mut input = vec![0; READ_CHUNK];
    let mut events = Vec::new();
    loop {
        let read = stream.read(&mut input).await?;
        if read == 0 {
            if parser.buffered() > 0 {
                debug!(%peer, "floodd client left in the middle of a line or message");
            }
            return Ok(());
        }
        parser.feed(&input[..read], &mut events);
        for event in events.drain(..) {
            let (reply, after) = answer(event, peer, service).await;
            out.clear();
            reply.encode(&mut out);
            stream.write_all(&out).await?;
            if after != After::Continue {
                stream.shutdown().await?;
                if after == After::CloseAndExit {
                    info!(%peer, "floodd client asked the daemon to exit");
                    service.exit().await;
                }
                return Ok(());
            }
        }
    }
}

/// The reply to one parsed event.
async fn answer(parsed: Parsed, peer: SocketAddr, service: &dyn FlooddService) -> (Reply, After) {
    let request = match parsed {
        Parsed::Request(request) => request,
        Parsed::DataStarted => {
            let text = "send the message; end it with a line holding a single \".\"";
            return (Reply::new(354, text), After::Continue);
        }
        Parsed::Bad(reply) => return (reply, After::Continue),
    };
    let reply = match request {
        Request::Help => Reply::lines(
            214,
            COMMANDS.iter().map(|(usage, what)| format!("{usage:<20} {what}")).collect(),
        ),
        Request::Group(group) => listing(service.members(group.clone()).await, &group),
        Request::Groups => Reply::lines(250, service.groups().await),
        Request::Publish { group, body } => match service.publish(group, body).await {
            Ok(id) => Reply::new(250, id),
            Err(error) => Reply::new(publish_code(&error), error.to_string()),
        },
        Request::Statistics => Reply::lines(250, service.statistics().await),
        Request::Topology(group) => listing(service.topology(group.clone()).await, &group),
        Request::Nearest => match service.nearest().await {
            Some(nearest) => {
                let rtt_ms = nearest.rtt.as_secs_f64() * 1000.0;
                Reply::new(250, format!("{} {rtt_ms:.1} ms", nearest.node))
            }
            None => Reply::new(450, "no node's round-trip time is known yet"),
        },
        Request::Quit => return (Reply::new(221, "closing the connection"), After::Close),
        Request::Exit if peer.ip().to_canonical().is_loopback() => {
            return (Reply::new(221, "the daemon is stopping"), After::CloseAndExit);
        }
        Request::Exit => Reply::new(550, "exit is accepted only from this machine (loopback)"),
    };
    (reply, After::Continue)
}

/// A list about one group, or `550` when there is no such group.
fn listing(lines: Option<Vec<String>>, group: &str) -> Reply {
    match lines {
        Some(lines) => Reply::lines(250, lines),
        None => Reply::new(550, PublishError::NoSuchGroup(group.to_owned()).to_string()),
    }
}

fn publish_code(error: &PublishError) -> u16 {
    match error {
        PublishError::NoSuchGroup(_) | PublishError::NoGroup => 550,
        PublishError::Ambiguous { .. } => 501,
        PublishError::Busy => 451,
        PublishError::TooLarge { .. } => 552,
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
