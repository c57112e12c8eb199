//! `/api/contact-center`: the tenant's queues and agents as the nodes' mod_callcenter reports
//! them (members waiting, who answered, the counts; agent status, state and call), the same
//! state `/ws` sends as `queue_changed` and `agent_changed`; `/api/agents/{agent}/status`:
//! an agent's status, set by the agent (or an admin) and applied on every node at once.

use super::agents::{AgentName, StatusText, parse_status};
use super::body::Body;
use super::extract::{Path, Query};
use super::queues::{NodeOutcome, node_outcomes};
use super::{ApiError, ApiState, Caller, Role};
use axum::Json;
use axum::extract::State;
use esl::api::CallCenterChange;
use platform::clock::unix_seconds;
use platform::contact_center as live;
use platform::inbound::qualified;
use platform::statistics::{day_of, is_day};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A queue as the nodes' mod_callcenter reports it: its members and the counts since the
/// state was made.
#[derive(Serialize, ToSchema)]
pub(super) struct Queue {
    /// name@tenant.
    name: String,
    /// Members in the queue, in the order they joined (answered ones too, until they leave).
    members: Vec<QueueMember>,
    /// Members who joined.
    offered: u64,
    /// Members an agent answered.
    answered: u64,
    /// Members who left before an agent answered.
    abandoned: u64,
    /// Seconds the answered members waited, in all.
    answer_wait_seconds: u64,
    /// Answered members who waited at most the service level's seconds.
    answered_in_time: u64,
}

impl From<live::Queue> for Queue {
    fn from(queue: live::Queue) -> Self {
        Queue {
            name: queue.name,
            members: queue.members.into_iter().map(QueueMember::from).collect(),
            offered: queue.offered,
            answered: queue.answered,
            abandoned: queue.abandoned,
            answer_wait_seconds: queue.answer_wait_seconds,
            answered_in_time: queue.answered_in_time,
        }
    }
}

/// A caller in a queue.
#[derive(Serialize, ToSchema)]
pub(super) struct QueueMember {
    /// mod_callcenter's id of the member.
    uuid: String,
    /// The caller's channel.
    session_uuid: String,
    caller_number: String,
    /// Unix seconds.
    joined_at: i64,
    /// The agent offered the call or talking with the caller.
    #[schema(required = true)]
    agent: Option<String>,
    /// When an agent answered, Unix seconds.
    #[schema(required = true)]
    answered_at: Option<i64>,
}

impl From<live::Member> for QueueMember {
    fn from(member: live::Member) -> Self {
        QueueMember {
            uuid: member.uuid,
            session_uuid: member.session_uuid,
            caller_number: member.caller_number,
            joined_at: member.joined_at,
            agent: member.agent,
            answered_at: member.answered_at,
        }
    }
}

/// An agent as the nodes' mod_callcenter reports it.
#[derive(Serialize, ToSchema)]
pub(super) struct Agent {
    /// name@tenant.
    name: String,
    /// `Available`, `On Break`, `Logged Out`, ... as mod_callcenter reports it.
    status: String,
    /// `Waiting`, `Receiving`, `In a queue call`, `Idle`, ... as mod_callcenter reports it.
    state: String,
    /// The call offered to it or being talked.
    #[schema(required = true)]
    call: Option<AgentCall>,
    /// Calls it answered and finished.
    calls_answered: u64,
    /// Seconds it talked, in all, over those calls.
    talk_seconds: u64,
}

impl From<live::Agent> for Agent {
    fn from(agent: live::Agent) -> Self {
        Agent {
            name: agent.name,
            status: agent.status,
            state: agent.state,
            call: agent.call.map(AgentCall::from),
            calls_answered: agent.calls_answered,
            talk_seconds: agent.talk_seconds,
        }
    }
}

/// The call an agent is offered or talking.
#[derive(Serialize, ToSchema)]
pub(super) struct AgentCall {
    queue: String,
    /// The caller's channel.
    member_session_uuid: String,
    caller_number: String,
    /// When it answered, Unix seconds (null while it is offered).
    #[schema(required = true)]
    answered_at: Option<i64>,
}

impl From<live::AgentCall> for AgentCall {
    fn from(call: live::AgentCall) -> Self {
        AgentCall {
            queue: call.queue,
            member_session_uuid: call.member_session_uuid,
            caller_number: call.caller_number,
            answered_at: call.answered_at,
        }
    }
}

/// The tenant's queues and agents, live.
#[derive(Serialize, ToSchema)]
pub(super) struct ContactCenter {
    queues: Vec<Queue>,
    agents: Vec<Agent>,
}

/// The tenant's call-center queues and agents, live.
///
/// By name.
#[utoipa::path(
    get,
    path = "/api/contact-center",
    tag = "contact-center",
    responses(
        (status = 200, description = "Queues and agents", body = ContactCenter),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn contact_center(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<ContactCenter>, ApiError> {
    let (queues, agents) = super::live::required(&state)?.contact_center(&claims.tenant);
    Ok(Json(ContactCenter {
        queues: queues.into_iter().map(Queue::from).collect(),
        agents: agents.into_iter().map(Agent::from).collect(),
    }))
}

/// An agent's new status: `Available`, `Available (On Demand)`, `On Break` or `Logged Out`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "On Break"}))]
pub(super) struct StatusRequest {
    // Described on the struct: a field's description would wrap its inlined schema.
    #[schema(value_type = StatusText, inline)]
    status: String,
}

/// An agent's status as set, and which nodes took it.
#[derive(Serialize, ToSchema)]
pub(super) struct StatusSet {
    agent: String,
    status: String,
    /// Each FreeSWITCH node of this process's ESL worker and whether it took the change (empty
    /// without a worker).
    nodes: Vec<NodeOutcome>,
}

/// Sets an agent's status: stored and applied on every FreeSWITCH node at once (an agent its
/// own, the agent named as its extension; an admin any of the tenant's).
///
/// Stored as the status `callcenter.conf` serves it with, and set on every node with
/// `callcenter_config agent set status`; the answer says which nodes took it.
#[utoipa::path(
    put,
    path = "/api/agents/{agent}/status",
    tag = "contact-center",
    params(AgentName),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The status set", body = StatusSet),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn set_status(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path(agent): Path<String>,
    Body(request): Body<StatusRequest>,
) -> Result<Json<StatusSet>, ApiError> {
    let status = parse_status(&request.status)?;
    if claims.role == Role::Agent && claims.extension.as_deref() != Some(agent.as_str()) {
        return Err(ApiError::Forbidden("agents set their own status".into()));
    }
    let store = state.cache.store();
    if !store
        .set_agent_status(&claims.tenant, &agent, status.as_str())
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let change = CallCenterChange::AgentStatus {
        agent: qualified(&agent, &claims.tenant),
        status,
    };
    let nodes = node_outcomes(super::apply(&state, &[change]).await);
    Ok(Json(StatusSet {
        agent,
        status: status.as_str().to_owned(),
        nodes,
    }))
}

/// The day of `GET /api/contact-center/statistics`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DayQuery {
    /// `YYYY-MM-DD`, the tenant's day; today when absent.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-12-06")]
    day: Option<String>,
}

/// One queue's day.
#[derive(Serialize, ToSchema)]
pub(super) struct QueueDay {
    /// The queue's name (without its tenant).
    queue: String,
    /// Callers who joined.
    offered: u64,
    /// Callers an agent answered.
    answered: u64,
    /// Callers who left before an agent answered.
    abandoned: u64,
    /// Seconds the answered callers waited, in all.
    answer_wait_seconds: u64,
    /// Average seconds an answered caller waited, rounded to the nearest second (null before
    /// the first answer).
    #[schema(required = true)]
    average_answer_seconds: Option<u64>,
    /// Answered callers who waited at most the threshold.
    answered_within_threshold: u64,
    /// The queue's threshold, seconds.
    threshold_seconds: u32,
    /// answered_within_threshold / (answered + abandoned), whole percent rounded down (null
    /// before any outcome).
    #[schema(required = true, maximum = 100)]
    service_level_percent: Option<u64>,
}

impl From<platform::statistics::QueueDay> for QueueDay {
    fn from(day: platform::statistics::QueueDay) -> Self {
        QueueDay {
            queue: day.queue,
            offered: day.offered,
            answered: day.answered,
            abandoned: day.abandoned,
            answer_wait_seconds: day.answer_wait_seconds,
            average_answer_seconds: day.average_answer_seconds,
            answered_within_threshold: day.answered_within_threshold,
            threshold_seconds: day.threshold_seconds,
            service_level_percent: day.service_level_percent,
        }
    }
}

/// The tenant's queues' statistics for one of its days.
#[derive(Serialize, ToSchema)]
pub(super) struct Statistics {
    /// `YYYY-MM-DD`.
    day: String,
    /// The tenant's time zone (an IANA name; UTC when it has none).
    time_zone: String,
    queues: Vec<QueueDay>,
}

/// The tenant's queues' statistics for one of its days (its time zone): offered, answered,
/// abandoned, average speed of answer, service level.
///
/// Today by default, in its time zone.
#[utoipa::path(
    get,
    path = "/api/contact-center/statistics",
    tag = "contact-center",
    params(DayQuery),
    responses(
        (status = 200, description = "The day", body = Statistics),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn statistics(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Query(query): Query<DayQuery>,
) -> Result<Json<Statistics>, ApiError> {
    let store = state.cache.store();
    let tenant = store
        .tenant(&claims.tenant)
        .await?
        .ok_or(ApiError::NotFound)?;
    let time_zone = tenant.time_zone.as_deref();
    let day = match query.day {
        Some(day) if is_day(&day) => day,
        Some(_) => return Err(ApiError::BadRequest("day is YYYY-MM-DD".into())),
        None => day_of(time_zone, unix_seconds()),
    };
    let queues = store.daily_statistics(&claims.tenant, &day).await?;
    Ok(Json(Statistics {
        day,
        time_zone: time_zone.unwrap_or("UTC").to_owned(),
        queues: queues.into_iter().map(QueueDay::from).collect(),
    }))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(contact_center, set_status, statistics))]
pub(super) struct Routes;
