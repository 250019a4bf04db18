//! The export command (interface.md, "Export command"): how a group's received messages are
//! handed to `sh -c COMMAND`, and what the node needs to retry it.
//!
//! - `command`: [`ExportCommand`] runs the command once on one batch: the bodies concatenated on
//!   its standard input, `HERALD_GROUP` and `HERALD_MESSAGES` in its environment, the data
//!   directory as its working directory, its output discarded, a time-out; [`ExportError`] says
//!   why a batch was not acknowledged.
//! - `batch`: [`take_batch`] picks how many queued messages form the next batch, within
//!   [`BatchLimits`].
//! - `backoff`: [`Backoff`], the delays before a failed batch is tried again.
//! - `worker`: the task that takes batches from the node's export queue, runs the command on
//!   each and records those it acknowledged.
//!
//! Not here: the queue itself (the actor's `export` module). Messages delivered but not yet
//! exported are kept in the store, so that a crash loses none of them; the worker records a
//! batch as exported only when the command succeeds. Nothing in this module touches the store.

mod backoff;
mod batch;
mod command;
pub(crate) mod worker;

pub use backoff::{Backoff, DELAY_FIRST, DELAY_MAX};
pub use batch::{BatchLimits, take_batch};
pub use command::{ExportCommand, ExportError, TIMEOUT_MAX};
