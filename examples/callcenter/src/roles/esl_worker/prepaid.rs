//! Prepaid calls while they run: the hold of a call the dialplan limited is extended slice by
//! slice, its limit moved each time; the trunk legs of prepaid calls that did not pass our
//! dialplan (a transfer, an originate straight to a gateway) get a hold and a limit on
//! answer, or are hung up.
//!
//! Prepaid fails closed: a trunk leg that cannot be limited within
//! [`LIMIT_GRACE`] is hung up ([`PrepaidLimit::UNAVAILABLE`]); a hold that cannot be
//! extended leaves FreeSWITCH's current limit in place, which ends the call.

use super::{Shared, lock};
use backon::Retryable;
use esl::api::{SchedDel, SchedKill, UuidKill};
use esl::client::Client;
use esl::proto::Event;
use platform::clock::unix_seconds;
use platform::policy::{self, PrepaidLimit};
use platform::retry::Retry;
use platform::variables::ChannelVariables;
use std::sync::Arc;
use std::time::Duration;

/// How long the worker keeps trying to limit a prepaid trunk leg before hanging it up.
pub(super) const LIMIT_GRACE: Duration = Duration::from_secs(10);
/// Waits between attempts at the ledger (each loop also stops at its own deadline).
fn retry() -> Retry {
    Retry::new(Duration::from_millis(250), Duration::from_secs(1))
}

/// A limited leg: what its slices need.
struct Limited {
    /// The trunk leg.
    uuid: String,
    tenant: String,
    /// The ledger's hold.
    hold: i64,
    /// When the leg answered, Unix seconds (FreeSWITCH's clock).
    answered: i64,
    /// Its limit, seconds after answer.
    seconds: u64,
    /// The scheduler task ending it now, when ours (else the dialplan's `sched_hangup`).
    task: Option<u64>,
}

pub(super) fn limit_on_answer(shared: &Arc<Shared>, index: usize, client: &Client, event: &Event) {
    let Some(uuid) = event.unique_id().map(|u| u.into_owned()) else {
        return;
    };
    let answered = answered_at(event);
    // The dialplan's trunk leg: limited already, its hold to extend while it is up.
    if let Some(hold) = event
        .variable(ChannelVariables::HOLD)
        .and_then(|h| h.parse::<i64>().ok())
    {
        let seconds = event
            .variable(ChannelVariables::LIMIT)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let limited = Limited {
            uuid: uuid.clone(),
            tenant: shared.tenant_of_call(index, event),
            hold,
            answered,
            seconds,
            task: None,
        };
        let (worker, client) = (shared.clone(), client.clone());
        spawn_for_leg(shared, index, uuid, async move {
            slices(&worker, &client, limited).await
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
        let deadline = tokio::time::Instant::now() + LIMIT_GRACE;
        let authorized = (|| authorize(&shared, &tenant, &uuid, &destination))
            .retry(retry().builder())
            .sleep(tokio::time::sleep)
            .when(|_| tokio::time::Instant::now() < deadline)
            .notify(|error, delay| {
                tracing::warn!(%uuid, %tenant, %error, ?delay, "cannot authorize a prepaid call yet");
            })
            .await;
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
                let mut limited = Limited {
                    uuid: uuid.clone(),
                    tenant,
                    hold,
                    answered,
                    seconds,
                    task: None,
                };
                if move_limit(&client, &mut limited, seconds).await {
                    shared.metrics.limits.inc();
                    slices(&shared, &client, limited).await;
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

/// Extends the leg's hold before each slice ends, moving its limit, until no credit remains
/// (the current limit then ends the call at the second the credit runs out), the hold is
/// closed, or the leg hangs up (this task is aborted then).
async fn slices(shared: &Shared, client: &Client, mut limited: Limited) {
    let slice = match shared.tenants.tenant(&limited.tenant).await {
        Ok(Some(row)) => policy::slice_of(&row),
        _ => policy::DEFAULT_SLICE,
    };
    let lead = (slice / 2).min(Duration::from_secs(30)).as_secs() as i64;
    loop {
        let ends = limited.answered + limited.seconds as i64;
        let wake = ends - lead;
        let wait = wake - unix_seconds();
        if wait > 0 {
            tokio::time::sleep(Duration::from_secs(wait as u64)).await;
        }
        // Tried until the current limit: FreeSWITCH ends the call there anyway.
        let extended = (|| shared.ledger.extend_hold(limited.hold, slice))
            .retry(retry().builder())
            .sleep(tokio::time::sleep)
            .when(|_| unix_seconds() < ends)
            .notify(|error, delay| {
                tracing::warn!(uuid = %limited.uuid, %error, ?delay, "cannot extend a prepaid hold yet");
            })
            .await;
        let extended = match extended {
            Ok(extension) => extension,
            Err(error) => {
                tracing::error!(uuid = %limited.uuid, %error, "prepaid hold not extended: the call ends at its limit");
                return;
            }
        };
        match extended {
            billing::Extension::Extended { seconds, .. } => {
                if !move_limit(client, &mut limited, seconds).await {
                    return;
                }
                tracing::info!(uuid = %limited.uuid, seconds, "prepaid hold extended");
            }
            billing::Extension::Exhausted { seconds } => {
                tracing::info!(uuid = %limited.uuid, seconds, "prepaid credit exhausted: the call ends at its limit");
                return;
            }
            billing::Extension::Closed => return,
        }
    }
}

/// Moves the leg's limit to `seconds` after answer: the new task first, then the old one
/// removed (by id; the dialplan's `sched_hangup` by the channel's group), so a failure
/// between the two ends the call early, never late. Whether the new limit is in place.
async fn move_limit(client: &Client, limited: &mut Limited, seconds: u64) -> bool {
    let remaining = (limited.answered + seconds as i64 - unix_seconds()).max(1) as u64;
    let kill = SchedKill {
        after: Duration::from_secs(remaining),
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
    let old = match limited.task.replace(task) {
        Some(old) => old.to_string(),
        None => limited.uuid.clone(),
    };
    if let Err(error) = client.run(&SchedDel(old)).await {
        tracing::warn!(uuid = %limited.uuid, %error, "cannot remove the previous prepaid limit (it ends the call early)");
    }
    limited.seconds = seconds;
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
