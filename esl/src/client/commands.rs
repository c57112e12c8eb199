//! Typed helpers over `api`/`bgapi`: originate and the common `uuid_*` commands. Every
//! argument is checked to be one word (or one line), so none can smuggle a second command.

use super::{Client, Error};
use crate::api::{self, Originate};
use std::time::Duration;

impl Client {
    /// Places a call with `bgapi originate`; returns the new channel's UUID.
    pub async fn originate(&self, originate: &Originate) -> Result<String, Error> {
        let result = self.bgapi(&originate.to_command()?).await?;
        match result.trim_end().strip_prefix("+OK ") {
            Some(uuid) => Ok(uuid.to_owned()),
            None => Err(Error::ApiFailed(result.trim_end().to_owned())),
        }
    }

    /// `uuid_kill <uuid> [cause]`.
    pub async fn uuid_kill(&self, uuid: &str, cause: Option<&str>) -> Result<String, Error> {
        let mut cmd = format!("uuid_kill {}", api::word("uuid", uuid)?);
        if let Some(cause) = cause {
            cmd = format!("{cmd} {}", api::word("cause", cause)?);
        }
        self.api(&cmd).await
    }

    /// `uuid_transfer <uuid> <destination> [<dialplan> [<context>]]`.
    pub async fn uuid_transfer(
        &self,
        uuid: &str,
        destination: &str,
        dialplan: Option<&str>,
        context: Option<&str>,
    ) -> Result<String, Error> {
        let mut cmd = format!(
            "uuid_transfer {} {}",
            api::word("uuid", uuid)?,
            api::word("destination", destination)?
        );
        if let Some(dialplan) = dialplan {
            cmd = format!("{cmd} {}", api::word("dialplan", dialplan)?);
            if let Some(context) = context {
                cmd = format!("{cmd} {}", api::word("context", context)?);
            }
        }
        self.api(&cmd).await
    }

    /// `uuid_bridge <uuid> <other-uuid>`.
    pub async fn uuid_bridge(&self, uuid: &str, other: &str) -> Result<String, Error> {
        let cmd = format!(
            "uuid_bridge {} {}",
            api::word("uuid", uuid)?,
            api::word("uuid", other)?
        );
        self.api(&cmd).await
    }

    /// `uuid_record <uuid> start|stop <path>`.
    pub async fn uuid_record(&self, uuid: &str, start: bool, path: &str) -> Result<String, Error> {
        let action = if start { "start" } else { "stop" };
        let cmd = format!(
            "uuid_record {} {action} {}",
            api::word("uuid", uuid)?,
            api::word("path", path)?
        );
        self.api(&cmd).await
    }

    /// `uuid_setvar <uuid> <name> <value>`.
    pub async fn uuid_setvar(&self, uuid: &str, name: &str, value: &str) -> Result<String, Error> {
        let cmd = format!(
            "uuid_setvar {} {} {}",
            api::word("uuid", uuid)?,
            api::word("variable", name)?,
            api::line("value", value)?
        );
        self.api(&cmd).await
    }

    /// `uuid_getvar <uuid> <name>`: `None` when the variable is not set (`_undef_`).
    pub async fn uuid_getvar(&self, uuid: &str, name: &str) -> Result<Option<String>, Error> {
        let cmd = format!(
            "uuid_getvar {} {}",
            api::word("uuid", uuid)?,
            api::word("variable", name)?
        );
        let value = self.api(&cmd).await?;
        Ok((value != "_undef_").then_some(value))
    }

    /// `sched_hangup +<seconds> <uuid> [cause]`: hang up after a delay (prepaid limits).
    pub async fn sched_hangup(
        &self,
        uuid: &str,
        after: Duration,
        cause: Option<&str>,
    ) -> Result<String, Error> {
        let mut cmd = format!(
            "sched_hangup +{} {}",
            after.as_secs(),
            api::word("uuid", uuid)?
        );
        if let Some(cause) = cause {
            cmd = format!("{cmd} {}", api::word("cause", cause)?);
        }
        self.api(&cmd).await
    }
}
