//! `GET /v1/events`: the node's [`ApiEvent`]s as Server-Sent Events.
//!
//! Each event goes out as `event: <ApiEvent::name()>` with the view as JSON `data`. A client
//! that reads too slowly for the node's event channel is not cut off: it gets an
//! `event: lagged` with `{"missed": N}` and the stream goes on with the newest events, so a
//! dashboard can refetch the lists it shows. A comment every 15 s keeps proxies and idle
//! timers from closing a quiet stream. The stream ends when the server shuts down
//! ([`Shutdown`]), so a graceful shutdown does not wait forever for open event streams.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio::sync::watch;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, WatchStream};
use tokio_stream::{Stream, StreamExt};

use super::model::{ApiEvent, NodeApi};

/// How often a quiet stream gets a keep-alive comment.
pub(crate) const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// Turns true when the server begins to shut down; `serve` puts it in the request extensions.
#[derive(Clone, Debug)]
pub(crate) struct Shutdown(pub(crate) watch::Receiver<bool>);

enum Item {
    Event(Result<ApiEvent, BroadcastStreamRecvError>),
    Stop,
}

/// The handler of `GET /v1/events`.
pub(crate) async fn events<A: NodeApi>(
    State(api): State<A>,
    shutdown: Option<Extension<Shutdown>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = api.subscribe();
    // Without a `Shutdown` (a router driven directly, as in tests) the stop stream is one that
    // ends at once without a stop: the sender is dropped here.
    let stop = match shutdown {
        Some(Extension(Shutdown(stop))) => stop,
        None => watch::channel(false).1,
    };
    let stop = WatchStream::new(stop).filter(|stopping| *stopping).map(|_| Item::Stop);
    let stream = BroadcastStream::new(receiver)
        .map(Item::Event)
        .merge(stop)
        .take_while(|item| !matches!(item, Item::Stop))
        .filter_map(|item| match item {
            Item::Event(event) => to_sse(event).map(Ok),
            Item::Stop => None,
        });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE_INTERVAL))
}

fn to_sse(event: Result<ApiEvent, BroadcastStreamRecvError>) -> Option<Event> {
    match event {
        Ok(event) => match Event::default().event(event.name()).json_data(&event) {
            Ok(sse) => Some(sse),
            Err(error) => {
                // The views are plain data; this would be a bug in a Serialize impl.
                tracing::warn!(%error, name = event.name(), "cannot encode an API event");
                None
            }
        },
        Err(BroadcastStreamRecvError::Lagged(missed)) => {
            Some(Event::default().event("lagged").data(format!("{{\"missed\":{missed}}}")))
        }
    }
}
