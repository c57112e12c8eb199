//! Live call state of one FreeSWITCH node, without I/O: channel events in, call events out.
//!
//! [`LiveCalls::apply`] follows `CHANNEL_CREATE`, `CHANNEL_ANSWER`, `CHANNEL_HANGUP_COMPLETE`
//! and `CHANNEL_DESTROY`; [`LiveCalls::resync`] reconciles the state with a fresh
//! `show channels as json` after events were lost (a reconnect), emitting only the
//! differences, so a subscriber never sees the same transition twice.
//!
//! ```
//! use bytes::Bytes;
//! use esl::proto::{Event, EventFormat};
//! use platform::calls::{CallEvent, LiveCalls};
//! use platform::variables::ChannelVariables;
//!
//! let create = Event::parse(Bytes::from_static(
//!     b"Event-Name: CHANNEL_CREATE\nUnique-ID: u-1\nCall-Direction: inbound\n\
//!       Caller-Caller-ID-Number: 1000\nCaller-Destination-Number: 2000\n\n"), EventFormat::Plain, 64)?;
//! let mut calls = LiveCalls::new("fs1", ChannelVariables::default());
//! let mut out = Vec::new();
//! calls.apply(&create, |_| "demo".to_owned(), &mut out);
//! assert!(matches!(&out[0], CallEvent::CallStarted { call } if call.callee == "2000"));
//! calls.apply(&create, |_| "demo".to_owned(), &mut out);
//! assert_eq!(out.len(), 1, "a second CHANNEL_CREATE for the same channel changes nothing");
//! # Ok::<(), esl::proto::EventError>(())
//! ```

use crate::variables::ChannelVariables;
use esl::proto::{Event, HangupCause};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The events the live state needs from FreeSWITCH.
pub const CHANNEL_EVENTS: [&str; 4] = [
    "CHANNEL_CREATE",
    "CHANNEL_ANSWER",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_DESTROY",
];

/// One channel in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The channel's UUID.
    pub uuid: String,
    /// The node (as named in the configuration).
    pub node: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// `inbound` or `outbound`, from FreeSWITCH's point of view.
    pub direction: String,
    /// Caller ID number.
    pub caller: String,
    /// The number dialled.
    pub callee: String,
    /// Creation, Unix microseconds (0 when unknown).
    pub created_us: i64,
    /// Answer, Unix microseconds; `None` while ringing.
    pub answered_us: Option<i64>,
}

/// What subscribers are told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallEvent {
    /// A channel appeared.
    CallStarted {
        /// The call.
        call: Call,
    },
    /// It was answered.
    CallAnswered {
        /// The call.
        call: Call,
    },
    /// It ended.
    CallEnded {
        /// The call as it was.
        call: Call,
        /// FreeSWITCH's hangup cause; `None` (`"UNKNOWN"` in JSON) when the end was learnt
        /// from a re-sync.
        #[serde(with = "cause_text")]
        cause: Option<HangupCause>,
    },
    /// A call the platform placed (click-to-call) failed before it connected: FreeSWITCH's
    /// answer to the originate (`USER_NOT_REGISTERED`, `NO_ANSWER`, `CALL_REJECTED`...).
    CallFailed {
        /// The tenant.
        tenant: String,
        /// The call's UUID (the one click-to-call answered with).
        uuid: String,
        /// FreeSWITCH's cause, or `NODE_UNAVAILABLE` when the node could not be asked.
        cause: String,
    },
    /// Its recording is stored.
    RecordingReady {
        /// The tenant.
        tenant: String,
        /// The call's UUID.
        call_uuid: String,
        /// The object key in the store.
        key: String,
        /// Size of the MP3, bytes.
        size: u64,
        /// Duration, milliseconds.
        duration_ms: u64,
    },
    /// The tenant's money changed (a top-up, a charge, a hold taken, extended, settled or
    /// expired): the account as it is now, amounts as decimal text.
    BalanceChanged {
        /// The tenant.
        tenant: String,
        /// What the account holds.
        balance: String,
        /// How far below zero it may go.
        credit_limit: String,
        /// What calls in progress hold.
        held: String,
        /// `balance - held`.
        live_balance: String,
        /// `balance + credit_limit - held`: what new calls may still spend.
        available: String,
    },
    /// A queue of the tenant changed (a member joined, was offered, answered or left): the
    /// queue as it is now ([`crate::contact_center`]).
    QueueChanged {
        /// The tenant.
        tenant: String,
        /// The queue.
        queue: crate::contact_center::Queue,
    },
    /// An agent of the tenant changed (status, state, call): the agent as it is now.
    AgentChanged {
        /// The tenant.
        tenant: String,
        /// The agent.
        agent: crate::contact_center::Agent,
    },
    /// A queue's statistics for the day changed (a caller joined, was answered or
    /// abandoned), as stored ([`crate::statistics`]).
    QueueStatistics {
        /// The tenant.
        tenant: String,
        /// The tenant's day, `YYYY-MM-DD`.
        day: String,
        /// The queue's day.
        statistics: crate::statistics::QueueDay,
    },
}

/// Orders calls oldest first (by creation, then UUID): how every list of live calls is shown.
///
/// ```
/// # use platform::calls::{Call, sort_oldest_first};
/// let call = |uuid: &str, created_us| Call { uuid: uuid.into(), node: "fs1".into(), tenant: "t".into(),
///     direction: "inbound".into(), caller: "1".into(), callee: "2".into(), created_us, answered_us: None };
/// let mut calls = vec![call("b", 2), call("c", 1), call("a", 2)];
/// sort_oldest_first(&mut calls);
/// assert_eq!(calls.iter().map(|c| c.uuid.as_str()).collect::<Vec<_>>(), ["c", "a", "b"]);
/// ```
pub fn sort_oldest_first(calls: &mut [Call]) {
    calls.sort_by(|a, b| (a.created_us, &a.uuid).cmp(&(b.created_us, &b.uuid)));
}

impl CallEvent {
    /// The tenant the event belongs to (only that tenant's subscribers see it).
    pub fn tenant(&self) -> &str {
        match self {
            CallEvent::CallStarted { call }
            | CallEvent::CallAnswered { call }
            | CallEvent::CallEnded { call, .. } => &call.tenant,
            CallEvent::RecordingReady { tenant, .. }
            | CallEvent::CallFailed { tenant, .. }
            | CallEvent::BalanceChanged { tenant, .. }
            | CallEvent::QueueChanged { tenant, .. }
            | CallEvent::AgentChanged { tenant, .. }
            | CallEvent::QueueStatistics { tenant, .. } => tenant,
        }
    }
}

/// A hangup cause as its subscribers read it: FreeSWITCH's text, `UNKNOWN` when not known.
mod cause_text {
    use esl::proto::HangupCause;
    use serde::{Deserialize, Deserializer, Serializer};

    /// The text of an unknown cause.
    const UNKNOWN: &str = "UNKNOWN";

    pub(super) fn serialize<S: Serializer>(
        cause: &Option<HangupCause>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(cause.as_ref().map_or(UNKNOWN, HangupCause::as_str))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<HangupCause>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok((text != UNKNOWN).then(|| HangupCause::from(text.as_ref())))
    }
}

/// What names a channel's tenant, for the caller's resolver: the first one that matches wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantHints<'a> {
    /// The tenant channel variable ([`ChannelVariables::tenant`]), set by our directory and
    /// dialplan.
    pub variable: Option<&'a str>,
    /// The SIP domain (`domain_name`, or the domain of `presence_id`).
    pub domain: Option<&'a str>,
    /// The dialplan context.
    pub context: Option<&'a str>,
}

/// The tenant hints a channel event carries, owned: the tenant variable, the domain
/// (`domain_name`, else that of `presence_id`) and `Caller-Context`, empty values left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelHints {
    variable: Option<String>,
    domain: Option<String>,
    context: Option<String>,
}

impl ChannelHints {
    /// Reads them from an event; `variables` names the tenant variable.
    pub fn of(event: &Event, variables: &ChannelVariables) -> Self {
        let non_empty = |v: Option<std::borrow::Cow<'_, str>>| {
            v.filter(|v| !v.is_empty()).map(|v| v.into_owned())
        };
        let presence_domain = || {
            non_empty(event.variable("presence_id"))
                .and_then(|p| p.split_once('@').map(|(_, d)| d.to_owned()))
        };
        ChannelHints {
            variable: non_empty(event.variable(variables.tenant())),
            domain: non_empty(event.variable("domain_name")).or_else(presence_domain),
            context: non_empty(event.header("Caller-Context")),
        }
    }

    /// As [`TenantHints`].
    pub fn hints(&self) -> TenantHints<'_> {
        TenantHints {
            variable: self.variable.as_deref(),
            domain: self.domain.as_deref(),
            context: self.context.as_deref(),
        }
    }
}

/// One row of `show channels as json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelRow {
    /// The channel's UUID.
    pub uuid: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Creation, Unix seconds, as text.
    pub created_epoch: String,
    /// Caller ID number.
    pub cid_num: String,
    /// Destination.
    pub dest: String,
    /// `RINGING`, `EARLY`, `ACTIVE`, `HELD`, ...
    pub callstate: String,
    /// `user@domain` of a registered user's channel.
    pub presence_id: String,
    /// The dialplan context.
    pub context: String,
}

#[derive(Deserialize)]
struct ChannelRows {
    #[serde(default)]
    rows: Vec<ChannelRow>,
}

/// Why a `show channels as json` reply was not understood.
#[derive(Debug, thiserror::Error)]
#[error("show channels as json: {0}")]
pub struct ChannelListError(String);

/// Parses the body of `show channels as json` (`{"row_count":0}` when idle).
///
/// ```
/// let rows = platform::calls::parse_channels(r#"{"row_count":1,"rows":[{"uuid":"u","callstate":"ACTIVE"}]}"#)?;
/// assert_eq!(rows[0].uuid, "u");
/// # Ok::<(), platform::calls::ChannelListError>(())
/// ```
pub fn parse_channels(body: &str) -> Result<Vec<ChannelRow>, ChannelListError> {
    serde_json::from_str::<ChannelRows>(body.trim())
        .map(|list| list.rows)
        .map_err(|e| ChannelListError(e.to_string()))
}

/// The calls in progress on one node.
#[derive(Debug, Clone)]
pub struct LiveCalls {
    node: String,
    variables: ChannelVariables,
    calls: HashMap<String, Call>,
}

impl LiveCalls {
    /// No calls yet, on the node named `node`; `variables` names the tenant variable.
    pub fn new(node: impl Into<String>, variables: ChannelVariables) -> Self {
        LiveCalls {
            node: node.into(),
            variables,
            calls: HashMap::new(),
        }
    }

    /// The calls in progress.
    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.calls.values()
    }

    /// One call.
    pub fn get(&self, uuid: &str) -> Option<&Call> {
        self.calls.get(uuid)
    }

    /// How many calls are in progress.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call is in progress.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Replaces the calls with `calls` (those of this node), as another worker published them:
    /// the next [`LiveCalls::resync`] publishes only what changed since.
    pub fn restore(&mut self, calls: Vec<Call>) {
        self.calls = calls
            .into_iter()
            .filter(|call| call.node == self.node)
            .map(|call| (call.uuid.clone(), call))
            .collect();
    }

    /// Applies one event; what changed is pushed onto `out`. Events other than the channel
    /// events the state follows, and events without a `Unique-ID`, change nothing.
    pub fn apply(
        &mut self,
        event: &Event,
        tenant_of: impl FnOnce(TenantHints<'_>) -> String,
        out: &mut Vec<CallEvent>,
    ) {
        let Some(name) = event.header_raw("Event-Name") else {
            return;
        };
        let Some(uuid) = event.unique_id() else {
            return;
        };
        match name {
            b"CHANNEL_CREATE" | b"CHANNEL_ANSWER" => {
                let answered = name == b"CHANNEL_ANSWER";
                match self.calls.get_mut(uuid.as_ref()) {
                    Some(call) => {
                        if answered && call.answered_us.is_none() {
                            call.answered_us = Some(answer_time(event));
                            out.push(CallEvent::CallAnswered { call: call.clone() });
                        }
                    }
                    None => {
                        let mut call = self.call_from_event(event, &uuid, tenant_of);
                        out.push(CallEvent::CallStarted { call: call.clone() });
                        if answered {
                            call.answered_us = Some(answer_time(event));
                            out.push(CallEvent::CallAnswered { call: call.clone() });
                        }
                        self.calls.insert(call.uuid.clone(), call);
                    }
                }
            }
            b"CHANNEL_HANGUP_COMPLETE" | b"CHANNEL_DESTROY" => {
                if let Some(call) = self.calls.remove(uuid.as_ref()) {
                    let cause = event.hangup_cause_typed();
                    out.push(CallEvent::CallEnded { call, cause });
                }
            }
            _ => {}
        }
    }

    /// Reconciles with the node's channel list after events may have been lost: channels not
    /// known yet start (and are answered if active), known ones that were answered meanwhile
    /// are answered, and known ones the node no longer has end with cause `UNKNOWN`.
    pub fn resync(
        &mut self,
        rows: &[ChannelRow],
        mut tenant_of: impl FnMut(TenantHints<'_>) -> String,
        out: &mut Vec<CallEvent>,
    ) {
        let present: std::collections::HashSet<&str> =
            rows.iter().map(|row| row.uuid.as_str()).collect();
        let mut gone: Vec<String> = self
            .calls
            .keys()
            .filter(|uuid| !present.contains(uuid.as_str()))
            .cloned()
            .collect();
        gone.sort();
        for uuid in gone {
            if let Some(call) = self.calls.remove(&uuid) {
                out.push(CallEvent::CallEnded { call, cause: None });
            }
        }
        for row in rows.iter().filter(|row| !row.uuid.is_empty()) {
            let answered = matches!(row.callstate.as_str(), "ACTIVE" | "HELD" | "UNHELD");
            match self.calls.get_mut(&row.uuid) {
                Some(call) => {
                    if answered && call.answered_us.is_none() {
                        // The list has no answer time: the moment we learnt of it.
                        call.answered_us = Some(0);
                        out.push(CallEvent::CallAnswered { call: call.clone() });
                    }
                }
                None => {
                    let domain = row.presence_id.split_once('@').map(|(_, d)| d);
                    let tenant = tenant_of(TenantHints {
                        variable: None,
                        domain,
                        context: Some(row.context.as_str()).filter(|c| !c.is_empty()),
                    });
                    let mut call = Call {
                        uuid: row.uuid.clone(),
                        node: self.node.clone(),
                        tenant,
                        direction: row.direction.clone(),
                        caller: row.cid_num.clone(),
                        callee: row.dest.clone(),
                        created_us: row.created_epoch.parse::<i64>().unwrap_or(0) * 1_000_000,
                        answered_us: None,
                    };
                    out.push(CallEvent::CallStarted { call: call.clone() });
                    if answered {
                        call.answered_us = Some(0);
                        out.push(CallEvent::CallAnswered { call: call.clone() });
                    }
                    self.calls.insert(call.uuid.clone(), call);
                }
            }
        }
    }

    fn call_from_event(
        &self,
        event: &Event,
        uuid: &str,
        tenant_of: impl FnOnce(TenantHints<'_>) -> String,
    ) -> Call {
        let tenant = tenant_of(ChannelHints::of(event, &self.variables).hints());
        let text = |name: &str| {
            event
                .header(name)
                .map(|v| v.into_owned())
                .unwrap_or_default()
        };
        Call {
            uuid: uuid.to_owned(),
            node: self.node.clone(),
            tenant,
            direction: text("Call-Direction"),
            caller: text("Caller-Caller-ID-Number"),
            callee: text("Caller-Destination-Number"),
            created_us: event
                .header("Caller-Channel-Created-Time")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            answered_us: None,
        }
    }
}

fn answer_time(event: &Event) -> i64 {
    event
        .header("Caller-Channel-Answered-Time")
        .and_then(|t| t.parse().ok())
        .filter(|&t: &i64| t > 0)
        .or_else(|| event.timestamp_micros().map(|t| t as i64))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use esl::proto::EventFormat;

    fn event(text: &'static str) -> Event {
        Event::parse(Bytes::from_static(text.as_bytes()), EventFormat::Plain, 64).unwrap()
    }

    fn demo(_: TenantHints<'_>) -> String {
        "demo".into()
    }

    #[test]
    fn follows_a_call_and_forgets_it() {
        let mut calls = LiveCalls::new("fs1", ChannelVariables::default());
        let mut out = Vec::new();
        calls.apply(
            &event("Event-Name: CHANNEL_CREATE\nUnique-ID: a\nvariable_tenant_id: t1\n\n"),
            |hints| hints.variable.unwrap().to_owned(),
            &mut out,
        );
        calls.apply(
            &event("Event-Name: CHANNEL_ANSWER\nUnique-ID: a\nCaller-Channel-Answered-Time: 5\n\n"),
            demo,
            &mut out,
        );
        calls.apply(
            &event("Event-Name: CHANNEL_ANSWER\nUnique-ID: a\n\n"),
            demo,
            &mut out,
        );
        calls.apply(
            &event("Event-Name: CHANNEL_HANGUP_COMPLETE\nUnique-ID: a\nHangup-Cause: NORMAL_CLEARING\n\n"),
            demo,
            &mut out,
        );
        calls.apply(
            &event("Event-Name: CHANNEL_DESTROY\nUnique-ID: a\n\n"),
            demo,
            &mut out,
        );
        let kinds: Vec<_> = out
            .iter()
            .map(|e| serde_json::to_value(e).unwrap()["type"].clone())
            .collect();
        assert_eq!(kinds, ["call_started", "call_answered", "call_ended"]);
        assert_eq!(out[0].tenant(), "t1");
        assert!(
            matches!(&out[2], CallEvent::CallEnded { call, cause: Some(HangupCause::NormalClearing) } if call.answered_us == Some(5))
        );
        assert!(calls.is_empty());
    }

    #[test]
    fn resync_emits_only_the_differences() {
        let mut calls = LiveCalls::new("fs1", ChannelVariables::default());
        let mut out = Vec::new();
        for uuid in ["a", "b"] {
            let text = format!("Event-Name: CHANNEL_CREATE\nUnique-ID: {uuid}\n\n");
            let e = Event::parse(Bytes::from(text), EventFormat::Plain, 64).unwrap();
            calls.apply(&e, demo, &mut out);
        }
        out.clear();
        // While disconnected: a was answered, b ended, c started.
        let rows = parse_channels(
            r#"{"row_count":2,"rows":[{"uuid":"a","callstate":"ACTIVE"},
                {"uuid":"c","callstate":"RINGING","presence_id":"1000@x.example","created_epoch":"7"}]}"#,
        )
        .unwrap();
        calls.resync(
            &rows,
            |hints| hints.domain.unwrap_or("none").into(),
            &mut out,
        );
        let summary: Vec<(String, String)> = out
            .iter()
            .map(|e| {
                let v = serde_json::to_value(e).unwrap();
                (
                    v["type"].as_str().unwrap().to_owned(),
                    v["call"]["uuid"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("call_ended".into(), "b".into()),
                ("call_answered".into(), "a".into()),
                ("call_started".into(), "c".into()),
            ]
        );
        assert_eq!(calls.get("c").unwrap().tenant, "x.example");
        assert_eq!(calls.get("c").unwrap().created_us, 7_000_000);
        out.clear();
        calls.resync(&rows, demo, &mut out);
        assert!(out.is_empty(), "the same list twice changes nothing");
    }

    #[test]
    fn hangup_causes_read_as_freeswitch_text_and_unknown() {
        let call = Call {
            uuid: "u".into(),
            node: "fs1".into(),
            tenant: "t".into(),
            direction: "inbound".into(),
            caller: "1000".into(),
            callee: "2000".into(),
            created_us: 0,
            answered_us: None,
        };
        for (cause, text) in [
            (Some(HangupCause::OriginatorCancel), "ORIGINATOR_CANCEL"),
            (Some(HangupCause::Other("NEW_CAUSE".into())), "NEW_CAUSE"),
            (None, "UNKNOWN"),
        ] {
            let ended = CallEvent::CallEnded {
                call: call.clone(),
                cause,
            };
            let json = serde_json::to_value(&ended).unwrap();
            assert_eq!(json["cause"], text);
            assert_eq!(serde_json::from_value::<CallEvent>(json).unwrap(), ended);
        }
    }

    #[test]
    fn idle_and_broken_lists() {
        assert!(parse_channels("{\"row_count\": 0}\n").unwrap().is_empty());
        assert!(parse_channels("-ERR no").is_err());
    }
}
