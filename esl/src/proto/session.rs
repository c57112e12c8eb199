//! The sans-IO session: which pending request each frame from FreeSWITCH resolves, and which
//! frames belong to the event stream. Replies come back in the order commands were sent, a
//! `bgapi` result is the `BACKGROUND_JOB` event with its `Job-UUID`, and an execution ends with
//! the `CHANNEL_EXECUTE_COMPLETE` event carrying its `Application-UUID`. The I/O layer tells
//! the session what it wrote and feeds it every frame it reads; the session answers with a
//! [`Routed`] and never blocks, allocates per frame beyond its bookkeeping, or panics.

use super::event::{Event, EventError};
use super::event_name::EventName;
use super::frame::{ContentType, Disconnect, Frame, Limits};
use super::reply::reports_failure;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// The caller's name for one request (a command whose reply, job result or completion it
/// awaits). The session only compares ids; the caller picks them and uses each once.
///
/// ```
/// use esl::proto::RequestId;
/// assert_eq!(RequestId::new(7).get(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(u64);

impl RequestId {
    /// An id with this number.
    pub fn new(id: u64) -> Self {
        Self(id)
    }

    /// The id's number.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// What one frame from FreeSWITCH turned out to be.
///
/// ```
/// use bytes::BytesMut;
/// use esl::proto::{FrameDecoder, Limits, RequestId, Routed, Session};
///
/// let mut session = Session::new(Limits::default());
/// session.sent_command(RequestId::new(1));
/// let wire = "Content-Type: api/response\nContent-Length: 3\n\n+OK";
/// let frame = FrameDecoder::new().decode(&mut BytesMut::from(wire))?.unwrap();
/// match session.handle_frame(frame) {
///     Routed::Reply { request, frame } => {
///         assert_eq!(request, RequestId::new(1));
///         assert_eq!(frame.body(), b"+OK");
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), esl::proto::FrameError>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Routed {
    /// The reply to a command sent with [`Session::sent_command`] or
    /// [`Session::sent_execute`].
    Reply {
        /// The command's request.
        request: RequestId,
        /// Its `command/reply` or `api/response`.
        frame: Frame,
    },
    /// FreeSWITCH accepted a `bgapi` (`+OK Job-UUID: ...`); its result follows (or came
    /// already, as [`Routed::JobResult`]).
    JobAccepted {
        /// The `bgapi`'s request.
        request: RequestId,
    },
    /// FreeSWITCH refused a `bgapi` (`-ERR ...`): no result will follow.
    JobRefused {
        /// The `bgapi`'s request.
        request: RequestId,
        /// The refusing reply.
        frame: Frame,
    },
    /// The `BACKGROUND_JOB` event of a pending `bgapi`: its result is the body. The event is
    /// also one the user may have subscribed to.
    JobResult {
        /// The `bgapi`'s request.
        request: RequestId,
        /// The event.
        event: Event,
    },
    /// The `CHANNEL_EXECUTE_COMPLETE` event of a pending execution. The event is also one the
    /// user may have subscribed to.
    ExecutionComplete {
        /// The execution's request.
        request: RequestId,
        /// The event (with `Application-Response`).
        event: Event,
    },
    /// An event no request waits for: for the event stream.
    Event(Event),
    /// An event frame whose body does not parse: for the event stream, raw.
    Unparsed {
        /// The frame as received.
        frame: Frame,
        /// Why it did not parse.
        error: EventError,
    },
    /// A `log/data` frame: for the event stream.
    Log(Frame),
    /// FreeSWITCH announced the end of the session (`text/disconnect-notice`).
    DisconnectNotice(Disconnect),
    /// FreeSWITCH's ACL refused the connection (`text/rude-rejection`); the text is its body.
    Rejected(String),
    /// A reply while no command was pending: FreeSWITCH and this side disagree.
    UnexpectedReply(Frame),
    /// A frame with nothing to do after the handshake (`auth/request`, unknown types).
    Ignored(Frame),
}

/// A reply owed by FreeSWITCH, in the order the commands were sent.
#[derive(Debug)]
enum Owed {
    Reply(RequestId),
    JobReply(RequestId),
    ExecutionReply(RequestId),
}

/// The event a request's result comes in, keyed by the id FreeSWITCH echoes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Awaited {
    /// `BACKGROUND_JOB` with this `Job-UUID`.
    Job(String),
    /// `CHANNEL_EXECUTE_COMPLETE` with this `Application-UUID`.
    Execution(String),
}

/// One connection's routing state, without I/O: replies resolve requests in the order the
/// commands were sent, a `bgapi`'s result is the `BACKGROUND_JOB` event with its `Job-UUID`,
/// an execution's completion is the `CHANNEL_EXECUTE_COMPLETE` event with its
/// `Application-UUID`, and everything else is for the event stream. Tell it what was written
/// (`sent_*`), feed it every frame read ([`Session::handle_frame`]), and on connection loss
/// take the requests to fail ([`Session::disconnected`]).
///
/// ```
/// use bytes::BytesMut;
/// use esl::proto::{FrameDecoder, Limits, RequestId, Routed, Session, write_plain_event};
///
/// let mut session = Session::new(Limits::default());
/// session.sent_bgapi(RequestId::new(1), "7f4b-11");
///
/// // The job's result may arrive before the reply to the bgapi itself.
/// let mut wire = BytesMut::new();
/// write_plain_event(&[("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", "7f4b-11")], Some(b"+OK"), &mut wire)?;
/// wire.extend_from_slice(b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: 7f4b-11\n\n");
/// let mut decoder = FrameDecoder::new();
/// let result = session.handle_frame(decoder.decode(&mut wire).unwrap().unwrap());
/// assert!(matches!(result, Routed::JobResult { request, .. } if request == RequestId::new(1)));
/// let reply = session.handle_frame(decoder.decode(&mut wire).unwrap().unwrap());
/// assert!(matches!(reply, Routed::JobAccepted { .. }));
/// assert!(session.disconnected().is_empty());
/// # Ok::<(), esl::proto::EncodeError>(())
/// ```
#[derive(Debug)]
pub struct Session {
    limits: Limits,
    owed: VecDeque<Owed>,
    /// Requests awaiting an event, by the event they await.
    awaited: HashMap<Awaited, RequestId>,
    /// The same, by request, so that cancelling costs one lookup.
    awaiting: HashMap<RequestId, Awaited>,
    peer_closed: bool,
}

impl Session {
    /// A session parsing events within `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            owed: VecDeque::new(),
            awaited: HashMap::new(),
            awaiting: HashMap::new(),
            peer_closed: false,
        }
    }

    /// A fresh connection starts (after a reconnect): the previous peer's close notice is
    /// forgotten.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use esl::proto::{FrameDecoder, Limits, Session};
    ///
    /// let mut session = Session::new(Limits::default());
    /// let wire = "Content-Type: text/disconnect-notice\nContent-Length: 0\n\n";
    /// session.handle_frame(FrameDecoder::new().decode(&mut BytesMut::from(wire))?.unwrap());
    /// assert!(session.peer_closed());
    /// session.connected();
    /// assert!(!session.peer_closed());
    /// # Ok::<(), esl::proto::FrameError>(())
    /// ```
    pub fn connected(&mut self) {
        self.peer_closed = false;
    }

    /// A command was written whose reply resolves `request`.
    ///
    /// ```
    /// use esl::proto::{Limits, RequestId, Session};
    ///
    /// let mut session = Session::new(Limits::default());
    /// session.sent_command(RequestId::new(1));
    /// assert_eq!(session.pending_replies(), 1);
    /// assert_eq!(session.disconnected(), [RequestId::new(1)]);
    /// ```
    pub fn sent_command(&mut self, request: RequestId) {
        self.owed.push_back(Owed::Reply(request));
    }

    /// A `bgapi` with this `Job-UUID` was written: its reply, then its `BACKGROUND_JOB`
    /// event, resolve `request`.
    pub fn sent_bgapi(&mut self, request: RequestId, job_uuid: impl Into<String>) {
        self.await_event(request, Awaited::Job(job_uuid.into()));
        self.owed.push_back(Owed::JobReply(request));
    }

    /// A `sendmsg` executing an application with this `event-uuid` was written: its reply
    /// resolves `request`, and so does its `CHANNEL_EXECUTE_COMPLETE` unless the reply refused
    /// it.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use esl::proto::{FrameDecoder, Limits, RequestId, Routed, Session, write_plain_event};
    ///
    /// let mut session = Session::new(Limits::default());
    /// session.sent_execute(RequestId::new(3), "app-3");
    /// let mut wire = BytesMut::from("Content-Type: command/reply\nReply-Text: +OK\n\n");
    /// write_plain_event(
    ///     &[("Event-Name", "CHANNEL_EXECUTE_COMPLETE"), ("Application-UUID", "app-3")],
    ///     None,
    ///     &mut wire,
    /// )?;
    /// let mut decoder = FrameDecoder::new();
    /// let reply = session.handle_frame(decoder.decode(&mut wire).unwrap().unwrap());
    /// assert!(matches!(reply, Routed::Reply { .. }));
    /// let done = session.handle_frame(decoder.decode(&mut wire).unwrap().unwrap());
    /// assert!(matches!(done, Routed::ExecutionComplete { request, .. } if request.get() == 3));
    /// # Ok::<(), esl::proto::EncodeError>(())
    /// ```
    pub fn sent_execute(&mut self, request: RequestId, application_uuid: impl Into<String>) {
        self.await_event(request, Awaited::Execution(application_uuid.into()));
        self.owed.push_back(Owed::ExecutionReply(request));
    }

    fn await_event(&mut self, request: RequestId, awaited: Awaited) {
        if let Some(previous) = self.awaited.insert(awaited.clone(), request) {
            // The caller reused a correlation id: the earlier request no longer awaits it.
            self.awaiting.remove(&previous);
        }
        if let Some(previous) = self.awaiting.insert(request, awaited) {
            self.awaited.remove(&previous);
        }
    }

    /// The request awaiting this event, which no longer awaits it.
    fn take_awaited(&mut self, awaited: &Awaited) -> Option<RequestId> {
        let request = self.awaited.remove(awaited)?;
        self.awaiting.remove(&request);
        Some(request)
    }

    /// Nobody waits for `request` any more: its job result or completion, when it comes, is
    /// an ordinary event. A reply it still owes is consumed in its turn (and routed as usual).
    ///
    /// ```
    /// use esl::proto::{Limits, RequestId, Session};
    ///
    /// let mut session = Session::new(Limits::default());
    /// session.sent_bgapi(RequestId::new(1), "job-1");
    /// assert_eq!(session.pending_results(), 1);
    /// session.cancel(RequestId::new(1));
    /// assert_eq!(session.pending_results(), 0);
    /// assert_eq!(session.pending_replies(), 1);
    /// ```
    pub fn cancel(&mut self, request: RequestId) {
        if let Some(awaited) = self.awaiting.remove(&request) {
            self.awaited.remove(&awaited);
        }
    }

    /// Routes one frame read from FreeSWITCH.
    pub fn handle_frame(&mut self, frame: Frame) -> Routed {
        match frame.content_type() {
            ContentType::CommandReply | ContentType::ApiResponse => self.reply(frame),
            ContentType::EventPlain | ContentType::EventJson | ContentType::EventXml => {
                match frame.event_with_limits(&self.limits) {
                    Ok(event) => self.event(event),
                    Err(error) => Routed::Unparsed { frame, error },
                }
            }
            ContentType::LogData => Routed::Log(frame),
            ContentType::DisconnectNotice => {
                let notice = frame.disconnect().unwrap_or(Disconnect::Close);
                if notice == Disconnect::Close {
                    self.peer_closed = true;
                }
                Routed::DisconnectNotice(notice)
            }
            ContentType::RudeRejection => {
                Routed::Rejected(String::from_utf8_lossy(frame.body()).trim().to_owned())
            }
            ContentType::AuthRequest | ContentType::Unknown => Routed::Ignored(frame),
        }
    }

    fn reply(&mut self, frame: Frame) -> Routed {
        let refused = || reports_failure(&frame.reply_text().unwrap_or_default());
        match self.owed.pop_front() {
            Some(Owed::Reply(request)) => Routed::Reply { request, frame },
            Some(Owed::JobReply(request)) if refused() => {
                self.cancel(request);
                Routed::JobRefused { request, frame }
            }
            Some(Owed::JobReply(request)) => Routed::JobAccepted { request },
            Some(Owed::ExecutionReply(request)) => {
                if refused() {
                    self.cancel(request);
                }
                Routed::Reply { request, frame }
            }
            None => Routed::UnexpectedReply(frame),
        }
    }

    fn event(&mut self, event: Event) -> Routed {
        let awaited = match event.event_name() {
            Some(EventName::BackgroundJob) => {
                event.job_uuid().map(|job| Awaited::Job(job.into_owned()))
            }
            Some(EventName::ChannelExecuteComplete) => event
                .header("Application-UUID")
                .map(|id| Awaited::Execution(id.into_owned())),
            _ => None,
        };
        let waiting = awaited.and_then(|awaited| {
            let is_job = matches!(awaited, Awaited::Job(_));
            Some((self.take_awaited(&awaited)?, is_job))
        });
        match waiting {
            Some((request, true)) => Routed::JobResult { request, event },
            Some((request, false)) => Routed::ExecutionComplete { request, event },
            None => Routed::Event(event),
        }
    }

    /// The connection is gone: every request still waiting for a reply, a job result or a
    /// completion, each once and in id order, for the caller to fail. The session is then
    /// empty, ready for [`Session::connected`].
    pub fn disconnected(&mut self) -> Vec<RequestId> {
        let mut pending = BTreeSet::new();
        for owed in self.owed.drain(..) {
            pending.insert(match owed {
                Owed::Reply(request) | Owed::JobReply(request) | Owed::ExecutionReply(request) => {
                    request
                }
            });
        }
        pending.extend(self.awaiting.drain().map(|(request, _)| request));
        self.awaited.clear();
        pending.into_iter().collect()
    }

    /// Replies FreeSWITCH still owes.
    pub fn pending_replies(&self) -> usize {
        self.owed.len()
    }

    /// `bgapi` jobs and executions whose result or completion is still awaited.
    pub fn pending_results(&self) -> usize {
        self.awaiting.len()
    }

    /// Whether FreeSWITCH announced that it closes the session (a final disconnect notice),
    /// so a connection loss that follows is the expected end.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{FrameDecoder, write_plain_event};
    use bytes::BytesMut;

    fn id(n: u64) -> RequestId {
        RequestId::new(n)
    }

    fn frames(wire: &[u8]) -> Vec<Frame> {
        let mut buf = BytesMut::from(wire);
        let mut decoder = FrameDecoder::new();
        let mut frames = Vec::new();
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            frames.push(frame);
        }
        assert!(buf.is_empty());
        frames
    }

    fn one(wire: &[u8]) -> Frame {
        frames(wire).remove(0)
    }

    fn reply(text: &str) -> Frame {
        one(format!("Content-Type: command/reply\nReply-Text: {text}\n\n").as_bytes())
    }

    fn api(body: &str) -> Frame {
        one(format!(
            "Content-Type: api/response\nContent-Length: {}\n\n{body}",
            body.len()
        )
        .as_bytes())
    }

    fn event(headers: &[(&str, &str)], body: Option<&[u8]>) -> Frame {
        let mut wire = BytesMut::new();
        write_plain_event(headers, body, &mut wire).unwrap();
        one(&wire)
    }

    fn job_result(job: &str, body: &str) -> Frame {
        event(
            &[("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", job)],
            Some(body.as_bytes()),
        )
    }

    fn completion(application_uuid: &str) -> Frame {
        event(
            &[
                ("Event-Name", "CHANNEL_EXECUTE_COMPLETE"),
                ("Application-UUID", application_uuid),
            ],
            None,
        )
    }

    fn reply_to(routed: Routed) -> (RequestId, Frame) {
        match routed {
            Routed::Reply { request, frame } => (request, frame),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn event_name(routed: Routed) -> String {
        match routed {
            Routed::Event(event) => event.name().unwrap_or_default().into_owned(),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn replies_resolve_requests_in_send_order() {
        let mut session = Session::new(Limits::default());
        session.sent_command(id(1));
        session.sent_command(id(2));
        session.sent_command(id(3));
        let (first, frame) = reply_to(session.handle_frame(reply("+OK event listener enabled")));
        assert_eq!(first, id(1));
        assert_eq!(
            frame.reply_text().as_deref(),
            Some("+OK event listener enabled")
        );
        assert_eq!(reply_to(session.handle_frame(api("one"))).0, id(2));
        assert_eq!(reply_to(session.handle_frame(reply("-ERR no"))).0, id(3));
        assert_eq!(session.pending_replies(), 0);
    }

    #[test]
    fn events_between_a_command_and_its_reply_go_to_the_stream() {
        let mut session = Session::new(Limits::default());
        session.sent_command(id(1));
        let heartbeat = event(&[("Event-Name", "HEARTBEAT")], None);
        assert_eq!(event_name(session.handle_frame(heartbeat)), "HEARTBEAT");
        assert_eq!(session.pending_replies(), 1);
        assert_eq!(reply_to(session.handle_frame(api("UP"))).0, id(1));
    }

    #[test]
    fn job_result_before_its_bgapi_reply_resolves_the_job() {
        let mut session = Session::new(Limits::default());
        session.sent_bgapi(id(1), "job-1");
        match session.handle_frame(job_result("job-1", "+OK done\n")) {
            Routed::JobResult { request, event } => {
                assert_eq!(request, id(1));
                assert_eq!(event.body(), Some(&b"+OK done\n"[..]));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            session.handle_frame(reply("+OK Job-UUID: job-1")),
            Routed::JobAccepted { request } if request == id(1)
        ));
        assert!(session.disconnected().is_empty());
    }

    #[test]
    fn job_result_after_its_accepted_reply_resolves_the_job() {
        let mut session = Session::new(Limits::default());
        session.sent_command(id(1));
        session.sent_bgapi(id(2), "job-2");
        reply_to(session.handle_frame(reply("+OK")));
        assert!(matches!(
            session.handle_frame(reply("+OK Job-UUID: job-2")),
            Routed::JobAccepted { request } if request == id(2)
        ));
        assert_eq!(session.pending_results(), 1);
        assert!(matches!(
            session.handle_frame(job_result("job-2", "-ERR no route\n")),
            Routed::JobResult { request, .. } if request == id(2)
        ));
        assert_eq!(session.pending_results(), 0);
    }

    #[test]
    fn results_of_jobs_nobody_here_waits_for_are_ordinary_events() {
        let mut session = Session::new(Limits::default());
        session.sent_bgapi(id(1), "mine");
        let foreign = session.handle_frame(job_result("someone-else", "+OK"));
        assert_eq!(event_name(foreign), "BACKGROUND_JOB");
        let unnamed = session.handle_frame(event(&[("Event-Name", "BACKGROUND_JOB")], None));
        assert_eq!(event_name(unnamed), "BACKGROUND_JOB");
        assert_eq!(session.pending_results(), 1);
    }

    #[test]
    fn refused_bgapi_ends_its_job() {
        let mut session = Session::new(Limits::default());
        session.sent_bgapi(id(1), "job-1");
        match session.handle_frame(reply("-ERR no permission")) {
            Routed::JobRefused { request, frame } => {
                assert_eq!(request, id(1));
                assert_eq!(frame.reply_text().as_deref(), Some("-ERR no permission"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(session.pending_results(), 0);
        let late = session.handle_frame(job_result("job-1", "+OK"));
        assert_eq!(event_name(late), "BACKGROUND_JOB");
    }

    #[test]
    fn executions_complete_by_application_uuid_in_any_order() {
        let mut session = Session::new(Limits::default());
        session.sent_execute(id(1), "app-1");
        session.sent_execute(id(2), "app-2");
        assert_eq!(reply_to(session.handle_frame(reply("+OK"))).0, id(1));
        assert_eq!(reply_to(session.handle_frame(reply("+OK"))).0, id(2));
        let other = session.handle_frame(completion("not-ours"));
        assert_eq!(event_name(other), "CHANNEL_EXECUTE_COMPLETE");
        assert!(matches!(
            session.handle_frame(completion("app-2")),
            Routed::ExecutionComplete { request, .. } if request == id(2)
        ));
        assert!(matches!(
            session.handle_frame(completion("app-1")),
            Routed::ExecutionComplete { request, .. } if request == id(1)
        ));
        assert!(session.disconnected().is_empty());
    }

    #[test]
    fn completion_before_the_sendmsg_reply_still_resolves_the_execution() {
        let mut session = Session::new(Limits::default());
        session.sent_execute(id(1), "app-1");
        assert!(matches!(
            session.handle_frame(completion("app-1")),
            Routed::ExecutionComplete { request, .. } if request == id(1)
        ));
        assert_eq!(reply_to(session.handle_frame(reply("+OK"))).0, id(1));
        assert_eq!(session.pending_replies() + session.pending_results(), 0);
    }

    #[test]
    fn refused_execution_forgets_its_completion() {
        let mut session = Session::new(Limits::default());
        session.sent_execute(id(1), "app-1");
        let (request, frame) = reply_to(session.handle_frame(reply("-ERR invalid session id")));
        assert_eq!(request, id(1));
        assert!(reports_failure(&frame.reply_text().unwrap_or_default()));
        assert_eq!(session.pending_results(), 0);
        assert_eq!(
            event_name(session.handle_frame(completion("app-1"))),
            "CHANNEL_EXECUTE_COMPLETE"
        );
    }

    #[test]
    fn cancelled_requests_leave_their_results_to_the_stream_and_keep_reply_order() {
        let mut session = Session::new(Limits::default());
        session.sent_bgapi(id(1), "job-1");
        session.sent_execute(id(2), "app-2");
        session.sent_command(id(3));
        session.cancel(id(1));
        session.cancel(id(2));
        assert_eq!(session.pending_results(), 0);
        assert!(matches!(
            session.handle_frame(reply("+OK Job-UUID: job-1")),
            Routed::JobAccepted { .. }
        ));
        assert_eq!(reply_to(session.handle_frame(reply("+OK"))).0, id(2));
        assert_eq!(reply_to(session.handle_frame(api("x"))).0, id(3));
        assert_eq!(
            event_name(session.handle_frame(job_result("job-1", "+OK"))),
            "BACKGROUND_JOB"
        );
    }

    #[test]
    fn disconnect_with_pending_requests_fails_each_of_them_once() {
        let mut session = Session::new(Limits::default());
        session.sent_command(id(4));
        session.sent_bgapi(id(2), "job-2");
        session.sent_execute(id(3), "app-3");
        session.sent_bgapi(id(1), "job-1");
        session.sent_command(id(5));
        // The command is answered and the first job accepted (it awaits its result); the rest
        // still await replies.
        assert_eq!(reply_to(session.handle_frame(reply("+OK"))).0, id(4));
        session.handle_frame(reply("+OK Job-UUID: job-2"));
        assert_eq!(session.disconnected(), [id(1), id(2), id(3), id(5)]);
        assert_eq!(session.pending_replies() + session.pending_results(), 0);
        assert!(session.disconnected().is_empty());
        // Nothing of the old connection resolves anything on the next one.
        assert!(matches!(
            session.handle_frame(reply("+OK")),
            Routed::UnexpectedReply(_)
        ));
        assert_eq!(
            event_name(session.handle_frame(job_result("job-1", "+OK"))),
            "BACKGROUND_JOB"
        );
    }

    #[test]
    fn stream_frames_are_told_apart() {
        let mut session = Session::new(Limits::default());
        let log = one(b"Content-Type: log/data\nContent-Length: 3\nLog-Level: 7\n\nhi\n");
        assert!(matches!(session.handle_frame(log), Routed::Log(_)));
        let bad = one(b"Content-Type: text/event-json\nContent-Length: 5\n\n{\"a\":");
        assert!(matches!(session.handle_frame(bad), Routed::Unparsed { .. }));
        let auth = one(b"Content-Type: auth/request\n\n");
        assert!(matches!(session.handle_frame(auth), Routed::Ignored(_)));
        let rude = one(b"Content-Type: text/rude-rejection\nContent-Length: 14\n\nAccess Denied\n");
        assert!(matches!(
            session.handle_frame(rude),
            Routed::Rejected(text) if text == "Access Denied"
        ));
        let linger = one(
            b"Content-Type: text/disconnect-notice\nContent-Disposition: linger\nLinger-Time: 5\n\n",
        );
        assert!(matches!(
            session.handle_frame(linger),
            Routed::DisconnectNotice(Disconnect::Linger { seconds: Some(5) })
        ));
        assert!(!session.peer_closed());
        let close = one(b"Content-Type: text/disconnect-notice\nContent-Length: 0\n\n");
        assert!(matches!(
            session.handle_frame(close),
            Routed::DisconnectNotice(Disconnect::Close)
        ));
        assert!(session.peer_closed());
        session.connected();
        assert!(!session.peer_closed());
    }

    #[test]
    fn interleaved_stream_routes_the_same_however_it_is_split() {
        let mut wire = BytesMut::new();
        wire.extend_from_slice(b"Content-Type: command/reply\nReply-Text: +OK\n\n");
        write_plain_event(&[("Event-Name", "HEARTBEAT")], None, &mut wire).unwrap();
        write_plain_event(
            &[("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", "job-2")],
            Some(b"+OK 7f4b\n"),
            &mut wire,
        )
        .unwrap();
        wire.extend_from_slice(b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: job-2\n\n");
        write_plain_event(
            &[
                ("Event-Name", "CHANNEL_EXECUTE_COMPLETE"),
                ("Application-UUID", "app-3"),
            ],
            None,
            &mut wire,
        )
        .unwrap();
        wire.extend_from_slice(b"Content-Type: command/reply\nReply-Text: +OK\n\n");
        let expected = [
            "reply 1",
            "event HEARTBEAT",
            "job 2",
            "accepted 2",
            "complete 3",
            "reply 3",
        ];
        for chunk in 1..=wire.len() {
            let mut session = Session::new(Limits::default());
            session.sent_command(id(1));
            session.sent_bgapi(id(2), "job-2");
            session.sent_execute(id(3), "app-3");
            let mut decoder = FrameDecoder::new();
            let mut buf = BytesMut::new();
            let mut seen = Vec::new();
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                    seen.push(match session.handle_frame(frame) {
                        Routed::Reply { request, .. } => format!("reply {}", request.get()),
                        Routed::Event(event) => format!("event {}", event.name().unwrap()),
                        Routed::JobResult { request, .. } => format!("job {}", request.get()),
                        Routed::JobAccepted { request } => format!("accepted {}", request.get()),
                        Routed::ExecutionComplete { request, .. } => {
                            format!("complete {}", request.get())
                        }
                        other => panic!("{other:?}"),
                    });
                }
            }
            assert_eq!(seen, expected, "chunks of {chunk}");
            assert!(session.disconnected().is_empty());
        }
    }
}
