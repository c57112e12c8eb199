//! `/api/queues`: the tenant's queues and which agents answer them (tiers). Admins write them;
//! every change is stored, then applied on every FreeSWITCH node with `callcenter_config` (no
//! reload), and the answer says which nodes took it.

use super::body::Body;
use super::extract::Path;
use super::{Admin, ApiError, ApiState, Caller};
use crate::roles::esl_worker;
use axum::Json;
use axum::extract::State;
use esl::api::CallCenterChange;
use platform::inbound::qualified;
use platform::ivr::SOUND_MAX;
use platform::store::{QueueRow, STRATEGIES, TierRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};

/// `PUT`: the whole queue. Every field is required (`null` for no dial name or the default
/// music on hold), so a PUT that forgets one is refused instead of resetting it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "extension": "8000",
    "strategy": "longest-idle-agent",
    "moh_sound": null,
    "service_level_seconds": 20
}))]
pub(super) struct QueueBody {
    /// The name it is dialled by in the tenant's context (null: no call reaches it).
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true, example = "8000")]
    extension: Option<String>,
    /// One of mod_callcenter's strategies.
    #[schema(schema_with = strategy_schema)]
    strategy: String,
    /// The music on hold (null: mod_callcenter's default).
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true, schema_with = moh_sound_schema)]
    moh_sound: Option<String>,
    /// Callers answered within this many seconds count toward the service level.
    #[schema(minimum = 1, maximum = 3600, example = 20)]
    service_level_seconds: u32,
}

/// A queue's `strategy`: one of [`STRATEGIES`] (the usual one, `longest-idle-agent`, as the
/// example).
fn strategy_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(STRATEGIES))
        .description(Some("One of mod_callcenter's strategies"))
        .examples(["longest-idle-agent"])
        .build()
        .into()
}

/// A queue's `moh_sound`: null, or a sound FreeSWITCH plays (not a prompt: mod_callcenter keeps
/// a queue's music while the queue is loaded, and a prompt's link expires).
fn moh_sound_schema() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(SOUND_MAX))
                .description(Some(
                    "A relative file under FreeSWITCH's sound directories, tone_stream://..., \
                     silence_stream://... or local_stream://...",
                )),
        )
        .description(Some("The music on hold; null: mod_callcenter's default"))
        .examples([serde_json::Value::Null])
        .build()
        .into()
}

/// `PUT`: an agent's place on a queue. Both fields are required, so a PUT that forgets one is
/// refused instead of resetting it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"level": 1, "position": 1}))]
pub(super) struct TierBody {
    /// The tier level: agents of level 1 are offered calls first.
    #[schema(minimum = 1, maximum = 1000, example = 1)]
    level: i64,
    /// The agent's position within its level.
    #[schema(minimum = 1, maximum = 1000, example = 1)]
    position: i64,
}

/// What one FreeSWITCH node made of a change.
// The worker's `esl_worker::NodeOutcome`, as the API shows it: every answer that says which
// nodes took a change lists these.
#[derive(Serialize, ToSchema)]
pub(super) struct NodeOutcome {
    node: String,
    applied: bool,
    /// Why the node did not take the change (it keeps its old state until told again or it
    /// reloads callcenter.conf).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    error: Option<String>,
}

impl From<esl_worker::NodeOutcome> for NodeOutcome {
    fn from(outcome: esl_worker::NodeOutcome) -> Self {
        NodeOutcome {
            node: outcome.node,
            applied: outcome.applied,
            error: outcome.error,
        }
    }
}

/// The nodes' outcomes of a change, as the API shows them.
pub(super) fn node_outcomes(outcomes: Vec<esl_worker::NodeOutcome>) -> Vec<NodeOutcome> {
    outcomes.into_iter().map(NodeOutcome::from).collect()
}

/// An agent on a queue, as the queue lists it.
#[derive(Serialize, ToSchema)]
pub(super) struct QueueAgent {
    agent: String,
    level: i64,
    position: i64,
}

/// A queue as provisioned, with the agents on it.
#[derive(Serialize, ToSchema)]
pub(super) struct ProvisionedQueue {
    name: String,
    #[schema(required = true)]
    extension: Option<String>,
    strategy: String,
    #[schema(required = true)]
    moh_sound: Option<String>,
    #[schema(minimum = 1, maximum = 3600)]
    service_level_seconds: u32,
    agents: Vec<QueueAgent>,
}

impl ProvisionedQueue {
    /// `queue` with its agents among the tenant's `tiers`.
    fn new(queue: &QueueRow, tiers: &[TierRow]) -> Self {
        let agents = tiers
            .iter()
            .filter(|t| t.queue == queue.name)
            .map(|t| QueueAgent {
                agent: t.agent.clone(),
                level: t.level,
                position: t.position,
            })
            .collect();
        ProvisionedQueue {
            name: queue.name.clone(),
            extension: queue.extension.clone(),
            strategy: queue.strategy.clone(),
            moh_sound: queue.moh_sound.clone(),
            service_level_seconds: queue.service_level_seconds,
            agents,
        }
    }
}

/// The tenant's queues.
#[derive(Serialize, ToSchema)]
pub(super) struct QueueList {
    queues: Vec<ProvisionedQueue>,
}

/// A queue as written, and the nodes told.
#[derive(Serialize, ToSchema)]
pub(super) struct AppliedQueue {
    queue: ProvisionedQueue,
    /// Each FreeSWITCH node of this process's ESL worker and whether it took the change
    /// (empty without a worker).
    nodes: Vec<NodeOutcome>,
}

/// A queue removed, and the nodes told.
#[derive(Serialize, ToSchema)]
pub(super) struct RemovedQueue {
    /// The queue's name.
    deleted: String,
    /// Each FreeSWITCH node of this process's ESL worker and whether it took the change
    /// (empty without a worker).
    nodes: Vec<NodeOutcome>,
}

/// An agent's place on a queue as written, and the nodes told.
#[derive(Serialize, ToSchema)]
pub(super) struct AppliedTier {
    queue: String,
    agent: String,
    level: i64,
    position: i64,
    /// Each FreeSWITCH node of this process's ESL worker and whether it took the change
    /// (empty without a worker).
    nodes: Vec<NodeOutcome>,
}

/// An agent taken off a queue, and the nodes told.
#[derive(Serialize, ToSchema)]
pub(super) struct RemovedTier {
    queue: String,
    agent: String,
    /// Always true.
    deleted: bool,
    /// Each FreeSWITCH node of this process's ESL worker and whether it took the change
    /// (empty without a worker).
    nodes: Vec<NodeOutcome>,
}

/// The path parameter of one queue.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct QueueName {
    /// The queue's name.
    #[param(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", example = "support")]
    queue: String,
}

/// The path parameters of an agent on a queue.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct TierPath {
    /// The queue's name.
    #[param(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", example = "support")]
    queue: String,
    /// The agent's name.
    #[param(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", example = "1000")]
    agent: String,
}

/// The tenant's queues with the agents on each.
#[utoipa::path(
    get,
    path = "/api/queues",
    tag = "queues",
    responses(
        (status = 200, description = "Queues", body = QueueList),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn queues(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<QueueList>, ApiError> {
    let store = state.cache.store();
    let tiers = store.tiers(&claims.tenant).await?;
    let queues = store
        .queues(&claims.tenant)
        .await?
        .iter()
        .map(|q| ProvisionedQueue::new(q, &tiers))
        .collect();
    Ok(Json(QueueList { queues }))
}

/// Adds or replaces a queue (admins): every field is required (null for no dial name or the
/// default music on hold), so a forgotten one is refused, not reset; every node loads it (or
/// reads it again).
#[utoipa::path(
    put,
    path = "/api/queues/{queue}",
    tag = "queues",
    params(QueueName),
    request_body = QueueBody,
    responses(
        (status = 200, description = "The queue", body = AppliedQueue),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_queue(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    Body(body): Body<QueueBody>,
) -> Result<Json<AppliedQueue>, ApiError> {
    let store = state.cache.store();
    let existed = store
        .queues(&admin.tenant)
        .await?
        .iter()
        .any(|q| q.name == name);
    let row = QueueRow {
        tenant: admin.tenant.clone(),
        name,
        extension: body.extension,
        strategy: body.strategy,
        moh_sound: body.moh_sound,
        service_level_seconds: body.service_level_seconds,
    };
    store.put_queue(&row).await?;
    let queue = qualified(&row.name, &row.tenant);
    let change = if existed {
        CallCenterChange::QueueReload(queue)
    } else {
        CallCenterChange::QueueLoad(queue)
    };
    let nodes = super::apply(&state, &[change]).await;
    let tiers = store.tiers(&admin.tenant).await?;
    Ok(Json(AppliedQueue {
        queue: ProvisionedQueue::new(&row, &tiers),
        nodes: node_outcomes(nodes),
    }))
}

/// Removes a queue and its tiers (admins); refused (409) while a DID, a menu or a schedule
/// sends calls to it; the nodes drop its tiers and unload it.
#[utoipa::path(
    delete,
    path = "/api/queues/{queue}",
    tag = "queues",
    params(QueueName),
    responses(
        (status = 200, description = "Removed", body = RemovedQueue),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn delete_queue(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<Json<RemovedQueue>, ApiError> {
    let store = state.cache.store();
    let tiers = store.tiers(&admin.tenant).await?;
    if !store.delete_queue(&admin.tenant, &name).await? {
        return Err(ApiError::NotFound);
    }
    let queue = qualified(&name, &admin.tenant);
    let mut changes: Vec<CallCenterChange> = tiers
        .iter()
        .filter(|t| t.queue == name)
        .map(|t| CallCenterChange::TierDel {
            queue: queue.clone(),
            agent: qualified(&t.agent, &admin.tenant),
        })
        .collect();
    changes.push(CallCenterChange::QueueUnload(queue));
    let nodes = super::apply(&state, &changes).await;
    Ok(Json(RemovedQueue {
        deleted: name,
        nodes: node_outcomes(nodes),
    }))
}

/// Puts an agent on a queue, at a level and position (admins; both required), or moves it to
/// another; applied on every node.
#[utoipa::path(
    put,
    path = "/api/queues/{queue}/agents/{agent}",
    tag = "queues",
    params(TierPath),
    request_body = TierBody,
    responses(
        (status = 200, description = "The tier", body = AppliedTier),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_tier(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path((queue, agent)): Path<(String, String)>,
    Body(body): Body<TierBody>,
) -> Result<Json<AppliedTier>, ApiError> {
    let row = TierRow {
        tenant: admin.tenant.clone(),
        queue,
        agent,
        level: body.level,
        position: body.position,
    };
    state.cache.store().put_tier(&row).await?;
    let (queue, agent) = (
        qualified(&row.queue, &row.tenant),
        qualified(&row.agent, &row.tenant),
    );
    // Checked by the store: 1 to 1000.
    let (level, position) = (row.level as u32, row.position as u32);
    let changes = [
        CallCenterChange::TierAdd {
            queue: queue.clone(),
            agent: agent.clone(),
            level,
            position,
        },
        CallCenterChange::TierLevel {
            queue: queue.clone(),
            agent: agent.clone(),
            level,
        },
        CallCenterChange::TierPosition {
            queue,
            agent,
            position,
        },
    ];
    let nodes = super::apply(&state, &changes).await;
    Ok(Json(AppliedTier {
        queue: row.queue,
        agent: row.agent,
        level: row.level,
        position: row.position,
        nodes: node_outcomes(nodes),
    }))
}

/// Takes an agent off a queue (admins).
#[utoipa::path(
    delete,
    path = "/api/queues/{queue}/agents/{agent}",
    tag = "queues",
    params(TierPath),
    responses(
        (status = 200, description = "Removed", body = RemovedTier),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn delete_tier(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path((queue, agent)): Path<(String, String)>,
) -> Result<Json<RemovedTier>, ApiError> {
    if !state
        .cache
        .store()
        .delete_tier(&admin.tenant, &queue, &agent)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let change = CallCenterChange::TierDel {
        queue: qualified(&queue, &admin.tenant),
        agent: qualified(&agent, &admin.tenant),
    };
    let nodes = super::apply(&state, &[change]).await;
    Ok(Json(RemovedTier {
        queue,
        agent,
        deleted: true,
        nodes: node_outcomes(nodes),
    }))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(queues, put_queue, delete_queue, put_tier, delete_tier))]
pub(super) struct Routes;

/// The tests, and their check that a PUT body needs each of its fields (for every resource).
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Every field of `whole` left out in turn: the body is refused, naming the field.
    pub(in crate::api) fn each_field_is_required<T: serde::de::DeserializeOwned>(whole: Value) {
        assert!(
            serde_json::from_value::<T>(whole.clone()).is_ok(),
            "{whole}"
        );
        for field in whole.as_object().unwrap().keys() {
            let mut partial = whole.clone();
            partial.as_object_mut().unwrap().remove(field);
            let error = serde_json::from_value::<T>(partial)
                .err()
                .unwrap_or_else(|| panic!("{field} left out was accepted"));
            assert_eq!(error.to_string(), format!("missing field `{field}`"));
        }
    }

    #[test]
    fn a_put_that_forgets_a_field_is_refused_naming_it() {
        each_field_is_required::<QueueBody>(json!({
            "extension": null,
            "strategy": "ring-all",
            "moh_sound": null,
            "service_level_seconds": 20,
        }));
        each_field_is_required::<TierBody>(json!({"level": 1, "position": 1}));
    }

    #[tokio::test]
    async fn the_body_extractor_answers_400_naming_the_forgotten_field() {
        use axum::extract::FromRequest;
        let request = axum::http::Request::builder()
            .body(axum::body::Body::from(r#"{"level": 2}"#))
            .unwrap();
        match Body::<TierBody>::from_request(request, &()).await {
            Err(ApiError::BadRequest(text)) => assert!(text.contains("`position`"), "{text}"),
            _ => panic!("a tier without a position was not a 400"),
        }
    }

    #[test]
    fn answers_keep_their_json_shape() {
        let queue = QueueRow {
            tenant: "acme".into(),
            name: "support".into(),
            extension: None,
            strategy: "ring-all".into(),
            moh_sound: Some("local_stream://moh".into()),
            service_level_seconds: 30,
        };
        let tier = |queue: &str| TierRow {
            tenant: "acme".into(),
            queue: queue.into(),
            agent: "1000".into(),
            level: 2,
            position: 3,
        };
        let answer = AppliedQueue {
            queue: ProvisionedQueue::new(&queue, &[tier("support"), tier("sales")]),
            nodes: node_outcomes(vec![
                esl_worker::NodeOutcome {
                    node: "fs1".into(),
                    applied: true,
                    error: None,
                },
                esl_worker::NodeOutcome {
                    node: "fs2".into(),
                    applied: false,
                    error: Some("down".into()),
                },
            ]),
        };
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            r#"{"queue":{"name":"support","extension":null,"strategy":"ring-all","moh_sound":"local_stream://moh","service_level_seconds":30,"agents":[{"agent":"1000","level":2,"position":3}]},"nodes":[{"node":"fs1","applied":true},{"node":"fs2","applied":false,"error":"down"}]}"#
        );
    }
}
