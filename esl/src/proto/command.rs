//! Commands a client sends, encoded to the exact bytes FreeSWITCH expects. Anything that would
//! break the framing (a line break in a value, a malformed header name) is refused, never sent.

use super::decode::url_encode_into;
use super::event::EventFormat;
use bytes::{BufMut, Bytes, BytesMut};
use std::fmt::Write as _;

/// Why a command cannot be encoded.
///
/// ```
/// use esl::proto::{Command, EncodeError};
///
/// let err = Command::Api { command: "status\nexit" }.to_bytes().unwrap_err();
/// assert_eq!(err, EncodeError::LineBreak { field: "api command" });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A value contains `\n` or `\r`, which would end the command or inject a header.
    #[error("{field} contains a line break")]
    LineBreak {
        /// Which part of the command.
        field: &'static str,
    },
    /// A part that must have content is empty.
    #[error("{field} is empty")]
    Empty {
        /// Which part of the command.
        field: &'static str,
    },
    /// A single-word part contains whitespace, or a colon where none is allowed (header names).
    #[error("{field} {value:?} must be one word (header names also without ':')")]
    NotAToken {
        /// Which part of the command.
        field: &'static str,
        /// The offending value.
        value: String,
    },
    /// The caller set a header the encoder writes itself (`content-length`, `content-type`).
    #[error("header {0:?} is written by the encoder; pass a body instead")]
    ReservedHeader(String),
}

/// FreeSWITCH log levels for the `log` command.
///
/// ```
/// use esl::proto::{Command, LogLevel};
/// assert_eq!(&Command::Log(LogLevel::Info).to_bytes()?[..], b"log 6\n\n");
/// # Ok::<(), esl::proto::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum LogLevel {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// A body sent after a command's headers, announced by `content-type` and `content-length`.
///
/// ```
/// use esl::proto::{Body, Command};
///
/// let event = Command::SendEvent {
///     name: "CUSTOM",
///     headers: &[("Event-Subclass", "acme::note")],
///     body: Some(Body { content_type: "text/plain", content: b"hi" }),
/// };
/// assert_eq!(
///     &event.to_bytes()?[..],
///     b"sendevent CUSTOM\nEvent-Subclass: acme::note\ncontent-type: text/plain\ncontent-length: 2\n\nhi"
/// );
/// # Ok::<(), esl::proto::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Body<'a> {
    /// The `content-type` header, e.g. `text/plain`.
    pub content_type: &'a str,
    /// The bytes; any content, the length frames it.
    pub content: &'a [u8],
}

/// What a `sendmsg` asks the channel to do (`call-command`).
///
/// ```
/// use esl::proto::{CallCommand, Command, SendMsg};
///
/// let msg = SendMsg::new(CallCommand::Other("nomedia")).header("nomedia-uuid", "abc");
/// assert_eq!(
///     &Command::SendMsg(msg).to_bytes()?[..],
///     b"sendmsg\ncall-command: nomedia\nnomedia-uuid: abc\n\n"
/// );
/// # Ok::<(), esl::proto::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallCommand<'a> {
    /// Run a dialplan application.
    Execute {
        /// `execute-app-name`.
        app: &'a str,
        /// `execute-app-arg`.
        arg: Option<&'a str>,
    },
    /// Hang the channel up.
    Hangup {
        /// `hangup-cause`, e.g. `NORMAL_CLEARING`.
        cause: &'a str,
    },
    /// Any other call command (`nomedia`, `unicast`, `xferext`...); give its headers with
    /// [`SendMsg::header`].
    Other(&'a str),
}

/// A `sendmsg` command, built step by step.
///
/// ```
/// use esl::proto::{Command, SendMsg};
///
/// let msg = SendMsg::execute("playback", Some("ivr/ivr-welcome.wav"))
///     .uuid("19168d90-ed14-4df7-90c4-d07dd1c9c147")
///     .event_uuid("aaaaaaaa-0000-0000-0000-000000000001");
/// let bytes = Command::SendMsg(msg).to_bytes()?;
/// assert!(bytes.starts_with(b"sendmsg 19168d90-ed14-4df7-90c4-d07dd1c9c147\ncall-command: execute\n"));
/// # Ok::<(), esl::proto::EncodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMsg<'a> {
    uuid: Option<&'a str>,
    command: CallCommand<'a>,
    loops: Option<u32>,
    event_lock: bool,
    event_uuid: Option<&'a str>,
    headers: Vec<(&'a str, &'a str)>,
    body: Option<Body<'a>>,
}

impl<'a> SendMsg<'a> {
    /// A message with the given call command.
    pub fn new(command: CallCommand<'a>) -> Self {
        Self {
            uuid: None,
            command,
            loops: None,
            event_lock: false,
            event_uuid: None,
            headers: Vec::new(),
            body: None,
        }
    }

    /// `call-command: execute` of `app` with an optional argument.
    pub fn execute(app: &'a str, arg: Option<&'a str>) -> Self {
        Self::new(CallCommand::Execute { app, arg })
    }

    /// `call-command: hangup` with a cause.
    pub fn hangup(cause: &'a str) -> Self {
        Self::new(CallCommand::Hangup { cause })
    }

    /// The channel to act on; without it, the outbound socket's own channel.
    pub fn uuid(mut self, uuid: &'a str) -> Self {
        self.uuid = Some(uuid);
        self
    }

    /// `loops`: run the application this many times.
    pub fn loops(mut self, loops: u32) -> Self {
        self.loops = Some(loops);
        self
    }

    /// `event-lock: true`: run applications one after another, not concurrently.
    pub fn event_lock(mut self, lock: bool) -> Self {
        self.event_lock = lock;
        self
    }

    /// `event-uuid`: echoed as `Application-UUID` in `CHANNEL_EXECUTE[_COMPLETE]`, so the
    /// completion of this very execution can be awaited.
    pub fn event_uuid(mut self, uuid: &'a str) -> Self {
        self.event_uuid = Some(uuid);
        self
    }

    /// Any further header.
    pub fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// A body, e.g. a long or multi-line `execute-app-arg` as `text/plain`.
    pub fn body(mut self, body: Body<'a>) -> Self {
        self.body = Some(body);
        self
    }
}

/// A command to FreeSWITCH's event socket.
///
/// ```
/// use esl::proto::{Command, EventFormat};
///
/// let cmd = Command::Event { format: EventFormat::Plain, events: &["ALL"] };
/// assert_eq!(&cmd.to_bytes()?[..], b"event plain ALL\n\n");
///
/// let bad = Command::Api { command: "status\n\nexit" };
/// assert!(bad.to_bytes().is_err());
/// # Ok::<(), esl::proto::EncodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `auth <password>`.
    Auth {
        /// The event socket password.
        password: &'a str,
    },
    /// `userauth <user>@<domain>:<password>`.
    UserAuth {
        /// Directory user.
        user: &'a str,
        /// Directory domain.
        domain: &'a str,
        /// The user's `esl-password`.
        password: &'a str,
    },
    /// `api <command>`: blocks this connection until the command finishes.
    Api {
        /// The API command and its arguments.
        command: &'a str,
    },
    /// `bgapi <command>`, with a `Job-UUID` chosen by the caller so the result cannot race the
    /// reply.
    BgApi {
        /// The API command and its arguments.
        command: &'a str,
        /// The `Job-UUID` the `BACKGROUND_JOB` event will carry.
        job_uuid: Option<&'a str>,
    },
    /// `event <format> [names...]`: subscribe. `CUSTOM` subclasses follow `CUSTOM` as names.
    Event {
        /// The serialisation of events on this connection.
        format: EventFormat,
        /// Event names (`ALL`, `CHANNEL_ANSWER`, `CUSTOM`, `sofia::register`...).
        events: &'a [&'a str],
    },
    /// `nixevent <names...>`: unsubscribe from some events.
    NixEvent {
        /// Event names.
        events: &'a [&'a str],
    },
    /// `noevents`: unsubscribe from all events.
    NoEvents,
    /// `filter <header> <value>`: only deliver events whose header has this value.
    Filter {
        /// Header name.
        header: &'a str,
        /// Value to match.
        value: &'a str,
    },
    /// `filter delete <header> [value]`.
    FilterDelete {
        /// Header name.
        header: &'a str,
        /// The value to stop matching; all values of the header when absent.
        value: Option<&'a str>,
    },
    /// `filter delete all`.
    FilterDeleteAll,
    /// `myevents [format] [uuid]`: only this channel's events.
    MyEvents {
        /// The event format.
        format: Option<EventFormat>,
        /// The channel (required on inbound connections).
        uuid: Option<&'a str>,
    },
    /// `divert_events on|off`: deliver events of applications such as `play_and_get_digits`.
    DivertEvents(bool),
    /// `linger [seconds]`: keep the outbound socket open after hangup.
    Linger(Option<u32>),
    /// `nolinger`.
    NoLinger,
    /// `log <level>`: receive `log/data` frames.
    Log(LogLevel),
    /// `nolog`.
    NoLog,
    /// `sendmsg [uuid]` with its headers.
    SendMsg(SendMsg<'a>),
    /// `sendevent <name>` with headers and an optional body.
    SendEvent {
        /// Event name, e.g. `CUSTOM`.
        name: &'a str,
        /// Headers in order, e.g. `Event-Subclass`.
        headers: &'a [(&'a str, &'a str)],
        /// Optional body.
        body: Option<Body<'a>>,
    },
    /// `exit`: FreeSWITCH replies `+OK bye` and disconnects.
    Exit,
    /// `connect`: the first command on an outbound socket.
    Connect,
    /// `resume`: on an outbound socket, resume the dialplan when the socket closes.
    Resume,
}

impl Command<'_> {
    /// Appends the command's bytes to `dst`. On error nothing is appended.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use esl::proto::Command;
    ///
    /// let mut out = BytesMut::new();
    /// Command::BgApi { command: "status", job_uuid: Some("7f4b-11") }.encode(&mut out)?;
    /// assert_eq!(&out[..], b"bgapi status\nJob-UUID: 7f4b-11\n\n");
    /// # Ok::<(), esl::proto::EncodeError>(())
    /// ```
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let start = dst.len();
        let result = self.write(dst);
        if result.is_err() {
            dst.truncate(start);
        }
        result
    }

    /// The command's bytes.
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut dst = BytesMut::new();
        self.encode(&mut dst)?;
        Ok(dst.freeze())
    }

    fn write(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Self::Auth { password } => line(dst, "auth", &[("password", password)]),
            Self::UserAuth {
                user,
                domain,
                password,
            } => {
                token("user", user)?;
                token("domain", domain)?;
                text("password", password)?;
                dst.put_slice(b"userauth ");
                for part in [*user, "@", *domain, ":", *password] {
                    dst.put_slice(part.as_bytes());
                }
                end(dst);
                Ok(())
            }
            Self::Api { command } => {
                nonempty("api command", command)?;
                line(dst, "api", &[("api command", command)])
            }
            Self::BgApi { command, job_uuid } => {
                nonempty("bgapi command", command)?;
                command_line(dst, "bgapi", &[("bgapi command", command)])?;
                if let Some(uuid) = job_uuid {
                    token("Job-UUID", uuid)?;
                    header(dst, "Job-UUID", uuid)?;
                }
                dst.put_u8(b'\n');
                Ok(())
            }
            Self::Event { format, events } => {
                dst.put_slice(b"event ");
                dst.put_slice(format.as_str().as_bytes());
                event_names(dst, events)?;
                end(dst);
                Ok(())
            }
            Self::NixEvent { events } => {
                if events.is_empty() {
                    return Err(EncodeError::Empty {
                        field: "event names",
                    });
                }
                dst.put_slice(b"nixevent");
                event_names(dst, events)?;
                end(dst);
                Ok(())
            }
            Self::NoEvents => simple(dst, "noevents"),
            Self::Filter { header, value } => {
                token("filter header", header)?;
                line(
                    dst,
                    "filter",
                    &[("filter header", header), ("filter value", value)],
                )
            }
            Self::FilterDelete { header, value } => {
                token("filter header", header)?;
                match value {
                    Some(value) => line(
                        dst,
                        "filter delete",
                        &[("filter header", header), ("filter value", value)],
                    ),
                    None => line(dst, "filter delete", &[("filter header", header)]),
                }
            }
            Self::FilterDeleteAll => simple(dst, "filter delete all"),
            Self::MyEvents { format, uuid } => {
                dst.put_slice(b"myevents");
                if let Some(format) = format {
                    dst.put_u8(b' ');
                    dst.put_slice(format.as_str().as_bytes());
                }
                if let Some(uuid) = uuid {
                    token("uuid", uuid)?;
                    dst.put_u8(b' ');
                    dst.put_slice(uuid.as_bytes());
                }
                end(dst);
                Ok(())
            }
            Self::DivertEvents(on) => simple(
                dst,
                if *on {
                    "divert_events on"
                } else {
                    "divert_events off"
                },
            ),
            Self::Linger(None) => simple(dst, "linger"),
            Self::Linger(Some(seconds)) => {
                let _ = write!(Writer(dst), "linger {seconds}");
                end(dst);
                Ok(())
            }
            Self::NoLinger => simple(dst, "nolinger"),
            Self::Log(level) => {
                let _ = write!(Writer(dst), "log {}", *level as u8);
                end(dst);
                Ok(())
            }
            Self::NoLog => simple(dst, "nolog"),
            Self::SendMsg(msg) => write_sendmsg(dst, msg),
            Self::SendEvent {
                name,
                headers,
                body,
            } => {
                word("event name", name)?;
                dst.put_slice(b"sendevent ");
                dst.put_slice(name.as_bytes());
                dst.put_u8(b'\n');
                for (name, value) in *headers {
                    header(dst, name, value)?;
                }
                finish_with_body(dst, *body)
            }
            Self::Exit => simple(dst, "exit"),
            Self::Connect => simple(dst, "connect"),
            Self::Resume => simple(dst, "resume"),
        }
    }
}

fn write_sendmsg(dst: &mut BytesMut, msg: &SendMsg<'_>) -> Result<(), EncodeError> {
    dst.put_slice(b"sendmsg");
    if let Some(uuid) = msg.uuid {
        token("uuid", uuid)?;
        dst.put_u8(b' ');
        dst.put_slice(uuid.as_bytes());
    }
    dst.put_u8(b'\n');
    match msg.command {
        CallCommand::Execute { app, arg } => {
            token("execute-app-name", app)?;
            header(dst, "call-command", "execute")?;
            header(dst, "execute-app-name", app)?;
            if let Some(arg) = arg {
                header(dst, "execute-app-arg", arg)?;
            }
        }
        CallCommand::Hangup { cause } => {
            token("hangup-cause", cause)?;
            header(dst, "call-command", "hangup")?;
            header(dst, "hangup-cause", cause)?;
        }
        CallCommand::Other(command) => {
            token("call-command", command)?;
            header(dst, "call-command", command)?;
        }
    }
    if let Some(loops) = msg.loops {
        header(dst, "loops", &loops.to_string())?;
    }
    if msg.event_lock {
        header(dst, "event-lock", "true")?;
    }
    if let Some(uuid) = msg.event_uuid {
        token("event-uuid", uuid)?;
        header(dst, "event-uuid", uuid)?;
    }
    for (name, value) in &msg.headers {
        header(dst, name, value)?;
    }
    finish_with_body(dst, msg.body)
}

/// Ends a command's headers, then writes its body if any.
fn finish_with_body(dst: &mut BytesMut, body: Option<Body<'_>>) -> Result<(), EncodeError> {
    if let Some(body) = body {
        text("content-type", body.content_type)?;
        dst.put_slice(b"content-type: ");
        dst.put_slice(body.content_type.as_bytes());
        let _ = write!(Writer(dst), "\ncontent-length: {}\n\n", body.content.len());
        dst.put_slice(body.content);
    } else {
        dst.put_u8(b'\n');
    }
    Ok(())
}

/// A command of one fixed line.
fn simple(dst: &mut BytesMut, command: &str) -> Result<(), EncodeError> {
    dst.put_slice(command.as_bytes());
    end(dst);
    Ok(())
}

/// A command line: a keyword, then caller-supplied arguments separated by spaces, then the
/// blank line that ends the command.
fn line(
    dst: &mut BytesMut,
    keyword: &str,
    args: &[(&'static str, &str)],
) -> Result<(), EncodeError> {
    command_line(dst, keyword, args)?;
    dst.put_u8(b'\n');
    Ok(())
}

/// The first line of a command, ended by its newline; headers may follow.
fn command_line(
    dst: &mut BytesMut,
    keyword: &str,
    args: &[(&'static str, &str)],
) -> Result<(), EncodeError> {
    dst.put_slice(keyword.as_bytes());
    for (field, value) in args {
        text(field, value)?;
        dst.put_u8(b' ');
        dst.put_slice(value.as_bytes());
    }
    dst.put_u8(b'\n');
    Ok(())
}

/// Ends a command whose line is written but not ended.
fn end(dst: &mut BytesMut) {
    dst.put_slice(b"\n\n");
}

fn header(dst: &mut BytesMut, name: &str, value: &str) -> Result<(), EncodeError> {
    token("header name", name)?;
    if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("content-type") {
        return Err(EncodeError::ReservedHeader(name.to_owned()));
    }
    text("header value", value)?;
    dst.put_slice(name.as_bytes());
    dst.put_slice(b": ");
    dst.put_slice(value.as_bytes());
    dst.put_u8(b'\n');
    Ok(())
}

fn event_names(dst: &mut BytesMut, events: &[&str]) -> Result<(), EncodeError> {
    for name in events {
        word("event name", name)?;
        dst.put_u8(b' ');
        dst.put_slice(name.as_bytes());
    }
    Ok(())
}

/// Free text on one line.
fn text(field: &'static str, value: &str) -> Result<(), EncodeError> {
    if value.contains(['\n', '\r']) {
        return Err(EncodeError::LineBreak { field });
    }
    Ok(())
}

fn nonempty(field: &'static str, value: &str) -> Result<(), EncodeError> {
    if value.trim().is_empty() {
        return Err(EncodeError::Empty { field });
    }
    Ok(())
}

/// One word: non-empty, no whitespace (event names such as `sofia::register` keep colons).
fn word(field: &'static str, value: &str) -> Result<(), EncodeError> {
    text(field, value)?;
    nonempty(field, value)?;
    if value.contains(char::is_whitespace) {
        return Err(EncodeError::NotAToken {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// One word without a colon: header names, UUIDs.
fn token(field: &'static str, value: &str) -> Result<(), EncodeError> {
    word(field, value)?;
    if value.contains(':') {
        return Err(EncodeError::NotAToken {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// Lets `write!` format numbers straight into the buffer.
struct Writer<'a>(&'a mut BytesMut);

impl std::fmt::Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.put_slice(s.as_bytes());
        Ok(())
    }
}

/// Writes a whole `text/event-plain` frame the way FreeSWITCH serialises events: each value
/// URL-encoded (empty values as `_undef_`), and a body announced by its own `Content-Length`.
/// Useful for test peers and for feeding events to code under test.
///
/// ```
/// use bytes::BytesMut;
/// use esl::proto::{FrameDecoder, write_plain_event};
///
/// let mut wire = BytesMut::new();
/// write_plain_event(&[("Event-Name", "CUSTOM"), ("X-Note", "a: b\nc")], Some(b"hi"), &mut wire)?;
/// let frame = FrameDecoder::new().decode(&mut wire).unwrap().unwrap();
/// let event = frame.event().unwrap();
/// assert_eq!(event.header("X-Note").as_deref(), Some("a: b\nc"));
/// assert_eq!(event.body(), Some(&b"hi"[..]));
/// # Ok::<(), esl::proto::EncodeError>(())
/// ```
pub fn write_plain_event(
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let mut inner = Vec::with_capacity(64 * headers.len());
    for (name, value) in headers {
        token("header name", name)?;
        if name.eq_ignore_ascii_case("content-length") {
            return Err(EncodeError::ReservedHeader((*name).to_owned()));
        }
        inner.extend_from_slice(name.as_bytes());
        inner.extend_from_slice(b": ");
        if value.is_empty() {
            inner.extend_from_slice(b"_undef_");
        } else if *value == "_undef_" {
            // Keep a literal `_undef_` apart from FreeSWITCH's marker for an empty value.
            inner.extend_from_slice(b"%5Fundef_");
        } else {
            url_encode_into(value.as_bytes(), &mut inner);
        }
        inner.push(b'\n');
    }
    if let Some(body) = body {
        let _ = writeln!(VecWriter(&mut inner), "Content-Length: {}", body.len());
        inner.push(b'\n');
        inner.extend_from_slice(body);
    } else {
        inner.push(b'\n');
    }
    let _ = write!(
        Writer(dst),
        "Content-Length: {}\nContent-Type: text/event-plain\n\n",
        inner.len()
    );
    dst.put_slice(&inner);
    Ok(())
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
