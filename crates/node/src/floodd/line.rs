//! floodd's client line protocol.
