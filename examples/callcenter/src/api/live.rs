//! Where the API reads live calls, queues and agents: the event bus's mirror of every node
//! when the deployment has a bus (whichever process is active for a node), else this
//! process's ESL worker.

use super::{ApiError, ApiState};
use crate::bus::Follower;
use crate::roles::esl_worker::EslWorker;
use platform::calls::Call;
use platform::contact_center::{Agent, Queue};

/// The live state this process can read.
pub(super) enum View<'a> {
    /// Every node, from the bus.
    Bus(&'a Follower),
    /// This process's nodes.
    Worker(&'a EslWorker),
}

/// The view, if this process has one.
pub(super) fn view(state: &ApiState) -> Option<View<'_>> {
    match (&state.live, &state.esl) {
        (Some(follower), _) => Some(View::Bus(follower)),
        (None, Some(worker)) => Some(View::Worker(worker)),
        (None, None) => None,
    }
}

/// The view, or 503 when this process has none.
pub(super) fn required(state: &ApiState) -> Result<View<'_>, ApiError> {
    view(state).ok_or_else(|| ApiError::Unavailable("no FreeSWITCH node is configured".into()))
}

impl View<'_> {
    fn read<T>(follower: &Follower, f: impl FnOnce(&platform::events::mirror::Mirror) -> T) -> T {
        f(&follower.mirror().read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The tenant's calls in progress, oldest first.
    pub(super) fn active_calls(&self, tenant: &str) -> Vec<Call> {
        match self {
            View::Bus(f) => Self::read(f, |m| m.active_calls(tenant)),
            View::Worker(w) => w.active_calls(tenant),
        }
    }

    /// One of the tenant's calls in progress.
    pub(super) fn call(&self, tenant: &str, uuid: &str) -> Option<Call> {
        match self {
            View::Bus(f) => Self::read(f, |m| m.call(tenant, uuid)),
            View::Worker(w) => w.call(tenant, uuid),
        }
    }

    /// The tenant's queues and agents.
    pub(super) fn contact_center(&self, tenant: &str) -> (Vec<Queue>, Vec<Agent>) {
        match self {
            View::Bus(f) => Self::read(f, |m| m.contact_center(tenant)),
            View::Worker(w) => w.contact_center(tenant),
        }
    }

    /// How many nodes there are, and how many are followed now.
    pub(super) fn nodes(&self) -> (usize, usize) {
        match self {
            View::Bus(f) => Self::read(f, |m| (m.nodes().len(), m.connected_nodes())),
            View::Worker(w) => (w.nodes().len(), w.connected_nodes()),
        }
    }
}
