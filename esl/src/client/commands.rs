//! Typed API commands over `api`/`bgapi`: [`Client::run`] and [`Client::run_background`] run any
//! [`ApiCommand`]; the helpers below are thin wrappers over them for the common commands.

use super::{Client, Error};
use crate::api::{
    ApiCommand, Originate, RecordAction, SchedHangup, UuidBridge, UuidGetVar, UuidKill, UuidRecord,
    UuidSetVar, UuidTransfer,
};
use crate::proto::HangupCause;
use std::time::Duration;

impl Client {
    /// Runs a typed API command with `api` (the connection waits for it) and reads its result.
    ///
    /// ```no_run
    /// use esl::api::UuidKill;
    /// use esl::proto::HangupCause;
    ///
    /// # async fn run(client: esl::client::Client) -> Result<(), esl::client::Error> {
    /// client
    ///     .run(&UuidKill { uuid: "0a9c5e84".into(), cause: Some(HangupCause::NormalClearing) })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn run<C: ApiCommand + ?Sized>(&self, command: &C) -> Result<C::Output, Error> {
        let line = command.to_command()?;
        let result = self.api_result(&line).await?;
        Ok(command.read_result(result)?)
    }

    /// Runs a typed API command with `bgapi` (the connection stays free; the result comes in a
    /// `BACKGROUND_JOB` event) and reads its result.
    ///
    /// ```no_run
    /// use esl::api::{Destination, Endpoint, Originate};
    ///
    /// # async fn run(client: esl::client::Client) -> Result<(), esl::client::Error> {
    /// let call = Originate::new(
    ///     Endpoint::User { user: "1000".into(), domain: None },
    ///     Destination::Application { app: "park".into(), arg: None },
    /// );
    /// let uuid: String = client.run_background(&call).await?;
    /// # Ok(()) }
    /// ```
    pub async fn run_background<C: ApiCommand + ?Sized>(
        &self,
        command: &C,
    ) -> Result<C::Output, Error> {
        let line = command.to_command()?;
        let result = self.bgapi_result(&line).await?;
        Ok(command.read_result(result)?)
    }

    /// Places a call with `bgapi originate`; returns the new channel's UUID.
    pub async fn originate(&self, originate: &Originate) -> Result<String, Error> {
        self.run_background(originate).await
    }

    /// `uuid_kill <uuid> [cause]` ([`UuidKill`]).
    pub async fn uuid_kill(&self, uuid: &str, cause: Option<&str>) -> Result<String, Error> {
        self.run(&UuidKill {
            uuid: uuid.to_owned(),
            cause: cause.map(HangupCause::from),
        })
        .await
    }

    /// `uuid_transfer <uuid> <destination> [<dialplan> [<context>]]` ([`UuidTransfer`]).
    pub async fn uuid_transfer(
        &self,
        uuid: &str,
        destination: &str,
        dialplan: Option<&str>,
        context: Option<&str>,
    ) -> Result<String, Error> {
        self.run(&UuidTransfer {
            uuid: uuid.to_owned(),
            extension: destination.to_owned(),
            dialplan: dialplan.map(str::to_owned),
            context: context.map(str::to_owned),
        })
        .await
    }

    /// `uuid_bridge <uuid> <other-uuid>` ([`UuidBridge`]).
    pub async fn uuid_bridge(&self, uuid: &str, other: &str) -> Result<String, Error> {
        self.run(&UuidBridge {
            uuid: uuid.to_owned(),
            other: other.to_owned(),
        })
        .await
    }

    /// `uuid_record <uuid> start|stop <path>` ([`UuidRecord`]).
    pub async fn uuid_record(&self, uuid: &str, start: bool, path: &str) -> Result<String, Error> {
        self.run(&UuidRecord {
            uuid: uuid.to_owned(),
            action: if start {
                RecordAction::Start
            } else {
                RecordAction::Stop
            },
            path: path.to_owned(),
        })
        .await
    }

    /// `uuid_setvar <uuid> <name> <value>` ([`UuidSetVar`]).
    pub async fn uuid_setvar(&self, uuid: &str, name: &str, value: &str) -> Result<String, Error> {
        self.run(&UuidSetVar {
            uuid: uuid.to_owned(),
            name: name.to_owned(),
            value: value.to_owned(),
        })
        .await
    }

    /// `uuid_getvar <uuid> <name>`: `None` when the variable is not set ([`UuidGetVar`]).
    pub async fn uuid_getvar(&self, uuid: &str, name: &str) -> Result<Option<String>, Error> {
        self.run(&UuidGetVar {
            uuid: uuid.to_owned(),
            name: name.to_owned(),
        })
        .await
    }

    /// `sched_hangup +<seconds> <uuid> [cause]`: hang up after a delay (prepaid limits)
    /// ([`SchedHangup`]).
    pub async fn sched_hangup(
        &self,
        uuid: &str,
        after: Duration,
        cause: Option<&str>,
    ) -> Result<String, Error> {
        self.run(&SchedHangup {
            after,
            uuid: uuid.to_owned(),
            cause: cause.map(HangupCause::from),
        })
        .await
    }
}
