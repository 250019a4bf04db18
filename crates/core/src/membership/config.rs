//! The failure detector's tunables.

use std::time::Duration;

/// Failure-detector parameters.
#[derive(Clone, Debug)]
pub struct MembershipConfig {
    /// Time between two probes. Default 1 s (SWIM's protocol period; memberlist's LAN default).
    pub probe_interval: Duration,
    /// Smallest direct-probe timeout. Default 100 ms (guess: above a LAN round trip).
    pub probe_timeout_floor: Duration,
    /// Direct-probe timeout before any round trip was measured. Default 500 ms (memberlist's
    /// LAN ProbeTimeout).
    pub probe_timeout_initial: Duration,
    /// Members asked to probe indirectly. Default 3 (SWIM's k; memberlist IndirectChecks).
    pub indirect_probes: usize,
    /// Lifeguard's α: the suspicion minimum is α · log10(N) probe periods. Default 1 (measured
    /// in sim: memberlist's 4 gives 12 s at 1,000 nodes, above the 8 s goal).
    pub suspicion_alpha: f64,
    /// Lifeguard's β: the suspicion maximum is β times the minimum. Default 6 (Lifeguard).
    pub suspicion_beta: f64,
    /// Independent confirmations that bring a suspicion to its minimum. Default 3 (Lifeguard).
    pub confirmations: u32,
    /// Largest local health multiplier. Default 8 (Lifeguard's awareness maximum).
    pub health_max: u32,
    /// How long dead and left members are remembered. Default 600 s (floodd's sample
    /// `site-purge-period`).
    pub purge_after: Duration,
    /// Round-trip samples kept per member for the adaptive timeout. Default 16 (guess).
    pub rtt_samples_max: usize,
}

impl Default for MembershipConfig {
    fn default() -> MembershipConfig {
        MembershipConfig {
            probe_interval: Duration::from_secs(1),
            probe_timeout_floor: Duration::from_millis(100),
            probe_timeout_initial: Duration::from_millis(500),
            indirect_probes: 3,
            suspicion_alpha: 1.0,
            suspicion_beta: 6.0,
            confirmations: 3,
            health_max: 8,
            purge_after: Duration::from_secs(600),
            rtt_samples_max: 16,
        }
    }
}
