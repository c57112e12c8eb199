//! A replay server: FreeSWITCH's side of a captured ESL session, played back to a live client.
//!
//! The capture's `.raw` (what FreeSWITCH sent) is cut into frames and `.raw.sent` (what the
//! client sent) into commands. On connect the frames before the first reply are sent; then for
//! each command received the server checks it against the capture's next command and answers
//! with the frames up to the following reply. Correlation ids the client chooses (`Job-UUID`,
//! `event-uuid`) are compared loosely and substituted into the frames that follow, so a client
//! with its own ids sees the capture as if FreeSWITCH had used them.

use bytes::{Bytes, BytesMut};
use esl::proto::{ContentType, FrameDecoder};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One frame FreeSWITCH sent, as bytes, and whether it answers a command.
#[derive(Debug, Clone)]
struct ServerFrame {
    bytes: Bytes,
    is_reply: bool,
}

/// A capture cut into frames and commands.
#[derive(Debug, Clone)]
pub struct Capture {
    frames: Vec<ServerFrame>,
    commands: Vec<Bytes>,
}

impl Capture {
    /// Loads `fixtures/freeswitch/esl/<name>` and its `.sent`.
    pub fn load(name: &str) -> Self {
        let raw = std::fs::read(crate::fixture(&format!("esl/{name}"))).expect("capture");
        let sent = std::fs::read(crate::fixture(&format!("esl/{name}.sent"))).expect("capture");
        Self::from_bytes(&raw, &sent)
    }

    /// Cuts a server byte stream and a client byte stream.
    pub fn from_bytes(raw: &[u8], sent: &[u8]) -> Self {
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::from(raw);
        let mut frames = Vec::new();
        let mut start = 0usize;
        while let Some(frame) = decoder.decode(&mut buf).expect("capture frames") {
            let end = decoder.consumed() as usize;
            let is_reply = matches!(
                frame.content_type(),
                ContentType::CommandReply | ContentType::ApiResponse
            );
            frames.push(ServerFrame {
                bytes: Bytes::copy_from_slice(&raw[start..end]),
                is_reply,
            });
            start = end;
        }
        let mut commands = Vec::new();
        let mut rest = BytesMut::from(sent);
        while let Some(command) = split_command(&mut rest) {
            commands.push(command);
        }
        Self { frames, commands }
    }

    /// The capture's event frames (`text/event-*`), as bytes.
    pub fn event_frames(&self) -> Vec<Bytes> {
        let mut decoder = FrameDecoder::new();
        self.frames
            .iter()
            .filter(|f| {
                let mut buf = BytesMut::from(&f.bytes[..]);
                matches!(decoder.decode(&mut buf), Ok(Some(frame)) if frame.is_event())
            })
            .map(|f| f.bytes.clone())
            .collect()
    }
}

/// Takes one command (header block, and a body if it declares `content-length`) off `buf`.
fn split_command(buf: &mut BytesMut) -> Option<Bytes> {
    let end = memchr::memmem::find(buf, b"\n\n")? + 2;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let body = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    if buf.len() < end + body {
        return None;
    }
    Some(buf.split_to(end + body).freeze())
}

/// The value of a header line in a command, if present.
fn command_header(command: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(command).ok()?;
    text.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// A command without its caller-chosen ids, for comparison.
fn normalized(command: &[u8]) -> String {
    String::from_utf8_lossy(command)
        .split_inclusive('\n')
        .filter(|line| {
            let lower = line.to_ascii_lowercase();
            !lower.starts_with("job-uuid:") && !lower.starts_with("event-uuid:")
        })
        .collect()
}

/// How a connection is played.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// On the first connection, close the socket on receiving this command (0-based), without
    /// answering it. Later connections play the capture whole.
    pub drop_at_command: Option<usize>,
    /// Commands of the capture the client will not send (e.g. deliberately invalid ones); they
    /// and their replies are skipped.
    pub skip_commands: Vec<&'static str>,
    /// After this many commands (0-based count), stop following the capture and send the
    /// capture's events over and over, `events` in total, then close.
    pub flood: Option<Flood>,
    /// After this many commands were answered, answer every `bgapi` with its reply and its
    /// `BACKGROUND_JOB` event (the capture's first one, with the job's id), until the client
    /// leaves. Other commands get `+OK`.
    pub answer_bgapi_after: Option<usize>,
    /// Keep the connection open after the last frame, until the client closes it.
    pub hold_open: bool,
}

/// A flood of the capture's events.
#[derive(Debug, Clone, Copy)]
pub struct Flood {
    /// Start after this many commands were answered.
    pub after_commands: usize,
    /// How many event frames to send.
    pub events: usize,
    /// Use only the capture's event frames up to this many bytes (all when `None`).
    pub max_frame_len: Option<usize>,
}

/// What the server saw.
#[derive(Debug, Default, Clone)]
pub struct Log {
    /// Connections accepted (or made, when dialing).
    pub connections: usize,
    /// Every command received, normalized.
    pub commands: Vec<String>,
    /// Mismatches and failures; empty when the client behaved as the capture says.
    pub errors: Vec<String>,
    /// Event frames sent by a flood.
    pub flooded: usize,
}

/// A replay server listening on loopback.
#[derive(Debug)]
pub struct ReplayServer {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    task: JoinHandle<()>,
}

impl ReplayServer {
    /// Listens on 127.0.0.1 (a free port) and plays `capture` to every connection, one after
    /// another.
    pub async fn start(capture: Capture, plan: Plan) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(Log::default()));
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            let mut first = true;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                task_log.lock().unwrap().connections += 1;
                let mut plan = plan.clone();
                if !first {
                    plan.drop_at_command = None;
                }
                first = false;
                play(stream, &capture, &plan, &task_log).await;
            }
        });
        Self { addr, log, task }
    }

    /// Where to connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port` to connect to.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// What happened so far.
    pub fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Dials `addr` (an outbound-socket server) and plays `capture` as FreeSWITCH would.
pub async fn dial(addr: SocketAddr, capture: Capture) -> Log {
    let log = Arc::new(Mutex::new(Log::default()));
    match TcpStream::connect(addr).await {
        Ok(stream) => {
            log.lock().unwrap().connections += 1;
            play(stream, &capture, &Plan::default(), &log).await;
        }
        Err(e) => log.lock().unwrap().errors.push(format!("dial {addr}: {e}")),
    }
    log.lock().unwrap().clone()
}

/// Replaces every `from` with `to` (same length, so Content-Length stays right).
fn substitute(bytes: &Bytes, substitutions: &[(Vec<u8>, Vec<u8>)]) -> Bytes {
    if substitutions.is_empty() {
        return bytes.clone();
    }
    let mut out = bytes.to_vec();
    for (from, to) in substitutions {
        let mut at = 0;
        while let Some(found) = memchr::memmem::find(&out[at..], from) {
            let start = at + found;
            out[start..start + to.len()].copy_from_slice(to);
            at = start + to.len();
        }
    }
    Bytes::from(out)
}

async fn play<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    capture: &Capture,
    plan: &Plan,
    log: &Mutex<Log>,
) {
    if let Err(error) = play_inner(&mut stream, capture, plan, log).await {
        log.lock().unwrap().errors.push(error);
    }
    let _ = stream.shutdown().await;
}

async fn play_inner<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    capture: &Capture,
    plan: &Plan,
    log: &Mutex<Log>,
) -> Result<(), String> {
    let mut substitutions: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut pos = 0usize;
    let frames = &capture.frames;
    // What FreeSWITCH sends before any command (auth/request on inbound).
    while pos < frames.len() && !frames[pos].is_reply {
        write(stream, &frames[pos].bytes).await?;
        pos += 1;
    }
    let mut input = BytesMut::new();
    let mut answered = 0usize;
    for (index, expected) in capture.commands.iter().enumerate() {
        let expected_text = normalized(expected);
        let skip = plan
            .skip_commands
            .iter()
            .any(|s| expected_text.trim_end() == *s);
        if !skip {
            if let Some(flood) = plan.flood.filter(|f| f.after_commands == answered) {
                return flood_events(stream, capture, flood, log).await;
            }
            if plan.answer_bgapi_after == Some(answered) {
                return answer_bgapi(stream, capture, &mut input, log).await;
            }
            let Some(received) = read_command(stream, &mut input).await? else {
                return Ok(());
            };
            let received_text = normalized(&received);
            log.lock().unwrap().commands.push(received_text.clone());
            if plan.drop_at_command == Some(index) {
                return Ok(());
            }
            if received_text != expected_text {
                return Err(format!(
                    "command {index}: expected {expected_text:?}, received {received_text:?}"
                ));
            }
            learn_ids(&received, expected, frames, pos, &mut substitutions);
        }
        // The reply, then whatever FreeSWITCH sent before the next reply.
        let mut sent_reply = false;
        while pos < frames.len() && !(sent_reply && frames[pos].is_reply) {
            let is_reply = frames[pos].is_reply;
            sent_reply |= is_reply;
            // A skipped command's reply is not sent; the events around it still are.
            if !(skip && is_reply) {
                write(stream, &substitute(&frames[pos].bytes, &substitutions)).await?;
            }
            pos += 1;
        }
        if !skip {
            answered += 1;
        }
    }
    if plan.hold_open {
        let mut sink = [0u8; 4096];
        while stream
            .read(&mut sink)
            .await
            .map_err(|e| format!("read: {e}"))?
            > 0
        {}
    }
    Ok(())
}

/// Maps the capture's correlation ids to the ones the client chose.
fn learn_ids(
    received: &[u8],
    expected: &[u8],
    frames: &[ServerFrame],
    pos: usize,
    substitutions: &mut Vec<(Vec<u8>, Vec<u8>)>,
) {
    if let Some(client_job) = command_header(received, "Job-UUID") {
        let captured = command_header(expected, "Job-UUID").or_else(|| {
            // FreeSWITCH chose it: it is in the reply.
            frames[pos..].iter().find(|f| f.is_reply).and_then(|f| {
                let text = String::from_utf8_lossy(&f.bytes);
                text.lines()
                    .find_map(|l| l.strip_prefix("Job-UUID: ").map(str::to_owned))
            })
        });
        if let Some(captured) = captured.filter(|c| c.len() == client_job.len()) {
            substitutions.push((captured.into_bytes(), client_job.into_bytes()));
        }
    }
    if let Some(client_id) = command_header(received, "event-uuid") {
        let app = command_header(expected, "execute-app-name").unwrap_or_default();
        let captured = command_header(expected, "event-uuid").or_else(|| {
            // FreeSWITCH chose it: the next execution of that application carries it.
            frames[pos..].iter().find_map(|f| {
                let text = String::from_utf8_lossy(&f.bytes);
                let is_it = text.contains("Event-Name: CHANNEL_EXECUTE\n")
                    && text.contains(&format!("\nApplication: {app}\n"));
                is_it
                    .then(|| {
                        text.lines()
                            .find_map(|l| l.strip_prefix("Application-UUID: ").map(str::to_owned))
                    })
                    .flatten()
            })
        });
        if let Some(captured) = captured.filter(|c| c.len() == client_id.len()) {
            substitutions.push((captured.into_bytes(), client_id.into_bytes()));
        }
    }
}

async fn flood_events<S: AsyncWrite + Unpin>(
    stream: &mut S,
    capture: &Capture,
    flood: Flood,
    log: &Mutex<Log>,
) -> Result<(), String> {
    let events: Vec<Bytes> = capture
        .event_frames()
        .into_iter()
        .filter(|f| flood.max_frame_len.is_none_or(|max| f.len() <= max))
        .collect();
    if events.is_empty() {
        return Err("capture has no events to flood".into());
    }
    // Batches of whole frames keep the writes large, as FreeSWITCH's socket would be.
    let mut batch = BytesMut::with_capacity(256 * 1024);
    for i in 0..flood.events {
        batch.extend_from_slice(&events[i % events.len()]);
        if batch.len() >= 192 * 1024 || i + 1 == flood.events {
            write(stream, &batch).await?;
            batch.clear();
        }
    }
    log.lock().unwrap().flooded += flood.events;
    Ok(())
}

/// The capture's first `BACKGROUND_JOB` event frame and the Job-UUID in it.
fn job_template(capture: &Capture) -> Option<(Bytes, String)> {
    capture.event_frames().into_iter().find_map(|frame| {
        let text = String::from_utf8_lossy(&frame).into_owned();
        if !text.contains("Event-Name: BACKGROUND_JOB") {
            return None;
        }
        let job = text
            .lines()
            .find_map(|l| l.strip_prefix("Job-UUID: ").map(str::to_owned))?;
        Some((frame, job))
    })
}

async fn answer_bgapi<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    capture: &Capture,
    input: &mut BytesMut,
    log: &Mutex<Log>,
) -> Result<(), String> {
    let (template, template_job) = job_template(capture).ok_or("capture has no BACKGROUND_JOB")?;
    // The event around its Job-UUID, so each answer is two copies and the job id.
    let at =
        memchr::memmem::find(&template, template_job.as_bytes()).ok_or("job id not in template")?;
    let (before, after) = (&template[..at], &template[at + template_job.len()..]);
    let blank_line = memchr::memmem::Finder::new(b"\n\n");
    let mut out = BytesMut::with_capacity(64 * 1024);
    let mut generated = 0u64;
    let mut answered = 0usize;
    loop {
        // Answer everything already received in one write, as a busy server would.
        while let Some(end) = blank_line.find(input) {
            let command = input.split_to(end + 2);
            if command.starts_with(b"bgapi ") {
                let job = match memchr::memmem::find(&command, b"\nJob-UUID: ") {
                    Some(i) => command[i + 11..]
                        .split(|&b| b == b'\n')
                        .next()
                        .unwrap_or_default()
                        .to_vec(),
                    None => {
                        generated += 1;
                        format!("00000000-0000-4000-8000-{generated:012}").into_bytes()
                    }
                };
                if job.len() != template_job.len() {
                    return Err("Job-UUID of an unexpected length".into());
                }
                out.extend_from_slice(b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: ");
                out.extend_from_slice(&job);
                out.extend_from_slice(b"\nJob-UUID: ");
                out.extend_from_slice(&job);
                out.extend_from_slice(b"\n\n");
                out.extend_from_slice(before);
                out.extend_from_slice(&job);
                out.extend_from_slice(after);
            } else {
                out.extend_from_slice(b"Content-Type: command/reply\nReply-Text: +OK\n\n");
            }
            answered += 1;
        }
        if !out.is_empty() {
            write(stream, &out).await?;
            out.clear();
        }
        let read = stream
            .read_buf(input)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if read == 0 {
            log.lock()
                .unwrap()
                .commands
                .push(format!("{answered} bgapi answered"));
            return Ok(());
        }
    }
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> Result<(), String> {
    stream
        .write_all(bytes)
        .await
        .map_err(|e| format!("write: {e}"))
}

/// The next command from the client; `None` if it closed the connection.
async fn read_command<S: AsyncRead + Unpin>(
    stream: &mut S,
    input: &mut BytesMut,
) -> Result<Option<Bytes>, String> {
    loop {
        if let Some(command) = split_command(input) {
            return Ok(Some(command));
        }
        let read = tokio::time::timeout(Duration::from_secs(20), stream.read_buf(input))
            .await
            .map_err(|_| "client sent nothing for 20 s".to_string())?
            .map_err(|e| format!("read: {e}"))?;
        if read == 0 {
            return Ok(None);
        }
    }
}
