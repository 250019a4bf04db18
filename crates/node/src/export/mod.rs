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
//!
//! Not here: the queue itself and the decision to run. Messages delivered but not yet exported
//! are kept in the store, so that a crash loses none of them; the node's actor reads them, calls
//! [`ExportCommand::run`] on a batch, and records the batch as exported only when it succeeds.
//! Nothing in this module touches the store.

mod backoff;
mod batch;
mod command;

pub use backoff::{Backoff, DELAY_FIRST, DELAY_MAX};
pub use batch::{BatchLimits, take_batch};
pub use command::{ExportCommand, ExportError, TIMEOUT_MAX};
