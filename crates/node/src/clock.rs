//! The bridge between tokio's clock and herald-core's virtual `Instant`.
//!
//! The core counts microseconds from an origin the driver picks; the node picks the moment it
//! started. Tokio's clock is used (not `std::time`), so tests that pause tokio time drive the
//! core's timers too.

use std::time::Duration;

use herald_core::Instant;

/// Converts between tokio instants and core instants, from one origin.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock whose core time 0 is now.
    pub fn start() -> Clock {
        Clock { origin: tokio::time::Instant::now() }
    }

    /// The core's current time.
    pub fn now(&self) -> Instant {
        let elapsed = self.origin.elapsed();
        Instant::from_micros(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
    }

    /// The tokio instant of a core instant.
    pub fn tokio_instant(&self, at: Instant) -> tokio::time::Instant {
        self.origin + Duration::from_micros(at.as_micros())
    }

    /// How long ago a core instant was.
    pub fn since(&self, at: Instant) -> Duration {
        self.now().saturating_since(at)
    }
}
