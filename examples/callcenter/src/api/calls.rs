//! `/api/calls`: the tenant's calls in progress, and click-to-call.

use super::body::Body;
use super::cdrs::{LegText, OutcomeText};
use super::extract::Query;
use super::page::{Page, next};
use super::{ApiError, ApiState, Caller, Claims, Role};
use crate::roles::esl_worker::{EslWorker, NodeError, Placed};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use billing::{CdrOutcome, CdrRecord, Leg};
use esl::api::{Destination as Dialplan, Endpoint, Originate, is_dialed_number, is_name};
use platform::variables::ChannelVariables;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType};
use utoipa::openapi::{RefOr, Schema};

/// This process's ESL worker, or 503 when none runs here.
pub(super) fn esl(state: &ApiState) -> Result<&EslWorker, ApiError> {
    state
        .esl
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no FreeSWITCH node is configured".into()))
}

/// A call in progress (one channel) as the API shows it.
#[derive(Serialize, ToSchema)]
pub(super) struct Call {
    uuid: String,
    /// The FreeSWITCH node (as named in the configuration).
    node: String,
    tenant: String,
    /// `inbound` or `outbound`, from FreeSWITCH's point of view.
    direction: String,
    /// Caller ID number.
    caller: String,
    /// The number dialled.
    callee: String,
    /// Creation, Unix microseconds (0 when unknown).
    created_us: i64,
    /// Answer, Unix microseconds; null while ringing.
    #[schema(required = true)]
    answered_us: Option<i64>,
}

impl From<platform::calls::Call> for Call {
    fn from(call: platform::calls::Call) -> Self {
        Call {
            uuid: call.uuid,
            node: call.node,
            tenant: call.tenant,
            direction: call.direction,
            caller: call.caller,
            callee: call.callee,
            created_us: call.created_us,
            answered_us: call.answered_us,
        }
    }
}

/// A page of calls; `next` is the `after` of the next page, null on the last.
#[derive(Serialize, ToSchema)]
pub(super) struct CallPage {
    calls: Vec<Call>,
    #[schema(required = true)]
    next: Option<String>,
}

/// The tenant's calls in progress, by UUID, a page at a time.
#[utoipa::path(
    get,
    path = "/api/calls",
    tag = "calls",
    params(Page),
    responses(
        (status = 200, description = "A page; `next` is the `after` of the next page, null on the last", body = CallPage),
        (status = 400, response = super::openapi::BadRequest),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn active_calls(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Query(page): Query<Page>,
) -> Result<Json<CallPage>, ApiError> {
    let limit = page.limit()?;
    let mut calls = super::live::required(&state)?.active_calls(&claims.tenant);
    calls.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    let calls: Vec<Call> = calls
        .into_iter()
        .filter(|c| {
            page.after
                .as_deref()
                .is_none_or(|after| c.uuid.as_str() > after)
        })
        .take(limit as usize)
        .map(Call::from)
        .collect();
    let next = next(&calls, limit, |c| c.uuid.clone());
    Ok(Json(CallPage { calls, next }))
}

/// A click-to-call.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "1001", "from": "1000"}))]
pub(super) struct CallRequest {
    /// The number to call: a number (digits, optionally after one leading +, * or #) or an
    /// extension's name.
    to: String,
    /// The extension to ring first: one of the tenant's (an agent: their own, the default).
    #[schema(nullable = false)]
    from: Option<String>,
    /// The FreeSWITCH node to originate on; the first by default.
    #[schema(nullable = false)]
    node: Option<String>,
}

/// The state of a call click-to-call has just placed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum Placing {
    /// FreeSWITCH is ringing `from`.
    Ringing,
}

/// The answer to a click-to-call: the call is being placed.
#[derive(Serialize, ToSchema)]
pub(super) struct PlacedCall {
    uuid: String,
    #[schema(inline)]
    state: Placing,
    from: String,
    to: String,
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

/// Click-to-call: rings `from` (an agent's own extension by default), then connects it to `to`
/// through the tenant's dialplan; what becomes of it is on /ws and at GET /api/calls/{uuid}.
///
/// `from` is one of the tenant's extensions; once answered, it is connected to `to` through
/// the tenant's dialplan context (so prepaid limits and recording apply). Answers 202 with the
/// call's UUID at once.
#[utoipa::path(
    post,
    path = "/api/calls",
    tag = "calls",
    request_body = CallRequest,
    responses(
        (status = 202, description = "The call is being placed; its progress comes on /ws under this UUID (`call_failed` with FreeSWITCH's cause when it never connected) and GET /api/calls/{uuid} tells", body = PlacedCall),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn click_to_call(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Body(request): Body<CallRequest>,
) -> Result<(StatusCode, Json<PlacedCall>), ApiError> {
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
        Json(PlacedCall {
            uuid,
            state: Placing::Ringing,
            from,
            to: request.to,
        }),
    ))
}

/// `{"const": word}`. utoipa's schema model has no `const`: the keyword is set as one of the
/// object's raw entries (which it writes as they are, beside the typed ones).
fn constant(word: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .extensions(Some(Extensions::from_iter([("const", word)])))
        .into()
}

/// A `state` of `GET /api/calls/{uuid}`'s answer: a type that is written as its one word and
/// described as that constant, so the answer cannot say another.
macro_rules! call_state {
    ($name:ident = $word:literal) => {
        #[doc = concat!("The state `", $word, "`.")]
        pub(super) struct $name;

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($word)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                constant($word)
            }
        }

        impl ToSchema for $name {}
    };
}

call_state!(Active = "active");
call_state!(Ended = "ended");
call_state!(Ringing = "ringing");
call_state!(Failed = "failed");

/// A call in progress.
#[derive(Serialize, ToSchema)]
pub(super) struct ActiveCall {
    uuid: String,
    #[schema(inline)]
    state: Active,
    call: Call,
}

/// A call that ended, its legs as stored.
#[derive(Serialize, ToSchema)]
pub(super) struct EndedCall {
    uuid: String,
    #[schema(inline)]
    state: Ended,
    /// As stored (empty while the CDRs of a call that just ended are on their way).
    legs: Vec<CallLeg>,
}

/// One stored leg of an ended call.
#[derive(Serialize, ToSchema)]
pub(super) struct CallLeg {
    uuid: String,
    #[schema(value_type = LegText, inline)]
    leg: Leg,
    billsec: i64,
    #[schema(required = true)]
    destination: Option<String>,
    #[schema(value_type = OutcomeText, inline)]
    outcome: CdrOutcome,
    /// The amount charged, in the account's currency.
    #[schema(required = true)]
    amount: Option<String>,
}

impl From<&CdrRecord> for CallLeg {
    fn from(leg: &CdrRecord) -> Self {
        CallLeg {
            uuid: leg.uuid.clone(),
            leg: leg.leg,
            billsec: leg.billsec,
            destination: leg.destination.clone(),
            outcome: leg.outcome,
            amount: leg.amount.map(platform::balance::money_text),
        }
    }
}

/// A call click-to-call placed that is still ringing its first leg.
// Its state first, as the answer always had it (a `Placed` with its `uuid` added).
#[derive(Serialize, ToSchema)]
pub(super) struct RingingCall {
    #[schema(inline)]
    state: Ringing,
    uuid: String,
}

/// A call click-to-call placed that failed before it connected (failures are kept an hour).
// Its state and cause first, as the answer always had them (a `Placed` with its `uuid` added).
#[derive(Serialize, ToSchema)]
pub(super) struct FailedCall {
    #[schema(inline)]
    state: Failed,
    /// FreeSWITCH's cause (USER_NOT_REGISTERED...), or NODE_UNAVAILABLE.
    cause: String,
    uuid: String,
}

/// What became of a call, by its `state`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum CallState {
    /// In progress.
    Active(ActiveCall),
    /// Ended.
    Ended(EndedCall),
    /// Placed by click-to-call, ringing.
    Ringing(RingingCall),
    /// Placed by click-to-call, failed.
    Failed(FailedCall),
}

/// What became of one of the tenant's calls: `active` (in progress), `ringing` or `failed`
/// (placed by click-to-call; failures are kept an hour), `ended` (its legs as stored); 404 for
/// a call the tenant does not have.
///
/// `active` comes with the call, `failed` with FreeSWITCH's cause, `ended` with the legs'
/// hangup causes.
#[utoipa::path(
    get,
    path = "/api/calls/{uuid}",
    tag = "calls",
    params((
        "uuid" = String,
        Path,
        description = "The call's UUID (as click-to-call answered it)",
        example = "0d6b8a1e-5f1c-4c1e-9d7a-1b2c3d4e5f60",
    )),
    responses(
        (status = 200, description = "The call's state", body = CallState),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn call(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    super::extract::Path(uuid): super::extract::Path<String>,
) -> Result<Json<CallState>, ApiError> {
    if let Some(call) = super::live::view(&state).and_then(|live| live.call(&claims.tenant, &uuid))
    {
        return Ok(Json(CallState::Active(ActiveCall {
            uuid,
            state: Active,
            call: Call::from(call),
        })));
    }
    let legs = state.ledger.call(&claims.tenant, &uuid).await?;
    if !legs.is_empty() {
        let legs = legs.iter().map(CallLeg::from).collect();
        return Ok(Json(CallState::Ended(EndedCall {
            uuid,
            state: Ended,
            legs,
        })));
    }
    let placed = state
        .esl
        .as_ref()
        .and_then(|worker| worker.placed(&claims.tenant, &uuid));
    match placed {
        // Connected but neither live nor stored: it ended and its CDR is on its way.
        Some(Placed::Connected) => Ok(Json(CallState::Ended(EndedCall {
            uuid,
            state: Ended,
            legs: Vec::new(),
        }))),
        Some(Placed::Ringing) => Ok(Json(CallState::Ringing(RingingCall {
            state: Ringing,
            uuid,
        }))),
        Some(Placed::Failed { cause }) => Ok(Json(CallState::Failed(FailedCall {
            state: Failed,
            cause,
            uuid,
        }))),
        None => Err(ApiError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placed_call_is_written_as_placed_with_its_uuid_last() {
        // What the answer was before it had a type: the `Placed`, then its `uuid`.
        let before = |placed: &Placed| {
            let mut answer = serde_json::to_value(placed).unwrap();
            answer["uuid"] = "u-1".into();
            answer.to_string()
        };
        let ringing = CallState::Ringing(RingingCall {
            state: Ringing,
            uuid: "u-1".into(),
        });
        assert_eq!(
            serde_json::to_string(&ringing).unwrap(),
            before(&Placed::Ringing)
        );
        let failed = CallState::Failed(FailedCall {
            state: Failed,
            cause: "USER_NOT_REGISTERED".into(),
            uuid: "u-1".into(),
        });
        let cause = "USER_NOT_REGISTERED".to_owned();
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            before(&Placed::Failed { cause })
        );
        let ended = CallState::Ended(EndedCall {
            uuid: "u-1".into(),
            state: Ended,
            legs: Vec::new(),
        });
        assert_eq!(
            serde_json::to_string(&ended).unwrap(),
            r#"{"uuid":"u-1","state":"ended","legs":[]}"#
        );
    }
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(active_calls, click_to_call, call))]
pub(super) struct Routes;
