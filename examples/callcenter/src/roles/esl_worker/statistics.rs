//! The contact center's writer: each caller's step through a queue (joined, answered,
//! abandoned) is stored once in its tenant's day, and each agent status a node reports is
//! stored as the agent's (what the next reconciliation tells every node), in order, retried
//! while the database is unreachable; a step the database refuses for good is dropped and
//! counted. The day of each queue that changed is published to its tenant
//! (`queue_statistics`) at most once a second.

use super::{EslMetrics, Shared};
use platform::cache::Cache;
use platform::calls::CallEvent;
use platform::contact_center::{MemberOutcome, tenant_of};
use platform::events::Hub;
use platform::retry::Retry;
use platform::statistics::day_of;
use platform::store::PlatformError;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Most steps waiting for the database; past it new ones are counted as dropped.
pub(super) const BACKLOG: usize = 10_000;

/// What the writer stores.
#[derive(Debug)]
pub(super) enum Step {
    /// A caller's step through a queue.
    Member(MemberOutcome),
    /// An agent's status as a node reported it (`name@tenant`, a status mod_callcenter names).
    AgentStatus { agent: String, status: String },
}

impl Step {
    fn name(&self) -> &str {
        match self {
            Step::Member(outcome) => &outcome.queue,
            Step::AgentStatus { agent, .. } => agent,
        }
    }
}

/// Hands a step to the writer without waiting; one that does not fit is counted (and the
/// first of every thousand logged).
pub(super) fn queue(shared: &Shared, step: Step) {
    if shared.members.try_send(step).is_err() {
        shared.metrics.members_dropped.inc();
        if shared.metrics.members_dropped.get() % 1000 == 1 {
            tracing::warn!(
                dropped = shared.metrics.members_dropped.get(),
                "contact-center writer too far behind (database down?): steps not stored"
            );
        }
    }
}

/// Whether a database error may go away by itself (the database unreachable or overloaded),
/// so the step is worth trying again; anything else (a refused value) never will.
fn transient(error: &PlatformError) -> bool {
    match error {
        PlatformError::Unavailable => true,
        PlatformError::Database(error) => matches!(
            error,
            sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Protocol(_)
        ),
        _ => false,
    }
}

/// A queue's day to publish: (tenant, day, queue name).
type Changed = (String, String, String);

/// Stores each step as it comes, publishing the days that changed once a second.
pub(super) async fn write(
    mut steps: mpsc::Receiver<Step>,
    tenants: Cache,
    hub: Hub,
    metrics: Arc<EslMetrics>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut changed: BTreeSet<Changed> = BTreeSet::new();
    loop {
        tokio::select! {
            step = steps.recv() => {
                let Some(step) = step else { break };
                if let Some(day) = store(&step, &tenants, &metrics).await {
                    changed.insert(day);
                }
            }
            _ = tick.tick() => {
                for (tenant, day, queue) in std::mem::take(&mut changed) {
                    publish(&tenants, &hub, tenant, day, &queue).await;
                }
            }
        }
    }
}

/// Stores one step, retrying while the database is unreachable; the queue's day it changed.
async fn store(step: &Step, tenants: &Cache, metrics: &EslMetrics) -> Option<Changed> {
    let tenant = tenant_of(step.name())?.to_owned();
    let retry = Retry::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut delays = retry.delays();
    loop {
        let result = async {
            let Some(found) = tenants.tenant(&tenant).await? else {
                // A name of no tenant of ours: nobody's.
                return Ok(None);
            };
            let store = tenants.store();
            match step {
                Step::Member(outcome) => {
                    let zone = found.time_zone.as_deref();
                    store.record_member(&tenant, zone, outcome).await?;
                    let queue = outcome.queue.rsplit_once('@').map_or("", |(name, _)| name);
                    let day = day_of(zone, outcome.joined_at);
                    Ok(Some(Some((tenant.clone(), day, queue.to_owned()))))
                }
                Step::AgentStatus { agent, status } => {
                    let name = agent.rsplit_once('@').map_or("", |(name, _)| name);
                    store.set_agent_status(&tenant, name, status).await?;
                    Ok(Some(None))
                }
            }
        }
        .await;
        match result {
            Ok(Some(changed)) => {
                if matches!(step, Step::Member(_)) {
                    metrics.members_recorded.inc();
                }
                return changed;
            }
            Ok(None) => return None,
            Err(error) if transient(&error) => {
                tracing::warn!(%error, "contact-center writer: database unreachable; retrying");
                tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(5))).await;
            }
            Err(error) => {
                metrics.members_dropped.inc();
                tracing::error!(%error, name = %step.name(), "contact-center writer: a step the database refuses was dropped");
                return None;
            }
        }
    }
}

async fn publish(tenants: &Cache, hub: &Hub, tenant: String, day: String, queue: &str) {
    match tenants.store().queue_day(&tenant, &day, queue).await {
        Ok(Some(statistics)) => {
            hub.publish(&CallEvent::QueueStatistics {
                tenant,
                day,
                statistics,
            });
        }
        Ok(None) => {}
        // Stored: the next change or a REST read shows it.
        Err(error) => tracing::warn!(%error, "queue statistics: reading the day failed"),
    }
}
