//! `/api/queues`: the tenant's queues and which agents answer them (tiers). Admins write them;
//! every change is stored, then applied on every FreeSWITCH node with `callcenter_config` (no
//! reload), and the answer says which nodes took it.

use super::body::Body;
use super::extract::Path;
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use esl::api::CallCenterChange;
use platform::inbound::qualified;
use platform::store::{QueueRow, TierRow};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QueueBody {
    /// The name it is dialled by in the tenant's context (none: no call reaches it).
    #[serde(default)]
    extension: Option<String>,
    #[serde(default = "default_strategy")]
    strategy: String,
    #[serde(default)]
    moh_sound: Option<String>,
    #[serde(default = "default_service_level")]
    service_level_seconds: u32,
}

fn default_strategy() -> String {
    "longest-idle-agent".into()
}

fn default_service_level() -> u32 {
    20
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TierBody {
    #[serde(default = "one")]
    level: i64,
    #[serde(default = "one")]
    position: i64,
}

fn one() -> i64 {
    1
}

fn queue_json(queue: &QueueRow, tiers: &[TierRow]) -> Value {
    let agents: Vec<Value> = tiers
        .iter()
        .filter(|t| t.queue == queue.name)
        .map(|t| json!({ "agent": t.agent, "level": t.level, "position": t.position }))
        .collect();
    json!({
        "name": queue.name,
        "extension": queue.extension,
        "strategy": queue.strategy,
        "moh_sound": queue.moh_sound,
        "service_level_seconds": queue.service_level_seconds,
        "agents": agents,
    })
}

/// The tenant's queues with their agents.
pub(super) async fn queues(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<Value>, ApiError> {
    let store = state.cache.store();
    let tiers = store.tiers(&claims.tenant).await?;
    let queues: Vec<Value> = store
        .queues(&claims.tenant)
        .await?
        .iter()
        .map(|q| queue_json(q, &tiers))
        .collect();
    Ok(Json(json!({ "queues": queues })))
}

/// Adds or replaces a queue; the nodes load it (or read it again).
pub(super) async fn put_queue(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    Body(body): Body<QueueBody>,
) -> Result<Json<Value>, ApiError> {
    let store = state.cache.store();
    let existed = store
        .queues(&admin.tenant)
        .await?
        .iter()
        .any(|q| q.name == name);
    let row = QueueRow {
        tenant: admin.tenant.clone(),
        name,
        extension: body.extension,
        strategy: body.strategy,
        moh_sound: body.moh_sound,
        service_level_seconds: body.service_level_seconds,
    };
    store.put_queue(&row).await?;
    let queue = qualified(&row.name, &row.tenant);
    let change = if existed {
        CallCenterChange::QueueReload(queue)
    } else {
        CallCenterChange::QueueLoad(queue)
    };
    let nodes = super::apply(&state, &[change]).await;
    let tiers = store.tiers(&admin.tenant).await?;
    Ok(Json(
        json!({ "queue": queue_json(&row, &tiers), "nodes": nodes }),
    ))
}

/// Removes a queue (refused while a DID or a menu sends calls to it); the nodes drop its
/// tiers and unload it.
pub(super) async fn delete_queue(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.cache.store();
    let tiers = store.tiers(&admin.tenant).await?;
    if !store.delete_queue(&admin.tenant, &name).await? {
        return Err(ApiError::NotFound);
    }
    let queue = qualified(&name, &admin.tenant);
    let mut changes: Vec<CallCenterChange> = tiers
        .iter()
        .filter(|t| t.queue == name)
        .map(|t| CallCenterChange::TierDel {
            queue: queue.clone(),
            agent: qualified(&t.agent, &admin.tenant),
        })
        .collect();
    changes.push(CallCenterChange::QueueUnload(queue));
    let nodes = super::apply(&state, &changes).await;
    Ok(Json(json!({ "deleted": name, "nodes": nodes })))
}

/// Puts an agent on a queue (or moves it to another level or position).
pub(super) async fn put_tier(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path((queue, agent)): Path<(String, String)>,
    Body(body): Body<TierBody>,
) -> Result<Json<Value>, ApiError> {
    let row = TierRow {
        tenant: admin.tenant.clone(),
        queue,
        agent,
        level: body.level,
        position: body.position,
    };
    state.cache.store().put_tier(&row).await?;
    let (queue, agent) = (
        qualified(&row.queue, &row.tenant),
        qualified(&row.agent, &row.tenant),
    );
    // Checked by the store: 1 to 1000.
    let (level, position) = (row.level as u32, row.position as u32);
    let changes = [
        CallCenterChange::TierAdd {
            queue: queue.clone(),
            agent: agent.clone(),
            level,
            position,
        },
        CallCenterChange::TierLevel {
            queue: queue.clone(),
            agent: agent.clone(),
            level,
        },
        CallCenterChange::TierPosition {
            queue,
            agent,
            position,
        },
    ];
    let nodes = super::apply(&state, &changes).await;
    Ok(Json(json!({
        "queue": row.queue, "agent": row.agent, "level": row.level, "position": row.position,
        "nodes": nodes,
    })))
}

/// Takes an agent off a queue.
pub(super) async fn delete_tier(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path((queue, agent)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    if !state
        .cache
        .store()
        .delete_tier(&admin.tenant, &queue, &agent)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let change = CallCenterChange::TierDel {
        queue: qualified(&queue, &admin.tenant),
        agent: qualified(&agent, &admin.tenant),
    };
    let nodes = super::apply(&state, &[change]).await;
    Ok(Json(
        json!({ "queue": queue, "agent": agent, "deleted": true, "nodes": nodes }),
    ))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
