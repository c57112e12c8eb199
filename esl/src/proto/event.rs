//! One [`Event`] type over FreeSWITCH's three event formats. Headers are indexed as ranges into
//! the frame's storage and decoded only when read.

use super::decode::{
    ARRAY_PREFIX, ARRAY_SEPARATOR, UNDEF, into_text, json_array_items, json_unescape, split_array,
    text, url_decode, xml_unescape,
};
use super::event_name::EventName;
use super::frame::{ContentType, parse_content_length};
use super::hangup_cause::HangupCause;
use super::header_block::{BlockError, index_block, name_eq};
use super::span::{HeaderSpan, IndexError};
use super::{json, xml};
use bytes::Bytes;
use std::borrow::Cow;
use std::fmt;

/// The serialisation of an event on the wire, as chosen by `event plain|json|xml`.
///
/// ```
/// assert_eq!(esl::proto::EventFormat::Json.as_str(), "json");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventFormat {
    /// URL-encoded `Name: value` lines.
    Plain,
    /// A flat JSON object.
    Json,
    /// An `<event>` XML document.
    Xml,
}

impl EventFormat {
    /// The word used in the `event` and `myevents` commands.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Json => "json",
            Self::Xml => "xml",
        }
    }
}

/// Why an event body could not be parsed. Offsets are relative to the event body.
///
/// ```
/// use bytes::Bytes;
/// use esl::proto::{Event, EventError, EventFormat};
///
/// let err = Event::parse(Bytes::from_static(b"{\"a\":"), EventFormat::Json, 64).unwrap_err();
/// assert!(matches!(err, EventError::Malformed { offset: 5, .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The frame does not carry an event.
    #[error("a {0:?} frame does not carry an event")]
    NotAnEvent(ContentType),
    /// The body is not a well-formed event of its format.
    #[error("malformed {format:?} event at byte {offset} of its body: {reason}")]
    Malformed {
        /// The format being parsed.
        format: EventFormat,
        /// Where in the body the problem is.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// More headers than the limit allows.
    #[error("event has more than {limit} headers (at byte {offset} of its body)")]
    TooManyHeaders {
        /// Where the first header over the limit starts.
        offset: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The event's own `Content-Length` runs past the end of the frame.
    #[error("event body at byte {offset} declares {declared} bytes but only {available} follow")]
    BodyTruncated {
        /// Where the event's body starts.
        offset: usize,
        /// What the event's `Content-Length` says.
        declared: usize,
        /// What the frame holds after the event's headers.
        available: usize,
    },
}

/// A channel's state machine position (`Channel-State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum ChannelState {
    New,
    Init,
    Routing,
    SoftExecute,
    Execute,
    ExchangeMedia,
    Park,
    ConsumeMedia,
    Hibernate,
    Reset,
    Hangup,
    Reporting,
    Destroy,
    None,
}

impl ChannelState {
    /// Parses FreeSWITCH's `CS_*` names.
    ///
    /// ```
    /// use esl::proto::ChannelState;
    /// assert_eq!(ChannelState::from_name("CS_EXECUTE"), Some(ChannelState::Execute));
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "CS_NEW" => Self::New,
            "CS_INIT" => Self::Init,
            "CS_ROUTING" => Self::Routing,
            "CS_SOFT_EXECUTE" => Self::SoftExecute,
            "CS_EXECUTE" => Self::Execute,
            "CS_EXCHANGE_MEDIA" => Self::ExchangeMedia,
            "CS_PARK" => Self::Park,
            "CS_CONSUME_MEDIA" => Self::ConsumeMedia,
            "CS_HIBERNATE" => Self::Hibernate,
            "CS_RESET" => Self::Reset,
            "CS_HANGUP" => Self::Hangup,
            "CS_REPORTING" => Self::Reporting,
            "CS_DESTROY" => Self::Destroy,
            "CS_NONE" => Self::None,
            _ => return Option::None,
        })
    }
}

/// Where a call is in being answered (`Answer-State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum AnswerState {
    Ringing,
    Early,
    Answered,
    Hangup,
}

impl AnswerState {
    /// Parses FreeSWITCH's lower-case names.
    ///
    /// ```
    /// use esl::proto::AnswerState;
    /// assert_eq!(AnswerState::from_name("answered"), Some(AnswerState::Answered));
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "ringing" => Self::Ringing,
            "early" => Self::Early,
            "answered" => Self::Answered,
            "hangup" => Self::Hangup,
            _ => return None,
        })
    }
}

/// An event in any of the three formats. Cloning is cheap: the storage is shared.
#[derive(Clone)]
pub struct Event {
    bytes: Bytes,
    headers: Vec<HeaderSpan>,
    body: Option<Bytes>,
    format: EventFormat,
}

impl Event {
    /// Parses an event body of the given format. `bytes` is usually a frame's body, shared
    /// without copying.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use esl::proto::{Event, EventFormat};
    ///
    /// let json = Bytes::from_static(br#"{"Event-Name":"CUSTOM","Event-Subclass":"a::b","_body":"hi"}"#);
    /// let event = Event::parse(json, EventFormat::Json, 1024)?;
    /// assert_eq!(event.subclass().as_deref(), Some("a::b"));
    /// assert_eq!(event.body(), Some(&b"hi"[..]));
    /// # Ok::<(), esl::proto::EventError>(())
    /// ```
    pub fn parse(
        bytes: Bytes,
        format: EventFormat,
        max_headers: usize,
    ) -> Result<Self, EventError> {
        let mut headers = Vec::with_capacity(64);
        let body = match format {
            EventFormat::Plain => parse_plain(&bytes, max_headers, &mut headers)?,
            EventFormat::Json => parse_json(&bytes, max_headers, &mut headers)?,
            EventFormat::Xml => parse_xml(&bytes, max_headers, &mut headers)?,
        };
        Ok(Self {
            bytes,
            headers,
            body,
            format,
        })
    }

    pub(crate) fn from_frame_headers(bytes: Bytes, headers: Vec<HeaderSpan>) -> Self {
        Self {
            bytes,
            headers,
            body: None,
            format: EventFormat::Plain,
        }
    }

    /// The format the event arrived in.
    pub fn format(&self) -> EventFormat {
        self.format
    }

    /// How many headers the event has.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Whether the event has no headers at all.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The first header with this name (ASCII case-insensitive), decoded: borrowed from the
    /// event's storage unless decoding changed it. `_undef_` reads as an empty string; an array
    /// reads as `ARRAY::a|:b` in every format (see [`Event::header_array`]).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use esl::proto::{Event, EventFormat};
    ///
    /// let body = Bytes::from_static(b"Event-Name: API\nEvent-Date-Local: 2026-11-21%2011%3A36%3A55\nX: _undef_\n\n");
    /// let event = Event::parse(body, EventFormat::Plain, 64)?;
    /// assert_eq!(event.header("event-date-local").as_deref(), Some("2026-11-21 11:36:55"));
    /// assert_eq!(event.header("X").as_deref(), Some(""));
    /// assert_eq!(event.header("Missing"), None);
    /// # Ok::<(), esl::proto::EventError>(())
    /// ```
    pub fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.find(name).map(|h| self.decode(h))
    }

    /// The first header with this name, exactly as it appears in the body.
    pub fn header_raw(&self, name: &str) -> Option<&[u8]> {
        self.find(name).map(|h| &self.bytes[h.value()])
    }

    /// The items of an array header (`ARRAY::a|:b` in plain and XML, a JSON array in JSON, or
    /// repeated elements in XML). A scalar header gives one item; a missing one, none.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use esl::proto::{Event, EventFormat};
    ///
    /// let json = Bytes::from_static(br#"{"Event-Name":"X","variable_codecs":["PCMU","PCMA"]}"#);
    /// let event = Event::parse(json, EventFormat::Json, 64)?;
    /// assert_eq!(event.header_array("variable_codecs"), ["PCMU", "PCMA"]);
    /// assert_eq!(event.variable("codecs").as_deref(), Some("ARRAY::PCMU|:PCMA"));
    /// # Ok::<(), esl::proto::EventError>(())
    /// ```
    pub fn header_array(&self, name: &str) -> Vec<String> {
        let mut items = Vec::new();
        for h in self.headers.iter().filter(|h| self.name_matches(h, name)) {
            if h.has(HeaderSpan::JSON_ARRAY) {
                items.extend(json_array_items(&self.bytes[h.value()]));
                continue;
            }
            let value = self.decode(h);
            let split: Option<Vec<String>> =
                split_array(&value).map(|p| p.map(str::to_owned).collect());
            match split {
                Some(parts) => items.extend(parts),
                None => items.push(value.into_owned()),
            }
            if self.format != EventFormat::Xml {
                break;
            }
        }
        items
    }

    /// Every header in order, name and decoded value.
    pub fn headers(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> + '_ {
        self.headers
            .iter()
            .map(|h| (self.decode_name(h), self.decode(h)))
    }

    /// Every header in order, name and value as they appear in the body (not decoded).
    pub fn headers_raw(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.headers
            .iter()
            .map(|h| (&self.bytes[h.name()], &self.bytes[h.value()]))
    }

    /// The event's body (a plain event's nested `Content-Length` block, JSON's `_body`, XML's
    /// `<body>`), e.g. the result of a `bgapi` in `BACKGROUND_JOB`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use esl::proto::{Event, EventFormat};
    ///
    /// let plain = Bytes::from_static(b"Event-Name: BACKGROUND_JOB\nJob-UUID: 1-2\nContent-Length: 8\n\n+OK abc\n");
    /// let event = Event::parse(plain, EventFormat::Plain, 64)?;
    /// assert_eq!(event.job_uuid().as_deref(), Some("1-2"));
    /// assert_eq!(event.body(), Some(&b"+OK abc\n"[..]));
    /// # Ok::<(), esl::proto::EventError>(())
    /// ```
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// The body as a [`Bytes`] (zero-copy for plain events).
    pub fn body_bytes(&self) -> Option<Bytes> {
        self.body.clone()
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn body_text(&self) -> Option<Cow<'_, str>> {
        self.body().map(text)
    }

    /// `Event-Name`.
    pub fn name(&self) -> Option<Cow<'_, str>> {
        self.header("Event-Name")
    }

    /// `Event-Name` (with `Event-Subclass` for `CUSTOM` events), typed.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use esl::proto::{Event, EventFormat, EventName};
    ///
    /// let plain = Bytes::from_static(b"Event-Name: CUSTOM\nEvent-Subclass: sofia%3A%3Aregister\n\n");
    /// let event = Event::parse(plain, EventFormat::Plain, 64)?;
    /// assert_eq!(event.event_name(), Some(EventName::Custom("sofia::register".into())));
    /// # Ok::<(), esl::proto::EventError>(())
    /// ```
    pub fn event_name(&self) -> Option<EventName> {
        let name = self.name()?;
        Some(EventName::from_headers(&name, self.subclass().as_deref()))
    }

    /// `Event-Subclass` (set on `CUSTOM` events).
    pub fn subclass(&self) -> Option<Cow<'_, str>> {
        self.header("Event-Subclass")
    }

    /// `Unique-ID`: the channel's UUID.
    pub fn unique_id(&self) -> Option<Cow<'_, str>> {
        self.header("Unique-ID")
    }

    /// `Job-UUID` of a `BACKGROUND_JOB`.
    pub fn job_uuid(&self) -> Option<Cow<'_, str>> {
        self.header("Job-UUID")
    }

    /// `Core-UUID`: which FreeSWITCH process sent the event.
    pub fn core_uuid(&self) -> Option<Cow<'_, str>> {
        self.header("Core-UUID")
    }

    /// `Event-Sequence`, increasing per FreeSWITCH process.
    pub fn sequence(&self) -> Option<u64> {
        self.header("Event-Sequence")?.trim().parse().ok()
    }

    /// `Event-Date-Timestamp`, microseconds since the Unix epoch.
    pub fn timestamp_micros(&self) -> Option<u64> {
        self.header("Event-Date-Timestamp")?.trim().parse().ok()
    }

    /// `Channel-State`, if present and known.
    pub fn channel_state(&self) -> Option<ChannelState> {
        ChannelState::from_name(&self.header("Channel-State")?)
    }

    /// `Answer-State`, if present and known.
    pub fn answer_state(&self) -> Option<AnswerState> {
        AnswerState::from_name(&self.header("Answer-State")?)
    }

    /// `Hangup-Cause`, e.g. `NORMAL_CLEARING`.
    pub fn hangup_cause(&self) -> Option<Cow<'_, str>> {
        self.header("Hangup-Cause")
    }

    /// `Hangup-Cause`, typed; text this crate does not know reads as [`HangupCause::Other`].
    ///
    /// ```
    /// use bytes::Bytes;
    /// use esl::proto::{Event, EventFormat, HangupCause};
    ///
    /// let plain = Bytes::from_static(b"Event-Name: CHANNEL_HANGUP\nHangup-Cause: ORIGINATOR_CANCEL\n\n");
    /// let event = Event::parse(plain, EventFormat::Plain, 64)?;
    /// assert_eq!(event.hangup_cause_typed(), Some(HangupCause::OriginatorCancel));
    /// # Ok::<(), esl::proto::EventError>(())
    /// ```
    pub fn hangup_cause_typed(&self) -> Option<HangupCause> {
        self.hangup_cause()
            .map(|cause| HangupCause::from(cause.as_ref()))
    }

    /// A `Caller-*` header: `caller("Destination-Number")` reads `Caller-Destination-Number`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use esl::proto::{ChannelState, Event, EventFormat};
    ///
    /// let xml = Bytes::from_static(b"<event><headers><Channel-State>CS_ROUTING</Channel-State>\
    ///     <Caller-Destination-Number>9999</Caller-Destination-Number></headers></event>");
    /// let event = Event::parse(xml, EventFormat::Xml, 64)?;
    /// assert_eq!(event.caller("Destination-Number").as_deref(), Some("9999"));
    /// assert_eq!(event.channel_state(), Some(ChannelState::Routing));
    /// # Ok::<(), esl::proto::EventError>(())
    /// ```
    pub fn caller(&self, field: &str) -> Option<Cow<'_, str>> {
        self.prefixed("Caller-", field)
    }

    /// `Caller-Caller-ID-Number`.
    pub fn caller_id_number(&self) -> Option<Cow<'_, str>> {
        self.caller("Caller-ID-Number")
    }

    /// `Caller-Caller-ID-Name`.
    pub fn caller_id_name(&self) -> Option<Cow<'_, str>> {
        self.caller("Caller-ID-Name")
    }

    /// `Caller-Destination-Number`.
    pub fn destination_number(&self) -> Option<Cow<'_, str>> {
        self.caller("Destination-Number")
    }

    /// A channel variable: `variable("billsec")` reads `variable_billsec`.
    pub fn variable(&self, name: &str) -> Option<Cow<'_, str>> {
        self.prefixed("variable_", name)
    }

    /// Every channel variable, names without the `variable_` prefix.
    pub fn variables(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> + '_ {
        self.headers().filter_map(|(name, value)| {
            let stripped = match name {
                Cow::Borrowed(n) => Cow::Borrowed(n.strip_prefix("variable_")?),
                Cow::Owned(n) => Cow::Owned(n.strip_prefix("variable_")?.to_owned()),
            };
            Some((stripped, value))
        })
    }

    fn prefixed(&self, prefix: &str, name: &str) -> Option<Cow<'_, str>> {
        self.headers
            .iter()
            .find(|h| {
                let full = &self.bytes[h.name()];
                !h.has(HeaderSpan::NAME_ESCAPED)
                    && full.len() == prefix.len() + name.len()
                    && name_eq(&full[..prefix.len()], prefix.as_bytes())
                    && name_eq(&full[prefix.len()..], name.as_bytes())
            })
            .map(|h| self.decode(h))
    }

    fn find(&self, name: &str) -> Option<&HeaderSpan> {
        self.headers.iter().find(|h| self.name_matches(h, name))
    }

    fn name_matches(&self, h: &HeaderSpan, name: &str) -> bool {
        if h.has(HeaderSpan::NAME_ESCAPED) {
            return json_unescape(&self.bytes[h.name()]).eq_ignore_ascii_case(name);
        }
        name_eq(&self.bytes[h.name()], name.as_bytes())
    }

    fn decode_name(&self, h: &HeaderSpan) -> Cow<'_, str> {
        let raw = &self.bytes[h.name()];
        if h.has(HeaderSpan::NAME_ESCAPED) {
            json_unescape(raw)
        } else {
            text(raw)
        }
    }

    fn decode(&self, h: &HeaderSpan) -> Cow<'_, str> {
        let raw = &self.bytes[h.value()];
        match self.format {
            EventFormat::Plain => url_decoded(raw),
            EventFormat::Json if h.has(HeaderSpan::JSON_ARRAY) => {
                let items = json_array_items(raw);
                Cow::Owned(format!("{ARRAY_PREFIX}{}", items.join(ARRAY_SEPARATOR)))
            }
            EventFormat::Json if h.has(HeaderSpan::VALUE_ESCAPED) => json_unescape(raw),
            EventFormat::Json => text(raw),
            EventFormat::Xml if h.has(HeaderSpan::VALUE_ESCAPED) => match xml_unescape(raw) {
                Cow::Borrowed(b) => url_decoded(b),
                Cow::Owned(v) => Cow::Owned(url_decoded(&v).into_owned()),
            },
            EventFormat::Xml => url_decoded(raw),
        }
    }
}

/// A URL-encoded value as text; FreeSWITCH's `_undef_` stands for an empty value.
fn url_decoded(raw: &[u8]) -> Cow<'_, str> {
    if raw == UNDEF {
        return Cow::Borrowed("");
    }
    into_text(url_decode(raw))
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("format", &self.format)
            .field("headers", &self.headers().collect::<Vec<_>>())
            .field("body", &self.body_text())
            .finish()
    }
}

fn parse_plain(
    bytes: &Bytes,
    max_headers: usize,
    headers: &mut Vec<HeaderSpan>,
) -> Result<Option<Bytes>, EventError> {
    let malformed = |offset, reason| EventError::Malformed {
        format: EventFormat::Plain,
        offset,
        reason,
    };
    let end = match index_block(bytes, 0, max_headers, headers) {
        Ok(Some(end)) => end,
        // The last block may lack its blank line when the frame was cut by hand; a final line
        // without its newline cannot be told apart from a cut one, so that is refused.
        Ok(None) if bytes.ends_with(b"\n") || bytes.is_empty() => bytes.len(),
        Ok(None) => return Err(malformed(bytes.len(), "header block not terminated")),
        Err(BlockError::MalformedLine { at }) => {
            return Err(malformed(at, "line is not `Name: value`"));
        }
        Err(BlockError::TooManyHeaders { at }) => {
            return Err(EventError::TooManyHeaders {
                offset: at,
                limit: max_headers,
            });
        }
    };
    let Some(length) = headers
        .iter()
        .rfind(|h| name_eq(&bytes[h.name()], b"Content-Length"))
    else {
        return Ok(None);
    };
    let declared = parse_content_length(&bytes[length.value()])
        .ok_or_else(|| malformed(length.value_start as usize, "invalid Content-Length"))?;
    let available = bytes.len() - end;
    if declared > available {
        return Err(EventError::BodyTruncated {
            offset: end,
            declared,
            available,
        });
    }
    Ok(Some(bytes.slice(end..end + declared)))
}

/// Maps an indexer's error to the public one.
fn index_error(format: EventFormat, limit: usize) -> impl Fn(IndexError) -> EventError {
    move |err| match err {
        IndexError::Malformed { at, reason } => EventError::Malformed {
            format,
            offset: at,
            reason,
        },
        IndexError::TooManyHeaders { at } => EventError::TooManyHeaders { offset: at, limit },
    }
}

fn parse_json(
    bytes: &Bytes,
    max_headers: usize,
    headers: &mut Vec<HeaderSpan>,
) -> Result<Option<Bytes>, EventError> {
    json::index_object(bytes, max_headers, headers)
        .map_err(index_error(EventFormat::Json, max_headers))?;
    let Some(index) = headers.iter().position(|h| &bytes[h.name()] == b"_body") else {
        return Ok(None);
    };
    let span = headers.remove(index);
    let raw = &bytes[span.value()];
    Ok(Some(match json_unescape(raw) {
        Cow::Borrowed(_) => bytes.slice(span.value()),
        Cow::Owned(text) => Bytes::from(text),
    }))
}

fn parse_xml(
    bytes: &Bytes,
    max_headers: usize,
    headers: &mut Vec<HeaderSpan>,
) -> Result<Option<Bytes>, EventError> {
    let parts = xml::index_event(bytes, max_headers, headers)
        .map_err(index_error(EventFormat::Xml, max_headers))?;
    let Some(body) = parts.body else {
        return Ok(None);
    };
    let mut text = if body.escaped {
        Bytes::from(xml_unescape(&bytes[body.range.clone()]).into_owned())
    } else {
        bytes.slice(body.range)
    };
    // FreeSWITCH's XML writer indents the closing `</body>`; the declared length tells the
    // body's true end, so whitespace past it is dropped.
    let declared = parts
        .content_length
        .and_then(|cl| parse_content_length(&bytes[cl.range]));
    if let Some(declared) = declared {
        if declared < text.len() && text[declared..].iter().all(u8::is_ascii_whitespace) {
            text.truncate(declared);
        }
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &'static str) -> Event {
        Event::parse(Bytes::from_static(s.as_bytes()), EventFormat::Plain, 100).unwrap()
    }

    #[test]
    fn plain_values_decode_lazily_and_borrow_when_unencoded() {
        let e = plain("Event-Name: API\nEvent-Date-Local: 2026-11-21%2011%3A36%3A55\n\n");
        assert!(matches!(e.header("Event-Name"), Some(Cow::Borrowed("API"))));
        assert_eq!(
            e.header("event-date-local").as_deref(),
            Some("2026-11-21 11:36:55")
        );
        assert_eq!(
            e.header_raw("Event-Date-Local"),
            Some(&b"2026-11-21%2011%3A36%3A55"[..])
        );
    }

    #[test]
    fn undef_reads_as_empty_and_arrays_split() {
        let e = plain("A: _undef_\nB: ARRAY%3A%3Aone%7C%3Atwo\n\n");
        assert_eq!(e.header("A").as_deref(), Some(""));
        assert_eq!(e.header("B").as_deref(), Some("ARRAY::one|:two"));
        assert_eq!(e.header_array("B"), ["one", "two"]);
        assert_eq!(e.header_array("A"), [""]);
        assert!(e.header_array("missing").is_empty());
    }

    #[test]
    fn plain_body_follows_nested_content_length() {
        let e = plain("Event-Name: BACKGROUND_JOB\nContent-Length: 4\n\n+OK\nignored");
        assert_eq!(e.body(), Some(&b"+OK\n"[..]));
        let err = Event::parse(
            Bytes::from_static(b"Content-Length: 10\n\nshort"),
            EventFormat::Plain,
            100,
        )
        .unwrap_err();
        assert_eq!(
            err,
            EventError::BodyTruncated {
                offset: 20,
                declared: 10,
                available: 5
            }
        );
    }

    #[test]
    fn json_arrays_read_like_plain_arrays() {
        let e = Event::parse(
            Bytes::from_static(br#"{"Event-Name":"X","List":["a","b"]}"#),
            EventFormat::Json,
            100,
        )
        .unwrap();
        assert_eq!(e.header("List").as_deref(), Some("ARRAY::a|:b"));
        assert_eq!(e.header_array("List"), ["a", "b"]);
    }

    #[test]
    fn xml_repeated_elements_are_an_array() {
        let e = Event::parse(
            Bytes::from_static(b"<event><headers><L>a</L><L>b%20c</L></headers></event>"),
            EventFormat::Xml,
            100,
        )
        .unwrap();
        assert_eq!(e.header("L").as_deref(), Some("a"));
        assert_eq!(e.header_array("L"), ["a", "b c"]);
        assert_eq!(e.body(), None);
    }

    #[test]
    fn typed_accessors() {
        let e = plain(
            "Event-Name: CHANNEL_ANSWER\nEvent-Sequence: 42\nChannel-State: CS_EXECUTE\n\
Answer-State: answered\nCaller-Destination-Number: 9999\nvariable_billsec: 3\n\n",
        );
        assert_eq!(e.sequence(), Some(42));
        assert_eq!(e.channel_state(), Some(ChannelState::Execute));
        assert_eq!(e.answer_state(), Some(AnswerState::Answered));
        assert_eq!(e.destination_number().as_deref(), Some("9999"));
        assert_eq!(e.variable("billsec").as_deref(), Some("3"));
        assert_eq!(e.variables().count(), 1);
    }

    #[test]
    fn header_limit_applies_to_events() {
        let err =
            Event::parse(Bytes::from_static(b"A: 1\nB: 2\n\n"), EventFormat::Plain, 1).unwrap_err();
        assert_eq!(
            err,
            EventError::TooManyHeaders {
                offset: 5,
                limit: 1
            }
        );
        let json = Event::parse(
            Bytes::from_static(br#"{"A":"1","B":"2"}"#),
            EventFormat::Json,
            1,
        );
        assert_eq!(
            json.unwrap_err(),
            EventError::TooManyHeaders {
                offset: 9,
                limit: 1
            }
        );
        let xml = Event::parse(
            Bytes::from_static(b"<event><headers><A>1</A><B>2</B></headers></event>"),
            EventFormat::Xml,
            1,
        );
        assert_eq!(
            xml.unwrap_err(),
            EventError::TooManyHeaders {
                offset: 24,
                limit: 1
            }
        );
    }
}
