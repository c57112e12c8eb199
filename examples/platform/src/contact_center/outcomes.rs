//! What happened to each caller of a queue, for the daily statistics: joined, answered or
//! abandoned, by mod_callcenter's member UUID and the event's own times. Pure: the ESL worker
//! stores each outcome once (`crate::statistics`).

use super::{MAX_SECONDS, SUBCLASS};

/// Whether `text` is a UUID as FreeSWITCH writes them (36 hex digits and dashes).
fn is_uuid(text: &str) -> bool {
    text.len() == 36 && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}
use esl::proto::Event;

/// One step of a caller's way through a queue, with when it joined (each of mod_callcenter's
/// member events carries that time, so any one of them alone places the caller in its day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberOutcome {
    /// The queue (`name@tenant`).
    pub queue: String,
    /// mod_callcenter's member UUID.
    pub member: String,
    /// When it joined, Unix seconds.
    pub joined_at: i64,
    /// What happened.
    pub step: MemberStep,
}

/// What happened to a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStep {
    /// It joined the queue.
    Joined,
    /// An agent answered it, at this time (Unix seconds).
    Answered(i64),
    /// It left before an agent answered (hung up, pressed the exit key, timed out), at this
    /// time.
    Abandoned(i64),
}

/// The outcome a `callcenter::info` event reports, if any: `member-queue-start` (joined, at
/// the event's time),
/// `bridge-agent-start` (answered), `member-queue-end` with cause `Cancel` (abandoned).
///
/// ```
/// use esl::proto::{Event, EventFormat};
/// use platform::contact_center::{MemberStep, member_outcome};
///
/// let event = Event::parse(
///     bytes::Bytes::from_static(b"Event-Name: CUSTOM\nEvent-Subclass: callcenter%3A%3Ainfo\nCC-Action: member-queue-end\nCC-Queue: support%40acme\nCC-Cause: Cancel\nCC-Member-UUID: 3507c0f1-0e7d-41fe-8ba1-dbe0b80c786a\nCC-Member-Leaving-Time: 1795458646\n\n"),
///     EventFormat::Plain,
///     64,
/// )?;
/// let outcome = member_outcome(&event).unwrap();
/// assert_eq!(outcome.queue, "support@acme");
/// assert_eq!(outcome.member, "3507c0f1-0e7d-41fe-8ba1-dbe0b80c786a");
/// assert_eq!(outcome.step, MemberStep::Abandoned(1795458646));
/// // Without the joined time, the caller is placed at the event's.
/// assert_eq!(outcome.joined_at, 1795458646);
/// # Ok::<(), esl::proto::EventError>(())
/// ```
pub fn member_outcome(event: &Event) -> Option<MemberOutcome> {
    if event.subclass().as_deref() != Some(SUBCLASS) {
        return None;
    }
    let header = |name: &str| event.header(name).map(|v| v.into_owned());
    let time = |name: &str| {
        header(name)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|t| (1..=MAX_SECONDS).contains(t))
    };
    let queue = header("CC-Queue").filter(|q| esl::api::is_call_center_name(q))?;
    // mod_callcenter's member ids are UUIDs: nothing else reaches the database.
    let member = header("CC-Member-UUID").filter(|m| is_uuid(m))?;
    let step = match header("CC-Action").as_deref()? {
        "member-queue-start" => MemberStep::Joined,
        "bridge-agent-start" => MemberStep::Answered(time("CC-Agent-Answered-Time")?),
        "member-queue-end" if header("CC-Cause").as_deref() == Some("Cancel") => {
            MemberStep::Abandoned(time("CC-Member-Leaving-Time")?)
        }
        _ => return None,
    };
    // mod_callcenter's member-queue-start has no joined time: the event's own is it.
    let sent = header("Event-Date-Timestamp")
        .and_then(|v| v.parse::<i64>().ok())
        .map(|us| us / 1_000_000)
        .filter(|t| (1..=MAX_SECONDS).contains(t));
    let joined_at = match step {
        MemberStep::Joined => time("CC-Member-Joined-Time").or(sent)?,
        MemberStep::Answered(at) | MemberStep::Abandoned(at) => {
            time("CC-Member-Joined-Time").map_or(at, |joined| joined.min(at))
        }
    };
    Some(MemberOutcome {
        queue,
        member,
        joined_at,
        step,
    })
}

/// The agent (`name@tenant`) and status an `agent-status-change` event reports, if it is one
/// with a status mod_callcenter names (what the platform stores as the agent's status).
///
/// ```
/// use esl::proto::{Event, EventFormat};
/// use platform::contact_center::agent_status;
///
/// let event = Event::parse(
///     bytes::Bytes::from_static(b"Event-Name: CUSTOM\nEvent-Subclass: callcenter%3A%3Ainfo\nCC-Action: agent-status-change\nCC-Agent: 1001%40acme\nCC-Agent-Status: On%20Break\n\n"),
///     EventFormat::Plain,
///     64,
/// )?;
/// assert_eq!(agent_status(&event), Some(("1001@acme".into(), "On Break".into())));
/// # Ok::<(), esl::proto::EventError>(())
/// ```
pub fn agent_status(event: &Event) -> Option<(String, String)> {
    if event.subclass().as_deref() != Some(SUBCLASS)
        || event.header("CC-Action").as_deref() != Some("agent-status-change")
    {
        return None;
    }
    let agent = event
        .header("CC-Agent")
        .filter(|a| esl::api::is_call_center_name(a))?;
    let status = esl::api::AgentStatus::parse(&event.header("CC-Agent-Status")?)?;
    Some((agent.into_owned(), status.as_str().to_owned()))
}
