//! `/api/contact-center`: the tenant's queues and agents as the nodes' mod_callcenter reports
//! them (members waiting, who answered, the counts; agent status, state and call), the same
//! state `/ws` sends as `queue_changed` and `agent_changed`; `/api/agents/{agent}/status`:
//! an agent's status, set by the agent (or an admin) and applied on every node at once.

use super::agents::parse_status;
use super::body::Body;
use super::calls::esl;
use super::extract::{Path, Query};
use super::{ApiError, ApiState, Caller, Role};
use axum::Json;
use axum::extract::State;
use esl::api::CallCenterChange;
use platform::clock::unix_seconds;
use platform::inbound::qualified;
use platform::statistics::{day_of, is_day};
use serde::Deserialize;
use serde_json::json;

/// The caller's tenant's queues and agents, by name.
pub(super) async fn contact_center(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (queues, agents) = esl(&state)?.contact_center(&claims.tenant);
    Ok(Json(json!({ "queues": queues, "agents": agents })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusRequest {
    /// `Available`, `Available (On Demand)`, `On Break` or `Logged Out`.
    status: String,
}

/// Sets agent `agent`'s status: stored (the status `callcenter.conf` serves it with) and set on
/// every node with `callcenter_config agent set status`; the answer says which nodes took it.
/// An agent sets its own status (the agent named as its extension); an admin any of the
/// tenant's agents.
pub(super) async fn set_status(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path(agent): Path<String>,
    Body(request): Body<StatusRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
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
    let nodes = super::apply(&state, &[change]).await;
    Ok(Json(
        json!({ "agent": agent, "status": status.as_str(), "nodes": nodes }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DayQuery {
    /// `YYYY-MM-DD`, the tenant's day; today when absent.
    day: Option<String>,
}

/// The tenant's queues' statistics for one of its days (today by default, in its time zone).
pub(super) async fn statistics(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Query(query): Query<DayQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
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
    Ok(Json(json!({
        "day": day,
        "time_zone": time_zone.unwrap_or("UTC"),
        "queues": queues,
    })))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
