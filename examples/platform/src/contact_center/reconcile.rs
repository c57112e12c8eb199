//! What a node's mod_callcenter must be told so that its agents and tiers are the platform's
//! again: after a change it missed (it was down, or refused it) its own database keeps the
//! old state across restarts, so every (re)connection compares what it lists with what is
//! stored. Pure: the lists and the stored rows in, `callcenter_config` changes out.

use super::{ListTable, tenant_of};
use crate::inbound::qualified;
use crate::store::{AgentRow, TierRow};
use esl::api::{AgentStatus, CallCenterChange};
use std::collections::{BTreeMap, HashSet};

/// The changes that make the node's agents and tiers (`agent list`, `tier list`) those stored
/// (`agents`, `tiers`) for the platform's `tenants`. Names of no tenant of the platform are
/// left alone (the node may serve others); an agent's contact and status are set again where
/// they differ from those stored (the worker stores every status a node reports, mod_callcenter's
/// own changes such as on break after unanswered offers included, so the stored one is the
/// latest any node or user set).
///
/// ```
/// use platform::contact_center::{ListTable, reconcile};
/// use platform::store::AgentRow;
/// use esl::api::CallCenterChange;
///
/// let listed = ListTable::parse("name|contact|status\n1001@acme|user/1001@acme.example|Available\n9@acme|user/9@acme.example|Available\n+OK\n").unwrap();
/// let tiers = ListTable::parse("queue|agent|level|position\n+OK\n").unwrap();
/// let stored = [AgentRow { tenant: "acme".into(), name: "1001".into(), contact: "user/1001@acme.example".into(), status: "Available".into() }];
/// let changes = reconcile(&["acme".to_owned()], &stored, &[], &listed, &tiers);
/// assert_eq!(changes, [CallCenterChange::AgentDel { agent: "9@acme".into() }]);
/// ```
pub fn reconcile(
    tenants: &[String],
    agents: &[AgentRow],
    tiers: &[TierRow],
    listed_agents: &ListTable,
    listed_tiers: &ListTable,
) -> Vec<CallCenterChange> {
    let ours: HashSet<&str> = tenants.iter().map(String::as_str).collect();
    let is_ours = |name: &str| {
        esl::api::is_call_center_name(name) && tenant_of(name).is_some_and(|t| ours.contains(t))
    };
    let mut changes = Vec::new();

    let on_node: BTreeMap<String, (String, String)> = listed_agents
        .records(&["name", "contact", "status"])
        .filter_map(|r| {
            let (contact, status) = (r[1].unwrap_or_default(), r[2].unwrap_or_default());
            Some((r[0]?.to_owned(), (contact.to_owned(), status.to_owned())))
        })
        .filter(|(name, _)| is_ours(name))
        .collect();
    let stored: BTreeMap<String, &AgentRow> = agents
        .iter()
        .map(|a| (qualified(&a.name, &a.tenant), a))
        .collect();
    for name in on_node.keys().filter(|n| !stored.contains_key(*n)) {
        changes.push(CallCenterChange::AgentDel {
            agent: name.clone(),
        });
    }
    for (name, agent) in &stored {
        let status = AgentStatus::parse(&agent.status).unwrap_or(AgentStatus::LoggedOut);
        match on_node.get(name) {
            Some((contact, listed_status)) => {
                if *contact != agent.contact {
                    changes.push(CallCenterChange::AgentContact {
                        agent: name.clone(),
                        contact: agent.contact.clone(),
                    });
                }
                if *listed_status != agent.status {
                    changes.push(CallCenterChange::AgentStatus {
                        agent: name.clone(),
                        status,
                    });
                }
            }
            None => {
                changes.push(CallCenterChange::AgentAdd {
                    agent: name.clone(),
                });
                changes.push(CallCenterChange::AgentContact {
                    agent: name.clone(),
                    contact: agent.contact.clone(),
                });
                changes.push(CallCenterChange::AgentStatus {
                    agent: name.clone(),
                    status,
                });
            }
        }
    }

    let number = |v: Option<&str>| v.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    let tiers_on_node: BTreeMap<(String, String), (u32, u32)> = listed_tiers
        .records(&["queue", "agent", "level", "position"])
        .filter_map(|r| {
            let (queue, agent) = (r[0]?, r[1]?);
            (is_ours(queue) && is_ours(agent)).then(|| {
                (
                    (queue.to_owned(), agent.to_owned()),
                    (number(r[2]), number(r[3])),
                )
            })
        })
        .collect();
    let stored_tiers: BTreeMap<(String, String), (u32, u32)> = tiers
        .iter()
        .map(|t| {
            let key = (
                qualified(&t.queue, &t.tenant),
                qualified(&t.agent, &t.tenant),
            );
            let at = |v: i64| u32::try_from(v).unwrap_or(0);
            (key, (at(t.level), at(t.position)))
        })
        .collect();
    for (queue, agent) in tiers_on_node
        .keys()
        .filter(|k| !stored_tiers.contains_key(*k))
    {
        // An agent removed above took its tiers with it.
        if stored.contains_key(agent) {
            changes.push(CallCenterChange::TierDel {
                queue: queue.clone(),
                agent: agent.clone(),
            });
        }
    }
    for ((queue, agent), &(level, position)) in &stored_tiers {
        match tiers_on_node.get(&(queue.clone(), agent.clone())) {
            Some(&listed) if listed == (level, position) => {}
            Some(_) => {
                changes.push(CallCenterChange::TierLevel {
                    queue: queue.clone(),
                    agent: agent.clone(),
                    level,
                });
                changes.push(CallCenterChange::TierPosition {
                    queue: queue.clone(),
                    agent: agent.clone(),
                    position,
                });
            }
            None => changes.push(CallCenterChange::TierAdd {
                queue: queue.clone(),
                agent: agent.clone(),
                level,
                position,
            }),
        }
    }
    changes
}
