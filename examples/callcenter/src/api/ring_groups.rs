//! `/api/ring-groups`: the tenant's ring groups (a dial name ringing several of its extensions,
//! at once or in turn). Admins write them; the dialplan reads them on the next call.

use super::body::Body;
use super::extract::Path;
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use platform::ring_groups::{MEMBERS_MAX, RingGroupRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};

/// `PUT`: the whole ring group. Every field is required (`null` for no dial name), so a PUT
/// that forgets one is refused instead of resetting it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "extension": "7000",
    "strategy": "sequential",
    "ring_seconds": 20,
    "members": ["1000", "1001"]
}))]
pub(super) struct RingGroupBody {
    /// The name it is dialled by in the tenant's context (null: no call reaches it).
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true, example = "7000")]
    extension: Option<String>,
    /// `simultaneous` or `sequential`.
    #[schema(schema_with = strategy_schema)]
    strategy: String,
    /// Seconds each member rings.
    #[schema(minimum = 5, maximum = 300, example = 20)]
    ring_seconds: u32,
    /// The tenant's extensions, in order.
    #[schema(schema_with = members_schema)]
    members: Vec<String>,
}

/// The strategies, as [`RingStrategy`](platform::ring_groups::RingStrategy) reads and writes them.
const STRATEGIES: [&str; 2] = ["simultaneous", "sequential"];

/// A ring group's `strategy`: one of [`STRATEGIES`].
fn strategy_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(STRATEGIES))
        .description(Some(
            "simultaneous: all at once, the first to answer takes the call; sequential: one \
             after the other, in their order",
        ))
        .examples(["simultaneous"])
        .build()
        .into()
}

/// A `PUT`'s members: 1 to [`MEMBERS_MAX`] distinct extensions.
fn members_schema() -> Schema {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .min_items(Some(1))
        .max_items(Some(MEMBERS_MAX))
        .unique_items(true)
        .description(Some("The tenant's extensions, in order"))
        .examples([serde_json::json!(["1000", "1001"])])
        .build()
        .into()
}

/// A ring group as stored.
#[derive(Serialize, ToSchema)]
pub(super) struct RingGroup {
    name: String,
    #[schema(required = true)]
    extension: Option<String>,
    #[schema(schema_with = strategy_schema)]
    strategy: &'static str,
    #[schema(minimum = 5, maximum = 300)]
    ring_seconds: u32,
    members: Vec<String>,
}

impl From<&RingGroupRow> for RingGroup {
    fn from(group: &RingGroupRow) -> Self {
        RingGroup {
            name: group.name.clone(),
            extension: group.extension.clone(),
            strategy: group.strategy.as_str(),
            ring_seconds: group.ring_seconds,
            members: group.members.clone(),
        }
    }
}

/// The tenant's ring groups.
#[derive(Serialize, ToSchema)]
pub(super) struct RingGroupList {
    ring_groups: Vec<RingGroup>,
}

/// The path parameter of one ring group.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct GroupName {
    /// The group's name.
    #[param(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", example = "front")]
    group: String,
}

/// The tenant's ring groups.
#[utoipa::path(
    get,
    path = "/api/ring-groups",
    tag = "ring-groups",
    responses(
        (status = 200, description = "Ring groups", body = RingGroupList),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn ring_groups(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<RingGroupList>, ApiError> {
    let groups = state.cache.store().ring_groups(&claims.tenant).await?;
    let ring_groups = groups.iter().map(RingGroup::from).collect();
    Ok(Json(RingGroupList { ring_groups }))
}

/// Adds or replaces a ring group (admins): a dial name ringing the tenant's extensions at once
/// or in turn; every field is required (null for no dial name), so a forgotten one is refused,
/// not reset.
#[utoipa::path(
    put,
    path = "/api/ring-groups/{group}",
    tag = "ring-groups",
    params(GroupName),
    request_body = RingGroupBody,
    responses(
        (status = 200, description = "The group", body = RingGroup),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_ring_group(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    Body(body): Body<RingGroupBody>,
) -> Result<Json<RingGroup>, ApiError> {
    let strategy = body
        .strategy
        .parse()
        .map_err(|error: platform::identity::InvalidValue| {
            ApiError::BadRequest(error.to_string())
        })?;
    let group = RingGroupRow {
        tenant: admin.tenant,
        name,
        extension: body.extension,
        strategy,
        ring_seconds: body.ring_seconds,
        members: body.members,
    };
    state.cache.store().put_ring_group(&group).await?;
    Ok(Json(RingGroup::from(&group)))
}

/// Removes a ring group (admins); refused (409) while a DID, a menu or a schedule sends calls
/// to it.
#[utoipa::path(
    delete,
    path = "/api/ring-groups/{group}",
    tag = "ring-groups",
    params(GroupName),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
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
#[openapi(paths(ring_groups, put_ring_group, delete_ring_group))]
pub(super) struct Routes;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::queues::tests::each_field_is_required;
    use platform::ring_groups::RingStrategy;
    use serde_json::json;

    #[test]
    fn a_put_that_forgets_a_field_is_refused_naming_it() {
        each_field_is_required::<RingGroupBody>(json!({
            "extension": null,
            "strategy": "simultaneous",
            "ring_seconds": 20,
            "members": ["1000"],
        }));
    }

    #[test]
    fn the_described_strategies_are_the_ring_strategies() {
        for text in STRATEGIES {
            let strategy: RingStrategy = text.parse().unwrap();
            assert_eq!(strategy.as_str(), text);
        }
    }

    #[test]
    fn a_group_keeps_its_json_shape() {
        let row = RingGroupRow {
            tenant: "acme".into(),
            name: "sales".into(),
            extension: None,
            strategy: RingStrategy::Sequential,
            ring_seconds: 15,
            members: vec!["1000".into(), "1001".into()],
        };
        assert_eq!(
            serde_json::to_string(&RingGroup::from(&row)).unwrap(),
            r#"{"name":"sales","extension":null,"strategy":"sequential","ring_seconds":15,"members":["1000","1001"]}"#
        );
    }
}
