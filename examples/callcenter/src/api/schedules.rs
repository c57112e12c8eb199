//! `/api/schedules`: the tenant's time-of-day schedules. A DID routed to `schedule:NAME` sends
//! each call where the schedule's first rule for the time of the call (in the tenant's time
//! zone) says, else to its `otherwise` route.

use super::body::Body;
use super::extract::Path;
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use platform::inbound::DidRoute;
use platform::schedules::{Days, ScheduleRow, minute_of};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleBody {
    /// `mon-fri`, `sat,sun`, ...
    days: String,
    /// `HH:MM`, included.
    from: String,
    /// `HH:MM`, excluded (`24:00`: the day's end).
    to: String,
    /// A route, as a DID's (`queue:support`, ...).
    route: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScheduleBody {
    #[serde(default)]
    rules: Vec<RuleBody>,
    otherwise: String,
}

fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn route_text(route: &DidRoute) -> String {
    format!("{}:{}", route.kind(), route.target())
}

fn schedule_json(row: &ScheduleRow) -> Value {
    let rules: Vec<Value> = row
        .rules
        .iter()
        .map(|(days, from, to, route)| {
            json!({ "days": days.to_string(), "from": clock(*from), "to": clock(*to), "route": route_text(route) })
        })
        .collect();
    json!({ "name": row.name, "rules": rules, "otherwise": route_text(&row.otherwise) })
}

fn bad(what: &str) -> ApiError {
    ApiError::BadRequest(what.to_owned())
}

fn route(text: &str) -> Result<DidRoute, ApiError> {
    text.parse()
        .map_err(|error: platform::inbound::RouteSyntax| bad(&error.to_string()))
}

/// The tenant's schedules.
pub(super) async fn schedules(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<Value>, ApiError> {
    let rows = state.cache.store().schedules(&claims.tenant).await?;
    let rows: Vec<Value> = rows.iter().map(schedule_json).collect();
    Ok(Json(json!({ "schedules": rows })))
}

/// Adds or replaces a schedule.
pub(super) async fn put_schedule(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    Body(body): Body<ScheduleBody>,
) -> Result<Json<Value>, ApiError> {
    let mut rules = Vec::with_capacity(body.rules.len());
    for rule in &body.rules {
        let days = Days::parse(&rule.days).ok_or_else(|| {
            bad("days are mon..sun, separated by commas, or spans such as mon-fri")
        })?;
        let (from, to) = match (minute_of(&rule.from), minute_of(&rule.to)) {
            (Some(from), Some(to)) => (from, to),
            _ => return Err(bad("from and to are HH:MM (24:00 is the end of the day)")),
        };
        rules.push((days, from, to, route(&rule.route)?));
    }
    let row = ScheduleRow {
        tenant: admin.tenant,
        name,
        rules,
        otherwise: route(&body.otherwise)?,
    };
    state.cache.store().put_schedule(&row).await?;
    Ok(Json(schedule_json(&row)))
}

/// Removes a schedule (refused while a DID routes to it).
pub(super) async fn delete_schedule(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let found = state
        .cache
        .store()
        .delete_schedule(&admin.tenant, &name)
        .await?;
    super::removed(found)
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
