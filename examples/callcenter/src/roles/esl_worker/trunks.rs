//! Trunk changes applied live on every node: a new trunk is added by `sofia profile P rescan`
//! (the profile reads its gateways from the directory again); a changed or removed one is
//! first `killgw` (sofia never changes a gateway it has, and drops a killed one within a few
//! seconds), then, when it changed, added again by a rescan once the old one is gone.
//! A node (re)connected is told to rescan every profile a trunk uses: trunks added while it was
//! away (or before it started with an old profile) reach it without a restart.

use super::call_center_config::NodeOutcome;
use super::{EslWorker, Shared};
use esl::api::{SofiaAction, SofiaProfile};
use std::sync::Arc;
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
            let error = match self.link(Some(&node)) {
                Ok(link) => run_on(&link, commands).await.err(),
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

/// Rescans, on one node just (re)connected, every profile the stored trunks use. In its own
/// task (the events must not wait for it); a failure is logged, the next connection retries.
pub(super) async fn rescan_profiles(
    shared: Arc<Shared>,
    index: usize,
    client: esl::client::Client,
) {
    let node = &shared.nodes[index].config.name;
    let trunks = match shared.tenants.store().trunks(None).await {
        Ok(trunks) => trunks,
        Err(error) => {
            tracing::warn!(%node, %error, "cannot read the trunks to rescan their profiles");
            return;
        }
    };
    let mut profiles: Vec<String> = trunks.into_iter().map(|trunk| trunk.profile).collect();
    profiles.sort();
    profiles.dedup();
    // Each on its own: a profile this node lacks does not keep the others from it.
    for profile in profiles {
        let rescan = SofiaProfile {
            profile,
            action: SofiaAction::Rescan,
        };
        let local = super::Link::Local(client.clone());
        if let Err(error) = run_on(&local, std::slice::from_ref(&rescan)).await {
            let profile = &rescan.profile;
            tracing::warn!(%node, %profile, %error, "trunks' profile not rescanned on the node");
        }
    }
}

async fn run_on(client: &super::Link, commands: &[SofiaProfile]) -> Result<(), String> {
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
