//! herald-node: the real driver of herald-core.
//!
//! It will own the tokio runtime, the QUIC endpoint, the redb store, the HTTP API and the floodd
//! line protocol (issue "The real node"). What is here today is the part every transport needs
//! first and that can be tested without one: [`framing`], which turns the core's frames into a
//! byte stream and back with the size cap checked before anything is allocated.
//!
//! Not here: protocol decisions. Those live in herald-core; this crate only moves bytes, time
//! and durable state in and out of it.

pub mod framing;
