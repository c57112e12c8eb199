//! Commands on one live channel: `uuid_kill`, `sched_hangup`, `sched_api ... uuid_kill`,
//! `sched_del`, `uuid_transfer`,
//! `uuid_bridge`, `uuid_record`, `uuid_setvar` and `uuid_getvar`.

use super::value::{
    write_cause, write_extension, write_line, write_uuid, write_variable_name, write_word,
};
use super::{ApiCommand, ApiError, ApiFailure};
use crate::proto::HangupCause;
use std::fmt::Write as _;
use std::time::Duration;

/// `uuid_kill <uuid> [<cause>]`: hangs a channel up. The result is FreeSWITCH's text (`+OK`).
///
/// ```
/// use esl::api::{ApiCommand, UuidKill};
/// use esl::proto::HangupCause;
///
/// let kill = UuidKill { uuid: "abc".into(), cause: Some(HangupCause::OutgoingCallBarred) };
/// assert_eq!(kill.to_command()?, "uuid_kill abc OUTGOING_CALL_BARRED");
/// assert_eq!(UuidKill { uuid: "abc".into(), cause: None }.to_command()?, "uuid_kill abc");
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuidKill {
    /// The channel.
    pub uuid: String,
    /// Why; FreeSWITCH uses `NORMAL_CLEARING` when absent.
    pub cause: Option<HangupCause>,
}

impl ApiCommand for UuidKill {
    /// FreeSWITCH's result text.
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        out.push_str("uuid_kill ");
        write_uuid(out, "uuid", &self.uuid)?;
        if let Some(cause) = &self.cause {
            out.push(' ');
            write_cause(out, cause)?;
        }
        Ok(())
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        Ok(result)
    }
}

/// `sched_hangup +<seconds> <uuid> [<cause>]`: hangs a channel up after a delay (prepaid
/// limits). The delay is sent in whole seconds, rounded down.
///
/// ```
/// use esl::api::{ApiCommand, SchedHangup};
/// use esl::proto::HangupCause;
/// use std::time::Duration;
///
/// let limit = SchedHangup {
///     after: Duration::from_secs(1000),
///     uuid: "abc".into(),
///     cause: Some(HangupCause::AllottedTimeout),
/// };
/// assert_eq!(limit.to_command()?, "sched_hangup +1000 abc ALLOTTED_TIMEOUT");
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedHangup {
    /// How long from now.
    pub after: Duration,
    /// The channel.
    pub uuid: String,
    /// Why; FreeSWITCH uses `ALLOTTED_TIMEOUT` when absent.
    pub cause: Option<HangupCause>,
}

impl ApiCommand for SchedHangup {
    /// FreeSWITCH's result text.
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        let _ = write!(out, "sched_hangup +{} ", self.after.as_secs());
        write_uuid(out, "uuid", &self.uuid)?;
        if let Some(cause) = &self.cause {
            out.push(' ');
            write_cause(out, cause)?;
        }
        Ok(())
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        Ok(result)
    }
}

/// `sched_api +<seconds> <group> uuid_kill <uuid> [<cause>]`: hangs a channel up after a
/// delay, as a scheduler task of its own `group` whose id FreeSWITCH returns, so that a later
/// limit can be added before this one is removed ([`SchedDel`] by id). (`sched_hangup` tasks
/// accumulate under the channel's UUID and return no id: moving one means deleting every
/// task of the channel first.)
///
/// ```
/// use esl::api::{ApiCommand, SchedKill};
/// use esl::proto::HangupCause;
/// use std::time::Duration;
///
/// let limit = SchedKill {
///     after: Duration::from_secs(600),
///     group: "limit-abc".into(),
///     uuid: "abc".into(),
///     cause: Some(HangupCause::AllottedTimeout),
/// };
/// assert_eq!(limit.to_command()?, "sched_api +600 limit-abc uuid_kill abc ALLOTTED_TIMEOUT");
/// assert_eq!(limit.read_result("+OK Added: 42\n".into()), Ok(42));
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedKill {
    /// How long from now (whole seconds, at least one).
    pub after: Duration,
    /// The scheduler group of the task.
    pub group: String,
    /// The channel.
    pub uuid: String,
    /// Why; FreeSWITCH uses `NORMAL_CLEARING` when absent.
    pub cause: Option<HangupCause>,
}

impl ApiCommand for SchedKill {
    /// The scheduler task's id.
    type Output = u64;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        let _ = write!(out, "sched_api +{} ", self.after.as_secs().max(1));
        write_word(out, "group", &self.group)?;
        out.push_str(" uuid_kill ");
        write_uuid(out, "uuid", &self.uuid)?;
        if let Some(cause) = &self.cause {
            out.push(' ');
            write_cause(out, cause)?;
        }
        Ok(())
    }

    fn parse_result(&self, result: String) -> Result<u64, ApiFailure> {
        scheduler_number(result, "+OK Added:")
    }
}

/// `sched_del <task id | group>`: removes scheduled tasks, one by id or every task of a group
/// (a channel's UUID is the group of its `sched_hangup` tasks). The result is how many.
///
/// ```
/// use esl::api::{ApiCommand, SchedDel};
///
/// assert_eq!(SchedDel("42".into()).to_command()?, "sched_del 42");
/// assert_eq!(SchedDel("42".into()).read_result("+OK Deleted: 1\n".into()), Ok(1));
/// assert!(SchedDel("a b".into()).to_command().is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedDel(pub String);

impl ApiCommand for SchedDel {
    /// How many tasks were removed.
    type Output = u64;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        out.push_str("sched_del ");
        write_word(out, "task", &self.0)
    }

    fn parse_result(&self, result: String) -> Result<u64, ApiFailure> {
        scheduler_number(result, "+OK Deleted:")
    }
}

/// The number after `label` in a scheduler command's reply (`+OK Added: 42`); anything else
/// is a failure carrying the reply.
fn scheduler_number(result: String, label: &str) -> Result<u64, ApiFailure> {
    result
        .trim()
        .strip_prefix(label)
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| ApiFailure::new(&result))
}

/// `uuid_transfer <uuid> <extension> [<dialplan> [<context>]]`: sends a channel to another
/// extension of the dialplan. A context without a dialplan is sent with the default, `XML`.
///
/// ```
/// use esl::api::{ApiCommand, UuidTransfer};
///
/// let transfer = UuidTransfer {
///     uuid: "abc".into(),
///     extension: "1000".into(),
///     dialplan: Some("XML".into()),
///     context: Some("acme".into()),
/// };
/// assert_eq!(transfer.to_command()?, "uuid_transfer abc 1000 XML acme");
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuidTransfer {
    /// The channel.
    pub uuid: String,
    /// The extension to go to.
    pub extension: String,
    /// The dialplan (`XML`).
    pub dialplan: Option<String>,
    /// The context.
    pub context: Option<String>,
}

impl ApiCommand for UuidTransfer {
    /// FreeSWITCH's result text.
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        out.push_str("uuid_transfer ");
        write_uuid(out, "uuid", &self.uuid)?;
        out.push(' ');
        write_extension(
            out,
            &self.extension,
            self.dialplan.as_deref(),
            self.context.as_deref(),
        )
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        Ok(result)
    }
}

/// `uuid_bridge <uuid> <other-uuid>`: bridges two channels.
///
/// ```
/// use esl::api::{ApiCommand, UuidBridge};
///
/// let bridge = UuidBridge { uuid: "a".into(), other: "b".into() };
/// assert_eq!(bridge.to_command()?, "uuid_bridge a b");
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuidBridge {
    /// The first channel.
    pub uuid: String,
    /// The channel to bridge it to.
    pub other: String,
}

impl ApiCommand for UuidBridge {
    /// FreeSWITCH's result text.
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        out.push_str("uuid_bridge ");
        write_uuid(out, "uuid", &self.uuid)?;
        out.push(' ');
        write_uuid(out, "other uuid", &self.other)
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        Ok(result)
    }
}

/// What `uuid_record` does with a recording.
///
/// ```
/// assert_eq!(esl::api::RecordAction::Mask.as_str(), "mask");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordAction {
    /// `start`: record the channel to the path.
    Start,
    /// `stop`: stop recording to the path (`all` stops every recording).
    Stop,
    /// `mask`: write silence instead of audio, e.g. while a card number is read out.
    Mask,
    /// `unmask`: record audio again.
    Unmask,
}

impl RecordAction {
    /// The word in the command.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Mask => "mask",
            Self::Unmask => "unmask",
        }
    }
}

/// `uuid_record <uuid> start|stop|mask|unmask <path>`.
///
/// ```
/// use esl::api::{ApiCommand, RecordAction, UuidRecord};
///
/// let record = UuidRecord {
///     uuid: "abc".into(),
///     action: RecordAction::Start,
///     path: "/var/spool/calls/abc.wav".into(),
/// };
/// assert_eq!(record.to_command()?, "uuid_record abc start /var/spool/calls/abc.wav");
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuidRecord {
    /// The channel.
    pub uuid: String,
    /// What to do.
    pub action: RecordAction,
    /// The recording's path (one word).
    pub path: String,
}

impl ApiCommand for UuidRecord {
    /// FreeSWITCH's result text.
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        out.push_str("uuid_record ");
        write_uuid(out, "uuid", &self.uuid)?;
        out.push(' ');
        out.push_str(self.action.as_str());
        out.push(' ');
        write_word(out, "path", &self.path)
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        Ok(result)
    }
}

/// `uuid_setvar <uuid> <name> <value>`: sets a channel variable (the value runs to the end of
/// the line; an empty value unsets the variable).
///
/// ```
/// use esl::api::{ApiCommand, UuidSetVar};
///
/// let set = UuidSetVar { uuid: "abc".into(), name: "tenant_id".into(), value: "Acme, Inc".into() };
/// assert_eq!(set.to_command()?, "uuid_setvar abc tenant_id Acme, Inc");
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuidSetVar {
    /// The channel.
    pub uuid: String,
    /// The variable's name.
    pub name: String,
    /// Its new value.
    pub value: String,
}

impl ApiCommand for UuidSetVar {
    /// FreeSWITCH's result text.
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        out.push_str("uuid_setvar ");
        write_uuid(out, "uuid", &self.uuid)?;
        out.push(' ');
        write_variable_name(out, &self.name)?;
        out.push(' ');
        write_line(out, "value", &self.value)
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        Ok(result)
    }
}

/// `uuid_getvar <uuid> <name>`: a channel variable's value; `None` when it is not set
/// (FreeSWITCH answers `_undef_`).
///
/// ```
/// use esl::api::{ApiCommand, UuidGetVar};
///
/// let get = UuidGetVar { uuid: "abc".into(), name: "billsec".into() };
/// assert_eq!(get.to_command()?, "uuid_getvar abc billsec");
/// assert_eq!(get.read_result("_undef_".into()), Ok(None));
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuidGetVar {
    /// The channel.
    pub uuid: String,
    /// The variable's name.
    pub name: String,
}

impl ApiCommand for UuidGetVar {
    /// The value, or `None` when the variable is not set.
    type Output = Option<String>;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        out.push_str("uuid_getvar ");
        write_uuid(out, "uuid", &self.uuid)?;
        out.push(' ');
        write_variable_name(out, &self.name)
    }

    fn parse_result(&self, result: String) -> Result<Option<String>, ApiFailure> {
        Ok((result != "_undef_").then_some(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_part_can_smuggle_a_second_command() {
        let kill = |uuid: &str| UuidKill {
            uuid: uuid.into(),
            cause: None,
        };
        assert!(kill("abc\nuuid_kill def").to_command().is_err());
        assert!(kill("abc def").to_command().is_err());
        assert!(kill("").to_command().is_err());
        let set = |value: &str| UuidSetVar {
            uuid: "abc".into(),
            name: "x".into(),
            value: value.into(),
        };
        assert!(set("a\r\nexit").to_command().is_err());
        assert_eq!(set("").to_command().unwrap(), "uuid_setvar abc x ");
        let record = UuidRecord {
            uuid: "abc".into(),
            action: RecordAction::Stop,
            path: "/tmp/a b.wav".into(),
        };
        assert!(record.to_command().is_err());
    }

    #[test]
    fn failures_are_read_from_the_result_of_every_command() {
        let bridge = UuidBridge {
            uuid: "a".into(),
            other: "b".into(),
        };
        assert_eq!(
            bridge.read_result("-ERR Invalid uuid a\n".into()),
            Err(ApiFailure {
                text: "-ERR Invalid uuid a".into()
            })
        );
        assert_eq!(bridge.read_result("+OK\n".into()), Ok("+OK\n".into()));
    }

    #[test]
    fn sched_hangup_sends_whole_seconds() {
        let limit = SchedHangup {
            after: Duration::from_millis(1999),
            uuid: "abc".into(),
            cause: None,
        };
        assert_eq!(limit.to_command().unwrap(), "sched_hangup +1 abc");
    }
}
