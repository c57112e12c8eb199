//! `/api/operator/trunks`: the SIP trunks (sofia gateways), served to FreeSWITCH in the
//! directory and applied live on every node (see
//! [`EslWorker::apply_sofia`](crate::roles::esl_worker::EslWorker::apply_sofia)). A trunk's
//! password is write-only.

use super::body::Body;
use super::extract::Path;
use super::queues::{NodeOutcome, node_outcomes};
use super::{ApiError, ApiState, Operator};
use crate::roles::esl_worker::GATEWAY_DROP;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use esl::api::{SofiaAction, SofiaProfile};
use platform::trunks::TrunkRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `PUT`: the whole trunk, every field required (`null` where allowed) but the password,
/// which may be left out to keep the stored one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "profile": "external",
    "proxy": "sip.carrier.example:5060",
    "realm": null,
    "username": "acct-1001",
    "password": "trunk-secret",
    "register": true,
    "from_domain": null,
    "caller_id_in_from": false,
    "expire_seconds": 3600,
    "retry_seconds": 30
}))]
pub(super) struct TrunkBody {
    /// The sofia profile (external).
    profile: String,
    /// host or host:port, the host a domain or IPv4 address.
    proxy: String,
    /// The digest realm, a domain, when not the proxy's; null: the proxy's.
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true)]
    realm: Option<String>,
    /// The user name to authenticate (and register) as: 1 to 64 letters, digits, '_', '-',
    /// '.', '+'; null for none.
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true)]
    username: Option<String>,
    /// Printable ASCII; left out, the stored one is kept. Write-only.
    #[serde(default)]
    #[schema(write_only, min_length = 1, max_length = 128, nullable = false)]
    password: Option<String>,
    /// Registering needs a username and a password.
    register: bool,
    /// The domain of the From header, when not the proxy's; null: the proxy's.
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true)]
    from_domain: Option<String>,
    /// Put the caller ID in the From header (some carriers take it from there).
    caller_id_in_from: bool,
    /// Seconds a registration lasts (60 to 86400; sofia's default is 3600).
    #[schema(minimum = 60, maximum = 86400)]
    expire_seconds: u32,
    /// Seconds between failed registrations (5 to 3600; sofia's default is 30).
    #[schema(minimum = 5, maximum = 3600)]
    retry_seconds: u32,
}

/// A trunk as the API shows it: its password is write-only.
#[derive(Serialize, ToSchema)]
pub(super) struct Trunk {
    name: String,
    /// The sofia profile it is a gateway of.
    profile: String,
    /// host or host:port.
    proxy: String,
    #[schema(required = true)]
    realm: Option<String>,
    #[schema(required = true)]
    username: Option<String>,
    /// The password is write-only.
    has_password: bool,
    register: bool,
    #[schema(required = true)]
    from_domain: Option<String>,
    caller_id_in_from: bool,
    #[schema(minimum = 60, maximum = 86400)]
    expire_seconds: u32,
    #[schema(minimum = 5, maximum = 3600)]
    retry_seconds: u32,
    /// On PUT: each FreeSWITCH node of this process's ESL worker and whether it took the
    /// change (empty without a worker).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    nodes: Option<Vec<NodeOutcome>>,
}

impl From<&TrunkRow> for Trunk {
    fn from(trunk: &TrunkRow) -> Self {
        Trunk {
            name: trunk.name.clone(),
            profile: trunk.profile.clone(),
            proxy: trunk.proxy.clone(),
            realm: trunk.realm.clone(),
            username: trunk.username.clone(),
            has_password: trunk.password.is_some(),
            register: trunk.register,
            from_domain: trunk.from_domain.clone(),
            caller_id_in_from: trunk.caller_id_in_from,
            expire_seconds: trunk.expire_seconds,
            retry_seconds: trunk.retry_seconds,
            nodes: None,
        }
    }
}

/// The trunks, by name.
#[derive(Serialize, ToSchema)]
pub(super) struct TrunkList {
    trunks: Vec<Trunk>,
}

/// The path parameter of one trunk.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct TrunkName {
    /// The trunk's name (the gateway's).
    #[param(pattern = "^[A-Za-z0-9_.-]{1,64}$", example = "trunk")]
    trunk: String,
}

/// The SIP trunks (sofia gateways), by name (operators only).
#[utoipa::path(
    get,
    path = "/api/operator/trunks",
    tag = "operator",
    responses(
        (status = 200, description = "Trunks", body = TrunkList),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn trunks(
    State(state): State<ApiState>,
    _operator: Operator,
) -> Result<Json<TrunkList>, ApiError> {
    let trunks = state.cache.store().trunks(None).await?;
    let trunks = trunks.iter().map(Trunk::from).collect();
    Ok(Json(TrunkList { trunks }))
}

/// One trunk (operators only).
#[utoipa::path(
    get,
    path = "/api/operator/trunks/{trunk}",
    tag = "operator",
    params(TrunkName),
    responses(
        (status = 200, description = "The trunk", body = Trunk),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn trunk(
    State(state): State<ApiState>,
    _operator: Operator,
    Path(name): Path<String>,
) -> Result<Json<Trunk>, ApiError> {
    let trunk = state
        .cache
        .store()
        .trunk(&name)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Trunk::from(&trunk)))
}

/// Adds or replaces a trunk (operators only): stored, then applied on every node (a new one by
/// a rescan of its profile; a changed one killed and, once sofia has dropped it (a few
/// seconds), added again by a rescan); the answer names the nodes that have it.
#[utoipa::path(
    put,
    path = "/api/operator/trunks/{trunk}",
    tag = "operator",
    params(TrunkName),
    request_body = TrunkBody,
    responses(
        (status = 200, description = "The trunk, with `nodes`", body = Trunk),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_trunk(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(name): Path<String>,
    Body(body): Body<TrunkBody>,
) -> Result<Json<Trunk>, ApiError> {
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
    let mut answer = Trunk::from(&trunk);
    answer.nodes = Some(node_outcomes(nodes));
    Ok(Json(answer))
}

/// Removes a trunk (operators only); refused (409) while a tenant goes out by it; killed on
/// every node.
#[utoipa::path(
    delete,
    path = "/api/operator/trunks/{trunk}",
    tag = "operator",
    params(TrunkName),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
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
#[openapi(paths(trunks, trunk, put_trunk, delete_trunk))]
pub(super) struct Routes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trunk_keeps_its_json_shape_with_nodes_on_put_only() {
        let row = TrunkRow {
            name: "carrier".into(),
            profile: "external".into(),
            proxy: "sip.carrier.example".into(),
            realm: None,
            username: Some("acct".into()),
            password: Some("secret".into()),
            register: true,
            from_domain: None,
            caller_id_in_from: false,
            expire_seconds: 3600,
            retry_seconds: 30,
        };
        let shown = r#"{"name":"carrier","profile":"external","proxy":"sip.carrier.example","realm":null,"username":"acct","has_password":true,"register":true,"from_domain":null,"caller_id_in_from":false,"expire_seconds":3600,"retry_seconds":30"#;
        assert_eq!(
            serde_json::to_string(&Trunk::from(&row)).unwrap(),
            format!("{shown}}}")
        );
        let mut put = Trunk::from(&row);
        put.nodes = Some(Vec::new());
        assert_eq!(
            serde_json::to_string(&put).unwrap(),
            format!("{shown},\"nodes\":[]}}")
        );
    }
}
