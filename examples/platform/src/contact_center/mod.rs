//! Live contact-center state of a FreeSWITCH node, without I/O: mod_callcenter's
//! `callcenter::info` events in, queues (members waiting, who answered, the day's counts) and
//! agents (status, state, current call, calls answered, talk time) out, with what each event
//! changed so that only that is published.
//!
//! mod_callcenter names queues and agents `name@tenant` ([`crate::inbound::qualified`]): the
//! tenant of each is read from its name, so a tenant is only ever shown its own. The events'
//! own times (`CC-Member-Joined-Time`, `CC-Agent-Answered-Time`, ...) are used, not the time
//! they arrive.
//!
//! ```
//! use esl::proto::{Event, EventFormat};
//! use platform::contact_center::{Change, ContactCenter};
//!
//! let mut center = ContactCenter::default();
//! let event = Event::parse(
//!     bytes::Bytes::from_static(b"Event-Name: CUSTOM\nEvent-Subclass: callcenter%3A%3Ainfo\nCC-Action: agent-status-change\nCC-Agent: 1001%40acme\nCC-Agent-Status: On%20Break\n\n"),
//!     EventFormat::Plain,
//!     64,
//! )?;
//! assert_eq!(center.apply(&event), [Change::Agent("1001@acme".into())]);
//! assert_eq!(center.agent("1001@acme").unwrap().status, "On Break");
//! # Ok::<(), esl::proto::EventError>(())
//! ```

mod lists;
mod outcomes;
mod reconcile;

pub use lists::{ListError, ListTable};
pub use outcomes::{MemberOutcome, MemberStep, agent_status, member_outcome};
pub use reconcile::reconcile;

use crate::calls::CallEvent;
use esl::proto::Event;
use std::collections::BTreeMap;

/// The event subclass mod_callcenter reports on.
pub const SUBCLASS: &str = "callcenter::info";

/// Most queues, and most agents, followed at once; events naming others are ignored (a node
/// sending names without end cannot grow the state without bound). Names are at most 129
/// bytes (`name@tenant`, each a name), ids and numbers are cut at [`MAX_TEXT`].
pub const MAX_NAMES: usize = 20_000;

/// Most members followed in one queue at once.
pub const MAX_MEMBERS: usize = 2_000;

/// Longest member id, channel UUID or caller number kept (longer ones are cut).
pub const MAX_TEXT: usize = 64;

/// Latest time an event may carry, Unix seconds (year 9999): times are bounded before any
/// arithmetic.
pub(crate) const MAX_SECONDS: i64 = 253_402_300_799;

/// What an answered member waited at most to count as answered in time, by default (the
/// service level's threshold).
pub const DEFAULT_SERVICE_SECONDS: i64 = 20;

/// The state of every queue and agent a node reported on.
#[derive(Debug, Clone, Default)]
pub struct ContactCenter {
    queues: BTreeMap<String, Queue>,
    agents: BTreeMap<String, Agent>,
}

/// A queue: its members and the counts since the state was made.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Queue {
    /// Its name as FreeSWITCH knows it (`name@tenant`).
    pub name: String,
    /// Members in the queue, in the order they joined (answered ones too, until they leave).
    pub members: Vec<Member>,
    /// Members who joined.
    pub offered: u64,
    /// Members an agent answered.
    pub answered: u64,
    /// Members who left before an agent answered.
    pub abandoned: u64,
    /// Seconds the answered members waited, in all (the average speed of answer's sum).
    pub answer_wait_seconds: u64,
    /// Answered members who waited at most [`DEFAULT_SERVICE_SECONDS`].
    pub answered_in_time: u64,
}

/// A caller in a queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    /// mod_callcenter's id of the member (`CC-Member-UUID`).
    pub uuid: String,
    /// The caller's channel (`CC-Member-Session-UUID`).
    pub session_uuid: String,
    /// The caller's number.
    pub caller_number: String,
    /// When it joined, Unix seconds.
    pub joined_at: i64,
    /// The agent offered the call or talking with the caller.
    pub agent: Option<String>,
    /// When an agent answered, Unix seconds.
    pub answered_at: Option<i64>,
}

/// An agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Agent {
    /// Its name as FreeSWITCH knows it (`name@tenant`).
    pub name: String,
    /// `Available`, `On Break`, `Logged Out`, ... as mod_callcenter reports it.
    pub status: String,
    /// `Waiting`, `Receiving`, `In a queue call`, `Idle`, ... as mod_callcenter reports it.
    pub state: String,
    /// The call offered to it or being talked.
    pub call: Option<AgentCall>,
    /// Calls it answered and finished.
    pub calls_answered: u64,
    /// Seconds it talked, in all, over those calls.
    pub talk_seconds: u64,
}

/// The call an agent is offered or talking.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AgentCall {
    /// The queue.
    pub queue: String,
    /// The caller's channel.
    pub member_session_uuid: String,
    /// The caller's number.
    pub caller_number: String,
    /// When it answered, Unix seconds (`None` while it is offered).
    pub answered_at: Option<i64>,
}

/// What an event changed: the queue or agent to publish again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// A queue, by name.
    Queue(String),
    /// An agent, by name.
    Agent(String),
}

/// The tenant a mod_callcenter name belongs to (what follows its last `@`), if it has one.
///
/// ```
/// assert_eq!(platform::contact_center::tenant_of("support@acme"), Some("acme"));
/// assert_eq!(platform::contact_center::tenant_of("support"), None);
/// ```
pub fn tenant_of(name: &str) -> Option<&str> {
    name.rsplit_once('@')
        .map(|(_, tenant)| tenant)
        .filter(|t| !t.is_empty())
}

impl Queue {
    /// The members no agent has answered yet.
    pub fn waiting(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.answered_at.is_none())
    }

    /// How long the member waiting longest has waited at `now` (Unix seconds).
    pub fn longest_wait(&self, now: i64) -> Option<i64> {
        self.waiting()
            .map(|m| now.saturating_sub(m.joined_at).max(0))
            .max()
    }
}

impl ContactCenter {
    /// A queue, by its name.
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.get(name)
    }

    /// An agent, by its name.
    pub fn agent(&self, name: &str) -> Option<&Agent> {
        self.agents.get(name)
    }

    /// Every queue, by name.
    pub fn queues(&self) -> impl Iterator<Item = &Queue> {
        self.queues.values()
    }

    /// Every agent, by name.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    /// Replaces the state with these queues and agents, as another worker published them:
    /// the next re-sync publishes only what changed since.
    pub fn restore(&mut self, queues: Vec<Queue>, agents: Vec<Agent>) {
        self.queues = queues.into_iter().map(|q| (q.name.clone(), q)).collect();
        self.agents = agents.into_iter().map(|a| (a.name.clone(), a)).collect();
    }

    /// `tenant`'s queues, by name.
    pub fn queues_of<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = &'a Queue> + 'a {
        self.queues
            .values()
            .filter(move |q| tenant_of(&q.name) == Some(tenant))
    }

    /// `tenant`'s agents, by name.
    pub fn agents_of<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = &'a Agent> + 'a {
        self.agents
            .values()
            .filter(move |a| tenant_of(&a.name) == Some(tenant))
    }

    /// The event to publish for `change`, as the state is now: the queue or agent whole,
    /// to its tenant (`None` for a name without one, or one the state no longer holds).
    pub fn published(&self, change: &Change) -> Option<CallEvent> {
        match change {
            Change::Queue(name) => {
                let queue = self.queues.get(name)?;
                Some(CallEvent::QueueChanged {
                    tenant: tenant_of(name)?.to_owned(),
                    queue: queue.clone(),
                })
            }
            Change::Agent(name) => {
                let agent = self.agents.get(name)?;
                Some(CallEvent::AgentChanged {
                    tenant: tenant_of(name)?.to_owned(),
                    agent: agent.clone(),
                })
            }
        }
    }

    /// Applies one event; what it changed (nothing for any other event, or one this version
    /// does not follow).
    pub fn apply(&mut self, event: &Event) -> Vec<Change> {
        if event.subclass().as_deref() != Some(SUBCLASS) {
            return Vec::new();
        }
        let header = |name: &str| event.header(name).map(|v| v.into_owned());
        // Ids and numbers cut to a bound; names kept only when they are `name@tenant`.
        let text = |name: &str| header(name).map(|v| v.chars().take(MAX_TEXT).collect::<String>());
        let named = |name: &str| header(name).filter(|v| esl::api::is_call_center_name(v));
        // Seconds since the epoch, within what a clock can say (no arithmetic overflows).
        let time = |name: &str| {
            header(name)
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|t| (0..=MAX_SECONDS).contains(t))
        };
        let now = header("Event-Date-Timestamp")
            .and_then(|v| v.parse::<i64>().ok())
            .map(|us| us / 1_000_000)
            .filter(|t| (1..=MAX_SECONDS).contains(t));
        let queue = named("CC-Queue");
        let agent = named("CC-Agent");
        let member = text("CC-Member-UUID");
        let mut changes = Vec::new();
        match header("CC-Action").as_deref() {
            Some("agent-status-change") => {
                if let (Some(name), Some(status)) = (&agent, text("CC-Agent-Status"))
                    && let Some(agent) = self.agent_mut(name)
                {
                    agent.status = status;
                    changes.push(Change::Agent(name.clone()));
                }
            }
            Some("agent-state-change") => {
                if let (Some(name), Some(state)) = (&agent, text("CC-Agent-State"))
                    && let Some(agent) = self.agent_mut(name)
                {
                    agent.state = state;
                    changes.push(Change::Agent(name.clone()));
                }
            }
            Some("member-queue-start") => {
                // A member is placed in time, or not followed.
                if let (Some(name), Some(uuid), Some(joined_at)) =
                    (&queue, member, time("CC-Member-Joined-Time").or(now))
                    && let Some(queue) = self.queue_mut(name)
                    && queue.members.len() < MAX_MEMBERS
                    && !queue.members.iter().any(|m| m.uuid == uuid)
                {
                    queue.members.push(Member {
                        uuid,
                        session_uuid: text("CC-Member-Session-UUID").unwrap_or_default(),
                        caller_number: text("CC-Member-CID-Number").unwrap_or_default(),
                        joined_at,
                        agent: None,
                        answered_at: None,
                    });
                    queue.offered = queue.offered.saturating_add(1);
                    changes.push(Change::Queue(name.clone()));
                }
            }
            Some("agent-offering") => {
                self.offer(&queue, &agent, &member, None, &mut changes);
            }
            Some("bridge-agent-start") => {
                if let Some(answered) = time("CC-Agent-Answered-Time").or(now) {
                    self.offer(&queue, &agent, &member, Some(answered), &mut changes);
                }
            }
            Some("bridge-agent-end") => {
                // The end of the call the agent is on (a late end of an earlier call ends
                // nothing).
                let session = text("CC-Member-Session-UUID");
                if let Some(name) = &agent
                    && let Some(agent) = self.agents.get_mut(name)
                    && agent
                        .call
                        .as_ref()
                        .is_some_and(|c| session.is_none_or(|s| s == c.member_session_uuid))
                    && let Some(call) = agent.call.take()
                {
                    if let Some(answered) = call.answered_at {
                        let ended = time("CC-Bridge-Terminated-Time")
                            .or(now)
                            .unwrap_or(answered);
                        agent.calls_answered = agent.calls_answered.saturating_add(1);
                        agent.talk_seconds = agent
                            .talk_seconds
                            .saturating_add(u64::try_from(ended - answered).unwrap_or(0));
                    }
                    changes.push(Change::Agent(name.clone()));
                }
            }
            Some("bridge-agent-fail") => {
                if let Some(name) = &agent
                    && let Some(agent) = self.agents.get_mut(name)
                    && agent.call.take().is_some()
                {
                    changes.push(Change::Agent(name.clone()));
                }
                if let (Some(name), Some(uuid)) = (&queue, &member)
                    && let Some(queue) = self.queues.get_mut(name)
                    && let Some(member) = queue.members.iter_mut().find(|m| &m.uuid == uuid)
                {
                    member.agent = None;
                    changes.push(Change::Queue(name.clone()));
                }
            }
            Some("member-queue-end") => {
                if let (Some(name), Some(uuid)) = (&queue, &member)
                    && let Some(queue) = self.queues.get_mut(name)
                    && let Some(at) = queue.members.iter().position(|m| &m.uuid == uuid)
                {
                    let member = queue.members.remove(at);
                    if member.answered_at.is_none() {
                        queue.abandoned = queue.abandoned.saturating_add(1);
                    }
                    changes.push(Change::Queue(name.clone()));
                }
            }
            _ => {}
        }
        changes
    }

    /// An agent is offered a member (`answered`: `None`), or answered it.
    fn offer(
        &mut self,
        queue: &Option<String>,
        agent: &Option<String>,
        member: &Option<String>,
        answered: Option<i64>,
        changes: &mut Vec<Change>,
    ) {
        let (Some(queue_name), Some(agent_name), Some(uuid)) = (queue, agent, member) else {
            return;
        };
        // A queue offers its own tenant's agents only: anything else is not shown to either.
        if tenant_of(queue_name) != tenant_of(agent_name) {
            return;
        }
        let Some(queue) = self.queues.get_mut(queue_name) else {
            return;
        };
        let Some(member) = queue.members.iter_mut().find(|m| &m.uuid == uuid) else {
            return;
        };
        member.agent = Some(agent_name.clone());
        if let Some(at) = answered
            && member.answered_at.is_none()
        {
            member.answered_at = Some(at);
            let waited = (at - member.joined_at).max(0);
            queue.answered = queue.answered.saturating_add(1);
            queue.answer_wait_seconds = queue
                .answer_wait_seconds
                .saturating_add(u64::try_from(waited).unwrap_or(0));
            if waited <= DEFAULT_SERVICE_SECONDS {
                queue.answered_in_time = queue.answered_in_time.saturating_add(1);
            }
        }
        let call = AgentCall {
            queue: queue_name.clone(),
            member_session_uuid: member.session_uuid.clone(),
            caller_number: member.caller_number.clone(),
            answered_at: member.answered_at,
        };
        changes.push(Change::Queue(queue_name.clone()));
        if let Some(agent) = self.agent_mut(agent_name) {
            agent.call = Some(call);
            changes.push(Change::Agent(agent_name.clone()));
        }
    }

    fn queue_mut(&mut self, name: &str) -> Option<&mut Queue> {
        if !self.queues.contains_key(name) && self.queues.len() >= MAX_NAMES {
            return None;
        }
        Some(self.queues.entry(name.to_owned()).or_insert_with(|| Queue {
            name: name.to_owned(),
            ..Queue::default()
        }))
    }

    fn agent_mut(&mut self, name: &str) -> Option<&mut Agent> {
        if !self.agents.contains_key(name) && self.agents.len() >= MAX_NAMES {
            return None;
        }
        Some(self.agents.entry(name.to_owned()).or_insert_with(|| Agent {
            name: name.to_owned(),
            ..Agent::default()
        }))
    }
}
