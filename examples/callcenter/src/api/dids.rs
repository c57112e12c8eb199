//! `/api/dids`: the tenant's DIDs (numbers on the platform's trunks, given to tenants by the
//! operator) and where each sends its calls; an admin routes them.

use super::body::Body;
use super::extract::Path;
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use platform::identity::InvalidValue;
use platform::inbound::{Did, DidRoute};
use platform::store::PlatformError;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteBody {
    /// `extension:NAME`, `queue:NAME`, `menu:NAME`, `group:NAME`, `schedule:NAME` or `outside:NUMBER`; `null`: calls to the
    /// number are refused.
    route: Option<String>,
}

fn did_json(did: &Did) -> Value {
    json!({
        "number": did.number,
        "route": did.route.as_ref().map(|r| format!("{}:{}", r.kind(), r.target())),
        "destination": did.destination,
    })
}

/// The tenant's DIDs with their routes.
pub(super) async fn dids(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<Value>, ApiError> {
    let dids = state.cache.store().dids(&claims.tenant).await?;
    let dids: Vec<Value> = dids.iter().map(did_json).collect();
    Ok(Json(json!({ "dids": dids })))
}

/// Routes one of the tenant's DIDs.
pub(super) async fn put_route(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(number): Path<String>,
    Body(body): Body<RouteBody>,
) -> Result<Json<Value>, ApiError> {
    let route = body
        .route
        .as_deref()
        .map(str::parse::<DidRoute>)
        .transpose()
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let store = state.cache.store();
    match store
        .route_did(&number, &admin.tenant, route.as_ref())
        .await
    {
        // Another tenant's number is not this tenant's to know about.
        Err(PlatformError::Invalid(InvalidValue::NotOwned(_))) => return Err(ApiError::NotFound),
        other => other?,
    }
    let did = store.did(&number).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(did_json(&did)))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
