//! The tokio side of routing: the sans-IO [`Session`] decides which request a frame resolves;
//! the router keeps each request's waiters (oneshot senders) by [`RequestId`] and wakes them.

use super::error::{Error, check_reply};
use crate::proto::{Event, Frame, Limits, RequestId, Routed, Session};
use std::collections::HashMap;
use tokio::sync::oneshot;

/// What a job waiter receives: the `BACKGROUND_JOB` event, or why there will be none.
pub(crate) type JobResult = Result<Event, Error>;

/// Where a reply goes: the caller waiting for it.
pub(crate) type ReplyWaiter = oneshot::Sender<Result<Frame, Error>>;

/// What the caller of one command waits for, sent along with the request's bytes.
pub(crate) enum Expect {
    /// The command's reply.
    Reply { id: RequestId, reply: ReplyWaiter },
    /// A `bgapi`: its refusal, or its `BACKGROUND_JOB` (one wake-up per job, not two).
    Job {
        id: RequestId,
        job_uuid: String,
        done: oneshot::Sender<JobResult>,
    },
    /// A `sendmsg` execute: its reply, then its `CHANNEL_EXECUTE_COMPLETE`.
    Execution {
        id: RequestId,
        application_uuid: String,
        reply: ReplyWaiter,
        done: oneshot::Sender<Event>,
    },
}

impl Expect {
    /// Tells the caller the command will never be answered.
    pub(crate) fn fail(self) {
        match self {
            Self::Reply { reply, .. } | Self::Execution { reply, .. } => {
                let _ = reply.send(Err(Error::Disconnected));
            }
            Self::Job { done, .. } => {
                let _ = done.send(Err(Error::Disconnected));
            }
        }
    }
}

/// One connection's session and the waiters of its requests.
pub(crate) struct Router {
    session: Session,
    replies: HashMap<RequestId, ReplyWaiter>,
    jobs: HashMap<RequestId, oneshot::Sender<JobResult>>,
    completions: HashMap<RequestId, oneshot::Sender<Event>>,
}

impl Router {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            session: Session::new(limits),
            replies: HashMap::new(),
            jobs: HashMap::new(),
            completions: HashMap::new(),
        }
    }

    /// Records a command about to be written. A job or execution whose caller is already gone
    /// is recorded as a plain command, so that nothing waits for its result.
    pub(crate) fn sent(&mut self, expect: Expect) {
        match expect {
            Expect::Reply { id, reply } => {
                self.session.sent_command(id);
                self.replies.insert(id, reply);
            }
            Expect::Job { id, done, .. } if done.is_closed() => self.session.sent_command(id),
            Expect::Job { id, job_uuid, done } => {
                self.session.sent_bgapi(id, job_uuid);
                self.jobs.insert(id, done);
            }
            Expect::Execution {
                id, reply, done, ..
            } if done.is_closed() => {
                self.session.sent_command(id);
                self.replies.insert(id, reply);
            }
            Expect::Execution {
                id,
                application_uuid,
                reply,
                done,
            } => {
                self.session.sent_execute(id, application_uuid);
                self.replies.insert(id, reply);
                self.completions.insert(id, done);
            }
        }
    }

    /// Nobody waits for `id` any more.
    pub(crate) fn cancel(&mut self, id: RequestId) {
        self.session.cancel(id);
        self.replies.remove(&id);
        self.jobs.remove(&id);
        self.completions.remove(&id);
    }

    /// Routes one frame, waking whoever it resolves; returns what is left for the stream
    /// (a job result or completion is also an event the user may want).
    pub(crate) fn route(&mut self, frame: Frame) -> Option<Routed> {
        match self.session.handle_frame(frame) {
            Routed::Reply { request, frame } => {
                if let Some(waiter) = self.replies.remove(&request) {
                    let _ = waiter.send(Ok(frame));
                }
                None
            }
            Routed::JobAccepted { .. } => None,
            Routed::JobRefused { request, frame } => {
                if let (Some(waiter), Err(error)) = (
                    self.jobs.remove(&request),
                    check_reply(&frame.reply_text().unwrap_or_default()),
                ) {
                    let _ = waiter.send(Err(error));
                }
                None
            }
            Routed::JobResult { request, event } => {
                if let Some(waiter) = self.jobs.remove(&request) {
                    let _ = waiter.send(Ok(event.clone()));
                }
                Some(Routed::Event(event))
            }
            Routed::ExecutionComplete { request, event } => {
                if let Some(waiter) = self.completions.remove(&request) {
                    let _ = waiter.send(event.clone());
                }
                Some(Routed::Event(event))
            }
            Routed::UnexpectedReply(frame) => {
                tracing::warn!(?frame, "reply without a pending command");
                None
            }
            Routed::Ignored(frame) => {
                tracing::debug!(?frame, "frame ignored");
                None
            }
            other => Some(other),
        }
    }

    /// The connection is gone: fails every request still waiting on it.
    pub(crate) fn disconnected(&mut self) {
        for id in self.session.disconnected() {
            if let Some(waiter) = self.replies.remove(&id) {
                let _ = waiter.send(Err(Error::Disconnected));
            }
            if let Some(waiter) = self.jobs.remove(&id) {
                let _ = waiter.send(Err(Error::Disconnected));
            }
            // Dropping the sender wakes the waiter with a closed channel: disconnected.
            self.completions.remove(&id);
        }
        for (_, waiter) in self.replies.drain() {
            let _ = waiter.send(Err(Error::Disconnected));
        }
        self.jobs.clear();
        self.completions.clear();
    }

    /// A fresh connection starts.
    pub(crate) fn connected(&mut self) {
        self.session.connected();
    }

    /// Whether FreeSWITCH announced the end of the session before the connection ended.
    pub(crate) fn peer_closed(&self) -> bool {
        self.session.peer_closed()
    }
}
