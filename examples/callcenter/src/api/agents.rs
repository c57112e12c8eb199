//! `/api/agents`: the tenant's call-center agents. An agent is one of the tenant's extensions
//! (the agent named as it, signed in as that extension's user): mod_callcenter calls it at
//! `user/<extension>@<domain>`, a contact the platform writes, never the tenant. Admins add and
//! remove agents; each change is stored, then applied on every node with `callcenter_config`.

use super::body::Body;
use super::extract::Path;
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use esl::api::{AgentStatus, CallCenterChange};
use platform::inbound::qualified;
use platform::store::AgentRow;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AgentBody {
    /// Its status (a new agent starts `Logged Out`; an existing one keeps its own).
    #[serde(default)]
    status: Option<String>,
}

fn agent_json(agent: &AgentRow) -> Value {
    json!({ "name": agent.name, "contact": agent.contact, "status": agent.status })
}

/// A status as mod_callcenter names it, or a 400 listing them.
pub(super) fn parse_status(text: &str) -> Result<AgentStatus, ApiError> {
    AgentStatus::parse(text).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "status is one of {}",
            AgentStatus::ALL.map(AgentStatus::as_str).join(", ")
        ))
    })
}

/// The tenant's agents.
pub(super) async fn agents(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<Value>, ApiError> {
    let agents = state.cache.store().agents(&claims.tenant).await?;
    let agents: Vec<Value> = agents.iter().map(agent_json).collect();
    Ok(Json(json!({ "agents": agents })))
}

/// Makes extension `name` an agent (or sets an agent's status); the nodes add it, set its
/// contact and status.
pub(super) async fn put_agent(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    Body(body): Body<AgentBody>,
) -> Result<Json<Value>, ApiError> {
    let status = body.status.as_deref().map(parse_status).transpose()?;
    let store = state.cache.store();
    let tenant = store
        .tenant(&admin.tenant)
        .await?
        .ok_or(ApiError::NotFound)?;
    if store.extension(&admin.tenant, &name).await?.is_none() {
        return Err(ApiError::BadRequest(format!(
            "an agent is one of the tenant's extensions; there is no extension {name:?}"
        )));
    }
    let contact = format!("user/{name}@{}", tenant.domain);
    let row = store
        .put_agent_contact(
            &admin.tenant,
            &name,
            &contact,
            status.map(AgentStatus::as_str),
        )
        .await?;
    // As stored: the status given, or the one the agent has.
    let status = AgentStatus::parse(&row.status).unwrap_or(AgentStatus::LoggedOut);
    let agent = qualified(&row.name, &row.tenant);
    let changes = [
        CallCenterChange::AgentAdd {
            agent: agent.clone(),
        },
        CallCenterChange::AgentContact {
            agent: agent.clone(),
            contact: row.contact.clone(),
        },
        CallCenterChange::AgentStatus { agent, status },
    ];
    let nodes = super::apply(&state, &changes).await;
    Ok(Json(json!({ "agent": agent_json(&row), "nodes": nodes })))
}

/// Removes an agent and its tiers, on the nodes too.
pub(super) async fn delete_agent(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !state
        .cache
        .store()
        .delete_agent(&admin.tenant, &name)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let change = CallCenterChange::AgentDel {
        agent: qualified(&name, &admin.tenant),
    };
    let nodes = super::apply(&state, &[change]).await;
    Ok(Json(json!({ "deleted": name, "nodes": nodes })))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
