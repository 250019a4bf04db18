//! The export worker: the task that takes batches from the node's export queue, runs the export
//! command on each, and records those it acknowledged, backing off after a failure.

use std::sync::Arc;

use tokio::sync::Notify;
use tracing::{debug, warn};

use super::{Backoff, BatchLimits, ExportCommand};
use crate::handle::NodeHandle;

/// Runs until the node stops: waits for queued messages, exports them in batches, and retries
/// a batch the command refused after a back-off, without end (nothing is ever given up).
pub(crate) async fn run(handle: NodeHandle, command: ExportCommand, queued: Arc<Notify>) {
    let limits = BatchLimits::default();
    let mut backoff = Backoff::new();
    loop {
        let Ok(batch) = handle.call(move |actor| actor.next_export_batch(limits)).await else {
            return;
        };
        let Some(batch) = batch else {
            queued.notified().await;
            continue;
        };
        let ran = command.run(&batch.group, &batch.bodies).await;
        let succeeded = ran.is_ok();
        if handle.call(move |actor| actor.note_export_run(succeeded)).await.is_err() {
            return;
        }
        match ran {
            Ok(()) => {
                backoff.reset();
                debug!(group = %batch.group, messages = batch.bodies.len(), "exported");
                match handle.call(move |actor| actor.export_done(&batch)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        warn!(error = %format!("{error:#}"), "recording an export failed");
                    }
                    Err(_) => return,
                }
            }
            Err(error) => {
                let delay = backoff.next_delay();
                warn!(%error, retry_in_s = delay.as_secs(), "the export command failed; the batch is kept");
                tokio::time::sleep(delay).await;
            }
        }
    }
}
