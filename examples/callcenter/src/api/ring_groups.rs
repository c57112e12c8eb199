//! `/api/ring-groups`: the tenant's ring groups (a dial name ringing several of its extensions,
//! at once or in turn). Admins write them; the dialplan reads them on the next call.

use super::body::Body;
use super::extract::Path;
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use platform::ring_groups::{RingGroupRow, RingStrategy};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RingGroupBody {
    /// The name it is dialled by in the tenant's context.
    #[serde(default)]
    extension: Option<String>,
    /// `simultaneous` (default) or `sequential`.
    #[serde(default)]
    strategy: Option<String>,
    /// Seconds each member rings (default 20).
    #[serde(default = "ring_seconds")]
    ring_seconds: u32,
    /// The tenant's extensions, in order.
    members: Vec<String>,
}

fn ring_seconds() -> u32 {
    20
}

fn group_json(group: &RingGroupRow) -> Value {
    json!({
        "name": group.name,
        "extension": group.extension,
        "strategy": group.strategy.as_str(),
        "ring_seconds": group.ring_seconds,
        "members": group.members,
    })
}

/// The tenant's ring groups.
pub(super) async fn ring_groups(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<Value>, ApiError> {
    let groups = state.cache.store().ring_groups(&claims.tenant).await?;
    let groups: Vec<Value> = groups.iter().map(group_json).collect();
    Ok(Json(json!({ "ring_groups": groups })))
}

/// Adds or replaces a ring group.
pub(super) async fn put_ring_group(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    Body(body): Body<RingGroupBody>,
) -> Result<Json<Value>, ApiError> {
    let strategy = match body.strategy.as_deref() {
        None => RingStrategy::Simultaneous,
        Some(text) => text
            .parse()
            .map_err(|error: platform::identity::InvalidValue| {
                ApiError::BadRequest(error.to_string())
            })?,
    };
    let group = RingGroupRow {
        tenant: admin.tenant,
        name,
        extension: body.extension,
        strategy,
        ring_seconds: body.ring_seconds,
        members: body.members,
    };
    state.cache.store().put_ring_group(&group).await?;
    Ok(Json(group_json(&group)))
}

/// Removes a ring group (refused while a DID or a menu sends calls to it).
pub(super) async fn delete_ring_group(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let found = state
        .cache
        .store()
        .delete_ring_group(&admin.tenant, &name)
        .await?;
    super::removed(found)
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
