//! Calls the platform places (click-to-call), followed to their outcome: FreeSWITCH answers an
//! originate only when the first leg answered (`+OK <uuid>`) or failed (`-ERR
//! USER_NOT_REGISTERED`); a failure is published to the tenant as
//! [`CallEvent::CallFailed`] and kept for an hour, so `GET /api/calls/{uuid}` can say what
//! became of a call that never started.

use super::{EslWorker, NodeError};
use esl::api::Originate;
use platform::calls::CallEvent;
use serde::Serialize;
use std::time::Duration;

/// How long a placed call's outcome is remembered.
const REMEMBERED: Duration = Duration::from_secs(3600);

/// What became of a placed call, as far as its originate says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Placed {
    /// FreeSWITCH is ringing the first leg.
    Ringing,
    /// The first leg answered and was sent on (its progress is in the call events).
    Connected,
    /// It failed before it connected.
    Failed {
        /// FreeSWITCH's cause (`USER_NOT_REGISTERED`...), or `NODE_UNAVAILABLE`.
        cause: String,
    },
}

/// The outcomes of placed calls, by (tenant, UUID); bounded and forgetting after an hour.
pub(super) fn outcomes() -> moka::sync::Cache<(String, String), Placed> {
    moka::sync::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(REMEMBERED)
        .build()
}

/// FreeSWITCH's cause in an originate's failure (`-ERR USER_NOT_REGISTERED`); a text that is
/// no cause (letters, digits and `_` only) is `UNKNOWN`.
fn cause_of(failure: &str) -> String {
    let cause = failure
        .trim_start()
        .trim_start_matches("-ERR")
        .split_whitespace()
        .next()
        .unwrap_or("");
    if !cause.is_empty()
        && cause.len() <= 64
        && cause
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        cause.to_owned()
    } else {
        "UNKNOWN".to_owned()
    }
}

impl EslWorker {
    /// Places `originate` (whose `origination_uuid` is `uuid`) on `node` (the first by
    /// default) for `tenant`, and follows it in the background: the answer comes at once, the
    /// outcome later (see [`EslWorker::placed`]). Refused at once only when the command cannot
    /// be built or the node is unknown or down.
    pub fn place(
        &self,
        node: Option<&str>,
        originate: Originate,
        tenant: &str,
        uuid: &str,
    ) -> Result<(), NodeError> {
        originate.to_command()?;
        let client = self.link(node)?;
        let key = (tenant.to_owned(), uuid.to_owned());
        self.shared.placed.insert(key.clone(), Placed::Ringing);
        let worker = self.clone();
        tokio::spawn(async move {
            let outcome = match client.run_background(&originate).await {
                Ok(_) => Placed::Connected,
                Err(esl::client::Error::ApiFailed(text)) => Placed::Failed {
                    cause: cause_of(&text),
                },
                Err(error) => {
                    tracing::warn!(%error, uuid = %key.1, "a placed call's node did not answer");
                    Placed::Failed {
                        cause: "NODE_UNAVAILABLE".into(),
                    }
                }
            };
            if let Placed::Failed { cause } = &outcome {
                tracing::info!(tenant = %key.0, uuid = %key.1, %cause, "a placed call failed");
                worker.shared.hub.publish(&CallEvent::CallFailed {
                    tenant: key.0.clone(),
                    uuid: key.1.clone(),
                    cause: cause.clone(),
                });
            }
            worker.shared.placed.insert(key, outcome);
        });
        Ok(())
    }

    /// What became of a call placed for `tenant` in the last hour, if it was.
    pub fn placed(&self, tenant: &str, uuid: &str) -> Option<Placed> {
        self.shared
            .placed
            .get(&(tenant.to_owned(), uuid.to_owned()))
    }
}

impl EslWorker {
    /// Hangs up every call of `tenant` in progress on the nodes (a tenant just disabled:
    /// `CALL_REJECTED`); how many were hung up. With the bus, that is every node's calls (a
    /// node another process is active for hangs up through it). A node that cannot be asked
    /// keeps its calls, logged.
    pub async fn hang_up_tenant(&self, tenant: &str) -> usize {
        let mut done = 0;
        let calls = match &self.shared.config.follower {
            Some(follower) => follower
                .mirror()
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .active_calls(tenant),
            None => self.active_calls(tenant),
        };
        for call in calls {
            let kill = esl::api::UuidKill {
                uuid: call.uuid.clone(),
                cause: Some(esl::proto::HangupCause::CallRejected),
            };
            let result = match self.link(Some(&call.node)) {
                Ok(client) => client.run(&kill).await.map_err(|e| e.to_string()),
                Err(error) => Err(error.to_string()),
            };
            match result {
                Ok(_) => done += 1,
                Err(error) => {
                    tracing::warn!(%tenant, uuid = %call.uuid, node = %call.node, %error, "a disabled tenant's call could not be hung up")
                }
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::cause_of;

    #[test]
    fn the_cause_is_freeswitchs_word_or_unknown() {
        assert_eq!(
            cause_of("-ERR USER_NOT_REGISTERED\n"),
            "USER_NOT_REGISTERED"
        );
        assert_eq!(cause_of("-ERR NO_ANSWER"), "NO_ANSWER");
        assert_eq!(cause_of("-ERR <script>"), "UNKNOWN");
        assert_eq!(cause_of(""), "UNKNOWN");
    }
}
