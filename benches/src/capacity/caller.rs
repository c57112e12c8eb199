//! FreeSWITCH's side of one call, in the order FreeSWITCH does it: the caller's extension
//! looked up in the directory and the destination in the dialplan (mod_xml_curl, a connection
//! each), the channels' events up to the answer and the recording's start (ESL), the call's
//! length, the WAV complete in the staging directory, the hang-up events with RECORD_STOP, then
//! each leg's CDR (mod_json_cdr, a connection each).

use super::call::{CallTemplate, CallTraffic, Uuids};
use super::clock::Clock;
use super::daemon::{CDR_AUTH, FSAPI_AUTH};
use super::profile::PlannedCall;
use bytes::Bytes;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::http;
use tokio::sync::mpsc;

/// What every call shares.
pub struct Switch {
    /// The daemon's listener of FreeSWITCH's routes.
    pub address: SocketAddr,
    /// The node's connection to the daemon's ESL worker.
    pub node: mpsc::Sender<Bytes>,
    /// The staging directory (where `record_session` writes).
    pub staging: PathBuf,
    /// The captured recording's samples (8 kHz mono), looped to each call's length.
    pub samples: Arc<Vec<u8>>,
    /// The captures.
    pub template: CallTemplate,
    /// The run's UUIDs.
    pub uuids: Uuids,
    /// The run's clock.
    pub clock: Arc<Clock>,
    /// When the load started.
    pub started: Instant,
    /// Whether the tenant is prepaid: its dialplan answers then carry the call's hold.
    pub prepaid: bool,
}

/// How one HTTP exchange went: micros to the whole answer, or what failed.
#[derive(Debug, Clone)]
pub enum Exchange {
    /// Answered 200 (and, for a lookup, with a document).
    Ok {
        /// From the connection to the answer's last byte.
        micros: u32,
        /// When the connection was opened, micros on the run's clock.
        sent: u64,
    },
    /// Anything else: the status or the error.
    Failed(String),
}

/// What happened to one call.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    /// The directory lookup.
    pub directory: Exchange,
    /// The dialplan lookup.
    pub dialplan: Exchange,
    /// Each leg's CDR post.
    pub cdrs: [Exchange; 2],
    /// Why the WAV could not be written, if it could not.
    pub wav_error: Option<String>,
    /// Whether every frame reached the node's connection.
    pub events_sent: bool,
}

/// Longest wait for an answer (or for room on the node's connection): a run never hangs.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `request` and waits for the whole answer, which must be 200 and hold every text of
/// `expect` (a dialplan that bridges and records, a directory with the user). As FreeSWITCH's
/// modules do it with libcurl: on a thread of its own, blocked on the socket, done at the
/// answer's last byte (timed there, not once this runtime gets round to the result).
async fn exchange(switch: &Switch, request: Vec<u8>, expect: &[&str]) -> Exchange {
    let (clock, address) = (switch.clock.clone(), switch.address);
    let answered = tokio::task::spawn_blocking(move || {
        let (sent, at) = (Instant::now(), clock.now_micros());
        http::send_blocking(address, &request, ANSWER_TIMEOUT)
            .map(|answer| (sent.elapsed(), at, answer))
    })
    .await;
    match answered {
        Ok(Ok((took, sent, answer))) if answer.status == 200 => {
            let micros = took.as_micros().min(u128::from(u32::MAX)) as u32;
            let body = String::from_utf8_lossy(&answer.body);
            match expect.iter().find(|needle| !body.contains(*needle)) {
                Some(needle) => Exchange::Failed(format!("answer without {needle}")),
                None => Exchange::Ok { micros, sent },
            }
        }
        Ok(Ok((_, _, answer))) => Exchange::Failed(format!("status {}", answer.status)),
        Ok(Err(error)) => Exchange::Failed(error.to_string()),
        Err(error) => Exchange::Failed(format!("the exchange's thread failed: {error}")),
    }
}

/// Hands frames to the node's connection; false if it is gone or full for too long.
async fn to_node(switch: &Switch, frames: Bytes) -> bool {
    matches!(
        tokio::time::timeout(ANSWER_TIMEOUT, switch.node.send(frames)).await,
        Ok(Ok(()))
    )
}

fn lookup(body: &str) -> Vec<u8> {
    http::post(
        "/fsapi",
        &[
            ("User-Agent", "freeswitch-xml/1.0"),
            ("Accept", "*/*"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", FSAPI_AUTH),
        ],
        body.as_bytes(),
    )
}

fn cdr_post(uuid: &str, body: &str) -> Vec<u8> {
    http::post(
        &format!("/cdr?uuid={uuid}"),
        &[
            ("User-Agent", "freeswitch-json/1.0"),
            ("Accept", "*/*"),
            // As captured: mod_json_cdr says so whatever the body.
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", CDR_AUTH),
        ],
        body.as_bytes(),
    )
}

/// The recordings' sample rate (mono): the captured recording's.
const RATE: u32 = 8000;

/// Writes the call's recording as `record_session` leaves it: a WAV of the call's length.
async fn write_wav(switch: &Switch, traffic: &CallTraffic, length: Duration) -> Result<(), String> {
    let path = switch.staging.join(&traffic.wav);
    let samples = switch.samples.clone();
    let frames = length.as_millis() as u64 * u64::from(RATE) / 1000;
    tokio::task::spawn_blocking(move || {
        let wav = tests::recordings::looped_wav_frames(&samples, RATE, 1, frames);
        std::fs::write(&path, wav).map_err(|e| format!("{}: {e}", path.display()))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Plays call `k` of the plan.
pub async fn play(switch: Arc<Switch>, k: usize, call: PlannedCall) -> CallOutcome {
    tokio::time::sleep_until((switch.started + call.start).into()).await;
    // Made when the call starts: thousands of calls wait for their turn.
    let traffic = switch.template.call(&switch.uuids, k, call.recorded);
    let directory = exchange(&switch, lookup(&traffic.directory), &["<user id="]).await;
    let dialplan = exchange(
        &switch,
        lookup(&traffic.dialplan),
        if switch.prepaid {
            &["record_session", "bridge", "callcenter_hold="]
        } else {
            &["record_session", "bridge"]
        },
    )
    .await;
    switch.clock.mark_setup(k);
    let mut events_sent = to_node(&switch, traffic.setup.clone()).await;
    tokio::time::sleep_until((switch.started + call.end()).into()).await;
    let wav_error = if call.recorded {
        write_wav(&switch, &traffic, call.length).await.err()
    } else {
        None
    };
    switch.clock.mark_end(k);
    events_sent &= to_node(&switch, traffic.end.clone()).await;
    // mod_json_cdr posts each leg as its channel is destroyed, on threads of its own.
    let (a, b) = (switch.uuids.leg(k, 0), switch.uuids.leg(k, 1));
    let (first, second) = tokio::join!(
        exchange(&switch, cdr_post(&b, &traffic.cdrs[0]), &[]),
        exchange(&switch, cdr_post(&a, &traffic.cdrs[1]), &[]),
    );
    CallOutcome {
        directory,
        dialplan,
        cdrs: [first, second],
        wav_error,
        events_sent,
    }
}

/// How long after the plan's last hang-up the run waits for the last recordings and messages.
pub const DRAIN: Duration = Duration::from_secs(60);
