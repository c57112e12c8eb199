//! `/api/calls`: the tenant's calls in progress, and click-to-call.

use super::body::Body;
use super::{ApiError, ApiState, Caller, Role};
use crate::roles::esl_worker::{EslWorker, NodeError};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use esl::api::{Destination as Dialplan, Endpoint, Originate};
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

pub(super) async fn active_calls(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let calls: Vec<Call> = esl(&state)?.active_calls(&claims.tenant);
    Ok(Json(json!({ "calls": calls })))
}

#[derive(Deserialize)]
pub(super) struct CallRequest {
    /// The number to call.
    to: String,
    /// The extension to ring first; an agent's own by default.
    from: Option<String>,
    /// The node to originate on; the first by default.
    node: Option<String>,
}

/// Click-to-call: rings `from` (one of the tenant's extensions); once answered, it is connected
/// to `to` through the tenant's dialplan context (so prepaid limits and recording apply).
/// Answers 202 with the call's UUID as soon as FreeSWITCH has accepted the job.
pub(super) async fn click_to_call(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Body(request): Body<CallRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let from = match (&request.from, &claims.extension, claims.role) {
        (Some(from), Some(own), Role::Agent) if from != own => {
            return Err(ApiError::Forbidden(
                "agents call from their own extension".into(),
            ));
        }
        (Some(from), _, _) => from.clone(),
        (None, Some(own), _) => own.clone(),
        (None, None, _) => return Err(ApiError::BadRequest("`from` is required".into())),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '+' | '*' | '#' | '-' | '.' | '_')
            })
    };
    if !valid(&request.to) || !valid(&from) {
        return Err(ApiError::BadRequest(
            "`to` and `from` are numbers or extension names".into(),
        ));
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
    // In the background: FreeSWITCH accepts the job at once; the call's progress (or its
    // failure) comes as call events on /ws, under this UUID.
    let job = esl(&state)?
        .originate_in_background(request.node.as_deref(), &originate)
        .await
        .map_err(|e| match e {
            NodeError::UnknownNode(_) | NodeError::Command(_) => {
                ApiError::BadRequest(e.to_string())
            }
            other => ApiError::Unavailable(other.to_string()),
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "uuid": uuid, "job_uuid": job, "from": from, "to": request.to })),
    ))
}
