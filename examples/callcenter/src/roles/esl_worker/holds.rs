//! Holds of calls that never reported: released once the live channel lists of every node
//! confirm the call is gone. A hold is due when its call should have ended [`GRACE`] ago (its
//! seconds after it was last taken or extended); a node that is not connected confirms
//! nothing, so while one is down no hold expires. With the event bus, a node another
//! process is active for confirms through the mirror of its published state.

use super::{Shared, lock};
use std::sync::Arc;
use std::time::Duration;

/// How long after a call's limit its CDR may still arrive (ringing, FreeSWITCH's retries).
pub(super) const GRACE: Duration = Duration::from_secs(600);
/// How often due holds are looked for.
const PERIOD: Duration = Duration::from_secs(30);

pub(super) async fn expire_forever(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(PERIOD);
    loop {
        tick.tick().await;
        if let Err(error) = expire_due(&shared).await {
            tracing::warn!(%error, "cannot expire prepaid holds now");
        }
    }
}

/// Expires the due holds whose call no node has; how many.
pub(super) async fn expire_due(shared: &Shared) -> Result<usize, billing::LedgerError> {
    // A node another process is active for confirms through the bus's mirror.
    let mirror = shared.config.follower.as_ref().map(|f| f.mirror());
    let connected = shared.nodes.iter().all(|node| {
        node.client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
            || mirror.is_some_and(|m| {
                let m = m.read().unwrap_or_else(|p| p.into_inner());
                m.is_connected(&node.config.name)
            })
    });
    if !connected {
        return Ok(0);
    }
    let mut expired = 0;
    for hold in shared.ledger.holds_due(GRACE, 500).await? {
        let live = shared
            .nodes
            .iter()
            .any(|node| lock(&node.calls).get(&hold.call_uuid).is_some())
            || mirror.is_some_and(|m| {
                let m = m.read().unwrap_or_else(|p| p.into_inner());
                m.call(&hold.tenant, &hold.call_uuid).is_some()
            });
        if live {
            tracing::warn!(hold = hold.id, call = %hold.call_uuid, "a prepaid call is up past its hold");
            continue;
        }
        if shared.ledger.expire_hold(hold.id).await? {
            tracing::info!(hold = hold.id, tenant = %hold.tenant, call = %hold.call_uuid, "prepaid hold expired: its call is gone without a CDR");
            expired += 1;
        }
    }
    Ok(expired)
}
