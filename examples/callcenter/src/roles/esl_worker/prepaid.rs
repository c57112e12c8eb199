//! Prepaid calls while they run: the hold of a call the dialplan limited is extended slice by
//! slice, its limit moved each time; the trunk legs of prepaid calls that did not pass our
//! dialplan (a transfer, an originate straight to a gateway) get a hold and a limit on
//! answer, or are hung up.
//!
//! Prepaid fails closed: a trunk leg that cannot be limited within the configured grace
//! ([`super::EslWorkerConfig::prepaid_grace`]) is hung up ([`PrepaidLimit::UNAVAILABLE`]); a hold that cannot be
//! extended leaves FreeSWITCH's current limit in place, which ends the call.

use super::{Shared, lock};
use backon::Retryable;
use billing::HoldKey;
use esl::api::{SchedDel, SchedKill, UuidKill};
use esl::client::Client;
use esl::proto::Event;
use platform::clock::unix_seconds;
use platform::policy::{self, PrepaidLimit};
use platform::retry::Retry;
use platform::slices::{Limit, Move, Slices, Step};
use platform::variables::{ChannelVariables, HoldReference};
use std::sync::Arc;
use std::time::Duration;

/// Waits between attempts at the ledger (each loop also stops at its own deadline).
fn retry() -> Retry {
    Retry::new(Duration::from_millis(250), Duration::from_secs(1))
}

/// A limited leg: the channel, its tenant and hold, and its slices.
struct Limited {
    /// The trunk leg.
    uuid: String,
    tenant: String,
    /// The ledger's hold.
    hold: HoldReference,
    slices: Slices,
}

pub(super) fn limit_on_answer(shared: &Arc<Shared>, index: usize, client: &Client, event: &Event) {
    let Some(uuid) = event.unique_id().map(|u| u.into_owned()) else {
        return;
    };
    let answered = answered_at(event);
    // The dialplan's trunk leg: limited already, its hold to extend while it is up.
    if let Some(hold) = event
        .variable(ChannelVariables::HOLD)
        .and_then(|h| HoldReference::parse(&h))
    {
        let seconds = event
            .variable(ChannelVariables::LIMIT)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let tenant = shared.tenant_of_call(index, event);
        let (worker, client) = (shared.clone(), client.clone());
        spawn_for_leg(shared, index, uuid.clone(), async move {
            let slice = slice_of(&worker, &tenant).await;
            let limited = Limited {
                uuid,
                tenant,
                hold,
                slices: Slices::new(answered, seconds, slice, Limit::Dialplan),
            };
            run_slices(&worker, &client, limited, slice).await
        });
        return;
    }
    // Legs our dialplan limited (the caller leg carries the marker too), and legs that do not
    // reach the outside, cost nothing more.
    if policy::limited_by_dialplan(event) || !reaches_outside(event) {
        return;
    }
    let tenant = shared.tenant_of_call(index, event);
    if !shared.tenants.is_prepaid(&tenant) {
        return;
    }
    let destination = event
        .header("Caller-Destination-Number")
        .map(|d| d.into_owned())
        .unwrap_or_default();
    let leg = uuid.clone();
    let (worker, client) = (shared.clone(), client.clone());
    spawn_for_leg(shared, index, leg, async move {
        let shared = worker;
        let grace = shared.config.prepaid_grace;
        let deadline = tokio::time::Instant::now() + grace;
        let attempts = (|| authorize(&shared, &tenant, &uuid, &destination))
            .retry(retry().builder())
            .sleep(tokio::time::sleep)
            .when(|_| tokio::time::Instant::now() < deadline)
            .notify(|error, delay| {
                tracing::warn!(%uuid, %tenant, %error, ?delay, "cannot authorize a prepaid call yet");
            });
        // The grace bounds the attempts themselves too: one may wait on a database that does
        // not answer (a pool's acquire timeout) far longer.
        let authorized = tokio::time::timeout_at(deadline, attempts)
            .await
            .unwrap_or_else(|_| Err(format!("no authorisation within {grace:?}").into()));
        let limit = match authorized {
            Ok(limit) => limit,
            Err(error) => {
                tracing::error!(%uuid, %tenant, %error, "prepaid call hung up: it could not be limited");
                kill(&client, &uuid, PrepaidLimit::UNAVAILABLE).await;
                return;
            }
        };
        match limit {
            PrepaidLimit::Unlimited => {}
            PrepaidLimit::Barred => kill(&client, &uuid, PrepaidLimit::BARRED).await,
            PrepaidLimit::NoRoute => kill(&client, &uuid, PrepaidLimit::NO_ROUTE).await,
            PrepaidLimit::Held { seconds, hold } => {
                let slice = slice_of(&shared, &tenant).await;
                let mut limited = Limited {
                    uuid: uuid.clone(),
                    tenant,
                    hold,
                    slices: Slices::new(answered, 0, slice, Limit::Unset),
                };
                let first = limited.slices.move_to(seconds, unix_seconds());
                if move_limit(&client, &mut limited, first).await {
                    shared.metrics.limits.inc();
                    run_slices(&shared, &client, limited, slice).await;
                } else {
                    tracing::error!(%uuid, "prepaid call hung up: its limit could not be set");
                    kill(&client, &uuid, PrepaidLimit::UNAVAILABLE).await;
                }
            }
        }
    });
}

/// Runs a leg's prepaid work as a task of its own, aborted when the leg hangs up.
fn spawn_for_leg(
    shared: &Shared,
    index: usize,
    leg: String,
    work: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let task = tokio::spawn(work);
    lock(&shared.nodes[index].slices).insert(leg, task.abort_handle());
}

async fn authorize(
    shared: &Shared,
    tenant: &str,
    uuid: &str,
    destination: &str,
) -> Result<PrepaidLimit, Box<dyn std::error::Error + Send + Sync>> {
    let row = shared
        .tenants
        .tenant(tenant)
        .await?
        .ok_or("the tenant is gone")?;
    Ok(policy::prepaid_limit(&shared.ledger, &row, uuid, destination, unix_seconds()).await?)
}

/// The tenant's slice (the default when its row cannot be read: the hold is priced already).
async fn slice_of(shared: &Shared, tenant: &str) -> Duration {
    match shared.tenants.tenant(tenant).await {
        Ok(Some(row)) => policy::slice_of(&row),
        _ => policy::DEFAULT_SLICE,
    }
}

/// Drives the leg's [`Slices`] on the real clock: extends its hold before each slice ends and
/// moves its limit, until no credit remains (the current limit then ends the call at the
/// second the credit runs out), the hold is closed, or the leg hangs up (this task is aborted
/// then).
async fn run_slices(shared: &Shared, client: &Client, mut limited: Limited, slice: Duration) {
    while let Step::ExtendAt(at) = limited.slices.next() {
        let wait = at - unix_seconds();
        if wait > 0 {
            tokio::time::sleep(Duration::from_secs(wait as u64)).await;
        }
        // Tried until the current limit: FreeSWITCH ends the call there anyway.
        let ends = limited.slices.ends();
        let hold = HoldKey {
            id: limited.hold.id,
            tenant: &limited.tenant,
            created_us: limited.hold.created_us,
        };
        // From the limit the leg has: a retry after a lost answer finds the hold grown
        // already and does not hold another slice.
        let from = limited.slices.seconds();
        let extended = (|| shared.ledger.extend_hold(hold, from, slice))
            .retry(retry().builder())
            .sleep(tokio::time::sleep)
            .when(|_| unix_seconds() < ends)
            .notify(|error, delay| {
                tracing::warn!(uuid = %limited.uuid, %error, ?delay, "cannot extend a prepaid hold yet");
            })
            .await;
        let extension = match extended {
            Ok(extension) => extension,
            Err(error) => {
                tracing::error!(uuid = %limited.uuid, %error, "prepaid hold not extended: the call ends at its limit");
                limited.slices.give_up();
                continue;
            }
        };
        match limited.slices.extended(extension, unix_seconds()) {
            Some(to) => {
                if move_limit(client, &mut limited, to).await {
                    tracing::info!(uuid = %limited.uuid, seconds = to.seconds, "prepaid hold extended");
                } else {
                    limited.slices.give_up();
                }
            }
            None => {
                tracing::info!(uuid = %limited.uuid, seconds = limited.slices.seconds(), tenant = %limited.tenant,
                    "prepaid credit exhausted or hold closed: the call ends at its limit");
            }
        }
    }
}

/// Moves the leg's limit: the new task first, then the one it replaces removed (by id; the
/// dialplan's `sched_hangup` by the channel's group), so a failure between the two ends the
/// call early, never late. Whether the new limit is in place.
async fn move_limit(client: &Client, limited: &mut Limited, to: Move) -> bool {
    let kill = SchedKill {
        after: to.after,
        group: format!("callcenter-limit-{}", limited.uuid),
        uuid: limited.uuid.clone(),
        cause: Some(PrepaidLimit::EXPIRED),
    };
    let task = match client.run(&kill).await {
        Ok(task) => task,
        Err(error) => {
            tracing::warn!(uuid = %limited.uuid, %error, "cannot move a prepaid limit");
            return false;
        }
    };
    let old = match limited.slices.moved(to, task) {
        Limit::Unset => return true,
        Limit::Dialplan => limited.uuid.clone(),
        Limit::Task(old) => old.to_string(),
    };
    if let Err(error) = client.run(&SchedDel(old)).await {
        tracing::warn!(uuid = %limited.uuid, %error, "cannot remove the previous prepaid limit (it ends the call early)");
    }
    true
}

async fn kill(client: &Client, uuid: &str, cause: esl::proto::HangupCause) {
    let kill = UuidKill {
        uuid: uuid.to_owned(),
        cause: Some(cause),
    };
    if let Err(error) = client.run(&kill).await {
        tracing::warn!(%uuid, %error, "cannot hang up a prepaid call (gone already?)");
    }
}

/// When the leg answered, Unix seconds: FreeSWITCH's answer time, else now.
fn answered_at(event: &Event) -> i64 {
    event
        .header("Caller-Channel-Answered-Time")
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|us| *us > 0)
        .map_or_else(unix_seconds, |us| us / 1_000_000)
}

/// Whether the leg goes out through a sofia gateway (the leg a call is charged on).
fn reaches_outside(event: &Event) -> bool {
    event
        .variable("sip_gateway_name")
        .is_some_and(|g| !g.is_empty())
        && event
            .header("Call-Direction")
            .is_some_and(|d| d == "outbound")
}
