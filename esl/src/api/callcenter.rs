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
