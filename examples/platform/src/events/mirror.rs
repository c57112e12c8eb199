//! The live state of every node as its published events tell it: what an API process that
//! runs no ESL worker for a node shows (calls, queues, agents), and what a standby ESL worker
//! starts from when it takes a node over, so it publishes only what changed since the last
//! active worker's last event.
//!
//! The active worker also publishes its node's whole state ([`NodeState`]) from time to time,
//! in the same ordered stream as its events: a mirror that started late, or missed events,
//! is right again from there. What a node's events say under a lower lease term than one
//! already seen (a replaced worker's last messages, arriving late) is ignored.
//!
//! ```
//! use platform::calls::{Call, CallEvent};
//! use platform::events::Origin;
//! use platform::events::mirror::Mirror;
//!
//! let call = Call {
//!     uuid: "u1".into(), node: "fs1".into(), tenant: "acme".into(), direction: "inbound".into(),
//!     caller: "1000".into(), callee: "2000".into(), created_us: 1, answered_us: None,
//! };
//! let fs1 = Some(Origin { node: "fs1", term: 1 });
//! let mut mirror = Mirror::default();
//! assert!(mirror.apply(fs1, &CallEvent::CallStarted { call: call.clone() }));
//! assert_eq!(mirror.active_calls("acme"), vec![call.clone()]);
//! mirror.apply(fs1, &CallEvent::CallEnded { call, cause: None });
//! assert!(mirror.active_calls("acme").is_empty());
//! ```

use super::Origin;
use crate::calls::{Call, CallEvent, sort_oldest_first};
use crate::contact_center::{Agent, Queue, tenant_of};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A node's whole live state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// Whether its active worker is connected to it.
    pub connected: bool,
    /// Its calls in progress.
    pub calls: Vec<Call>,
    /// Its call-center queues.
    pub queues: Vec<Queue>,
    /// Its call-center agents.
    pub agents: Vec<Agent>,
}

#[derive(Debug, Default)]
struct NodeView {
    /// The highest lease term heard from the node.
    term: i64,
    connected: bool,
    calls: HashMap<String, Call>,
    queues: BTreeMap<String, Queue>,
    agents: BTreeMap<String, Agent>,
}

/// Every node's live state, from published events and states.
#[derive(Debug, Default)]
pub struct Mirror {
    nodes: BTreeMap<String, NodeView>,
}

impl Mirror {
    /// Whether a message of `origin` is current (not from a replaced worker), taking its term
    /// as the node's when it is higher.
    fn current(&mut self, origin: Option<Origin<'_>>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let view = self.nodes.entry(origin.node.to_owned()).or_default();
        if origin.term < view.term {
            return false;
        }
        view.term = origin.term;
        true
    }

    /// Applies one published event from `origin` (calls name their node themselves; queues
    /// and agents need the origin). Events that are not about live state change nothing.
    /// `false` when the event is from a replaced worker (a lower term): ignored, and not to be
    /// passed on.
    pub fn apply(&mut self, origin: Option<Origin<'_>>, event: &CallEvent) -> bool {
        if !self.current(origin) {
            return false;
        }
        let node = origin.map(|o| o.node);
        match event {
            CallEvent::CallStarted { call } | CallEvent::CallAnswered { call } => {
                let view = self.nodes.entry(call.node.clone()).or_default();
                view.calls.insert(call.uuid.clone(), call.clone());
            }
            CallEvent::CallEnded { call, .. } => {
                if let Some(view) = self.nodes.get_mut(&call.node) {
                    view.calls.remove(&call.uuid);
                }
            }
            CallEvent::QueueChanged { queue, .. } => {
                if let Some(node) = node {
                    let view = self.nodes.entry(node.to_owned()).or_default();
                    view.queues.insert(queue.name.clone(), queue.clone());
                }
            }
            CallEvent::AgentChanged { agent, .. } => {
                if let Some(node) = node {
                    let view = self.nodes.entry(node.to_owned()).or_default();
                    view.agents.insert(agent.name.clone(), agent.clone());
                }
            }
            CallEvent::CallFailed { .. }
            | CallEvent::RecordingReady { .. }
            | CallEvent::BalanceChanged { .. }
            | CallEvent::QueueStatistics { .. } => {}
        }
        true
    }

    /// Replaces the node's state with a published whole one; `false` (and nothing changes)
    /// when it is from a replaced worker.
    pub fn restore(&mut self, origin: Origin<'_>, state: NodeState) -> bool {
        if !self.current(Some(origin)) {
            return false;
        }
        let node = origin.node;
        let view = NodeView {
            term: origin.term,
            connected: state.connected,
            calls: state
                .calls
                .into_iter()
                .map(|call| (call.uuid.clone(), call))
                .collect(),
            queues: state
                .queues
                .into_iter()
                .map(|queue| (queue.name.clone(), queue))
                .collect(),
            agents: state
                .agents
                .into_iter()
                .map(|agent| (agent.name.clone(), agent))
                .collect(),
        };
        self.nodes.insert(node.to_owned(), view);
        true
    }

    /// `node`'s state as published (empty for a node never heard of).
    pub fn state(&self, node: &str) -> NodeState {
        let Some(view) = self.nodes.get(node) else {
            return NodeState::default();
        };
        let mut calls: Vec<Call> = view.calls.values().cloned().collect();
        sort_oldest_first(&mut calls);
        NodeState {
            connected: view.connected,
            calls,
            queues: view.queues.values().cloned().collect(),
            agents: view.agents.values().cloned().collect(),
        }
    }

    /// The tenant's calls in progress on every node, oldest first.
    pub fn active_calls(&self, tenant: &str) -> Vec<Call> {
        let mut calls: Vec<Call> = self
            .nodes
            .values()
            .flat_map(|view| view.calls.values())
            .filter(|call| call.tenant == tenant)
            .cloned()
            .collect();
        sort_oldest_first(&mut calls);
        calls
    }

    /// One call in progress, if the tenant has it.
    pub fn call(&self, tenant: &str, uuid: &str) -> Option<Call> {
        self.nodes
            .values()
            .find_map(|view| view.calls.get(uuid).filter(|call| call.tenant == tenant))
            .cloned()
    }

    /// The tenant's queues and agents, by name: a name several nodes hold is listed once (the
    /// first node's, as every node loads every tenant's configuration).
    pub fn contact_center(&self, tenant: &str) -> (Vec<Queue>, Vec<Agent>) {
        let mut queues: BTreeMap<&str, &Queue> = BTreeMap::new();
        let mut agents: BTreeMap<&str, &Agent> = BTreeMap::new();
        for view in self.nodes.values() {
            for queue in view.queues.values() {
                if tenant_of(&queue.name) == Some(tenant) {
                    queues.entry(&queue.name).or_insert(queue);
                }
            }
            for agent in view.agents.values() {
                if tenant_of(&agent.name) == Some(tenant) {
                    agents.entry(&agent.name).or_insert(agent);
                }
            }
        }
        (
            queues.into_values().cloned().collect(),
            agents.into_values().cloned().collect(),
        )
    }

    /// The nodes heard of, by name.
    pub fn nodes(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    /// Whether `node`'s active worker last said it was connected.
    pub fn is_connected(&self, node: &str) -> bool {
        self.nodes.get(node).is_some_and(|view| view.connected)
    }

    /// How many nodes' active workers last said they were connected.
    pub fn connected_nodes(&self) -> usize {
        self.nodes.values().filter(|view| view.connected).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(node: &str, uuid: &str, tenant: &str) -> Call {
        Call {
            uuid: uuid.into(),
            node: node.into(),
            tenant: tenant.into(),
            direction: "inbound".into(),
            caller: "1000".into(),
            callee: "2000".into(),
            created_us: 1,
            answered_us: None,
        }
    }

    fn from(node: &str, term: i64) -> Option<Origin<'_>> {
        Some(Origin { node, term })
    }

    #[test]
    fn a_restored_state_is_what_later_events_apply_to() {
        let mut mirror = Mirror::default();
        mirror.apply(
            from("fs1", 1),
            &CallEvent::CallStarted {
                call: call("fs1", "stale", "acme"),
            },
        );
        let state = NodeState {
            connected: true,
            calls: vec![call("fs1", "a", "acme")],
            queues: vec![Queue {
                name: "sales@acme".into(),
                ..Queue::default()
            }],
            agents: Vec::new(),
        };
        assert!(mirror.restore(
            Origin {
                node: "fs1",
                term: 1
            },
            state.clone()
        ));
        assert_eq!(mirror.state("fs1"), state);
        let mut answered = call("fs1", "a", "acme");
        answered.answered_us = Some(5);
        mirror.apply(
            from("fs1", 1),
            &CallEvent::CallAnswered {
                call: answered.clone(),
            },
        );
        mirror.apply(
            from("fs2", 1),
            &CallEvent::CallStarted {
                call: call("fs2", "b", "beta"),
            },
        );
        assert_eq!(mirror.active_calls("acme"), vec![answered]);
        assert_eq!(mirror.call("beta", "b").unwrap().node, "fs2");
        assert!(mirror.call("acme", "b").is_none(), "another tenant's call");
        assert_eq!(mirror.contact_center("acme").0.len(), 1);
        assert!(mirror.contact_center("beta").0.is_empty());
        assert_eq!(mirror.nodes(), ["fs1", "fs2"]);
        assert_eq!(mirror.connected_nodes(), 1);
    }

    #[test]
    fn a_replaced_workers_late_messages_are_ignored() {
        let mut mirror = Mirror::default();
        let old = call("fs1", "a", "acme");
        assert!(mirror.apply(
            from("fs1", 1),
            &CallEvent::CallStarted { call: old.clone() }
        ));
        // The new active worker (term 2) ends the call and says the node is empty.
        assert!(mirror.apply(
            from("fs1", 2),
            &CallEvent::CallEnded {
                call: old.clone(),
                cause: None
            }
        ));
        assert!(mirror.restore(
            Origin {
                node: "fs1",
                term: 2
            },
            NodeState {
                connected: true,
                ..NodeState::default()
            }
        ));
        // The old one's last messages arrive afterwards: nothing comes back to life.
        assert!(!mirror.apply(from("fs1", 1), &CallEvent::CallAnswered { call: old }));
        assert!(!mirror.restore(
            Origin {
                node: "fs1",
                term: 1
            },
            NodeState {
                connected: true,
                calls: vec![call("fs1", "a", "acme")],
                ..NodeState::default()
            }
        ));
        assert!(mirror.active_calls("acme").is_empty());
        // Another node's terms are its own.
        assert!(mirror.apply(
            from("fs2", 1),
            &CallEvent::CallStarted {
                call: call("fs2", "b", "acme")
            }
        ));
    }
}
