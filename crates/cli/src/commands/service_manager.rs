//! Telling a service manager how `herald run` is doing, with systemd's notification protocol
//! (`Type=notify`): `READY=1` once the node has caught up with its peers (`ready` in
//! `/v1/status`), `STATUS=` with the reason it is not ready meanwhile, and `STOPPING=1` when it
//! stops. Without `$NOTIFY_SOCKET` (not started by systemd) every call does nothing.

use std::time::Duration;

use herald_node::NodeHandle;
use herald_node::api::model::NodeApi;
use sd_notify::NotifyState;

/// How often readiness is looked at until the node is ready.
const POLL: Duration = Duration::from_millis(250);

/// Watches the node until it is ready, telling the service manager each new reason it is not,
/// then that it is ready. Returns when it is, or when the node stops answering.
pub async fn tell_readiness(handle: NodeHandle) {
    let mut told = None;
    loop {
        let Ok(status) = handle.status().await else { return };
        if status.ready {
            notify(&[NotifyState::Ready, NotifyState::Status("ready: caught up with its peers")]);
            return;
        }
        if status.not_ready_reason != told {
            if let Some(reason) = &status.not_ready_reason {
                notify(&[NotifyState::Status(&format!("not ready: {reason}"))]);
            }
            told = status.not_ready_reason;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Tells the service manager that the node is stopping.
pub fn tell_stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("stopping: announcing departure")]);
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "telling the service manager failed");
    }
}
