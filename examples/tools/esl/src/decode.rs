//! `esl-decode`: reads a raw ESL byte stream (a capture, or `tcpdump` payload) and writes one
//! JSON object per frame, so operators can grep and `jq` what FreeSWITCH said.

use crate::json::{event_fields, headers_json, text_or_null};
use bytes::BytesMut;
use esl::proto::{Frame, FrameDecoder, FrameError, Limits};
use serde_json::{Value, json};
use std::io::{self, Read, Write};

/// What to print.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Print event frames only.
    pub events_only: bool,
    /// Limits applied to the stream.
    pub limits: Limits,
}

/// Why decoding stopped short of the end of the stream.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Reading the input or writing the output failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The stream cannot be framed from this point on.
    #[error("malformed stream: {0}")]
    Frame(#[from] FrameError),
    /// The stream ended inside a frame.
    #[error("stream ends inside a frame: {left} bytes left over at byte {offset}")]
    Truncated {
        /// Where the incomplete frame starts.
        offset: u64,
        /// How many bytes it has.
        left: usize,
    },
    /// Frames were framed correctly but some event bodies did not parse; they were printed
    /// with an `event_error`.
    #[error("{count} event(s) did not parse; the first at byte {offset}")]
    BadEvents {
        /// Where the first bad frame starts.
        offset: u64,
        /// How many events failed.
        count: usize,
    },
}

impl DecodeError {
    /// The byte offset the error names, if any.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::Io(_) => None,
            Self::Frame(e) => Some(e.offset()),
            Self::Truncated { offset, .. } | Self::BadEvents { offset, .. } => Some(*offset),
        }
    }
}

/// What was decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Frames decoded.
    pub frames: usize,
    /// Lines written.
    pub printed: usize,
}

/// Decodes `input` to the end, writing one JSON line per frame to `output`. Frames before a
/// framing error are all written before the error is returned.
///
/// ```
/// use esl_tools::decode::{Options, run};
///
/// let stream = b"Content-Type: auth/request\n\nContent-Type: command/reply\nReply-Text: +OK accepted\n\n";
/// let mut out = Vec::new();
/// let summary = run(&stream[..], &mut out, Options::default())?;
/// assert_eq!(summary.frames, 2);
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.lines().nth(1).unwrap().contains(r#""Reply-Text":"+OK accepted""#));
/// # Ok::<(), esl_tools::decode::DecodeError>(())
/// ```
pub fn run(input: impl Read, output: impl Write, options: Options) -> Result<Summary, DecodeError> {
    let mut input = input;
    let mut output = io::BufWriter::new(output);
    let mut decoder = FrameDecoder::with_limits(options.limits);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut summary = Summary::default();
    let mut bad_events: Option<(u64, usize)> = None;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = input.read(&mut chunk)?;
        buf.extend_from_slice(&chunk[..read]);
        loop {
            let frame = match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(err) => {
                    output.flush()?;
                    return Err(err.into());
                }
            };
            let offset = decoder.consumed() - frame.as_bytes().len() as u64;
            summary.frames += 1;
            if options.events_only && !frame.is_event() {
                continue;
            }
            let (line, event_ok) = frame_json(&frame, offset);
            if !event_ok {
                bad_events.get_or_insert((offset, 0)).1 += 1;
            }
            serde_json::to_writer(&mut output, &line).map_err(io::Error::from)?;
            output.write_all(b"\n")?;
            summary.printed += 1;
        }
        if read == 0 {
            break;
        }
    }
    output.flush()?;
    if !buf.is_empty() {
        return Err(DecodeError::Truncated {
            offset: decoder.consumed(),
            left: buf.len(),
        });
    }
    if let Some((offset, count)) = bad_events {
        return Err(DecodeError::BadEvents { offset, count });
    }
    Ok(summary)
}

/// One frame as JSON; for an event, its own headers and body. The flag is false when an
/// event body did not parse (the frame is then shown raw with `event_error`).
fn frame_json(frame: &Frame, offset: u64) -> (Value, bool) {
    let content_type = frame
        .header("Content-Type")
        .map_or(Value::Null, |ct| Value::String(ct.into_owned()));
    let mut line = json!({ "offset": offset, "content_type": content_type });
    let object = line.as_object_mut().expect("built as an object");
    if frame.is_event() {
        match frame.event() {
            Ok(event) => {
                object.extend(event_fields(&event));
                return (line, true);
            }
            Err(err) => {
                object.insert("event_error".into(), Value::String(err.to_string()));
            }
        }
    }
    object.insert("headers".into(), headers_json(frame.headers()));
    object.insert("body_len".into(), frame.body().len().into());
    object.insert("body".into(), text_or_null(frame.body()));
    (line, !frame.is_event())
}
