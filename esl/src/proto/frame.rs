//! Incremental framing of the byte stream FreeSWITCH sends: header block, blank line, and
//! `Content-Length` bytes of body.

use super::decode::{into_text, text, url_decode};
use super::event::{Event, EventError, EventFormat};
use super::header_block::{BlockError, index_block, name_eq};
use super::span::HeaderSpan;
use bytes::{Bytes, BytesMut};
use nom::character::complete::digit1;
use nom::combinator::all_consuming;
use nom::{IResult, Parser};
use std::borrow::Cow;
use std::fmt;

/// Size limits that keep memory bounded whatever the peer sends.
///
/// ```
/// let limits = esl::proto::Limits::default().max_frame_size(1 << 20).max_headers(512);
/// let decoder = esl::proto::FrameDecoder::with_limits(limits);
/// # let _ = decoder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub(crate) max_frame_size: usize,
    pub(crate) max_headers: usize,
}

impl Limits {
    /// FreeSWITCH's own cap on a body: 16 MiB.
    pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;
    /// Enough for events carrying every variable of a busy channel.
    pub const DEFAULT_MAX_HEADERS: usize = 4096;

    /// Largest frame (headers and body together) accepted, in bytes. Values above
    /// `u32::MAX` are clamped, since offsets inside a frame are stored as `u32`.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes.min(u32::MAX as usize);
        self
    }

    /// Most headers accepted in one header block (a frame's, or a plain event's).
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_size: Self::DEFAULT_MAX_FRAME_SIZE,
            max_headers: Self::DEFAULT_MAX_HEADERS,
        }
    }
}

/// A stream that cannot be framed. Every variant carries the absolute byte offset in the stream
/// where the problem starts; after an error the stream cannot be resynchronised.
///
/// ```
/// use bytes::BytesMut;
/// use esl::proto::{FrameDecoder, FrameError};
///
/// let mut buf = BytesMut::from(&b"Content-Type: auth/request\n\nContent-Length: -1\n\n"[..]);
/// let mut decoder = FrameDecoder::new();
/// decoder.decode(&mut buf)?; // the auth/request frame
/// let err = decoder.decode(&mut buf).unwrap_err();
/// assert!(matches!(err, FrameError::InvalidContentLength { .. }));
/// assert_eq!(err.offset(), 44);
/// # Ok::<(), FrameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame would be larger than [`Limits::max_frame_size`].
    #[error("frame at byte {offset} is larger than the {limit}-byte limit")]
    FrameTooLarge {
        /// Where the frame starts.
        offset: u64,
        /// The limit in force.
        limit: usize,
    },
    /// The header block has more lines than [`Limits::max_headers`].
    #[error("header block at byte {offset} has more than {limit} headers")]
    TooManyHeaders {
        /// Where the header line over the limit starts.
        offset: u64,
        /// The limit in force.
        limit: usize,
    },
    /// A header line without a `Name:` part.
    #[error("malformed header line at byte {offset}")]
    MalformedHeader {
        /// Where the line starts.
        offset: u64,
    },
    /// A `Content-Length` that is not a non-negative decimal number.
    #[error("invalid Content-Length {value:?} at byte {offset}")]
    InvalidContentLength {
        /// Where the value starts.
        offset: u64,
        /// The value as received (lossily shown as text).
        value: String,
    },
}

impl FrameError {
    /// Absolute byte offset in the stream where the problem starts.
    pub fn offset(&self) -> u64 {
        match self {
            Self::FrameTooLarge { offset, .. }
            | Self::TooManyHeaders { offset, .. }
            | Self::MalformedHeader { offset }
            | Self::InvalidContentLength { offset, .. } => *offset,
        }
    }
}

/// What a frame is, from its `Content-Type` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentType {
    /// `auth/request`: the first frame, asking for `auth`.
    AuthRequest,
    /// `command/reply`: the reply to a command, in `Reply-Text`.
    CommandReply,
    /// `api/response`: the body is the result of `api`.
    ApiResponse,
    /// `text/event-plain`: the body is a URL-encoded header block.
    EventPlain,
    /// `text/event-json`: the body is a flat JSON object.
    EventJson,
    /// `text/event-xml`: the body is an `<event>` document.
    EventXml,
    /// `log/data`: the body is one log line.
    LogData,
    /// `text/disconnect-notice`: the session ends, or lingers.
    DisconnectNotice,
    /// `text/rude-rejection`: refused by the ACL; the socket closes next.
    RudeRejection,
    /// Any other or missing content type; the frame is still delivered whole.
    Unknown,
}

impl ContentType {
    /// Maps the header value to a content type.
    ///
    /// ```
    /// use esl::proto::ContentType;
    /// assert_eq!(ContentType::from_bytes(b"text/event-json"), ContentType::EventJson);
    /// assert_eq!(ContentType::from_bytes(b"x/new"), ContentType::Unknown);
    /// ```
    pub fn from_bytes(value: &[u8]) -> Self {
        match value {
            b"auth/request" => Self::AuthRequest,
            b"command/reply" => Self::CommandReply,
            b"api/response" => Self::ApiResponse,
            b"text/event-plain" => Self::EventPlain,
            b"text/event-json" => Self::EventJson,
            b"text/event-xml" => Self::EventXml,
            b"log/data" => Self::LogData,
            b"text/disconnect-notice" => Self::DisconnectNotice,
            b"text/rude-rejection" => Self::RudeRejection,
            _ => Self::Unknown,
        }
    }

    /// The event format this content type carries, if it is an event.
    pub fn event_format(self) -> Option<EventFormat> {
        match self {
            Self::EventPlain => Some(EventFormat::Plain),
            Self::EventJson => Some(EventFormat::Json),
            Self::EventXml => Some(EventFormat::Xml),
            _ => None,
        }
    }
}

/// How a `text/disconnect-notice` ends the session.
///
/// ```
/// use bytes::BytesMut;
/// use esl::proto::{Disconnect, FrameDecoder};
///
/// let wire = "Content-Type: text/disconnect-notice\nContent-Disposition: linger\nLinger-Time: -1\n\n";
/// let frame = FrameDecoder::new().decode(&mut BytesMut::from(wire.as_bytes()))?.unwrap();
/// assert_eq!(frame.disconnect(), Some(Disconnect::Linger { seconds: Some(-1) }));
/// # Ok::<(), esl::proto::FrameError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disconnect {
    /// The channel hung up but the socket stays open for the final events (outbound `linger`).
    /// `seconds` is `Linger-Time`; FreeSWITCH sends `-1` for "until all events are sent".
    Linger {
        /// The `Linger-Time` header, if present and numeric.
        seconds: Option<i64>,
    },
    /// The socket is closing.
    Close,
}

/// One complete frame: a single [`Bytes`] holding headers and body, with the headers indexed as
/// ranges into it. Cloning is cheap (reference counted).
///
/// ```
/// use bytes::BytesMut;
/// use esl::proto::{ContentType, FrameDecoder};
///
/// let wire = "Content-Type: api/response\nContent-Length: 14\n\n+OK [Success]\n";
/// let frame = FrameDecoder::new().decode(&mut BytesMut::from(wire.as_bytes()))?.unwrap();
/// assert_eq!(frame.content_type(), ContentType::ApiResponse);
/// assert_eq!(frame.header("content-length").as_deref(), Some("14"));
/// assert_eq!(frame.body(), b"+OK [Success]\n");
/// # Ok::<(), esl::proto::FrameError>(())
/// ```
#[derive(Clone)]
pub struct Frame {
    pub(crate) bytes: Bytes,
    pub(crate) headers: Vec<HeaderSpan>,
    body_start: u32,
    content_type: ContentType,
}

impl Frame {
    /// What the frame is.
    pub fn content_type(&self) -> ContentType {
        self.content_type
    }

    /// The first header with this name (ASCII case-insensitive), URL-decoded; borrowed from the
    /// frame unless it contained a `%` escape.
    pub fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.header_raw(name).map(|raw| into_text(url_decode(raw)))
    }

    /// The first header with this name, exactly as received.
    pub fn header_raw(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| name_eq(&self.bytes[h.name()], name.as_bytes()))
            .map(|h| &self.bytes[h.value()])
    }

    /// Every header in received order, names as sent and values URL-decoded.
    pub fn headers(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> + '_ {
        self.headers.iter().map(|h| {
            (
                text(&self.bytes[h.name()]),
                into_text(url_decode(&self.bytes[h.value()])),
            )
        })
    }

    /// How many headers the frame has.
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    /// The body (empty without `Content-Length`).
    pub fn body(&self) -> &[u8] {
        &self.bytes[self.body_start as usize..]
    }

    /// The body as a zero-copy [`Bytes`] sharing the frame's storage.
    pub fn body_bytes(&self) -> Bytes {
        self.bytes.slice(self.body_start as usize..)
    }

    /// The whole frame as received.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// `Reply-Text` of a `command/reply`, decoded (the outbound `connect` reply encodes it).
    pub fn reply_text(&self) -> Option<Cow<'_, str>> {
        self.header("Reply-Text")
    }

    /// Whether the frame carries an event in its body.
    pub fn is_event(&self) -> bool {
        self.content_type.event_format().is_some()
    }

    /// Parses the body of a `text/event-*` frame into an [`Event`], sharing the frame's storage.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use esl::proto::FrameDecoder;
    ///
    /// let body = "Event-Name: HEARTBEAT\nUp-Time: 0%20years\n\n";
    /// let wire = format!(
    ///     "Content-Length: {}\nContent-Type: text/event-plain\n\n{body}",
    ///     body.len()
    /// );
    /// let mut buf = BytesMut::from(wire.as_bytes());
    /// let frame = FrameDecoder::new().decode(&mut buf)?.expect("a whole frame");
    /// let event = frame.event()?;
    /// assert_eq!(event.name().as_deref(), Some("HEARTBEAT"));
    /// assert_eq!(event.header("Up-Time").as_deref(), Some("0 years"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn event(&self) -> Result<Event, EventError> {
        self.event_with_limits(&Limits::default())
    }

    /// [`Frame::event`] with explicit limits on the event's header count.
    pub fn event_with_limits(&self, limits: &Limits) -> Result<Event, EventError> {
        let format = self
            .content_type
            .event_format()
            .ok_or(EventError::NotAnEvent(self.content_type))?;
        Event::parse(self.body_bytes(), format, limits.max_headers)
    }

    /// The frame's own headers seen as a (plain) event. This is how FreeSWITCH delivers a
    /// channel's data in the reply to an outbound socket's `connect`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use esl::proto::FrameDecoder;
    ///
    /// let wire = "Event-Name: CHANNEL_DATA\nUnique-ID: abc\nvariable_tenant_id: 42\n\
    ///             Content-Type: command/reply\nReply-Text: %2BOK%0A\n\n";
    /// let frame = FrameDecoder::new().decode(&mut BytesMut::from(wire.as_bytes()))?.unwrap();
    /// assert_eq!(frame.reply_text().as_deref(), Some("+OK\n"));
    /// let channel = frame.channel_data();
    /// assert_eq!(channel.unique_id().as_deref(), Some("abc"));
    /// assert_eq!(channel.variable("tenant_id").as_deref(), Some("42"));
    /// # Ok::<(), esl::proto::FrameError>(())
    /// ```
    pub fn channel_data(&self) -> Event {
        Event::from_frame_headers(self.bytes.clone(), self.headers.clone())
    }

    /// For a `text/disconnect-notice`, whether it lingers or closes.
    pub fn disconnect(&self) -> Option<Disconnect> {
        if self.content_type != ContentType::DisconnectNotice {
            return None;
        }
        match self.header_raw("Content-Disposition") {
            Some(b"linger") => Some(Disconnect::Linger {
                seconds: self
                    .header("Linger-Time")
                    .and_then(|t| t.trim().parse().ok()),
            }),
            _ => Some(Disconnect::Close),
        }
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("content_type", &self.content_type)
            .field("headers", &self.headers().collect::<Vec<_>>())
            .field("body_len", &self.body().len())
            .finish()
    }
}

/// Where the decoder is within the current frame.
#[derive(Debug)]
enum State {
    /// Looking for the blank line; bytes before `scanned` hold no complete header block.
    Headers { scanned: usize },
    /// Headers indexed; waiting for `total` bytes to be buffered.
    Body {
        headers: Vec<HeaderSpan>,
        body_start: usize,
        total: usize,
        content_type: ContentType,
    },
    /// A framing error happened; the stream is unusable.
    Failed(FrameError),
}

/// Splits a byte stream into [`Frame`]s. Feed it the bytes read so far; it takes whole frames
/// off the front of the buffer and leaves the rest.
///
/// ```
/// use bytes::BytesMut;
/// use esl::proto::{ContentType, FrameDecoder};
///
/// let mut decoder = FrameDecoder::new();
/// let mut buf = BytesMut::from(&b"Content-Type: auth/req"[..]);
/// assert!(decoder.decode(&mut buf)?.is_none()); // needs more bytes
/// buf.extend_from_slice(b"uest\n\n");
/// let frame = decoder.decode(&mut buf)?.expect("complete");
/// assert_eq!(frame.content_type(), ContentType::AuthRequest);
/// assert!(buf.is_empty());
/// # Ok::<(), esl::proto::FrameError>(())
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    limits: Limits,
    state: State,
    /// Stream offset of `buf[0]`.
    consumed: u64,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            state: State::Headers { scanned: 0 },
            consumed: 0,
        }
    }

    /// Bytes of the stream taken off as frames (or skipped blank lines) so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Takes the next complete frame off the front of `buf`, or returns `Ok(None)` when more
    /// bytes are needed. Once it returns an error, every later call returns the same error.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        loop {
            match &mut self.state {
                State::Failed(err) => return Err(err.clone()),
                State::Headers { scanned } => {
                    let scanned = *scanned;
                    match self.find_header_end(buf, scanned) {
                        Ok(Some(next)) => self.state = next,
                        Ok(None) => return Ok(None),
                        Err(err) => {
                            self.state = State::Failed(err.clone());
                            return Err(err);
                        }
                    }
                }
                State::Body { total, .. } => {
                    let total = *total;
                    if buf.len() < total {
                        // Let the reader fetch the rest of a known-size body in large reads.
                        buf.reserve(total - buf.len());
                        return Ok(None);
                    }
                    let State::Body {
                        headers,
                        body_start,
                        content_type,
                        ..
                    } = std::mem::replace(&mut self.state, State::Headers { scanned: 0 })
                    else {
                        unreachable!("matched State::Body above");
                    };
                    self.consumed += total as u64;
                    return Ok(Some(Frame {
                        bytes: buf.split_to(total).freeze(),
                        headers,
                        body_start: body_start as u32,
                        content_type,
                    }));
                }
            }
        }
    }

    /// Looks for the end of the header block; when found, indexes it and moves to `Body`.
    fn find_header_end(
        &mut self,
        buf: &mut BytesMut,
        scanned: usize,
    ) -> Result<Option<State>, FrameError> {
        // Blank lines between frames carry nothing (JSON bodies end without a newline, others
        // with one); skip them so the frame starts at its first header.
        let blank = buf.iter().take_while(|&&b| b == b'\n').count();
        if blank > 0 {
            let _ = buf.split_to(blank);
            self.consumed += blank as u64;
        }
        let from = scanned.saturating_sub(blank).saturating_sub(1);
        let Some(found) = memchr::memmem::find(&buf[from..], b"\n\n") else {
            if buf.len() > self.limits.max_frame_size {
                return Err(self.too_large());
            }
            self.state = State::Headers { scanned: buf.len() };
            return Ok(None);
        };
        let body_start = from + found + 2;
        if body_start > self.limits.max_frame_size {
            return Err(self.too_large());
        }
        let mut headers = Vec::with_capacity(8);
        index_block(&buf[..body_start], 0, self.limits.max_headers, &mut headers).map_err(
            |err| match err {
                BlockError::MalformedLine { at } => FrameError::MalformedHeader {
                    offset: self.consumed + at as u64,
                },
                BlockError::TooManyHeaders { at } => FrameError::TooManyHeaders {
                    offset: self.consumed + at as u64,
                    limit: self.limits.max_headers,
                },
            },
        )?;
        let mut content_type = ContentType::Unknown;
        let mut body_len = 0usize;
        for h in &headers {
            let name = &buf[h.name()];
            if name_eq(name, b"Content-Type") {
                content_type = ContentType::from_bytes(&buf[h.value()]);
            } else if name_eq(name, b"Content-Length") {
                let value = &buf[h.value()];
                body_len = parse_content_length(value).ok_or_else(|| {
                    FrameError::InvalidContentLength {
                        offset: self.consumed + h.value_start as u64,
                        value: String::from_utf8_lossy(value).into_owned(),
                    }
                })?;
            }
        }
        let total = body_start
            .checked_add(body_len)
            .filter(|&total| total <= self.limits.max_frame_size)
            .ok_or_else(|| self.too_large())?;
        Ok(Some(State::Body {
            headers,
            body_start,
            total,
            content_type,
        }))
    }

    fn too_large(&self) -> FrameError {
        FrameError::FrameTooLarge {
            offset: self.consumed,
            limit: self.limits.max_frame_size,
        }
    }
}

fn decimal(input: &[u8]) -> IResult<&[u8], &[u8]> {
    all_consuming(digit1).parse(input)
}

/// A `Content-Length` value: decimal digits only, no sign, no overflow.
pub(crate) fn parse_content_length(value: &[u8]) -> Option<usize> {
    let (_, digits) = decimal(value.trim_ascii()).ok()?;
    digits.iter().try_fold(0usize, |n, &d| {
        n.checked_mul(10)?.checked_add(usize::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], limits: Limits) -> (Vec<Frame>, Result<(), FrameError>, usize) {
        let mut decoder = FrameDecoder::with_limits(limits);
        let mut buf = BytesMut::from(input);
        let mut frames = Vec::new();
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => return (frames, Ok(()), buf.len()),
                Err(err) => return (frames, Err(err), buf.len()),
            }
        }
    }

    #[test]
    fn content_length_accepts_only_plain_decimal() {
        assert_eq!(parse_content_length(b"337"), Some(337));
        assert_eq!(parse_content_length(b"0"), Some(0));
        assert_eq!(parse_content_length(b"-5"), None);
        assert_eq!(parse_content_length(b"12abc"), None);
        assert_eq!(parse_content_length(b""), None);
        assert_eq!(parse_content_length(b"99999999999999999999999999"), None);
    }

    #[test]
    fn negative_content_length_is_an_error_with_offset() {
        let input =
            b"Content-Type: auth/request\n\nContent-Type: api/response\nContent-Length: -1\n\n";
        let (frames, result, _) = decode_all(input, Limits::default());
        assert_eq!(frames.len(), 1);
        assert_eq!(
            result,
            Err(FrameError::InvalidContentLength {
                offset: 71,
                value: "-1".into()
            })
        );
    }

    #[test]
    fn oversized_body_is_refused_before_it_is_buffered() {
        let input = b"Content-Type: api/response\nContent-Length: 2000\n\n";
        let (_, result, _) = decode_all(input, Limits::default().max_frame_size(1024));
        assert_eq!(
            result,
            Err(FrameError::FrameTooLarge {
                offset: 0,
                limit: 1024
            })
        );
    }

    #[test]
    fn endless_header_block_is_refused_at_the_limit() {
        let input = vec![b'a'; 2048];
        let (_, result, _) = decode_all(&input, Limits::default().max_frame_size(1024));
        assert!(matches!(result, Err(FrameError::FrameTooLarge { .. })));
    }

    #[test]
    fn errors_are_sticky() {
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::from(&b"garbage\n\n"[..]);
        let first = decoder.decode(&mut buf).unwrap_err();
        buf.extend_from_slice(b"Content-Type: auth/request\n\n");
        assert_eq!(decoder.decode(&mut buf).unwrap_err(), first);
    }

    #[test]
    fn unknown_content_type_is_delivered_whole() {
        let input =
            b"Content-Type: x/future\nContent-Length: 3\n\nabcContent-Type: auth/request\n\n";
        let (frames, result, left) = decode_all(input, Limits::default());
        assert!(result.is_ok());
        assert_eq!(left, 0);
        assert_eq!(frames[0].content_type(), ContentType::Unknown);
        assert_eq!(
            frames[0].header("Content-Type").as_deref(),
            Some("x/future")
        );
        assert_eq!(frames[0].body(), b"abc");
        assert_eq!(frames[1].content_type(), ContentType::AuthRequest);
    }

    #[test]
    fn disconnect_notice_forms() {
        let input = b"Content-Type: text/disconnect-notice\nContent-Disposition: linger\nLinger-Time: -1\nContent-Length: 0\n\n\
Content-Type: text/disconnect-notice\nContent-Length: 3\n\nbye";
        let (frames, _, _) = decode_all(input, Limits::default());
        assert_eq!(
            frames[0].disconnect(),
            Some(Disconnect::Linger { seconds: Some(-1) })
        );
        assert_eq!(frames[1].disconnect(), Some(Disconnect::Close));
    }
}
