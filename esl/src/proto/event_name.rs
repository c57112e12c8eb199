//! [`EventName`]: which event FreeSWITCH sent or a subscription asks for.

use super::wire_name::wire_names;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// The name of FreeSWITCH's custom events; their own name is the subclass.
const CUSTOM: &str = "CUSTOM";

wire_names! {
    /// An event name: every standard name of FreeSWITCH 1.10's event system, `CUSTOM` events
    /// with their subclass as [`EventName::Custom`], and [`EventName::Other`] for any other text.
    ///
    /// As text ([`FromStr`], [`fmt::Display`]) a custom event reads `CUSTOM <subclass>`, as in
    /// the `event` command, and every string round-trips exactly. [`EventName::as_str`] is the
    /// `Event-Name` header alone (`CUSTOM` for every custom event).
    ///
    /// ```
    /// use esl::proto::EventName;
    ///
    /// let answer: EventName = "CHANNEL_ANSWER".parse().unwrap();
    /// assert_eq!(answer, EventName::ChannelAnswer);
    ///
    /// let register: EventName = "CUSTOM sofia::register".parse().unwrap();
    /// assert_eq!(register, EventName::Custom("sofia::register".into()));
    /// assert_eq!(register.as_str(), "CUSTOM");
    /// assert_eq!(register.subclass(), Some("sofia::register"));
    /// assert_eq!(register.to_string(), "CUSTOM sofia::register");
    ///
    /// assert_eq!("NEW_EVENT".parse::<EventName>().unwrap(), EventName::Other("NEW_EVENT".into()));
    /// assert!(EventName::KNOWN_NAMES.contains(&"RECORD_STOP"));
    /// ```
    pub enum EventName {
        Clone = "CLONE",
        ChannelCreate = "CHANNEL_CREATE",
        ChannelDestroy = "CHANNEL_DESTROY",
        ChannelState = "CHANNEL_STATE",
        ChannelCallstate = "CHANNEL_CALLSTATE",
        ChannelAnswer = "CHANNEL_ANSWER",
        ChannelHangup = "CHANNEL_HANGUP",
        ChannelHangupComplete = "CHANNEL_HANGUP_COMPLETE",
        ChannelExecute = "CHANNEL_EXECUTE",
        ChannelExecuteComplete = "CHANNEL_EXECUTE_COMPLETE",
        ChannelHold = "CHANNEL_HOLD",
        ChannelUnhold = "CHANNEL_UNHOLD",
        ChannelBridge = "CHANNEL_BRIDGE",
        ChannelUnbridge = "CHANNEL_UNBRIDGE",
        ChannelProgress = "CHANNEL_PROGRESS",
        ChannelProgressMedia = "CHANNEL_PROGRESS_MEDIA",
        ChannelOutgoing = "CHANNEL_OUTGOING",
        ChannelPark = "CHANNEL_PARK",
        ChannelUnpark = "CHANNEL_UNPARK",
        ChannelApplication = "CHANNEL_APPLICATION",
        ChannelOriginate = "CHANNEL_ORIGINATE",
        ChannelUuid = "CHANNEL_UUID",
        Api = "API",
        Log = "LOG",
        InboundChan = "INBOUND_CHAN",
        OutboundChan = "OUTBOUND_CHAN",
        Startup = "STARTUP",
        Shutdown = "SHUTDOWN",
        Publish = "PUBLISH",
        Unpublish = "UNPUBLISH",
        Talk = "TALK",
        Notalk = "NOTALK",
        SessionCrash = "SESSION_CRASH",
        ModuleLoad = "MODULE_LOAD",
        ModuleUnload = "MODULE_UNLOAD",
        Dtmf = "DTMF",
        Message = "MESSAGE",
        PresenceIn = "PRESENCE_IN",
        NotifyIn = "NOTIFY_IN",
        PresenceOut = "PRESENCE_OUT",
        PresenceProbe = "PRESENCE_PROBE",
        MessageWaiting = "MESSAGE_WAITING",
        MessageQuery = "MESSAGE_QUERY",
        Roster = "ROSTER",
        Codec = "CODEC",
        BackgroundJob = "BACKGROUND_JOB",
        DetectedSpeech = "DETECTED_SPEECH",
        DetectedTone = "DETECTED_TONE",
        PrivateCommand = "PRIVATE_COMMAND",
        Heartbeat = "HEARTBEAT",
        Trap = "TRAP",
        AddSchedule = "ADD_SCHEDULE",
        DelSchedule = "DEL_SCHEDULE",
        ExeSchedule = "EXE_SCHEDULE",
        ReSchedule = "RE_SCHEDULE",
        Reloadxml = "RELOADXML",
        Notify = "NOTIFY",
        PhoneFeature = "PHONE_FEATURE",
        PhoneFeatureSubscribe = "PHONE_FEATURE_SUBSCRIBE",
        SendMessage = "SEND_MESSAGE",
        RecvMessage = "RECV_MESSAGE",
        RequestParams = "REQUEST_PARAMS",
        ChannelData = "CHANNEL_DATA",
        General = "GENERAL",
        Command = "COMMAND",
        SessionHeartbeat = "SESSION_HEARTBEAT",
        ClientDisconnected = "CLIENT_DISCONNECTED",
        ServerDisconnected = "SERVER_DISCONNECTED",
        SendInfo = "SEND_INFO",
        RecvInfo = "RECV_INFO",
        RecvRtcpMessage = "RECV_RTCP_MESSAGE",
        SendRtcpMessage = "SEND_RTCP_MESSAGE",
        CallSecure = "CALL_SECURE",
        Nat = "NAT",
        RecordStart = "RECORD_START",
        RecordStop = "RECORD_STOP",
        PlaybackStart = "PLAYBACK_START",
        PlaybackStop = "PLAYBACK_STOP",
        CallUpdate = "CALL_UPDATE",
        Failure = "FAILURE",
        SocketData = "SOCKET_DATA",
        MediaBugStart = "MEDIA_BUG_START",
        MediaBugStop = "MEDIA_BUG_STOP",
        ConferenceDataQuery = "CONFERENCE_DATA_QUERY",
        ConferenceData = "CONFERENCE_DATA",
        CallSetupReq = "CALL_SETUP_REQ",
        CallSetupResult = "CALL_SETUP_RESULT",
        CallDetail = "CALL_DETAIL",
        DeviceState = "DEVICE_STATE",
        Text = "TEXT",
        ShutdownRequested = "SHUTDOWN_REQUESTED",
        All = "ALL",
    }
    carrying {
        /// `CUSTOM` with its `Event-Subclass` (e.g. `sofia::register`); an empty subclass
        /// stands for every custom event when subscribing.
        Custom(String),
        /// Text that is not one of the names above, kept as received.
        Other(String),
    }
}

impl EventName {
    /// The `Event-Name` as FreeSWITCH writes it: `CUSTOM` for [`EventName::Custom`].
    ///
    /// ```
    /// use esl::proto::EventName;
    /// assert_eq!(EventName::BackgroundJob.as_str(), "BACKGROUND_JOB");
    /// assert_eq!(EventName::Custom("a::b".into()).as_str(), "CUSTOM");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Self::Custom(_) => CUSTOM,
            Self::Other(text) => text,
            known => known.known_name().unwrap_or_default(),
        }
    }

    /// The subclass of a custom event; `None` for every other name.
    ///
    /// ```
    /// use esl::proto::EventName;
    /// assert_eq!(EventName::Custom("a::b".into()).subclass(), Some("a::b"));
    /// assert_eq!(EventName::Heartbeat.subclass(), None);
    /// ```
    pub fn subclass(&self) -> Option<&str> {
        match self {
            Self::Custom(subclass) => Some(subclass),
            _ => None,
        }
    }

    /// The name of an event from its `Event-Name` and `Event-Subclass` headers.
    pub(crate) fn from_headers(name: &str, subclass: Option<&str>) -> Self {
        if name == CUSTOM {
            return Self::Custom(subclass.unwrap_or_default().to_owned());
        }
        Self::from_known_name(name).unwrap_or_else(|| Self::Other(name.to_owned()))
    }

    /// The words of an `event` or `nixevent` command for these names, in the order FreeSWITCH
    /// reads them: every word after `CUSTOM` is taken as a subclass, so plain names come first,
    /// then `CUSTOM` once, then the subclasses.
    ///
    /// ```
    /// use esl::proto::EventName;
    ///
    /// let names = [
    ///     EventName::Custom("sofia::register".into()),
    ///     EventName::ChannelAnswer,
    ///     EventName::Custom("callcenter::info".into()),
    /// ];
    /// assert_eq!(
    ///     EventName::subscription_words(&names),
    ///     ["CHANNEL_ANSWER", "CUSTOM", "sofia::register", "callcenter::info"]
    /// );
    /// ```
    pub fn subscription_words(names: &[EventName]) -> Vec<&str> {
        let mut words: Vec<&str> = names
            .iter()
            .filter(|name| !matches!(name, Self::Custom(_)))
            .map(Self::as_str)
            .collect();
        let mut subclasses = names.iter().filter_map(Self::subclass).peekable();
        if subclasses.peek().is_some() {
            words.push(CUSTOM);
            words.extend(subclasses.filter(|subclass| !subclass.is_empty()));
        }
        words
    }
}

impl FromStr for EventName {
    type Err = Infallible;

    fn from_str(text: &str) -> Result<Self, Infallible> {
        Ok(Self::from(text))
    }
}

impl From<&str> for EventName {
    /// Same as [`str::parse`]: `CUSTOM [<subclass>]`, a known name, or [`EventName::Other`].
    fn from(text: &str) -> Self {
        if text == CUSTOM {
            return Self::Custom(String::new());
        }
        if let Some(subclass) = text.strip_prefix("CUSTOM ").filter(|s| !s.is_empty()) {
            return Self::Custom(subclass.to_owned());
        }
        Self::from_known_name(text).unwrap_or_else(|| Self::Other(text.to_owned()))
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Custom(subclass) if !subclass.is_empty() => write!(f, "{CUSTOM} {subclass}"),
            name => f.write_str(name.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_round_trips_to_its_variant() {
        for name in EventName::KNOWN_NAMES {
            let event = EventName::from(*name);
            assert!(!matches!(event, EventName::Other(_)), "{name}");
            assert_eq!(event.as_str(), *name);
            assert_eq!(event.to_string(), *name);
        }
    }

    #[test]
    fn any_text_round_trips_exactly() {
        for text in [
            "",
            "CUSTOM",
            "CUSTOM ",
            "CUSTOM a::b",
            "CUSTOM  a",
            "custom a::b",
            "channel_answer",
            "NEW_EVENT",
        ] {
            assert_eq!(EventName::from(text).to_string(), text, "{text:?}");
        }
    }

    #[test]
    fn custom_events_take_their_subclass_from_the_headers() {
        assert_eq!(
            EventName::from_headers("CUSTOM", Some("sofia::register")),
            EventName::Custom("sofia::register".into())
        );
        assert_eq!(
            EventName::from_headers("CUSTOM", None),
            EventName::Custom(String::new())
        );
        assert_eq!(
            EventName::from_headers("RECORD_STOP", Some("ignored")),
            EventName::RecordStop
        );
    }

    #[test]
    fn all_custom_events_subscribe_as_custom_alone() {
        let names = [EventName::Custom(String::new()), EventName::Heartbeat];
        assert_eq!(
            EventName::subscription_words(&names),
            ["HEARTBEAT", "CUSTOM"]
        );
        assert!(EventName::subscription_words(&[]).is_empty());
    }
}
