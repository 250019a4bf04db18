//! herald's own notion of time: virtual microseconds handed in by the driver.
//!
//! The core never reads a clock. The simulator feeds it virtual time; the real node feeds it the
//! microseconds elapsed since the node started. There is deliberately no `Instant::now()`.

use std::ops::{Add, Sub};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A point in time, in microseconds since an origin chosen by the driver.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Instant(u64);

impl Instant {
    /// The driver's origin of time.
    pub const ZERO: Instant = Instant(0);

    /// An instant `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Instant {
        Instant(micros)
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, or zero if `earlier` is later than `self`.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        let micros = u64::try_from(rhs.as_micros()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(micros))
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, rhs: Duration) -> Instant {
        let micros = u64::try_from(rhs.as_micros()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_sub(micros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_and_subtracting_saturate_instead_of_wrapping() {
        let late = Instant::from_micros(u64::MAX - 1) + Duration::from_secs(1);
        assert_eq!(late.as_micros(), u64::MAX);
        let early = Instant::from_micros(5) - Duration::from_secs(1);
        assert_eq!(early, Instant::ZERO);
        assert_eq!(
            Instant::from_micros(3).saturating_since(Instant::from_micros(10)),
            Duration::ZERO
        );
    }
}
