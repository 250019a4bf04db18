//! herald's side of each comparison. The broadcast and membership workloads run real
//! herald-node nodes in this process on loopback, each with its own QUIC endpoint and its own
//! redb store in a temporary directory, joined by invitation as `herald demo` joins them; never
//! the simulator. The accuracy workload runs herald's protocol core in herald-sim, the network
//! model foca's side is driven in.

mod accuracy;
mod broadcast;
mod grid;
mod membership;

pub use accuracy::accuracy;
pub use broadcast::broadcast;
pub use membership::membership;
