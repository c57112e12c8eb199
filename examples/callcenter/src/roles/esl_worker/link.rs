//! How the API reaches a node: this worker's connection when it is the node's active worker,
//! else the node's active worker in another process, through the bus ([`crate::bus::commands`]).

use super::{EslWorker, NodeError, Shared, lock};
use crate::bus::Bus;
use crate::bus::commands::{CommandReply, CommandRequest};
use esl::api::ApiCommand;
use esl::client::{Client, Error};
use std::sync::Arc;

/// A way to run commands on one node.
#[derive(Clone)]
pub enum Link {
    /// This process's connection.
    Local(Client),
    /// The node's active worker elsewhere.
    Remote {
        /// The bus.
        bus: Box<Bus>,
        /// The node.
        node: String,
    },
}

impl Link {
    /// Runs `command` with `api`.
    pub async fn run<C: ApiCommand + ?Sized + Sync>(
        &self,
        command: &C,
    ) -> Result<C::Output, Error> {
        match self {
            Link::Local(client) => client.run(command).await,
            Link::Remote { bus, node } => {
                let result = bus.command(node, command.to_command()?, false).await?;
                Ok(command.read_result(result)?)
            }
        }
    }

    /// Runs `command` with `bgapi`.
    pub async fn run_background<C: ApiCommand + ?Sized + Sync>(
        &self,
        command: &C,
    ) -> Result<C::Output, Error> {
        match self {
            Link::Local(client) => client.run_background(command).await,
            Link::Remote { bus, node } => {
                let result = bus.command(node, command.to_command()?, true).await?;
                Ok(command.read_result(result)?)
            }
        }
    }
}

impl EslWorker {
    /// The way to a node (the first one when `node` is `None`): this worker's connection when
    /// it is active and connected, else, with the bus, the node's active worker elsewhere.
    pub fn link(&self, node: Option<&str>) -> Result<Link, NodeError> {
        match self.client(node) {
            Ok(client) => Ok(Link::Local(client)),
            Err(NodeError::NotConnected(name)) => {
                let standing_by = self.shared.config.leases.is_some()
                    && self
                        .shared
                        .nodes
                        .iter()
                        .any(|n| n.config.name == name && lock(&n.term).is_none());
                match (&self.shared.config.follower, standing_by) {
                    (Some(follower), true) => Ok(Link::Remote {
                        bus: Box::new(follower.bus().clone()),
                        node: name,
                    }),
                    _ => Err(NodeError::NotConnected(name)),
                }
            }
            Err(error) => Err(error),
        }
    }
}

/// Answers the commands other processes send for node `index` while this worker is its active
/// one (the returned task is aborted when it stands down).
pub(super) async fn serve(
    shared: &Arc<Shared>,
    index: usize,
) -> Option<tokio::task::JoinHandle<()>> {
    let follower = shared.config.follower.as_ref()?;
    let node = shared.nodes[index].config.name.clone();
    let worker = shared.clone();
    let served = follower
        .bus()
        .serve_commands(&node, move |request: CommandRequest| {
            let client = worker.nodes[index]
                .client
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            async move {
                let Some(client) = client else {
                    return CommandReply::Unavailable("the node is not connected".into());
                };
                let result = if request.background {
                    client.bgapi(&request.line).await
                } else {
                    client.api(&request.line).await
                };
                match result {
                    Ok(body) => CommandReply::Result(body),
                    // FreeSWITCH's `-ERR ...`, which the asking side reads as its command's failure.
                    Err(Error::ApiFailed(text)) => CommandReply::Result(text),
                    Err(error) => CommandReply::Unavailable(error.to_string()),
                }
            }
        })
        .await;
    match served {
        Ok(task) => Some(task),
        Err(error) => {
            tracing::error!(%node, %error, "cannot answer other processes' commands for the node");
            None
        }
    }
}
