//! Changes to the contact center applied live on every node with `callcenter_config` (no
//! reload): the store holds what is true, the nodes are told at once, and a node that could
//! not be told is named in the answer (its mod_callcenter keeps the old state until it is told
//! again or reloads `callcenter.conf`).

use super::EslWorker;
use esl::api::CallCenterChange;
use serde::Serialize;

/// What one node made of a list of changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeOutcome {
    /// The node.
    pub node: String,
    /// Every change went through.
    pub applied: bool,
    /// Why not, when not (FreeSWITCH's text, or why the node could not be asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl EslWorker {
    /// Applies `changes`, in order, on every node. On a node, an `add` of an agent or tier it
    /// has already counts as done (the changes that follow set what the add would have); the
    /// first other failure stops that node's list.
    pub async fn apply_call_center(&self, changes: &[CallCenterChange]) -> Vec<NodeOutcome> {
        let mut outcomes = Vec::new();
        for node in &self.shared.nodes {
            let _one_list_at_a_time = node.call_center_changes.lock().await;
            let node = node.config.name.clone();
            let error = match self.link(Some(&node)) {
                Ok(client) => apply_on(&client, changes).await.err(),
                Err(error) => Some(error.to_string()),
            };
            if let Some(error) = &error {
                tracing::warn!(%node, %error, "call-center change not applied on the node");
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

async fn apply_on(client: &super::Link, changes: &[CallCenterChange]) -> Result<(), String> {
    for change in changes {
        match client.run(change).await {
            Ok(_) => {}
            Err(esl::client::Error::ApiFailed(text)) if already_there(change, &text) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(())
}

/// mod_callcenter's answer to adding what it has (`-ERR Agent already exist!`, `-ERR Tier
/// already exist!`).
pub(super) fn already_there(change: &CallCenterChange, text: &str) -> bool {
    matches!(
        change,
        CallCenterChange::AgentAdd { .. } | CallCenterChange::TierAdd { .. }
    ) && text.contains("already exist")
}
