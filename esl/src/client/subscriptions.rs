//! What this connection is subscribed to, kept without I/O: the user's own subscriptions and
//! filters, what the client adds for itself (it needs `BACKGROUND_JOB` to resolve `bgapi` and
//! `CHANNEL_EXECUTE_COMPLETE` to resolve executions), and what to re-apply after a reconnect.

use crate::proto::{Command, EncodeError, EventFormat, LogLevel};
use bytes::BytesMut;
use std::collections::BTreeSet;

/// A subscription-changing command, owned so it can be re-applied later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Setup {
    Event {
        format: EventFormat,
        names: Vec<String>,
    },
    NixEvent(Vec<String>),
    NoEvents,
    Filter {
        header: String,
        value: String,
    },
    FilterDelete {
        header: String,
        value: Option<String>,
    },
    FilterDeleteAll,
    MyEvents {
        format: Option<EventFormat>,
        uuid: Option<String>,
    },
    DivertEvents(bool),
    Log(LogLevel),
    NoLog,
}

impl Setup {
    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let names: Vec<&str>;
        let command = match self {
            Self::Event { format, names: n } => {
                names = n.iter().map(String::as_str).collect();
                Command::Event {
                    format: *format,
                    events: &names,
                }
            }
            Self::NixEvent(n) => {
                names = n.iter().map(String::as_str).collect();
                Command::NixEvent { events: &names }
            }
            Self::NoEvents => Command::NoEvents,
            Self::Filter { header, value } => Command::Filter { header, value },
            Self::FilterDelete { header, value } => Command::FilterDelete {
                header,
                value: value.as_deref(),
            },
            Self::FilterDeleteAll => Command::FilterDeleteAll,
            Self::MyEvents { format, uuid } => Command::MyEvents {
                format: *format,
                uuid: uuid.as_deref(),
            },
            Self::DivertEvents(on) => Command::DivertEvents(*on),
            Self::Log(level) => Command::Log(*level),
            Self::NoLog => Command::NoLog,
        };
        command.encode(dst)
    }
}

/// Events the client subscribes to for its own use.
pub(crate) const BACKGROUND_JOB: &str = "BACKGROUND_JOB";
pub(crate) const CHANNEL_EXECUTE_COMPLETE: &str = "CHANNEL_EXECUTE_COMPLETE";

#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    format: Option<EventFormat>,
    user_all: bool,
    user_names: BTreeSet<String>,
    /// The names among `user_names` that followed `CUSTOM` in their command: FreeSWITCH reads
    /// every word after `CUSTOM` as a subclass, so they must come last when replayed.
    subclasses: BTreeSet<String>,
    internal_names: BTreeSet<&'static str>,
    /// Filters in the order they were added, the user's and the client's.
    filters: Vec<(String, String)>,
    internal_filters: BTreeSet<(String, String)>,
    myevents: Option<(Option<EventFormat>, Option<String>)>,
    divert: Option<bool>,
    log: Option<LogLevel>,
}

impl Subscriptions {
    /// Whether an event of this name goes to the user's stream: everything, except events that
    /// arrive only because the client subscribed to them for itself.
    pub(crate) fn user_wants(&self, name: &str) -> bool {
        self.user_all
            || self.myevents.is_some()
            || self.user_names.contains(name)
            || !self.internal_names.contains(name)
    }

    fn receives(&self, name: &str) -> bool {
        self.user_all
            || self.user_names.contains(name)
            || self.internal_names.contains(name)
            || self.myevents.is_some()
    }

    fn filters_admit(&self, name: &str, channel: Option<&str>) -> bool {
        self.filters.is_empty()
            || self.filters.iter().any(|(header, value)| {
                (header.eq_ignore_ascii_case("Event-Name") && value == name)
                    || (header.eq_ignore_ascii_case("Unique-ID") && Some(value.as_str()) == channel)
            })
    }

    /// What must be sent first so that events named `name` (about `channel`, if known) reach
    /// this connection, recorded as done already: the events may arrive before the reply to
    /// the setup is read, and must then be recognised as the client's own. A setup FreeSWITCH
    /// refuses is taken back with [`Subscriptions::revert_internal`].
    pub(crate) fn ensure(&mut self, name: &'static str, channel: Option<&str>) -> Vec<Setup> {
        let setups = self.needed(name, channel);
        for setup in &setups {
            self.applied_internal(setup);
        }
        setups
    }

    /// Takes back a setup recorded by [`Subscriptions::ensure`] that failed.
    pub(crate) fn revert_internal(&mut self, setup: &Setup) {
        match setup {
            Setup::Event { names, .. } => {
                self.internal_names
                    .retain(|internal| !names.iter().any(|n| n == internal));
            }
            Setup::Filter { header, value } => {
                let filter = (header.clone(), value.clone());
                if self.internal_filters.remove(&filter) {
                    if let Some(at) = self.filters.iter().position(|f| *f == filter) {
                        self.filters.remove(at);
                    }
                }
            }
            _ => {}
        }
    }

    fn needed(&self, name: &'static str, channel: Option<&str>) -> Vec<Setup> {
        let mut setups = Vec::new();
        if !self.receives(name) {
            setups.push(Setup::Event {
                format: self.format.unwrap_or(EventFormat::Plain),
                names: vec![name.to_owned()],
            });
        }
        if !self.filters_admit(name, channel) {
            setups.push(Setup::Filter {
                header: "Event-Name".into(),
                value: name.into(),
            });
        }
        setups
    }

    /// Records a setup the client made for itself.
    pub(crate) fn applied_internal(&mut self, setup: &Setup) {
        match setup {
            Setup::Event { format, names } => {
                self.format = Some(*format);
                for name in names {
                    if let Some(internal) = internal_name(name) {
                        self.internal_names.insert(internal);
                    }
                }
            }
            Setup::Filter { header, value } => {
                self.filters.push((header.clone(), value.clone()));
                self.internal_filters
                    .insert((header.clone(), value.clone()));
            }
            other => self.applied(other),
        }
    }

    /// Records a setup the user made, once FreeSWITCH accepted it.
    pub(crate) fn applied(&mut self, setup: &Setup) {
        match setup {
            Setup::Event { format, names } => {
                self.format = Some(*format);
                let mut custom = false;
                for name in names {
                    if custom {
                        self.subclasses.insert(name.clone());
                        self.user_names.insert(name.clone());
                    } else if name.eq_ignore_ascii_case("ALL") {
                        self.user_all = true;
                    } else {
                        custom = name.eq_ignore_ascii_case("CUSTOM");
                        self.user_names.insert(name.clone());
                    }
                }
            }
            Setup::NixEvent(names) => {
                // As FreeSWITCH reads it: CUSTOM only turns the words after it into
                // subclasses to drop; CUSTOM itself stays subscribed.
                let mut custom = false;
                for name in names {
                    if custom {
                        self.subclasses.remove(name);
                        self.user_names.remove(name);
                        continue;
                    }
                    if name.eq_ignore_ascii_case("CUSTOM") {
                        custom = true;
                        continue;
                    }
                    if name.eq_ignore_ascii_case("ALL") {
                        self.user_all = false;
                        self.user_names.clear();
                        self.subclasses.clear();
                        self.internal_names.clear();
                    }
                    self.user_names.remove(name);
                    self.subclasses.remove(name);
                    self.internal_names.retain(|n| n != name);
                }
            }
            Setup::NoEvents => {
                self.user_all = false;
                self.user_names.clear();
                self.subclasses.clear();
                self.internal_names.clear();
                self.myevents = None;
            }
            Setup::Filter { header, value } => {
                self.filters.push((header.clone(), value.clone()));
            }
            Setup::FilterDelete { header, value } => {
                self.filters.retain(|(h, v)| {
                    !(h.eq_ignore_ascii_case(header)
                        && value.as_ref().is_none_or(|value| v == value))
                });
                self.internal_filters
                    .retain(|(h, v)| self.filters.iter().any(|(fh, fv)| fh == h && fv == v));
            }
            Setup::FilterDeleteAll => {
                self.filters.clear();
                self.internal_filters.clear();
            }
            Setup::MyEvents { format, uuid } => {
                if let Some(format) = format {
                    self.format = Some(*format);
                }
                self.myevents = Some((*format, uuid.clone()));
            }
            Setup::DivertEvents(on) => self.divert = Some(*on),
            Setup::Log(level) => self.log = Some(*level),
            Setup::NoLog => self.log = None,
        }
    }

    /// The setups that rebuild this state on a fresh connection, in a working order.
    pub(crate) fn replay(&self) -> Vec<Setup> {
        let mut setups = Vec::new();
        let format = self.format.unwrap_or(EventFormat::Plain);
        let mut names: Vec<String> = Vec::new();
        if self.user_all {
            names.push("ALL".into());
        } else {
            // Event names first, then CUSTOM and its subclasses: FreeSWITCH reads every word
            // after CUSTOM as a subclass, an event name there included.
            let custom = |n: &str| n.eq_ignore_ascii_case("CUSTOM");
            names.extend(
                self.user_names
                    .iter()
                    .filter(|n| !custom(n) && !self.subclasses.contains(*n))
                    .cloned(),
            );
            names.extend(
                self.internal_names
                    .iter()
                    .filter(|n| !self.user_names.contains(**n))
                    .map(|n| (*n).to_owned()),
            );
            names.extend(self.user_names.iter().filter(|n| custom(n)).cloned());
            names.extend(self.subclasses.iter().cloned());
        }
        if !names.is_empty() {
            setups.push(Setup::Event { format, names });
        }
        for (header, value) in &self.filters {
            setups.push(Setup::Filter {
                header: header.clone(),
                value: value.clone(),
            });
        }
        if let Some((format, uuid)) = &self.myevents {
            setups.push(Setup::MyEvents {
                format: *format,
                uuid: uuid.clone(),
            });
        }
        if let Some(on) = self.divert {
            setups.push(Setup::DivertEvents(on));
        }
        if let Some(level) = self.log {
            setups.push(Setup::Log(level));
        }
        setups
    }
}

fn internal_name(name: &str) -> Option<&'static str> {
    [BACKGROUND_JOB, CHANNEL_EXECUTE_COMPLETE]
        .into_iter()
        .find(|n| *n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(format: EventFormat, names: &[&str]) -> Setup {
        Setup::Event {
            format,
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    /// FreeSWITCH reads every word after CUSTOM as a subclass: a replay that put an event name
    /// there (sorted, RECORD_STOP after CUSTOM) would lose those events after a reconnect.
    #[test]
    fn a_replay_puts_custom_and_its_subclasses_last() {
        let mut subs = Subscriptions::default();
        subs.applied(&event(
            EventFormat::Plain,
            &[
                "CHANNEL_CREATE",
                "RECORD_STOP",
                "CUSTOM",
                "callcenter::info",
                "sofia::register",
            ],
        ));
        subs.ensure(BACKGROUND_JOB, None);
        let replayed = subs.replay();
        assert_eq!(
            replayed[0],
            event(
                EventFormat::Plain,
                &[
                    "CHANNEL_CREATE",
                    "RECORD_STOP",
                    "BACKGROUND_JOB",
                    "CUSTOM",
                    "callcenter::info",
                    "sofia::register",
                ]
            )
        );
    }

    #[test]
    fn bgapi_needs_nothing_when_the_user_takes_all_events() {
        let mut subs = Subscriptions::default();
        subs.applied(&event(EventFormat::Json, &["ALL"]));
        assert!(subs.ensure(BACKGROUND_JOB, None).is_empty());
        assert!(subs.user_wants(BACKGROUND_JOB));
    }

    #[test]
    fn bgapi_subscribes_in_the_users_format_and_hides_the_result_events() {
        let mut subs = Subscriptions::default();
        subs.applied(&event(EventFormat::Xml, &["CHANNEL_ANSWER"]));
        let needed = subs.ensure(BACKGROUND_JOB, None);
        assert_eq!(needed, [event(EventFormat::Xml, &["BACKGROUND_JOB"])]);
        // Recorded at once: a second job needs nothing more.
        assert!(subs.ensure(BACKGROUND_JOB, None).is_empty());
        assert!(!subs.user_wants(BACKGROUND_JOB));
        assert!(subs.user_wants("CHANNEL_ANSWER"));
    }

    #[test]
    fn filters_that_would_hide_job_results_get_one_more_filter() {
        let mut subs = Subscriptions::default();
        subs.applied(&event(EventFormat::Plain, &["ALL"]));
        subs.applied(&Setup::Filter {
            header: "Unique-ID".into(),
            value: "abc".into(),
        });
        assert!(
            subs.ensure(CHANNEL_EXECUTE_COMPLETE, Some("abc"))
                .is_empty()
        );
        let needed = subs.ensure(BACKGROUND_JOB, None);
        assert_eq!(
            needed,
            [Setup::Filter {
                header: "Event-Name".into(),
                value: "BACKGROUND_JOB".into()
            }]
        );
        // A channel filter already admits that channel's execution events.
        assert!(
            subs.ensure(CHANNEL_EXECUTE_COMPLETE, Some("abc"))
                .is_empty()
        );
    }

    #[test]
    fn a_refused_setup_is_taken_back() {
        let mut subs = Subscriptions::default();
        subs.applied(&Setup::Filter {
            header: "Unique-ID".into(),
            value: "abc".into(),
        });
        let needed = subs.ensure(BACKGROUND_JOB, None);
        assert_eq!(needed.len(), 2);
        for setup in &needed {
            subs.revert_internal(setup);
        }
        assert_eq!(subs.ensure(BACKGROUND_JOB, None), needed);
    }

    #[test]
    fn noevents_forgets_internal_subscriptions_too() {
        let mut subs = Subscriptions::default();
        subs.applied_internal(&event(EventFormat::Plain, &["BACKGROUND_JOB"]));
        subs.applied(&Setup::NoEvents);
        assert_eq!(subs.ensure(BACKGROUND_JOB, None).len(), 1);
    }

    #[test]
    fn replay_rebuilds_subscriptions_filters_and_log() {
        let mut subs = Subscriptions::default();
        subs.applied(&event(
            EventFormat::Json,
            &["CHANNEL_CREATE", "CUSTOM", "a::b"],
        ));
        subs.applied_internal(&event(EventFormat::Json, &["BACKGROUND_JOB"]));
        subs.applied(&Setup::Filter {
            header: "Event-Name".into(),
            value: "CUSTOM".into(),
        });
        subs.applied(&Setup::Log(LogLevel::Debug));
        // FreeSWITCH keeps CUSTOM on `nixevent CUSTOM` (the word only starts the subclasses
        // to drop); `nixevent CUSTOM a::b` drops the subclass.
        subs.applied(&Setup::NixEvent(vec!["CUSTOM".into()]));
        subs.applied(&event(EventFormat::Json, &["CUSTOM", "c::d"]));
        subs.applied(&Setup::NixEvent(vec!["CUSTOM".into(), "a::b".into()]));
        let replay = subs.replay();
        assert_eq!(
            replay,
            [
                event(
                    EventFormat::Json,
                    &["CHANNEL_CREATE", "BACKGROUND_JOB", "CUSTOM", "c::d"]
                ),
                Setup::Filter {
                    header: "Event-Name".into(),
                    value: "CUSTOM".into()
                },
                Setup::Log(LogLevel::Debug),
            ]
        );
    }
}
