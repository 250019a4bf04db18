//! floodd compatibility (seed 004, interface.md "floodd client interface" and "floodd
//! configuration file"):
//! - [`config`]: the s-expression configuration file, read with line and column;
//! - [`site`]: what one site of a configuration means for the node that runs it;
//! - [`line`](mod@line): the client line protocol, sans-IO parser and tokio server;
//! - [`client`]: the line protocol's service over a running node;
//! - `generator`: running a group's `topology-generator` at its master site.

pub mod client;
pub mod config;
pub(crate) mod generator;
pub mod line;
pub mod site;
