//! Tahoe-LAFS grid control (seeds 000 and 001): recommendations, reachability over them, and
//! grid-manager lists.
//!
//! - [`recommendation`]: the `grid-control` announcement's list of Recommendation Records
//!   `{who, petname, what}`, its limits, and the edits `herald recommend` makes to it.
//! - [`reach`]: the nodes reachable from one node over recommendation edges of one kind. An
//!   edge A→B of kind W exists while A's newest `grid-control` announcement recommends B for W.
//! - [`manager`]: a grid manager's signed, versioned list of servers (Tahoe ticket #3457's grid
//!   service directory). The list is a record whose origin is the manager's own key, so it is
//!   flooded, stored and superseded like every other record, and any node that holds the key can
//!   publish the next version.
//! - [`policy`]: the optional rule that a node keeps and forwards announcements only from
//!   nodes it reaches over one kind of recommendation (seed 000's first open question).
//!
//! All of it is pure: the node's command methods (`node/grid_control.rs`) read and write the
//! record set, and drivers decide which lists a node follows.

pub mod manager;
pub mod policy;
pub mod reach;
pub mod recommendation;

pub use manager::{MANAGER_SERVERS_MAX, ManagerList, ManagerListError};
pub use policy::{GridControlConfig, ReachableOnly};
pub use reach::{Reached, reachable};
pub use recommendation::{
    KNOWN_KINDS, PETNAME_LEN_MAX, RECOMMENDATIONS_MAX, Recommendation, RecommendationError,
    WHAT_LEN_MAX,
};

/// The service whose announcements carry recommendations.
pub const GRID_CONTROL_SERVICE: &str = "grid-control";
