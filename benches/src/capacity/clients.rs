//! The agents on `/ws`: each reads every message of the tenant's calls and notes, per call,
//! which of them came (each leg started, answered, ended; the recording ready) and when.

use super::call::Uuids;
use super::clock::Clock;
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The bit of a leg's transition (leg 0 or 1 × started, answered, ended).
fn transition_bit(leg: usize, kind: usize) -> u8 {
    1 << (leg * 3 + kind)
}
/// The bit of the recording being ready.
pub const RECORDING_BIT: u8 = 1 << 6;
/// Every transition of both legs.
pub const CALL_BITS: u8 = 0b11_1111;

/// What one client saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Per call, the messages that came (bits above).
    pub calls: Vec<u8>,
    /// Per call, when its recording's `recording_ready` came (micros on the run's clock + 1; 0:
    /// never).
    pub recording_at: Vec<u64>,
    /// From the node's write of the call's events to this client's read, micros, one per
    /// transition message.
    pub event_latencies: Vec<u32>,
    /// Messages that came twice.
    pub duplicated: u64,
    /// `lagged` notices (the client fell behind and lost messages).
    pub lagged: u64,
    /// Whether the socket closed or failed before the end.
    pub cut: bool,
}

/// A message's call, leg and bit, read without parsing the JSON (it starts with
/// `{"seq":N,"type":"...`).
fn classify(uuids: &Uuids, text: &str) -> Option<(usize, u8)> {
    let at = text.find("\"type\":\"")? + 8;
    let kind = text[at..].split('"').next()?;
    let (field, kind) = match kind {
        "call_started" => ("\"uuid\":\"", 0),
        "call_answered" => ("\"uuid\":\"", 1),
        "call_ended" => ("\"uuid\":\"", 2),
        "recording_ready" => ("\"call_uuid\":\"", 3),
        _ => return None,
    };
    let at = text.find(field)? + field.len();
    let (k, leg) = uuids.parse(text.get(at..at + 36)?)?;
    if kind == 3 {
        return Some((k, RECORDING_BIT));
    }
    (leg < 2).then(|| (k, transition_bit(leg, kind)))
}

/// Connects one agent (token `token`) and reads until `done` says so and the socket has been
/// quiet for 300 ms; `sent` gives, per call, when its events were written (setup and end).
pub async fn agent(
    address: SocketAddr,
    token: String,
    uuids: Uuids,
    calls: usize,
    clock: Arc<Clock>,
    mut done: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Seen> {
    // tungstenite zero-fills its whole read buffer before every read (128 KiB by default): at
    // the seeds' load that alone took a third of the agents' thread, which shares the cores
    // with the daemon. A browser pays nothing like it; 16 KiB still reads a flushed batch of
    // messages in a few calls.
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{address}/ws?token={token}"),
        Some(config),
        false,
    )
    .await
    .expect("the agent's WebSocket");
    // The snapshot comes first.
    let _ = socket.next().await;
    tokio::spawn(async move {
        let mut seen = Seen {
            calls: vec![0; calls],
            recording_at: vec![0; calls],
            ..Seen::default()
        };
        loop {
            let next = if *done.borrow() {
                match tokio::time::timeout(Duration::from_millis(300), socket.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                }
            } else {
                tokio::select! {
                    next = socket.next() => next,
                    _ = done.changed() => continue,
                }
            };
            let text = match next {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    seen.cut = true;
                    break;
                }
            };
            let now = clock.now_micros();
            if text.contains("\"type\":\"lagged\"") {
                seen.lagged += 1;
                continue;
            }
            let Some((k, bit)) = classify(&uuids, &text) else {
                continue;
            };
            let Some(slot) = seen.calls.get_mut(k) else {
                continue;
            };
            if *slot & bit != 0 {
                seen.duplicated += 1;
                continue;
            }
            *slot |= bit;
            if bit == RECORDING_BIT {
                seen.recording_at[k] = now + 1;
                continue;
            }
            // Ends come with the end's frames, the rest with the setup's.
            let ended = bit & (transition_bit(0, 2) | transition_bit(1, 2)) != 0;
            let sent = if ended {
                clock.end_sent(k)
            } else {
                clock.setup_sent(k)
            };
            if let Some(sent) = sent {
                seen.event_latencies
                    .push(now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32);
            }
        }
        seen
    })
}

#[cfg(test)]
mod tests_of_messages {
    use super::*;

    #[test]
    fn messages_are_told_apart_by_type_and_uuid() {
        let uuids = Uuids::new(42);
        let b = uuids.leg(7, 1);
        let started = format!(r#"{{"seq":1,"type":"call_started","call":{{"uuid":"{b}"}}}}"#);
        assert_eq!(classify(&uuids, &started), Some((7, transition_bit(1, 0))));
        let ready =
            format!(r#"{{"seq":2,"type":"recording_ready","tenant":"demo","call_uuid":"{b}"}}"#);
        assert_eq!(classify(&uuids, &ready), Some((7, RECORDING_BIT)));
        let other = r#"{"seq":3,"type":"call_started","call":{"uuid":"00000000-0000-4000-8000-000000000000"}}"#;
        assert_eq!(classify(&uuids, other), None);
    }
}
