//! `GET /ws?token=...`: the caller's tenant's call events, as JSON text messages.
//!
//! The first message is `{"type":"snapshot","calls":[...],"queues":[...],"agents":[...],
//! "nodes":{"configured":N,"connected":M}}` (taken after subscribing, so no event falls between
//! the two); then one message per event (`seq` counts the tenant's events): `call_started`,
//! `call_answered`, `call_ended`, `recording_ready`, `balance_changed` (the account's
//! `balance`, `held`, `live_balance` and `available` after every top-up, charge and change to
//! a prepaid call's hold), `queue_changed`, `agent_changed` and `queue_statistics`.
//! A client that falls too far behind gets `{"type":"lagged","missed":N}` and a new snapshot.
//! The socket closes when the token expires (4001) or is revoked (4003: the user's password,
//! role or extension changed, or the user was removed), checked every few seconds. Clients send
//! next to nothing: a message over 4 KiB closes the socket, and a user opens a few sockets at
//! most.

use super::auth::{tenant_user, verified};
use super::extract::Query;
use super::{ApiError, ApiState, Claims};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use platform::clock::unix_seconds;
use platform::events::{Received, Subscription};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WsQuery {
    token: Option<String>,
}

/// Most messages written before one flush.
const BATCH: usize = 256;

/// The largest message (and frame) a client may send: pings, pongs and close frames are
/// tiny, and nothing else means anything here.
const CLIENT_MESSAGE_MAX: usize = 4096;

pub(super) async fn upgrade(
    State(state): State<ApiState>,
    Query(query): Query<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let token = query
        .token
        .ok_or_else(|| ApiError::Unauthorized("missing token".into()))?;
    let claims = tenant_user(verified(&state, &token).await?)?;
    let slot = state
        .limits
        .open_socket(&format!("{}/{}", claims.tenant, claims.sub))?;
    // Clients send next to nothing: a small read buffer, which tungstenite zero-fills on every
    // read, keeps each poll of the socket cheap. Up to a batch of events waits in the write
    // buffer before a flush.
    let upgrade = upgrade
        .read_buffer_size(4096)
        .max_message_size(CLIENT_MESSAGE_MAX)
        .max_frame_size(CLIENT_MESSAGE_MAX)
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(16 << 20);
    Ok(upgrade.on_upgrade(move |socket| async move {
        let _slot = slot;
        let events = state.hub.subscribe(&claims.tenant);
        serve(socket, events, &state, &claims).await;
    }))
}

fn snapshot(state: &ApiState, tenant: &str) -> Message {
    let live = super::live::view(state);
    let calls = live
        .as_ref()
        .map(|live| live.active_calls(tenant))
        .unwrap_or_default();
    let (queues, agents) = live
        .as_ref()
        .map(|live| live.contact_center(tenant))
        .unwrap_or_default();
    let (configured, connected) = live.as_ref().map_or((0, 0), |live| live.nodes());
    Message::Text(
        json!({
            "type": "snapshot",
            "calls": calls,
            "queues": queues,
            "agents": agents,
            "nodes": { "configured": configured, "connected": connected },
        })
        .to_string()
        .into(),
    )
}

async fn serve(socket: WebSocket, mut events: Subscription, state: &ApiState, claims: &Claims) {
    let tenant = claims.tenant.as_str();
    let now = unix_seconds().max(0) as u64;
    let expires_in = Duration::from_secs(claims.exp.saturating_sub(now));
    let mut revalidate = tokio::time::interval(state.limits.revalidate_every);
    revalidate.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut sink, mut stream) = socket.split();
    if sink.send(snapshot(state, tenant)).await.is_err() {
        return;
    }
    let expiry = tokio::time::sleep(expires_in);
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            received = events.recv() => {
                // Everything already waiting goes out in one flush.
                let mut next = Some(received);
                let mut written = 0;
                while let Some(item) = next.take() {
                    let sent = match item {
                        Received::Event(event) => match Utf8Bytes::try_from(event.json.clone()) {
                            Ok(text) => sink.feed(Message::Text(text)).await,
                            // The hub publishes serde_json's output only: always UTF-8.
                            Err(_) => Ok(()),
                        },
                        Received::Lagged(missed) => {
                            let lagged = json!({ "type": "lagged", "missed": missed }).to_string();
                            match sink.feed(Message::Text(lagged.into())).await {
                                Ok(()) => sink.feed(snapshot(state, tenant)).await,
                                Err(e) => Err(e),
                            }
                        }
                        Received::Closed => return,
                    };
                    if sent.is_err() {
                        return;
                    }
                    written += 1;
                    if written < BATCH {
                        next = events.try_recv();
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            incoming = stream.next() => match incoming {
                // Pings are answered by the library; text from the client means nothing here.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            () = &mut expiry => {
                close(&mut sink, 4001, "token expired").await;
                return;
            }
            _ = revalidate.tick() => {
                // A database that fails keeps the socket: only a definite answer revokes.
                if let Err(ApiError::Unauthorized(_)) = state.users.check(claims).await {
                    close(&mut sink, 4003, "access revoked").await;
                    return;
                }
                if let Err(ApiError::Forbidden(_) | ApiError::Unauthorized(_)) =
                    super::auth::refuse_disabled(state, claims).await
                {
                    close(&mut sink, 4003, "access revoked").await;
                    return;
                }
            }
        }
    }
}

/// Sends a close frame, waiting a few seconds at most (a client that stopped reading does not
/// hold the socket open).
async fn close<S>(sink: &mut S, code: u16, reason: &'static str)
where
    S: futures_util::Sink<Message> + Unpin,
{
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = tokio::time::timeout(Duration::from_secs(5), sink.send(frame)).await;
}
