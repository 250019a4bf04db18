//! The UDP socket under the quinn endpoint, with a switch that makes it go dark, so that a
//! simulated crash is as silent as `kill -9`.
//!
//! [`RunningNode::crash`](crate::RunningNode::crash) stands in for `kill -9` in the demo and in
//! tests. A killed process sends nothing: its peers must find out by probing. Closing the quinn
//! endpoint instead sends CONNECTION_CLOSE to every peer, which then learns of the crash at once
//! and makes crash detection look faster than it is. Once [`DarkSwitch::go_dark`] has been
//! called, every datagram quinn sends is dropped (and reported as sent) and every datagram that
//! arrives is read and dropped, so the endpoint can be closed and its tasks end without a word
//! reaching a peer. There is no way back: a node that went dark is restarted as a new endpoint.
//!
//! On the normal path it costs one atomic load per send and per receive; batching (GSO, GRO)
//! and the fragmentation setting are passed through from the socket it wraps.

use std::fmt;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};

/// Most receive calls one poll spends dropping datagrams while dark before it yields, so that a
/// flood cannot hold a worker thread.
const DARK_DRAIN_MAX: usize = 64;

/// A UDP socket that passes everything through until it goes dark, then nothing.
pub(super) struct DarkSocket {
    inner: Arc<dyn AsyncUdpSocket>,
    dark: Arc<AtomicBool>,
}

/// The switch of one [`DarkSocket`].
#[derive(Debug)]
pub(super) struct DarkSwitch(Arc<AtomicBool>);

impl DarkSocket {
    /// Wraps `inner`, and returns the switch that makes it go dark.
    pub(super) fn new(inner: Arc<dyn AsyncUdpSocket>) -> (DarkSocket, DarkSwitch) {
        let dark = Arc::new(AtomicBool::new(false));
        (DarkSocket { inner, dark: dark.clone() }, DarkSwitch(dark))
    }

    fn is_dark(&self) -> bool {
        self.dark.load(Ordering::Acquire)
    }
}

impl DarkSwitch {
    /// Makes the socket drop everything from now on, for good.
    pub(super) fn go_dark(&self) {
        self.0.store(true, Ordering::Release);
    }
}

impl fmt::Debug for DarkSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DarkSocket")
            .field("inner", &self.inner)
            .field("dark", &self.is_dark())
            .finish()
    }
}

impl AsyncUdpSocket for DarkSocket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        // Only needed after `try_send` returned `WouldBlock`, which a dark socket never does.
        self.inner.clone().create_io_poller()
    }

    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        if self.is_dark() {
            return Ok(());
        }
        self.inner.try_send(transmit)
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        for _ in 0..DARK_DRAIN_MAX {
            let received = ready!(self.inner.poll_recv(cx, bufs, meta));
            if !self.is_dark() {
                return Poll::Ready(received);
            }
            // Dark: drop what arrived and read on, until the socket is empty and `inner` has
            // registered the waker. An error is not passed on either (quinn ends the endpoint's
            // driver on some); after one, the socket is not read again.
            if received.is_err() {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn max_transmit_segments(&self) -> usize {
        self.inner.max_transmit_segments()
    }

    fn max_receive_segments(&self) -> usize {
        self.inner.max_receive_segments()
    }

    fn may_fragment(&self) -> bool {
        self.inner.may_fragment()
    }
}
