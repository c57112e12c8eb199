//! `/api/calls`: the tenant's calls in progress, and click-to-call.

use super::body::Body;
use super::extract::Query;
use super::page::{Page, next};
use super::{ApiError, ApiState, Caller, Claims, Role};
use crate::roles::esl_worker::{EslWorker, NodeError};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use esl::api::{Destination as Dialplan, Endpoint, Originate, is_dialed_number, is_name};
use platform::calls::Call;
use platform::variables::ChannelVariables;
use serde::Deserialize;
use serde_json::json;

pub(super) fn esl(state: &ApiState) -> Result<&EslWorker, ApiError> {
    state
        .esl
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no FreeSWITCH node is configured".into()))
}

/// The tenant's calls in progress, by UUID, a page at a time (`after`, `limit`).
pub(super) async fn active_calls(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Query(page): Query<Page>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = page.limit()?;
    let mut calls: Vec<Call> = esl(&state)?.active_calls(&claims.tenant);
    calls.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    let calls: Vec<Call> = calls
        .into_iter()
        .filter(|c| {
            page.after
                .as_deref()
                .is_none_or(|after| c.uuid.as_str() > after)
        })
        .take(limit as usize)
        .collect();
    let next = next(&calls, limit, |c| c.uuid.clone());
    Ok(Json(json!({ "calls": calls, "next": next })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CallRequest {
    /// The number to call.
    to: String,
    /// The extension to ring first; an agent's own by default.
    from: Option<String>,
    /// The node to originate on; the first by default.
    node: Option<String>,
}

/// The extension a click-to-call rings first: an agent's own (and only theirs; an agent with
/// none cannot click-to-call), any of the tenant's for an admin.
fn caller_extension(claims: &Claims, from: Option<&str>) -> Result<String, ApiError> {
    match (claims.role, from, &claims.extension) {
        (Role::Agent, _, None) => Err(ApiError::Forbidden(
            "an agent without an extension of their own cannot click-to-call".into(),
        )),
        (Role::Agent, Some(from), Some(own)) if from != own => Err(ApiError::Forbidden(
            "agents call from their own extension".into(),
        )),
        (_, Some(from), _) => Ok(from.to_owned()),
        (_, None, Some(own)) => Ok(own.clone()),
        (_, None, None) => Err(ApiError::BadRequest("`from` is required".into())),
    }
}

/// Click-to-call: rings `from` (one of the tenant's extensions); once answered, it is connected
/// to `to` through the tenant's dialplan context (so prepaid limits and recording apply).
/// Answers 202 with the call's UUID at once; what becomes of it is on `/ws` and at
/// `GET /api/calls/{uuid}`.
pub(super) async fn click_to_call(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Body(request): Body<CallRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let from = caller_extension(&claims, request.from.as_deref())?;
    // The esl crate's rules: a number or an extension's name, nothing a dial string would
    // read as syntax.
    if !is_dialed_number(&request.to) && !is_name(&request.to) {
        return Err(ApiError::BadRequest(
            "`to` is a number (digits, optionally after one leading +, * or #) or an extension"
                .into(),
        ));
    }
    if !is_name(&from) {
        return Err(ApiError::BadRequest("`from` is an extension's name".into()));
    }
    let tenant = state
        .cache
        .tenant(&claims.tenant)
        .await?
        .ok_or(ApiError::NotFound)?;
    if state
        .cache
        .extension(&tenant.tenant, &from)
        .await?
        .is_none()
    {
        return Err(ApiError::BadRequest(format!(
            "{from} is not an extension of this tenant"
        )));
    }
    let uuid = uuid::Uuid::new_v4().to_string();
    let originate = Originate::new(
        Endpoint::User {
            user: from.clone(),
            domain: Some(tenant.domain.clone()),
        },
        Dialplan::Extension {
            extension: request.to.clone(),
            dialplan: Some("XML".into()),
            context: Some(tenant.context.clone()),
        },
    )
    .variable("origination_uuid", &uuid)
    .variable("origination_caller_id_number", &request.to)
    .variable(state.variables.tenant(), &tenant.tenant)
    .variable(ChannelVariables::CLICK_TO_CALL, &claims.sub);
    // FreeSWITCH answers an originate only once the first leg answered or failed: the call
    // is followed in the background, its progress comes as call events on /ws (`call_failed`
    // with FreeSWITCH's cause when it never connected), and GET /api/calls/{uuid} tells.
    esl(&state)?
        .place(request.node.as_deref(), originate, &tenant.tenant, &uuid)
        .map_err(|e| match e {
            NodeError::UnknownNode(_) | NodeError::Command(_) => {
                ApiError::BadRequest(e.to_string())
            }
            other => ApiError::dependency("FreeSWITCH", &other),
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "uuid": uuid, "state": "ringing", "from": from, "to": request.to })),
    ))
}

/// `GET /api/calls/{uuid}`: what became of one of the tenant's calls: `active` (in progress,
/// with the call), `ringing` or `failed` (placed by click-to-call, with FreeSWITCH's cause),
/// `ended` (its legs as stored, with their hangup causes); 404 for a call the tenant does not
/// have.
pub(super) async fn call(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    super::extract::Path(uuid): super::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if let Some(worker) = &state.esl {
        if let Some(call) = worker
            .active_calls(&claims.tenant)
            .into_iter()
            .find(|c| c.uuid == uuid)
        {
            return Ok(Json(
                json!({ "uuid": uuid, "state": "active", "call": call }),
            ));
        }
    }
    let legs = state.ledger.call(&claims.tenant, &uuid).await?;
    if !legs.is_empty() {
        let legs: Vec<_> = legs
            .iter()
            .map(|leg| {
                json!({
                    "uuid": leg.uuid, "leg": leg.leg, "billsec": leg.billsec,
                    "destination": leg.destination, "outcome": leg.outcome,
                    "amount": leg.amount.map(platform::balance::money_text),
                })
            })
            .collect();
        return Ok(Json(
            json!({ "uuid": uuid, "state": "ended", "legs": legs }),
        ));
    }
    let placed = state
        .esl
        .as_ref()
        .and_then(|worker| worker.placed(&claims.tenant, &uuid));
    match placed {
        // Connected but neither live nor stored: it ended and its CDR is on its way.
        Some(crate::roles::esl_worker::Placed::Connected) => {
            Ok(Json(json!({ "uuid": uuid, "state": "ended", "legs": [] })))
        }
        Some(placed) => {
            let mut answer = serde_json::to_value(placed)
                .map_err(|e| ApiError::internal("a placed call", &e))?;
            answer["uuid"] = json!(uuid);
            Ok(Json(answer))
        }
        None => Err(ApiError::NotFound),
    }
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
