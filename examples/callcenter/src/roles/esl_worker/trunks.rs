//! Trunk changes applied live on every node: a new trunk is added by `sofia profile P rescan`
//! (the profile reads its gateways from the directory again); a changed or removed one is
//! first `killgw` (sofia never changes a gateway it has, and drops a killed one within a few
//! seconds), then, when it changed, added again by a rescan once the old one is gone.

use super::EslWorker;
use super::call_center_config::NodeOutcome;
use esl::api::{SofiaAction, SofiaProfile};
use std::time::Duration;

/// How long sofia takes to drop a killed gateway (its worker looks every second: unregister,
/// then remove), with a margin.
pub const GATEWAY_DROP: Duration = Duration::from_secs(3);

impl EslWorker {
    /// Runs the sofia commands, in order, on every node; the first failure stops that node's
    /// list. A `killgw` of a gateway the node does not have counts as done.
    pub async fn apply_sofia(&self, commands: &[SofiaProfile]) -> Vec<NodeOutcome> {
        let mut outcomes = Vec::new();
        for node in &self.shared.nodes {
            let node = node.config.name.clone();
            let error = match self.client(Some(&node)) {
                Ok(client) => run_on(&client, commands).await.err(),
                Err(error) => Some(error.to_string()),
            };
            if let Some(error) = &error {
                tracing::warn!(%node, %error, "trunk change not applied on the node");
            }
            outcomes.push(NodeOutcome {
                node,
                applied: error.is_none(),
                error,
            });
        }
        outcomes
    }
}

async fn run_on(client: &esl::client::Client, commands: &[SofiaProfile]) -> Result<(), String> {
    for command in commands {
        match client.run(command).await {
            Ok(_) => {}
            Err(esl::client::Error::ApiFailed(text))
                if matches!(command.action, SofiaAction::KillGateway(_))
                    && text.contains("no such gateway") => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(())
}
