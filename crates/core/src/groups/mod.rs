//! floodd groups: named sets of member nodes, the overlay topology each group floods over, and
//! the data messages flooded to its members (seed 004).

pub mod topology;
