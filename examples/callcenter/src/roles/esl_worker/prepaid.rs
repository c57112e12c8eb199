//! Prepaid calls that did not pass our dialplan (originated elsewhere, transferred in) are
//! limited on answer, by the same policy as the dialplan's: `sched_hangup` when the credit is
//! spent, `uuid_kill` when there is none.

use super::{Shared, lock};
use backon::Retryable;
use esl::api::{SchedHangup, UuidKill};
use esl::client::Client;
use esl::proto::Event;
use platform::clock::unix_seconds;
use platform::policy::{self, PrepaidLimit};
use platform::retry::Retry;
use std::time::Duration;

/// The headers naming a channel's partner legs: one limit per call, on the first leg answered.
const PARTNER_HEADERS: [&str; 5] = [
    "Other-Leg-Unique-ID",
    "variable_other_loopback_leg_uuid",
    "variable_bridge_uuid",
    "variable_originator",
    "variable_signal_bond",
];

pub(super) fn limit_on_answer(shared: &Shared, index: usize, client: &Client, event: &Event) {
    if policy::limited_by_dialplan(event) {
        return;
    }
    let Some(uuid) = event.unique_id().map(|u| u.into_owned()) else {
        return;
    };
    let tenant = shared.tenant_of_call(index, event);
    if !shared.tenants.is_prepaid(&tenant) || !first_leg_of_call(shared, index, &uuid, event) {
        return;
    }
    let destination = event
        .header("Caller-Destination-Number")
        .map(|d| d.into_owned())
        .unwrap_or_default();
    let (ledger, client, metrics) = (
        shared.ledger.clone(),
        client.clone(),
        shared.metrics.clone(),
    );
    tokio::spawn(async move {
        let limit =
            match policy::prepaid_limit(&ledger, &tenant, &destination, unix_seconds()).await {
                Ok(limit @ (PrepaidLimit::Seconds(_) | PrepaidLimit::Barred)) => limit,
                Ok(PrepaidLimit::Unlimited | PrepaidLimit::NoRoute) => return,
                Err(error) => {
                    tracing::error!(%uuid, %tenant, %error, "cannot authorize a prepaid call");
                    return;
                }
            };
        if send_limit(&client, &uuid, &tenant, limit).await {
            metrics.limits.inc();
        }
    });
}

/// Whether `uuid` is the first leg of its call to be limited (remembering it if so).
fn first_leg_of_call(shared: &Shared, index: usize, uuid: &str, event: &Event) -> bool {
    let partners: Vec<String> = PARTNER_HEADERS
        .iter()
        .filter_map(|h| event.header(h).map(|v| v.into_owned()))
        .filter(|v| !v.is_empty())
        .collect();
    let mut limited = lock(&shared.nodes[index].limited);
    if limited.contains(uuid) || partners.iter().any(|p| limited.contains(p)) {
        return false;
    }
    limited.insert(uuid.to_owned());
    true
}

/// Sends the limit; a connection lost meanwhile comes back (the client reconnects), so it is
/// tried again for a while. Whether FreeSWITCH took it.
async fn send_limit(client: &Client, uuid: &str, tenant: &str, limit: PrepaidLimit) -> bool {
    let send = || async {
        match limit {
            PrepaidLimit::Seconds(seconds) => {
                let hangup = SchedHangup {
                    after: Duration::from_secs(seconds),
                    uuid: uuid.to_owned(),
                    cause: Some(PrepaidLimit::EXPIRED),
                };
                client.run(&hangup).await
            }
            _ => {
                let kill = UuidKill {
                    uuid: uuid.to_owned(),
                    cause: Some(PrepaidLimit::BARRED),
                };
                client.run(&kill).await
            }
        }
    };
    // For about ten seconds: a connection lost meanwhile comes back (the client reconnects).
    let retry = Retry::new(Duration::from_millis(250), Duration::from_secs(1)).attempts(12);
    let sent = send
        .retry(retry.builder())
        .sleep(tokio::time::sleep)
        .when(|error| !matches!(error, esl::client::Error::ApiFailed(_)))
        .notify(|error, delay| {
            tracing::warn!(%uuid, %tenant, %error, ?delay, "cannot limit a prepaid call yet");
        })
        .await;
    match sent {
        Ok(_) => {
            tracing::info!(%uuid, %tenant, ?limit, "prepaid limit set on answer");
            true
        }
        Err(esl::client::Error::ApiFailed(reason)) => {
            tracing::info!(%uuid, %reason, "prepaid limit refused (the call is gone?)");
            false
        }
        Err(error) => {
            tracing::error!(%uuid, %tenant, %error, "prepaid limit not set: FreeSWITCH unreachable");
            false
        }
    }
}
