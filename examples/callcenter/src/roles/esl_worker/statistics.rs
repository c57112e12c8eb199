//! The daily statistics' writer: each caller's step through a queue (joined, answered,
//! abandoned) is stored once in its tenant's day, in order, retried while the database is down;
//! then the queue's day, as stored, is published to the tenant (`queue_statistics`).

use super::{EslMetrics, Shared};
use platform::cache::Cache;
use platform::calls::CallEvent;
use platform::contact_center::{MemberOutcome, tenant_of};
use platform::events::Hub;
use platform::retry::Retry;
use platform::statistics::day_of;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Most steps waiting for the database; past it new ones are counted as dropped and logged.
pub(super) const BACKLOG: usize = 10_000;

/// Hands a step to the writer without waiting.
pub(super) fn queue(shared: &Shared, outcome: MemberOutcome) {
    if let Err(error) = shared.members.try_send(outcome) {
        shared.metrics.members_dropped.inc();
        tracing::warn!(
            queue = %error.into_inner().queue,
            "queue statistics writer too far behind (database down?): a caller's step not stored"
        );
    }
}

/// Stores each step as it comes, retrying each until the database takes it.
pub(super) async fn write(
    mut steps: mpsc::Receiver<MemberOutcome>,
    tenants: Cache,
    hub: Hub,
    metrics: Arc<EslMetrics>,
) {
    let retry = Retry::new(Duration::from_millis(100), Duration::from_secs(5));
    while let Some(outcome) = steps.recv().await {
        let Some(tenant) = tenant_of(&outcome.queue).map(str::to_owned) else {
            continue;
        };
        let mut delays = retry.delays();
        let time_zone = loop {
            match tenants.tenant(&tenant).await {
                Ok(Some(found)) => break Some(found.time_zone),
                // A queue of no tenant of ours: nobody's statistics.
                Ok(None) => break None,
                Err(error) => {
                    tracing::warn!(%error, "queue statistics: tenant lookup failed; retrying");
                    tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(5))).await;
                }
            }
        };
        let Some(time_zone) = time_zone else {
            continue;
        };
        let store = tenants.store();
        while let Err(error) = store
            .record_member(&tenant, time_zone.as_deref(), &outcome)
            .await
        {
            tracing::warn!(%error, "queue statistics: storing a caller's step failed; retrying");
            tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(5))).await;
        }
        metrics.members_recorded.inc();
        let day = day_of(time_zone.as_deref(), outcome.joined_at);
        let queue = outcome.queue.rsplit_once('@').map_or("", |(name, _)| name);
        match store.daily_statistics(&tenant, &day).await {
            Ok(days) => {
                for statistics in days.into_iter().filter(|d| d.queue == queue) {
                    hub.publish(&CallEvent::QueueStatistics {
                        tenant: tenant.clone(),
                        day: day.clone(),
                        statistics,
                    });
                }
            }
            // Stored: the next step or a REST read shows it.
            Err(error) => tracing::warn!(%error, "queue statistics: reading the day failed"),
        }
    }
}
