//! mod_callcenter's `callcenter_config`: the commands that change a call center live, without
//! a reload.

use super::{ApiCommand, ApiError, ApiFailure, is_name};

/// An agent's status, as mod_callcenter names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentStatus {
    /// Takes calls.
    Available,
    /// Takes calls, offered only when it asks (`Available (On Demand)`).
    AvailableOnDemand,
    /// Takes no calls for now.
    OnBreak,
    /// Takes no calls.
    LoggedOut,
}

impl AgentStatus {
    /// Every status.
    pub const ALL: [AgentStatus; 4] = [
        AgentStatus::Available,
        AgentStatus::AvailableOnDemand,
        AgentStatus::OnBreak,
        AgentStatus::LoggedOut,
    ];

    /// The status as mod_callcenter writes it.
    ///
    /// ```
    /// assert_eq!(esl::api::AgentStatus::OnBreak.as_str(), "On Break");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Available => "Available",
            AgentStatus::AvailableOnDemand => "Available (On Demand)",
            AgentStatus::OnBreak => "On Break",
            AgentStatus::LoggedOut => "Logged Out",
        }
    }

    /// The status mod_callcenter writes as `text`, if it is one.
    ///
    /// ```
    /// use esl::api::AgentStatus;
    /// assert_eq!(AgentStatus::parse("Logged Out"), Some(AgentStatus::LoggedOut));
    /// assert_eq!(AgentStatus::parse("Busy"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Whether `agent` is a call-center name FreeSWITCH can carry in a command: `name@owner`,
/// each side a name (see [`is_name`]).
///
/// ```
/// assert!(esl::api::is_call_center_name("1001@acme"));
/// for hostile in ["1001", "1001@acme b", "1001@acme'", "@acme", "a@b@c"] {
///     assert!(!esl::api::is_call_center_name(hostile), "{hostile}");
/// }
/// ```
pub fn is_call_center_name(agent: &str) -> bool {
    agent
        .split_once('@')
        .is_some_and(|(name, owner)| is_name(name) && is_name(owner))
}

/// `callcenter_config agent set status <agent> '<status>'`: sets an agent's status on the
/// node at once (the quotes keep a status with spaces one argument).
///
/// ```
/// use esl::api::{AgentStatus, ApiCommand, CallCenterAgentStatus};
///
/// let set = CallCenterAgentStatus { agent: "1001@acme".into(), status: AgentStatus::OnBreak };
/// assert_eq!(set.to_command()?, "callcenter_config agent set status 1001@acme 'On Break'");
/// assert!(set.read_result("-ERR Invalid Agent!\n".into()).is_err());
/// let hostile = CallCenterAgentStatus { agent: "1001@acme' 'x".into(), status: AgentStatus::OnBreak };
/// assert!(hostile.to_command().is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCenterAgentStatus {
    /// The agent, `name@tenant`.
    pub agent: String,
    /// Its new status.
    pub status: AgentStatus,
}

impl ApiCommand for CallCenterAgentStatus {
    /// FreeSWITCH's result text (`+OK`).
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        if !is_call_center_name(&self.agent) {
            return Err(ApiError::NotAWord {
                field: "agent",
                value: self.agent.chars().take(64).collect(),
            });
        }
        out.push_str("callcenter_config agent set status ");
        out.push_str(&self.agent);
        out.push_str(" '");
        out.push_str(self.status.as_str());
        out.push('\'');
        Ok(())
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        Ok(result)
    }
}

/// `callcenter_config ... list`: what a node's mod_callcenter has, as a `|`-separated table
/// ending in `+OK` (read it with the platform's list reader).
///
/// ```
/// use esl::api::{ApiCommand, CallCenterList};
///
/// assert_eq!(CallCenterList::Agents.to_command()?, "callcenter_config agent list");
/// assert_eq!(
///     CallCenterList::Members("support@acme".into()).to_command()?,
///     "callcenter_config queue list members support@acme"
/// );
/// assert!(CallCenterList::Members("support@acme x".into()).to_command().is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallCenterList {
    /// Every agent: status, state, calls answered, talk time...
    Agents,
    /// Every tier: which agents serve which queues.
    Tiers,
    /// A queue's members (`name@tenant`).
    Members(String),
}

impl ApiCommand for CallCenterList {
    /// The table's text.
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        match self {
            CallCenterList::Agents => out.push_str("callcenter_config agent list"),
            CallCenterList::Tiers => out.push_str("callcenter_config tier list"),
            CallCenterList::Members(queue) => {
                if !is_call_center_name(queue) {
                    return Err(ApiError::NotAWord {
                        field: "queue",
                        value: queue.chars().take(64).collect(),
                    });
                }
                out.push_str("callcenter_config queue list members ");
                out.push_str(queue);
            }
        }
        Ok(())
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        Ok(result)
    }
}

/// Whether `contact` can be an agent's contact in a `callcenter_config` command: a dial string
/// of at most 512 characters with no blank, quote, backslash or control character (the
/// command's words are split on blanks, and quotes and backslashes are read as syntax).
///
/// ```
/// assert!(esl::api::is_contact("{call_timeout=20}user/1001@acme.example"));
/// for hostile in ["", "user/1001 x", "user/'1001'", "user/1001\\", "a\nb"] {
///     assert!(!esl::api::is_contact(hostile), "{hostile:?}");
/// }
/// ```
pub fn is_contact(contact: &str) -> bool {
    !contact.is_empty()
        && contact.len() <= 512
        && contact
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '\'' | '"' | '\\'))
}

/// A live change to a node's call center with `callcenter_config` (no reload): agents, their
/// contacts, tiers and queues. Every name is `name@owner` ([`is_call_center_name`]); a contact
/// must pass [`is_contact`].
///
/// ```
/// use esl::api::{ApiCommand, CallCenterChange};
///
/// let add = CallCenterChange::TierAdd {
///     queue: "support@acme".into(),
///     agent: "1001@acme".into(),
///     level: 1,
///     position: 2,
/// };
/// assert_eq!(add.to_command()?, "callcenter_config tier add support@acme 1001@acme 1 2");
/// let contact = CallCenterChange::AgentContact {
///     agent: "1001@acme".into(),
///     contact: "user/1001@acme.example".into(),
/// };
/// assert_eq!(
///     contact.to_command()?,
///     "callcenter_config agent set contact 1001@acme user/1001@acme.example"
/// );
/// let hostile = CallCenterChange::AgentContact {
///     agent: "1001@acme".into(),
///     contact: "user/1001 loopback/9999".into(),
/// };
/// assert!(hostile.to_command().is_err());
/// assert!(add.read_result("-ERR Queue not found!\n".into()).is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallCenterChange {
    /// `agent add <agent> callback`: a new agent (FreeSWITCH calls its contact).
    AgentAdd {
        /// The agent.
        agent: String,
    },
    /// `agent set contact <agent> <contact>`.
    AgentContact {
        /// The agent.
        agent: String,
        /// Its dial string.
        contact: String,
    },
    /// `agent set status <agent> '<status>'` (as [`CallCenterAgentStatus`]).
    AgentStatus {
        /// The agent.
        agent: String,
        /// Its new status.
        status: AgentStatus,
    },
    /// `agent del <agent>`: the agent and its tiers go.
    AgentDel {
        /// The agent.
        agent: String,
    },
    /// `tier add <queue> <agent> <level> <position>`.
    TierAdd {
        /// The queue.
        queue: String,
        /// The agent.
        agent: String,
        /// Tier level.
        level: u32,
        /// Position in the level.
        position: u32,
    },
    /// `tier set level <queue> <agent> <level>`.
    TierLevel {
        /// The queue.
        queue: String,
        /// The agent.
        agent: String,
        /// New level.
        level: u32,
    },
    /// `tier set position <queue> <agent> <position>`.
    TierPosition {
        /// The queue.
        queue: String,
        /// The agent.
        agent: String,
        /// New position.
        position: u32,
    },
    /// `tier del <queue> <agent>`.
    TierDel {
        /// The queue.
        queue: String,
        /// The agent.
        agent: String,
    },
    /// `queue load <queue>`: reads a new queue's configuration (`callcenter.conf`).
    QueueLoad(String),
    /// `queue reload <queue>`: reads a changed queue's configuration again.
    QueueReload(String),
    /// `queue unload <queue>`: forgets a queue.
    QueueUnload(String),
}

fn write_name(out: &mut String, field: &'static str, name: &str) -> Result<(), ApiError> {
    if !is_call_center_name(name) {
        return Err(ApiError::NotAWord {
            field,
            value: name.chars().take(64).collect(),
        });
    }
    out.push(' ');
    out.push_str(name);
    Ok(())
}

impl ApiCommand for CallCenterChange {
    /// FreeSWITCH's result text (`+OK`).
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        use std::fmt::Write as _;
        if let CallCenterChange::AgentStatus { agent, status } = self {
            return CallCenterAgentStatus {
                agent: agent.clone(),
                status: *status,
            }
            .write_command(out);
        }
        out.push_str("callcenter_config");
        match self {
            CallCenterChange::AgentAdd { agent } => {
                out.push_str(" agent add");
                write_name(out, "agent", agent)?;
                out.push_str(" callback");
            }
            CallCenterChange::AgentContact { agent, contact } => {
                out.push_str(" agent set contact");
                write_name(out, "agent", agent)?;
                if !is_contact(contact) {
                    return Err(ApiError::NotAWord {
                        field: "contact",
                        value: contact.chars().take(64).collect(),
                    });
                }
                out.push(' ');
                out.push_str(contact);
            }
            // Written whole above.
            CallCenterChange::AgentStatus { .. } => {}
            CallCenterChange::AgentDel { agent } => {
                out.push_str(" agent del");
                write_name(out, "agent", agent)?;
            }
            CallCenterChange::TierAdd {
                queue,
                agent,
                level,
                position,
            } => {
                out.push_str(" tier add");
                write_name(out, "queue", queue)?;
                write_name(out, "agent", agent)?;
                let _ = write!(out, " {level} {position}");
            }
            CallCenterChange::TierLevel {
                queue,
                agent,
                level,
            } => {
                out.push_str(" tier set level");
                write_name(out, "queue", queue)?;
                write_name(out, "agent", agent)?;
                let _ = write!(out, " {level}");
            }
            CallCenterChange::TierPosition {
                queue,
                agent,
                position,
            } => {
                out.push_str(" tier set position");
                write_name(out, "queue", queue)?;
                write_name(out, "agent", agent)?;
                let _ = write!(out, " {position}");
            }
            CallCenterChange::TierDel { queue, agent } => {
                out.push_str(" tier del");
                write_name(out, "queue", queue)?;
                write_name(out, "agent", agent)?;
            }
            CallCenterChange::QueueLoad(queue) => {
                out.push_str(" queue load");
                write_name(out, "queue", queue)?;
            }
            CallCenterChange::QueueReload(queue) => {
                out.push_str(" queue reload");
                write_name(out, "queue", queue)?;
            }
            CallCenterChange::QueueUnload(queue) => {
                out.push_str(" queue unload");
                write_name(out, "queue", queue)?;
            }
        }
        Ok(())
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        Ok(result)
    }
}
