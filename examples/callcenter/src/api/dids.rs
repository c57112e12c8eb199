//! `/api/dids`: the tenant's DIDs (numbers on the platform's trunks, given to tenants by the
//! operator) and where each sends its calls; an admin routes them.

use super::body::Body;
use super::extract::Path;
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use platform::identity::InvalidValue;
use platform::inbound::DidRoute;
use platform::store::PlatformError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `PUT`: the DID's route.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"route": "queue:support"}))]
pub(super) struct RouteBody {
    /// `extension:NAME`, `queue:NAME`, `menu:NAME`, `group:NAME`, `schedule:NAME` or
    /// `outside:NUMBER`; `null`: calls to the number are refused. Required: a PUT that
    /// forgets it is refused, not taken as "refuse the calls".
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true)]
    route: Option<String>,
}

/// A DID and where it sends its calls.
#[derive(Serialize, ToSchema)]
pub(super) struct Did {
    number: String,
    /// `kind:target`, as a PUT names it; null: its calls are refused.
    #[schema(required = true)]
    route: Option<String>,
    /// What a call is transferred to in the tenant's context; null when the route reaches
    /// nothing.
    #[schema(required = true)]
    destination: Option<String>,
}

impl From<&platform::inbound::Did> for Did {
    fn from(did: &platform::inbound::Did) -> Self {
        Did {
            number: did.number.clone(),
            route: did
                .route
                .as_ref()
                .map(|r| format!("{}:{}", r.kind(), r.target())),
            destination: did.destination.clone(),
        }
    }
}

/// The tenant's DIDs.
#[derive(Serialize, ToSchema)]
pub(super) struct DidList {
    dids: Vec<Did>,
}

/// The path parameter of one DID.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct DidNumber {
    /// One of the tenant's DIDs.
    #[param(pattern = r"^(\+[0-9]{7,31}|[0-9]{7,32})$", example = "+15551230000")]
    number: String,
}

/// The tenant's DIDs and where each sends its calls.
#[utoipa::path(
    get,
    path = "/api/dids",
    tag = "dids",
    responses(
        (status = 200, description = "DIDs", body = DidList),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn dids(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<DidList>, ApiError> {
    let dids = state.cache.store().dids(&claims.tenant).await?;
    let dids = dids.iter().map(Did::from).collect();
    Ok(Json(DidList { dids }))
}

/// Routes one of the tenant's DIDs (admins); another tenant's number does not exist here (404).
#[utoipa::path(
    put,
    path = "/api/dids/{number}",
    tag = "dids",
    params(DidNumber),
    request_body = RouteBody,
    responses(
        (status = 200, description = "The DID", body = Did),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_route(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(number): Path<String>,
    Body(body): Body<RouteBody>,
) -> Result<Json<Did>, ApiError> {
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
    Ok(Json(Did::from(&did)))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(dids, put_route))]
pub(super) struct Routes;
