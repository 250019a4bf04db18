//! [`Backoff`]: how long to wait before a failed export is tried again.

use std::time::Duration;

/// The delay after the first failure. A guess: long enough not to spin on a command that fails
/// at once, short enough that a passing problem (a full disk just cleared) costs little.
pub const DELAY_FIRST: Duration = Duration::from_secs(1);

/// The longest delay. A guess: a command that stays broken until someone fixes it is then run
/// once a minute, which costs little, and its repair is noticed within a minute.
pub const DELAY_MAX: Duration = Duration::from_secs(60);

/// Retry delays for one group's export: [`DELAY_FIRST`], then doubling up to [`DELAY_MAX`],
/// back to the start after a success.
///
/// The sequence is deterministic, with no jitter: each node runs its own command on its own
/// machine, so there is no crowd of clients whose retries would need spreading out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    /// A back-off whose first delay is [`DELAY_FIRST`].
    pub fn new() -> Backoff {
        Backoff { next: DELAY_FIRST }
    }

    /// The delay to wait after a failure; each call after the first doubles it, up to
    /// [`DELAY_MAX`].
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = delay.saturating_mul(2).min(DELAY_MAX);
        delay
    }

    /// Starts again from [`DELAY_FIRST`]; called when a batch succeeds.
    pub fn reset(&mut self) {
        self.next = DELAY_FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(delays: &[u64]) -> Vec<Duration> {
        delays.iter().map(|&s| Duration::from_secs(s)).collect()
    }

    #[test]
    fn delays_double_from_one_second_and_stop_at_sixty() {
        let mut backoff = Backoff::new();
        let delays: Vec<Duration> = (0..9).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays, secs(&[1, 2, 4, 8, 16, 32, 60, 60, 60]));
    }

    #[test]
    fn reset_starts_again_from_one_second() {
        let mut backoff = Backoff::default();
        for _ in 0..4 {
            backoff.next_delay();
        }
        backoff.reset();
        let delays: Vec<Duration> = (0..3).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays, secs(&[1, 2, 4]));
    }

    #[test]
    fn reset_after_reaching_the_cap_starts_again_from_one_second() {
        let mut backoff = Backoff::new();
        for _ in 0..20 {
            backoff.next_delay();
        }
        assert_eq!(backoff.next_delay(), DELAY_MAX);
        backoff.reset();
        assert_eq!(backoff, Backoff::new());
        assert_eq!(backoff.next_delay(), Duration::from_secs(1));
    }
}
