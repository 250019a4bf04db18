//! A group's overlay topology of a given connectivity, computed from measured costs.
