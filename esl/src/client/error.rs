//! Errors of the tokio layers.

use crate::api::{ApiError, ApiFailure, check_result};
use crate::proto::{EncodeError, EventError, FrameError};
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// What went wrong talking to FreeSWITCH.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TCP connection could not be made or broke. The I/O error is kept whole (shared, so
    /// the error stays cheap to clone); [`Error::io_kind`] reads its kind.
    #[error("i/o: {0}")]
    Io(#[source] Arc<io::Error>),
    /// Connecting (TCP and authentication) took longer than allowed.
    #[error("connecting timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// FreeSWITCH refused the password or user (`-ERR invalid`).
    #[error("authentication refused: {0}")]
    AuthFailed(String),
    /// FreeSWITCH's ACL refused the connection (`text/rude-rejection`).
    #[error("connection rejected by FreeSWITCH: {0}")]
    Rejected(String),
    /// A command was answered with `-ERR ...` (or `-USAGE ...`); the text is FreeSWITCH's.
    #[error("command failed: {0}")]
    CommandFailed(String),
    /// An `api` or `bgapi` result was `-ERR ...` or `-USAGE ...`; the text is FreeSWITCH's.
    #[error("api command failed: {0}")]
    ApiFailed(String),
    /// No reply within the command's timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection is gone; the command was not (or may not have been) carried out.
    #[error("disconnected from FreeSWITCH")]
    Disconnected,
    /// The command could not be encoded safely.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// An API command could not be built safely.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// FreeSWITCH sent bytes that cannot be framed.
    #[error("protocol: {0}")]
    Frame(#[from] FrameError),
    /// FreeSWITCH sent an event that cannot be parsed.
    #[error("protocol: {0}")]
    Event(#[from] EventError),
    /// FreeSWITCH answered something other than what the protocol says.
    #[error("protocol: {0}")]
    Protocol(String),
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Self::Io(Arc::new(err))
    }
}

impl Error {
    /// The kind of the I/O error behind this error, so that callers can tell
    /// [`io::ErrorKind::ConnectionRefused`] from [`io::ErrorKind::TimedOut`] and the like.
    /// `None` for errors that did not come from a socket (timeouts of this crate's own clocks
    /// are [`Error::ConnectTimeout`] and [`Error::Timeout`]; a clean close is
    /// [`Error::Disconnected`]).
    ///
    /// ```
    /// use esl::client::Error;
    /// use std::io;
    ///
    /// let refused = Error::from(io::Error::from(io::ErrorKind::ConnectionRefused));
    /// assert_eq!(refused.io_kind(), Some(io::ErrorKind::ConnectionRefused));
    /// assert_eq!(Error::Disconnected.io_kind(), None);
    /// ```
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Self::Io(err) => Some(err.kind()),
            _ => None,
        }
    }
}

/// Maps a `-ERR`/`-USAGE` reply text to an error, or returns the text.
pub(crate) fn check_reply(text: &str) -> Result<(), Error> {
    if crate::proto::reports_failure(text) {
        Err(Error::CommandFailed(text.trim_end().to_owned()))
    } else {
        Ok(())
    }
}

impl From<ApiFailure> for Error {
    fn from(failure: ApiFailure) -> Self {
        Self::ApiFailed(failure.text)
    }
}

/// Maps an `api`/`bgapi` body starting with `-ERR`/`-USAGE` to an error.
pub(crate) fn check_api_body(body: String) -> Result<String, Error> {
    Ok(check_result(body)?)
}
