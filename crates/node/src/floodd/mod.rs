//! floodd compatibility: the s-expression configuration file and the client line protocol
//! (seed 004, interface.md "floodd client interface" and "floodd configuration file").

pub mod config;
pub mod line;
