//! The export command (interface.md, "Export command"): how a group's received messages are
//! handed to `sh -c COMMAND`, and what the node needs to retry it.
//!
//! - `batch`: [`take_batch`] picks how many queued messages form the next batch, within
//!   [`BatchLimits`].
//! - `backoff`: [`Backoff`], the delays before a failed batch is tried again.
//!
//! Not here: the queue itself and the decision to run. Messages delivered but not yet exported
//! are kept in the store, so that a crash loses none of them; the node's actor reads them, runs
//! the command on a batch, and records the batch as exported only when it succeeds. Nothing in
//! this module touches the store.

mod backoff;
mod batch;

pub use backoff::{Backoff, DELAY_FIRST, DELAY_MAX};
pub use batch::{BatchLimits, take_batch};
