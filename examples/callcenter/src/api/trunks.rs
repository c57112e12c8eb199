//! `/api/operator/trunks`: the SIP trunks (sofia gateways), served to FreeSWITCH in the
//! directory and applied live on every node (see
//! [`EslWorker::apply_sofia`](crate::roles::esl_worker::EslWorker::apply_sofia)). A trunk's
//! password is write-only.

use super::body::Body;
use super::extract::Path;
use super::{ApiError, ApiState, Operator};
use crate::roles::esl_worker::GATEWAY_DROP;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use esl::api::{SofiaAction, SofiaProfile};
use platform::trunks::TrunkRow;
use serde::Deserialize;
use serde_json::json;

/// `PUT`: the whole trunk, every field required (`null` where allowed) but the password,
/// which may be left out to keep the stored one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrunkBody {
    profile: String,
    proxy: String,
    #[serde(deserialize_with = "super::fields::required")]
    realm: Option<String>,
    #[serde(deserialize_with = "super::fields::required")]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    register: bool,
    #[serde(deserialize_with = "super::fields::required")]
    from_domain: Option<String>,
    caller_id_in_from: bool,
    /// Seconds a registration lasts (60 to 86400; sofia's default is 3600).
    expire_seconds: u32,
    /// Seconds between failed registrations (5 to 3600; sofia's default is 30).
    retry_seconds: u32,
}

fn trunk_json(trunk: &TrunkRow) -> serde_json::Value {
    json!({
        "name": trunk.name,
        "profile": trunk.profile,
        "proxy": trunk.proxy,
        "realm": trunk.realm,
        "username": trunk.username,
        "has_password": trunk.password.is_some(),
        "register": trunk.register,
        "from_domain": trunk.from_domain,
        "caller_id_in_from": trunk.caller_id_in_from,
        "expire_seconds": trunk.expire_seconds,
        "retry_seconds": trunk.retry_seconds,
    })
}

/// `GET /api/operator/trunks`.
pub(super) async fn trunks(
    State(state): State<ApiState>,
    _operator: Operator,
) -> Result<Json<serde_json::Value>, ApiError> {
    let trunks = state.cache.store().trunks(None).await?;
    let items: Vec<_> = trunks.iter().map(trunk_json).collect();
    Ok(Json(json!({ "trunks": items })))
}

/// `GET /api/operator/trunks/{trunk}`.
pub(super) async fn trunk(
    State(state): State<ApiState>,
    _operator: Operator,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let trunk = state
        .cache
        .store()
        .trunk(&name)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(trunk_json(&trunk)))
}

/// `PUT /api/operator/trunks/{trunk}`: stored, then applied on every node: a new trunk by a
/// rescan of its profile; a changed one is killed and, once sofia has dropped it (a few
/// seconds), added again by a rescan; the answer names the nodes that have it.
pub(super) async fn put_trunk(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(name): Path<String>,
    Body(body): Body<TrunkBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.cache.store();
    let password = match body.password {
        Some(password) => Some(password),
        None => store.trunk(&name).await?.and_then(|t| t.password),
    };
    let trunk = TrunkRow {
        name,
        profile: body.profile,
        proxy: body.proxy,
        realm: body.realm,
        username: body.username,
        password,
        register: body.register,
        from_domain: body.from_domain,
        caller_id_in_from: body.caller_id_in_from,
        expire_seconds: body.expire_seconds,
        retry_seconds: body.retry_seconds,
    };
    let before = crate::admin::put_trunk(store, &trunk).await?;
    tracing::info!(operator = ?operator.sub, trunk = %trunk.name, "trunk saved");
    let rescan = SofiaProfile {
        profile: trunk.profile.clone(),
        action: SofiaAction::Rescan,
    };
    let nodes = match (&state.esl, before) {
        (None, _) => Vec::new(),
        // Nothing changed: nothing to tell the nodes (a kill would drop its registration).
        (Some(_), Some(before)) if before == trunk => Vec::new(),
        (Some(worker), None) => worker.apply_sofia(&[rescan]).await,
        // Sofia never changes a gateway it has: the old one goes first, and the new one is
        // read once sofia has dropped it. Done before answering, so the answer says whether
        // each node has the new trunk.
        (Some(worker), Some(before)) => {
            let kill = SofiaProfile {
                profile: before.profile.clone(),
                action: SofiaAction::KillGateway(before.name.clone()),
            };
            let killed = worker.apply_sofia(&[kill]).await;
            tokio::time::sleep(GATEWAY_DROP).await;
            let added = worker.apply_sofia(&[rescan]).await;
            killed
                .into_iter()
                .zip(added)
                .map(|(killed, added)| if killed.applied { added } else { killed })
                .collect()
        }
    };
    let mut answer = trunk_json(&trunk);
    answer["nodes"] = json!(nodes);
    Ok(Json(answer))
}

/// `DELETE /api/operator/trunks/{trunk}`: refused (409) while a tenant goes out by it;
/// killed on every node.
pub(super) async fn delete_trunk(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let removed = state.cache.store().delete_trunk(&name).await?;
    let Some(trunk) = removed else {
        return Err(ApiError::NotFound);
    };
    tracing::info!(operator = ?operator.sub, trunk = %trunk.name, "trunk removed");
    if let Some(worker) = &state.esl {
        worker
            .apply_sofia(&[SofiaProfile {
                profile: trunk.profile,
                action: SofiaAction::KillGateway(trunk.name),
            }])
            .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
