//! The REST API, the WebSocket of live call events and the pages (live calls, agent,
//! wallboard).
//!
//! Every route but `POST /api/login`, `GET /api/openapi.json`, the pages (`/live`, `/agent`,
//! `/wallboard`) and their `/assets/` wants
//! `Authorization: Bearer <token>` (`/ws` takes `?token=`, as browsers cannot set headers on a
//! WebSocket). A tenant user's token is for one tenant, and every tenant route answers with that
//! tenant's data only; an operator's token is for the platform routes (top-ups, unassigned
//! CDRs) and opens no tenant's data. A token dies with its user's credentials: a new password,
//! role or extension, or the user's removal, revokes it within [`REVOCATION_DELAY`].
//! The routes are described in `openapi.json` (served at `/api/openapi.json`). One file per
//! resource.

mod agents;
mod auth;
mod balance;
mod body;
mod calls;
mod cdrs;
mod contact_center;
mod dids;
mod error;
mod extensions;
mod extract;
mod fields;
mod limits;
mod live;
mod login;
mod menus;
mod openapi;
mod page;
mod pages;
mod playback;
mod prompts;
mod queues;
mod recordings;
mod ring_groups;
mod schedules;
mod tenants;
mod time;
mod trunks;
mod users;
mod ws;

pub use auth::{Admin, ApiUser, Caller, Claims, Operator, REVOCATION_DELAY, Role, Tokens, Users};
pub use error::ApiError;
pub use limits::{Limits, SocketSlot};
pub use openapi::openapi;
pub use pages::{ADMIN_PAGE, AGENT_PAGE, LIVE_PAGE, MediaSources, WALLBOARD_PAGE};

use crate::roles::esl_worker::{EslWorker, NodeOutcome};
use axum::Router;
use axum::routing::{get, post, put};
use billing::Ledger;
use platform::cache::Cache;
use platform::events::Hub;
use platform::variables::ChannelVariables;
use std::time::Duration;

/// What the API serves from.
#[derive(Clone)]
pub struct ApiState {
    /// Token issuer.
    pub tokens: Tokens,
    /// API users.
    pub users: Users,
    /// The ledger (CDRs, balances, recordings).
    pub ledger: Ledger,
    /// Tenants and extensions, read through the platform's cache (writes through its store
    /// invalidate it).
    pub cache: Cache,
    /// The channel variables click-to-call sets.
    pub variables: ChannelVariables,
    /// Live calls and FreeSWITCH access; `None` when the ESL worker does not run here.
    pub esl: Option<EslWorker>,
    /// The event bus's view of every node, when the deployment has a bus: live calls,
    /// queues and agents are read from it rather than from `esl`.
    pub live: Option<crate::bus::Follower>,
    /// Call events.
    pub hub: Hub,
    /// Where recordings are.
    pub recordings: Option<recording::Destination>,
    /// How long a pre-signed download URL lives.
    pub download_ttl: Duration,
    /// Login throttling, top-up size, sockets per token.
    pub limits: Limits,
    /// Where the administration page may load recordings from (found once).
    pub media_sources: MediaSources,
}

/// The largest request body the API reads.
pub const BODY_MAX: usize = 64 * 1024;

/// The API's routes: `/api/...`, `/ws` and `/live`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/login", post(login::login))
        .route("/api/openapi.json", get(pages::openapi))
        .route(
            "/api/calls",
            get(calls::active_calls).post(calls::click_to_call),
        )
        .route("/api/calls/{uuid}", get(calls::call))
        .route("/api/cdrs", get(cdrs::cdrs))
        .route("/api/cdrs/export", get(cdrs::export))
        .route("/api/recordings/{call_uuid}", get(recordings::recordings))
        .route(
            "/api/recordings/{call_uuid}/{index}",
            get(recordings::download),
        )
        .route(
            "/api/recordings/{call_uuid}/{index}/link",
            get(recordings::link),
        )
        .route("/api/playback/{ticket}", get(playback::play))
        .route("/api/extensions", get(extensions::extensions))
        .route(
            "/api/extensions/{extension}",
            get(extensions::extension)
                .put(extensions::put_extension)
                .patch(extensions::patch_extension)
                .delete(extensions::delete_extension),
        )
        .route("/api/users", get(users::users))
        .route(
            "/api/users/{username}",
            put(users::put_user).delete(users::delete_user),
        )
        .route("/api/balance", get(balance::balance))
        .route("/api/contact-center", get(contact_center::contact_center))
        .route(
            "/api/contact-center/statistics",
            get(contact_center::statistics),
        )
        .route(
            "/api/agents/{agent}/status",
            put(contact_center::set_status),
        )
        .route("/api/agents", get(agents::agents))
        .route(
            "/api/agents/{agent}",
            put(agents::put_agent).delete(agents::delete_agent),
        )
        .route("/api/queues", get(queues::queues))
        .route(
            "/api/queues/{queue}",
            put(queues::put_queue).delete(queues::delete_queue),
        )
        .route(
            "/api/queues/{queue}/agents/{agent}",
            put(queues::put_tier).delete(queues::delete_tier),
        )
        .route("/api/menus", get(menus::menus))
        .route(
            "/api/menus/{menu}",
            get(menus::menu)
                .put(menus::put_menu)
                .delete(menus::delete_menu),
        )
        .route("/api/ring-groups", get(ring_groups::ring_groups))
        .route(
            "/api/ring-groups/{group}",
            put(ring_groups::put_ring_group).delete(ring_groups::delete_ring_group),
        )
        .route("/api/schedules", get(schedules::schedules))
        .route(
            "/api/schedules/{schedule}",
            put(schedules::put_schedule).delete(schedules::delete_schedule),
        )
        .route("/api/prompts", get(prompts::prompts))
        .route(
            "/api/prompts/{prompt}",
            put(prompts::put_prompt)
                .delete(prompts::delete_prompt)
                .layer(axum::extract::DefaultBodyLimit::max(prompts::BODY_LIMIT)),
        )
        .route("/api/dids", get(dids::dids))
        .route("/api/dids/{number}", put(dids::put_route))
        .route("/api/topups", post(balance::top_up))
        .route("/api/operator/tenants", get(tenants::tenants))
        .route(
            "/api/operator/tenants/{tenant}",
            get(tenants::tenant)
                .put(tenants::put_tenant)
                .patch(tenants::patch_tenant),
        )
        .route(
            "/api/operator/tenants/{tenant}/users/{username}",
            put(tenants::put_user),
        )
        .route("/api/operator/dids/{number}", put(tenants::put_did))
        .route("/api/operator/plans", get(tenants::plans))
        .route(
            "/api/operator/plans/{plan}",
            put(tenants::put_plan).layer(axum::extract::DefaultBodyLimit::max(tenants::PLAN_MAX)),
        )
        .route("/api/operator/trunks", get(trunks::trunks))
        .route(
            "/api/operator/trunks/{trunk}",
            get(trunks::trunk)
                .put(trunks::put_trunk)
                .delete(trunks::delete_trunk),
        )
        .route("/api/operator/unassigned-cdrs", get(cdrs::unassigned))
        .route(
            "/api/operator/unassigned-recordings",
            get(recordings::unassigned),
        )
        .route(
            "/api/operator/unassigned-recordings/{id}/link",
            get(recordings::unassigned_link),
        )
        .route("/ws", get(ws::upgrade))
        .route("/live", get(pages::live_page))
        .route("/agent", get(pages::agent_page))
        .route("/wallboard", get(pages::wallboard_page))
        .route("/admin", get(pages::admin_page))
        .route("/assets/{name}", get(pages::asset))
        .route("/api/session", get(login::session))
        .route("/api/logout", post(login::logout))
        // Every failure is the API's JSON error, a route that does not exist and a method a
        // route does not take included.
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound })
        // Every body here is a small JSON document; the caller's token is checked before it
        // is read.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_MAX))
        .layer(axum::middleware::from_fn(crate::http::request_id::scope))
        .with_state(state)
}

/// Applies call-center changes on every node of this process's ESL worker (none without one:
/// the nodes read `callcenter.conf` when they load it).
async fn apply(state: &ApiState, changes: &[esl::api::CallCenterChange]) -> Vec<NodeOutcome> {
    match &state.esl {
        Some(worker) => worker.apply_call_center(changes).await,
        None => Vec::new(),
    }
}

/// The recording store (recordings and prompts), or a 503 where there is none.
fn recording_store(state: &ApiState) -> Result<&recording::Destination, ApiError> {
    state
        .recordings
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no recording store here".into()))
}

/// The answer to a removal: 204, or 404 when there was nothing to remove.
fn removed(found: bool) -> Result<axum::http::StatusCode, ApiError> {
    if found {
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
