//! Which worker acts for a node. Without leases (SQLite, one daemon) this one always does.
//! With them, a node's worker waits for the node's lease, starts from the state the last
//! active worker published (the bus's mirror, when there is one), then connects and follows
//! the node while it renews the lease; if a renewal fails for good it stops at once (drops
//! the connection, its prepaid slices) and stands by again.
//!
//! A lease is renewed every third of its time-to-live, and a worker stops acting a third
//! before it could have expired unrenewed: two workers never act for one node at once, and a
//! standby takes over within the time-to-live (plus a poll) of the active one's death.

use super::{Shared, connection, lock};
use platform::events::mirror::NodeState;
use platform::leases::Leases;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long a standby waits, at most, for the bus to bring the last active worker's last
/// events (less when a third of the lease is shorter).
const CATCH_UP: Duration = Duration::from_secs(2);

pub(super) async fn run(shared: Arc<Shared>, index: usize) {
    let Some(leases) = shared.config.leases.clone() else {
        return connection::run(shared, index).await;
    };
    let name = shared.nodes[index].config.name.clone();
    loop {
        let (term, since) = acquire(&leases, &name).await;
        *lock(&shared.nodes[index].term) = Some(term);
        shared.metrics.takeovers.inc();
        tracing::info!(node = %name, term, holder = %leases.holder(), "active worker for the node");
        // The lease is renewed from the moment it is taken, while the worker catches up.
        let commands = std::sync::Mutex::new(None);
        let act = async {
            seed(&shared, index, leases.ttl() / 3).await;
            // Under the new term, not connected yet: every view stops trusting the old
            // worker's word (a node whose host is gone stays "not connected").
            connection::publish_state(&shared, index);
            *lock(&commands) = super::link::serve(&shared, index).await;
            connection::run(shared.clone(), index).await;
        };
        tokio::select! {
            () = act => {}
            () = keep(&leases, &name, term, since) => {}
        }
        if let Some(commands) = lock(&commands).take() {
            commands.abort();
        }
        stand_down(&shared, index);
        shared.metrics.leases_lost.inc();
        tracing::warn!(node = %name, term, "lease lost: no longer acting for the node; standing by");
    }
}

/// Waits for the node's lease; its term, and when the winning attempt was sent.
async fn acquire(leases: &Leases, node: &str) -> (i64, Instant) {
    let poll = (leases.ttl() / 6).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut waiting_logged = false;
    loop {
        let sent = Instant::now();
        match leases.try_acquire(node).await {
            Ok(Some(term)) => return (term, sent),
            Ok(None) => {
                if !waiting_logged {
                    waiting_logged = true;
                    tracing::info!(%node, "another worker is active for the node; standing by");
                }
            }
            Err(error) => tracing::warn!(%node, %error, "cannot ask for the node's lease"),
        }
        tokio::time::sleep(poll).await;
    }
}

/// Renews the lease until it is lost: taken by another, or not renewed in time (the database
/// unreachable) — returning a third of the time-to-live before it could expire.
async fn keep(leases: &Leases, node: &str, term: i64, since: Instant) {
    let every = leases.ttl() / 3;
    let mut renewed = since;
    loop {
        tokio::time::sleep(every).await;
        let sent = Instant::now();
        let deadline = renewed + leases.ttl() - every;
        let left = deadline.saturating_duration_since(sent);
        match tokio::time::timeout(left, leases.renew(node, term)).await {
            Ok(Ok(true)) => renewed = sent,
            Ok(Ok(false)) => {
                tracing::warn!(%node, term, "the node's lease was taken by another worker");
                return;
            }
            Ok(Err(error)) => tracing::warn!(%node, %error, "cannot renew the node's lease"),
            Err(_) => tracing::warn!(%node, "renewing the node's lease took too long"),
        }
        if Instant::now() >= deadline {
            return;
        }
    }
}

/// Takes the node's state as the last active worker published it, waiting at most `limit`
/// for the bus.
async fn seed(shared: &Shared, index: usize, limit: Duration) {
    let Some(follower) = &shared.config.follower else {
        return;
    };
    let node = &shared.nodes[index];
    if !follower.caught_up(CATCH_UP.min(limit)).await {
        tracing::warn!(node = %node.config.name, "the bus did not bring the last events in time; re-syncing from what it brought");
    }
    let NodeState {
        calls,
        queues,
        agents,
        ..
    } = follower
        .mirror()
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .state(&node.config.name);
    lock(&node.calls).restore(calls);
    lock(&node.center).restore(queues, agents);
}

/// Stops acting for the node: the connection is closed (FreeSWITCH told `exit`, so the
/// client does not reconnect) and its prepaid slices stop.
fn stand_down(shared: &Shared, index: usize) {
    let node = &shared.nodes[index];
    node.up.store(false, Ordering::Relaxed);
    lock(&node.term).take();
    for (_, slices) in lock(&node.slices).drain() {
        slices.abort();
    }
    let client = node
        .client
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(client) = client {
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(2), client.exit()).await;
        });
    }
}

/// Ends every lease this worker holds (at shutdown).
pub(super) async fn release_all(shared: &Shared) {
    let Some(leases) = &shared.config.leases else {
        return;
    };
    for node in &shared.nodes {
        let term = lock(&node.term).take();
        if let Some(term) = term {
            if let Err(error) = leases.release(&node.config.name, term).await {
                tracing::warn!(node = %node.config.name, %error, "cannot release the node's lease");
            }
        }
    }
}
