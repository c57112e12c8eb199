//! FreeSWITCH commands for a node another process is active for: the API of any process asks
//! on `<prefix>.command.<node>` (NATS request and reply, not the stream), and the node's
//! active ESL worker runs the command on its connection and answers with FreeSWITCH's result.
//!
//! Only the commands the API sends go this way ([`FORWARDED`]): placing a call, hanging one
//! up, call-center changes and trunk profiles. They arrive already built by the typed
//! commands of [`esl::api`], which checked every value; the bus is the platform's own (see the
//! README: a private, authenticated NATS).

use super::Bus;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The first words of the command lines a node's active worker runs for other processes.
pub const FORWARDED: [&str; 4] = ["originate", "uuid_kill", "callcenter_config", "sofia"];

/// The longest command line taken from the bus.
const LINE_MAX: usize = 16 * 1024;

/// Commands run at once for other processes, at most (more wait).
const CONCURRENT: usize = 64;

/// A command for a node.
#[derive(Debug, Serialize, Deserialize)]
pub struct CommandRequest {
    /// The line, without `api `/`bgapi `.
    pub line: String,
    /// Run with `bgapi` (originate), else `api`.
    pub background: bool,
    /// Unix milliseconds after which the asker has given up: a request that reaches the
    /// active worker later (held while NATS was away) is not run.
    pub deadline_ms: i64,
}

/// The active worker's answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandReply {
    /// FreeSWITCH's result, failure (`-ERR ...`) or not.
    Result(String),
    /// The command could not be run (the node not connected, a refused line).
    Unavailable(String),
}

/// Whether a line may be run for another process.
pub fn is_forwarded(line: &str) -> bool {
    line.len() <= LINE_MAX
        && !line.contains(['\n', '\r'])
        && line
            .split(' ')
            .next()
            .is_some_and(|verb| FORWARDED.contains(&verb))
}

impl Bus {
    /// Asks `node`'s active worker to run `line`; FreeSWITCH's result, or why it could not.
    pub async fn command(
        &self,
        node: &str,
        line: String,
        background: bool,
    ) -> Result<String, esl::client::Error> {
        // An originate rings for up to a minute before its result.
        let limit = if background {
            Duration::from_secs(90)
        } else {
            Duration::from_secs(10)
        };
        let deadline_ms = platform::clock::unix_millis()
            + i64::try_from(limit.as_millis()).unwrap_or(i64::MAX / 2);
        let request = serde_json::to_vec(&CommandRequest {
            line,
            background,
            deadline_ms,
        })
        .map_err(|e| esl::client::Error::Protocol(e.to_string()))?;
        // The request's own timeout: the client's default (10 s) would cut an originate short.
        let asked = self.client.send_request(
            self.names.command(node),
            async_nats::Request::new()
                .payload(request.into())
                .timeout(Some(limit)),
        );
        let reply = match tokio::time::timeout(limit + Duration::from_secs(1), asked).await {
            Err(_) => return Err(esl::client::Error::Timeout(limit)),
            // No active worker for the node answers (none subscribed), or NATS is down.
            Ok(Err(error)) => {
                tracing::warn!(%node, %error, "no active worker answered for the node");
                return Err(esl::client::Error::Disconnected);
            }
            Ok(Ok(reply)) => reply,
        };
        match serde_json::from_slice::<CommandReply>(&reply.payload) {
            Ok(CommandReply::Result(result)) => Ok(result),
            Ok(CommandReply::Unavailable(reason)) => {
                tracing::warn!(%node, %reason, "the node's active worker could not run a command");
                Err(esl::client::Error::Disconnected)
            }
            Err(error) => Err(esl::client::Error::Protocol(error.to_string())),
        }
    }

    /// Answers the commands for `node` with `run`, until the returned task is aborted.
    pub async fn serve_commands<F, Fut>(
        &self,
        node: &str,
        run: F,
    ) -> Result<tokio::task::JoinHandle<()>, String>
    where
        F: Fn(CommandRequest) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = CommandReply> + Send + 'static,
    {
        let mut requests = self
            .client
            .subscribe(self.names.command(node))
            .await
            .map_err(|e| e.to_string())?;
        let client = self.client.clone();
        let run = std::sync::Arc::new(run);
        let running = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT));
        Ok(tokio::spawn(async move {
            while let Some(message) = requests.next().await {
                // Answers go to the asking client's inbox only, never into the platform's
                // subjects.
                let Some(reply_to) = message.reply.clone().filter(|r| r.starts_with("_INBOX."))
                else {
                    continue;
                };
                let Ok(permit) = running.clone().acquire_owned().await else {
                    return;
                };
                let (client, run) = (client.clone(), run.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    let reply = match serde_json::from_slice::<CommandRequest>(&message.payload) {
                        Ok(request) if request.deadline_ms < platform::clock::unix_millis() => {
                            CommandReply::Unavailable("asked too long ago".into())
                        }
                        Ok(request) if is_forwarded(&request.line) => run(request).await,
                        Ok(request) => {
                            tracing::warn!(line = %request.line.chars().take(80).collect::<String>(), "a command not run for other processes was asked on the bus");
                            CommandReply::Unavailable("not a forwarded command".into())
                        }
                        Err(error) => CommandReply::Unavailable(format!("unreadable: {error}")),
                    };
                    let payload = serde_json::to_vec(&reply).unwrap_or_default();
                    if let Err(error) = client.publish(reply_to, payload.into()).await {
                        tracing::warn!(%error, "cannot answer a command on the bus");
                    }
                });
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apis_commands_are_forwarded() {
        assert!(is_forwarded("uuid_kill 1234 CALL_REJECTED"));
        assert!(is_forwarded("sofia profile external rescan"));
        for refused in [
            "system rm -rf /",
            "fsctl shutdown",
            "uuid_kill\n1234",
            "originatex",
            "",
        ] {
            assert!(!is_forwarded(refused), "{refused}");
        }
    }
}
