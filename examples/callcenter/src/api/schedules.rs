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
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One rule of a schedule, as written and as shown.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ScheduleRule {
    /// mon..sun, comma-separated, or spans such as mon-fri (`sat,sun`, ...).
    #[schema(example = "mon-fri")]
    days: String,
    /// `HH:MM`, included.
    #[schema(pattern = "^[0-9]{2}:[0-9]{2}$", example = "09:00")]
    from: String,
    /// `HH:MM`, excluded (`24:00`: the day's end).
    #[schema(pattern = "^[0-9]{2}:[0-9]{2}$", example = "17:00")]
    to: String,
    /// A route, as a DID's: extension:NAME, queue:NAME, menu:NAME, group:NAME or
    /// outside:NUMBER.
    #[schema(example = "queue:support")]
    route: String,
}

/// `PUT`: the whole schedule. Both fields are required (`[]` for no rules), so a PUT that
/// forgets one is refused instead of resetting it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "rules": [{"days": "mon-fri", "from": "09:00", "to": "17:00", "route": "queue:support"}],
    "otherwise": "extension:1001"
}))]
pub(super) struct ScheduleBody {
    /// Tried in order; the first that holds at the time of the call routes it.
    #[schema(max_items = 32, example = json!([]))]
    rules: Vec<ScheduleRule>,
    /// Where calls go outside every rule: a route, as a rule's.
    #[schema(example = "extension:1001")]
    otherwise: String,
}

/// A schedule as stored.
#[derive(Serialize, ToSchema)]
pub(super) struct Schedule {
    name: String,
    rules: Vec<ScheduleRule>,
    otherwise: String,
}

impl From<&ScheduleRow> for Schedule {
    fn from(row: &ScheduleRow) -> Self {
        let rules = row
            .rules
            .iter()
            .map(|(days, from, to, route)| ScheduleRule {
                days: days.to_string(),
                from: clock(*from),
                to: clock(*to),
                route: route_text(route),
            })
            .collect();
        Schedule {
            name: row.name.clone(),
            rules,
            otherwise: route_text(&row.otherwise),
        }
    }
}

/// The tenant's schedules.
#[derive(Serialize, ToSchema)]
pub(super) struct ScheduleList {
    schedules: Vec<Schedule>,
}

/// The path parameter of one schedule.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct ScheduleName {
    /// The schedule's name.
    #[param(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", example = "hours")]
    schedule: String,
}

fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn route_text(route: &DidRoute) -> String {
    format!("{}:{}", route.kind(), route.target())
}

fn bad(what: &str) -> ApiError {
    ApiError::BadRequest(what.to_owned())
}

fn route(text: &str) -> Result<DidRoute, ApiError> {
    text.parse()
        .map_err(|error: platform::inbound::RouteSyntax| bad(&error.to_string()))
}

/// The tenant's time-of-day schedules.
#[utoipa::path(
    get,
    path = "/api/schedules",
    tag = "schedules",
    responses(
        (status = 200, description = "Schedules", body = ScheduleList),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn schedules(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<ScheduleList>, ApiError> {
    let rows = state.cache.store().schedules(&claims.tenant).await?;
    let schedules = rows.iter().map(Schedule::from).collect();
    Ok(Json(ScheduleList { schedules }))
}

/// Adds or replaces a schedule (admins): rules tried in order by the time in the tenant's time
/// zone, else otherwise; both fields are required (`[]` for no rules).
#[utoipa::path(
    put,
    path = "/api/schedules/{schedule}",
    tag = "schedules",
    params(ScheduleName),
    request_body = ScheduleBody,
    responses(
        (status = 200, description = "The schedule", body = Schedule),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_schedule(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    Body(body): Body<ScheduleBody>,
) -> Result<Json<Schedule>, ApiError> {
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
    Ok(Json(Schedule::from(&row)))
}

/// Removes a schedule (admins); refused (409) while a DID routes to it.
#[utoipa::path(
    delete,
    path = "/api/schedules/{schedule}",
    tag = "schedules",
    params(ScheduleName),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
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
#[openapi(paths(schedules, put_schedule, delete_schedule))]
pub(super) struct Routes;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::queues::tests::each_field_is_required;
    use serde_json::json;

    #[test]
    fn a_put_that_forgets_a_field_is_refused_naming_it() {
        each_field_is_required::<ScheduleBody>(json!({"rules": [], "otherwise": "extension:1000"}));
        each_field_is_required::<ScheduleRule>(json!({
            "days": "mon-fri", "from": "09:00", "to": "17:00", "route": "queue:support",
        }));
    }

    #[test]
    fn a_schedule_keeps_its_json_shape() {
        let row = ScheduleRow {
            tenant: "acme".into(),
            name: "hours".into(),
            rules: vec![(
                Days::parse("mon-fri").unwrap(),
                9 * 60,
                24 * 60,
                "queue:support".parse().unwrap(),
            )],
            otherwise: "extension:1000".parse().unwrap(),
        };
        assert_eq!(
            serde_json::to_string(&Schedule::from(&row)).unwrap(),
            r#"{"name":"hours","rules":[{"days":"mon,tue,wed,thu,fri","from":"09:00","to":"24:00","route":"queue:support"}],"otherwise":"extension:1000"}"#
        );
    }
}
