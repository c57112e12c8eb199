//! The mod_xml_curl server: FreeSWITCH's directory, dialplan and configuration, answered from
//! the platform's tables.
//!
//! - `directory`: the extension of the tenant owning the SIP domain, with its password or
//!   `a1-hash`, its caller ID, `user_context` (the tenant's context) and the tenant variable (so
//!   that its calls, and their CDRs, name the tenant).
//! - `dialplan`: in the `public` context, a DID's call is given its tenant and transferred to
//!   its route's destination in the tenant's context; unknown DIDs are refused. In the tenant
//!   owning the context, an extension is bridged to the user, a queue's or IVR menu's dial name
//!   runs `callcenter` or `ivr` (`name@tenant`); any
//!   other number goes out through the tenant's gateway, limited by the prepaid policy; calls
//!   the recording policy selects start `record_session` into the staging directory. A lookup
//!   that fails or misses its deadline refuses the call (`SERVICE_UNAVAILABLE`): FreeSWITCH's
//!   fallback, its static dialplan, would route it untenanted and unlimited.
//! - `configuration`: `callcenter.conf` and `ivr.conf` from the database; not-found otherwise.
//!
//! FreeSWITCH blocks a thread while it waits, so tenants and extensions come from the
//! platform's cache, which every write through the store invalidates.

mod configuration;
mod dialplan;
mod directory;
mod gateways;
mod inbound;

use crate::http::basic_auth::require;
use crate::http::{BasicAuth, ErrorId};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use billing::Ledger;
use platform::cache::Cache;
use platform::store::PlatformError;
use platform::variables::ChannelVariables;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use xmlcurl::axum::XmlCurl;

/// How the xml_curl server answers.
#[derive(Debug, Clone)]
pub struct XmlCurlConfig {
    /// Credentials FreeSWITCH sends (`gateway-credentials`): always required, checked before
    /// the body is read.
    pub auth: BasicAuth,
    /// Where `record_session` writes (the recording pipeline's staging directory).
    pub recordings_dir: PathBuf,
    /// The channel variables set on users and calls.
    pub variables: ChannelVariables,
    /// How long a dialplan lookup may take before the call is refused: below FreeSWITCH's
    /// `timeout` (2 s in the shipped `xml_curl.conf.xml`), after which it would fall back to
    /// its static dialplan, which knows nothing of tenants or prepaid.
    pub dialplan_deadline: Duration,
    /// Where the tenants' IVR prompts are (`prompt:NAME` sounds); none: such sounds are not
    /// served.
    pub prompts: Option<crate::prompts::Prompts>,
}

impl XmlCurlConfig {
    /// The server for FreeSWITCH sending `auth`, recording into `/dev/shm/recordings`.
    pub fn new(auth: BasicAuth) -> Self {
        XmlCurlConfig {
            auth,
            recordings_dir: PathBuf::from("/dev/shm/recordings"),
            variables: ChannelVariables::default(),
            dialplan_deadline: Duration::from_millis(1500),
            prompts: None,
        }
    }
}

#[derive(Clone)]
struct ServerState {
    config: Arc<XmlCurlConfig>,
    cache: Cache,
    ledger: Ledger,
}

/// The routes: `POST /fsapi` (and any path below it), answered from `cache`; a request without
/// the credentials is answered 401 before its body is read.
pub fn router(cache: Cache, ledger: Ledger, config: XmlCurlConfig) -> Router {
    let auth = config.auth.clone();
    let state = ServerState {
        config: Arc::new(config),
        cache,
        ledger,
    };
    Router::new()
        .route("/fsapi", post(answer))
        .route("/fsapi/{*rest}", post(answer))
        .route_layer(axum::middleware::from_fn_with_state(auth, require))
        .with_state(state)
}

async fn answer(State(state): State<ServerState>, XmlCurl(request): XmlCurl) -> Response {
    let answered = if let Some(lookup) = request.directory() {
        directory::answer(&state, &lookup).await
    } else if let Some(call) = request.dialplan() {
        let deadline = state.config.dialplan_deadline;
        let answered = tokio::time::timeout(deadline, dialplan::answer(&state, &request, &call))
            .await
            .unwrap_or(Err(LookupError::Deadline(deadline)));
        // Calls fail closed: a lookup we cannot answer refuses the call rather than let
        // FreeSWITCH route it by its static dialplan (unlimited, untenanted).
        return match answered {
            Ok(response) => response.into_response(),
            Err(error) => {
                let id = ErrorId::log("dialplan lookup", &error);
                tracing::warn!(error_id = %id, "call refused: its dialplan lookup failed");
                dialplan::unavailable(call.context()).into_response()
            }
        };
    } else {
        configuration::answer(&state, &request).await
    };
    match answered {
        Ok(response) => response.into_response(),
        Err(error) => {
            // FreeSWITCH falls back to its next source on an error, and retries on the next
            // call. The database's text stays in our log.
            let id = ErrorId::log("xml_curl lookup", &error);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("lookup failed, error id {id}\n"),
            )
                .into_response()
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Ledger(#[from] billing::LedgerError),
    #[error("no answer within {0:?}")]
    Deadline(Duration),
}
