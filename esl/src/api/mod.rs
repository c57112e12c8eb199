//! API commands as typed values, never built by concatenating user input. Each command
//! implements [`ApiCommand`]: it writes its own command line, checking and escaping every part
//! by the one rule for that kind of value, and reads its own result. Pure code; the client runs
//! any of them with [`Client::run`](crate::client::Client::run) (`api`) or
//! [`Client::run_background`](crate::client::Client::run_background) (`bgapi`).
//!
//! ```
//! use esl::api::{ApiCommand, UuidGetVar, UuidKill};
//! use esl::proto::HangupCause;
//!
//! let kill = UuidKill {
//!     uuid: "0a9c5e84-7e0b-4b4d-8d1f-3f3f3f3f3f3f".into(),
//!     cause: Some(HangupCause::OutgoingCallBarred),
//! };
//! assert_eq!(
//!     kill.to_command()?,
//!     "uuid_kill 0a9c5e84-7e0b-4b4d-8d1f-3f3f3f3f3f3f OUTGOING_CALL_BARRED"
//! );
//!
//! let getvar = UuidGetVar { uuid: "abc".into(), name: "billsec".into() };
//! assert_eq!(getvar.read_result("_undef_".into()), Ok(None));
//! assert_eq!(getvar.read_result("42".into()), Ok(Some("42".into())));
//! assert!(getvar.read_result("-ERR No such channel!\n".into()).is_err());
//! # Ok::<(), esl::api::ApiError>(())
//! ```

mod callcenter;
mod channel;
mod originate;
mod sofia;
mod value;

pub use callcenter::{
    AgentStatus, CallCenterAgentStatus, CallCenterChange, CallCenterList, is_call_center_name,
    is_contact,
};
pub use channel::{
    RecordAction, SchedDel, SchedHangup, SchedKill, UuidBridge, UuidGetVar, UuidKill, UuidRecord,
    UuidSetVar, UuidTransfer,
};
pub use originate::{Destination, Endpoint, Originate, Ringing, ring};
pub use sofia::{SofiaAction, SofiaProfile, is_gateway_name};

/// Why an API command cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A part is empty, too long, or has a character its rule does not allow.
    #[error(
        "{field} {value:?} has a character FreeSWITCH would read as syntax there, or is empty or too long"
    )]
    NotAWord {
        /// Which part.
        field: &'static str,
        /// The offending value.
        value: String,
    },
    /// A dialled number is not digits after an optional leading `+`, `*` or `#` (see
    /// [`DialedNumber`]).
    #[error("{value:?} is not a dialled number (digits, optionally after one leading +, * or #)")]
    NotANumber {
        /// The offending value (at most 64 characters of it).
        value: String,
    },
    /// A value contains a character that cannot be carried in that position.
    #[error("{field} {value:?} contains a character FreeSWITCH cannot take there")]
    Unencodable {
        /// Which part.
        field: &'static str,
        /// The offending value.
        value: String,
    },
}

/// FreeSWITCH reported that an API command failed (`-ERR ...`, `-USAGE ...`), or answered with
/// a result that does not have the shape this command's result takes. The text is FreeSWITCH's
/// result, without its trailing line break.
///
/// ```
/// use esl::api::{ApiFailure, check_result};
///
/// assert_eq!(check_result("+OK\n".into()), Ok("+OK\n".to_owned()));
/// assert_eq!(
///     check_result("-ERR no reply\n".into()),
///     Err(ApiFailure { text: "-ERR no reply".into() })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("api command failed: {text}")]
pub struct ApiFailure {
    /// FreeSWITCH's text.
    pub text: String,
}

impl ApiFailure {
    fn new(result: &str) -> Self {
        Self {
            text: result.trim_end().to_owned(),
        }
    }
}

/// Passes an `api`/`bgapi` result through unless it reports failure (`-ERR`, `-USAGE`).
///
/// ```
/// assert!(esl::api::check_result("-USAGE: <uuid>".into()).is_err());
/// assert_eq!(esl::api::check_result("_undef_".into()).as_deref(), Ok("_undef_"));
/// ```
pub fn check_result(result: String) -> Result<String, ApiFailure> {
    if crate::proto::reports_failure(&result) {
        Err(ApiFailure::new(&result))
    } else {
        Ok(result)
    }
}

/// An API command: how it is written on the `api`/`bgapi` line, and what its result means.
///
/// ```
/// use esl::api::{ApiCommand, ApiError, ApiFailure};
///
/// /// `uuid_exists <uuid>`: whether a channel exists.
/// struct UuidExists(String);
///
/// impl ApiCommand for UuidExists {
///     type Output = bool;
///
///     fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
///         out.push_str("uuid_exists ");
///         esl::api::write_uuid(out, "uuid", &self.0)
///     }
///
///     fn parse_result(&self, result: String) -> Result<bool, ApiFailure> {
///         Ok(result.trim() == "true")
///     }
/// }
///
/// let exists = UuidExists("abc".into());
/// assert_eq!(exists.to_command()?, "uuid_exists abc");
/// assert_eq!(exists.read_result("true".into()), Ok(true));
/// assert!(UuidExists("a b".into()).to_command().is_err());
/// # Ok::<(), ApiError>(())
/// ```
pub trait ApiCommand {
    /// What a successful result means.
    type Output;

    /// Appends the command line (without `api `/`bgapi `) to `out`, checking every part. On
    /// error, `out` may hold part of the line and should be dropped.
    fn write_command(&self, out: &mut String) -> Result<(), ApiError>;

    /// Reads a result that does not report failure (see [`ApiCommand::read_result`]).
    fn parse_result(&self, result: String) -> Result<Self::Output, ApiFailure>;

    /// The command line.
    fn to_command(&self) -> Result<String, ApiError> {
        let mut out = String::new();
        self.write_command(&mut out)?;
        Ok(out)
    }

    /// Reads a whole `api` body or `BACKGROUND_JOB` result: [`ApiFailure`] for `-ERR`/`-USAGE`,
    /// otherwise what [`ApiCommand::parse_result`] makes of it.
    fn read_result(&self, result: String) -> Result<Self::Output, ApiFailure> {
        self.parse_result(check_result(result)?)
    }
}

pub use value::{
    DialedNumber, is_dialed_number, is_domain, is_name, write_line, write_name, write_uuid,
    write_word,
};
