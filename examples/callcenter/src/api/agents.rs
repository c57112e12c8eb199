//! `/api/agents`: the tenant's call-center agents. An agent is one of the tenant's extensions
//! (the agent named as it, signed in as that extension's user): mod_callcenter calls it at
//! `user/<extension>@<domain>`, a contact the platform writes, never the tenant. Admins add and
//! remove agents; each change is stored, then applied on every node with `callcenter_config`.

use super::body::Body;
use super::extract::Path;
use super::queues::{NodeOutcome, node_outcomes};
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use esl::api::{AgentStatus, CallCenterChange};
use platform::inbound::qualified;
use platform::store::AgentRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

/// The statuses an agent may be given (an [`AgentStatus`] as mod_callcenter names it), for the
/// description.
#[allow(dead_code)] // Names a schema only.
pub(super) struct StatusText;

impl utoipa::PartialSchema for StatusText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(AgentStatus::ALL.map(AgentStatus::as_str)))
            .into()
    }
}

impl ToSchema for StatusText {}

/// The path parameter of one agent.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
pub(super) struct AgentName {
    /// The agent: one of the tenant's extensions.
    #[param(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", example = "1000")]
    agent: String,
}

/// `PUT`: the agent's status, if any (a new agent starts `Logged Out`; an existing one keeps
/// its own).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "Available"}))]
pub(super) struct AgentBody {
    // Described on the struct: a field's description would wrap its inlined schema.
    #[serde(default)]
    #[schema(value_type = Option<StatusText>, inline, nullable = false)]
    status: Option<String>,
}

/// An agent as stored.
#[derive(Serialize, ToSchema)]
pub(super) struct ProvisionedAgent {
    /// The extension the agent is.
    name: String,
    contact: String,
    status: String,
}

impl From<&AgentRow> for ProvisionedAgent {
    fn from(agent: &AgentRow) -> Self {
        ProvisionedAgent {
            name: agent.name.clone(),
            contact: agent.contact.clone(),
            status: agent.status.clone(),
        }
    }
}

/// The tenant's agents.
#[derive(Serialize, ToSchema)]
pub(super) struct AgentList {
    agents: Vec<ProvisionedAgent>,
}

/// An agent stored, and which nodes took it.
#[derive(Serialize, ToSchema)]
pub(super) struct AgentApplied {
    agent: ProvisionedAgent,
    /// Each FreeSWITCH node of this process's ESL worker and whether it took the change (empty
    /// without a worker).
    nodes: Vec<NodeOutcome>,
}

/// An agent removed, and which nodes took it.
#[derive(Serialize, ToSchema)]
pub(super) struct AgentDeleted {
    /// The agent removed.
    deleted: String,
    /// Each FreeSWITCH node of this process's ESL worker and whether it took the change (empty
    /// without a worker).
    nodes: Vec<NodeOutcome>,
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
#[utoipa::path(
    get,
    path = "/api/agents",
    tag = "agents",
    responses(
        (status = 200, description = "Agents", body = AgentList),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn agents(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<AgentList>, ApiError> {
    let agents = state.cache.store().agents(&claims.tenant).await?;
    let agents = agents.iter().map(ProvisionedAgent::from).collect();
    Ok(Json(AgentList { agents }))
}

/// Makes an extension an agent, called at user/<extension>@<domain> (admins); a new agent
/// starts Logged Out.
///
/// Also sets an agent's status; the nodes add it, set its contact and status.
#[utoipa::path(
    put,
    path = "/api/agents/{agent}",
    tag = "agents",
    params(AgentName),
    request_body = AgentBody,
    responses(
        (status = 200, description = "The agent", body = AgentApplied),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_agent(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    Body(body): Body<AgentBody>,
) -> Result<Json<AgentApplied>, ApiError> {
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
    let nodes = node_outcomes(super::apply(&state, &changes).await);
    Ok(Json(AgentApplied {
        agent: ProvisionedAgent::from(&row),
        nodes,
    }))
}

/// Removes an agent and its tiers (admins).
///
/// On the nodes too.
#[utoipa::path(
    delete,
    path = "/api/agents/{agent}",
    tag = "agents",
    params(AgentName),
    responses(
        (status = 200, description = "Removed", body = AgentDeleted),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn delete_agent(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<Json<AgentDeleted>, ApiError> {
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
    let nodes = node_outcomes(super::apply(&state, &[change]).await);
    Ok(Json(AgentDeleted {
        deleted: name,
        nodes,
    }))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(agents, put_agent, delete_agent))]
pub(super) struct Routes;
