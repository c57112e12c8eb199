//! The REST API, the WebSocket of live call events and the live page.
//!
//! Every route but `POST /api/login`, `GET /api/openapi.json` and `GET /live` wants
//! `Authorization: Bearer <token>` (`/ws` takes `?token=`, as browsers cannot set headers on a
//! WebSocket); a token is for one tenant, and every route answers with that tenant's data only.
//! The routes are described in `openapi.json` (served at `/api/openapi.json`). One file per
//! resource.

mod auth;
mod balance;
mod body;
mod calls;
mod cdrs;
mod error;
mod extensions;
mod login;
mod pages;
mod recordings;
mod ws;

pub use auth::{ApiUser, Caller, Claims, Role, Tokens, Users};
pub use error::ApiError;
pub use pages::{LIVE_PAGE, OPENAPI};

use crate::roles::esl_worker::EslWorker;
use axum::Router;
use axum::routing::{get, post};
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
    /// Call events.
    pub hub: Hub,
    /// Where recordings are.
    pub recordings: Option<recording::Destination>,
    /// How long a pre-signed download URL lives.
    pub download_ttl: Duration,
}

/// The API's routes: `/api/...`, `/ws` and `/live`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/login", post(login::login))
        .route("/api/openapi.json", get(pages::openapi))
        .route(
            "/api/calls",
            get(calls::active_calls).post(calls::click_to_call),
        )
        .route("/api/cdrs", get(cdrs::cdrs))
        .route("/api/recordings/{call_uuid}", get(recordings::recordings))
        .route(
            "/api/recordings/{call_uuid}/{index}",
            get(recordings::download),
        )
        .route("/api/extensions", get(extensions::extensions))
        .route(
            "/api/extensions/{extension}",
            get(extensions::extension)
                .put(extensions::put_extension)
                .delete(extensions::delete_extension),
        )
        .route("/api/balance", get(balance::balance))
        .route("/api/topups", post(balance::top_up))
        .route("/ws", get(ws::upgrade))
        .route("/live", get(pages::live_page))
        .with_state(state)
}
