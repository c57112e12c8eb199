//! [`HangupCause`]: why a call ended, as FreeSWITCH names it (`switch_call_cause_t`).

use super::wire_name::wire_names;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

wire_names! {
    /// A hangup cause: every name FreeSWITCH 1.10 knows (`Hangup-Cause`, `hangup_cause`,
    /// `uuid_kill <uuid> <cause>`...), or [`HangupCause::Other`] for any other text.
    ///
    /// Parsing never fails and round-trips exactly: `text.parse::<HangupCause>()?.to_string()`
    /// is `text` for every string. Known names match exactly as FreeSWITCH writes them (in
    /// capitals); any other spelling is kept as [`HangupCause::Other`].
    ///
    /// ```
    /// use esl::proto::HangupCause;
    ///
    /// let cause: HangupCause = "ALLOTTED_TIMEOUT".parse().unwrap();
    /// assert_eq!(cause, HangupCause::AllottedTimeout);
    /// assert_eq!(cause.as_str(), "ALLOTTED_TIMEOUT");
    ///
    /// let unknown: HangupCause = "SOMETHING_NEWER".parse().unwrap();
    /// assert_eq!(unknown, HangupCause::Other("SOMETHING_NEWER".into()));
    /// assert_eq!(unknown.to_string(), "SOMETHING_NEWER");
    ///
    /// assert!(HangupCause::KNOWN_NAMES.contains(&"USER_NOT_REGISTERED"));
    /// ```
    pub enum HangupCause {
        None = "NONE",
        UnallocatedNumber = "UNALLOCATED_NUMBER",
        NoRouteTransitNet = "NO_ROUTE_TRANSIT_NET",
        NoRouteDestination = "NO_ROUTE_DESTINATION",
        ChannelUnacceptable = "CHANNEL_UNACCEPTABLE",
        CallAwardedDelivered = "CALL_AWARDED_DELIVERED",
        NormalClearing = "NORMAL_CLEARING",
        UserBusy = "USER_BUSY",
        NoUserResponse = "NO_USER_RESPONSE",
        NoAnswer = "NO_ANSWER",
        SubscriberAbsent = "SUBSCRIBER_ABSENT",
        CallRejected = "CALL_REJECTED",
        NumberChanged = "NUMBER_CHANGED",
        RedirectionToNewDestination = "REDIRECTION_TO_NEW_DESTINATION",
        ExchangeRoutingError = "EXCHANGE_ROUTING_ERROR",
        DestinationOutOfOrder = "DESTINATION_OUT_OF_ORDER",
        InvalidNumberFormat = "INVALID_NUMBER_FORMAT",
        FacilityRejected = "FACILITY_REJECTED",
        ResponseToStatusEnquiry = "RESPONSE_TO_STATUS_ENQUIRY",
        NormalUnspecified = "NORMAL_UNSPECIFIED",
        NormalCircuitCongestion = "NORMAL_CIRCUIT_CONGESTION",
        NetworkOutOfOrder = "NETWORK_OUT_OF_ORDER",
        NormalTemporaryFailure = "NORMAL_TEMPORARY_FAILURE",
        SwitchCongestion = "SWITCH_CONGESTION",
        AccessInfoDiscarded = "ACCESS_INFO_DISCARDED",
        RequestedChanUnavail = "REQUESTED_CHAN_UNAVAIL",
        PreEmpted = "PRE_EMPTED",
        FacilityNotSubscribed = "FACILITY_NOT_SUBSCRIBED",
        OutgoingCallBarred = "OUTGOING_CALL_BARRED",
        IncomingCallBarred = "INCOMING_CALL_BARRED",
        BearercapabilityNotauth = "BEARERCAPABILITY_NOTAUTH",
        BearercapabilityNotavail = "BEARERCAPABILITY_NOTAVAIL",
        ServiceUnavailable = "SERVICE_UNAVAILABLE",
        BearercapabilityNotimpl = "BEARERCAPABILITY_NOTIMPL",
        ChanNotImplemented = "CHAN_NOT_IMPLEMENTED",
        FacilityNotImplemented = "FACILITY_NOT_IMPLEMENTED",
        ServiceNotImplemented = "SERVICE_NOT_IMPLEMENTED",
        InvalidCallReference = "INVALID_CALL_REFERENCE",
        IncompatibleDestination = "INCOMPATIBLE_DESTINATION",
        InvalidMsgUnspecified = "INVALID_MSG_UNSPECIFIED",
        MandatoryIeMissing = "MANDATORY_IE_MISSING",
        MessageTypeNonexist = "MESSAGE_TYPE_NONEXIST",
        WrongMessage = "WRONG_MESSAGE",
        IeNonexist = "IE_NONEXIST",
        InvalidIeContents = "INVALID_IE_CONTENTS",
        WrongCallState = "WRONG_CALL_STATE",
        RecoveryOnTimerExpire = "RECOVERY_ON_TIMER_EXPIRE",
        MandatoryIeLengthError = "MANDATORY_IE_LENGTH_ERROR",
        ProtocolError = "PROTOCOL_ERROR",
        Interworking = "INTERWORKING",
        Success = "SUCCESS",
        OriginatorCancel = "ORIGINATOR_CANCEL",
        Crash = "CRASH",
        SystemShutdown = "SYSTEM_SHUTDOWN",
        LoseRace = "LOSE_RACE",
        ManagerRequest = "MANAGER_REQUEST",
        BlindTransfer = "BLIND_TRANSFER",
        AttendedTransfer = "ATTENDED_TRANSFER",
        AllottedTimeout = "ALLOTTED_TIMEOUT",
        UserChallenge = "USER_CHALLENGE",
        MediaTimeout = "MEDIA_TIMEOUT",
        PickedOff = "PICKED_OFF",
        UserNotRegistered = "USER_NOT_REGISTERED",
        ProgressTimeout = "PROGRESS_TIMEOUT",
        InvalidGateway = "INVALID_GATEWAY",
        GatewayDown = "GATEWAY_DOWN",
        InvalidUrl = "INVALID_URL",
        InvalidProfile = "INVALID_PROFILE",
        NoPickup = "NO_PICKUP",
        SrtpReadError = "SRTP_READ_ERROR",
        Bowout = "BOWOUT",
        BusyEverywhere = "BUSY_EVERYWHERE",
        Decline = "DECLINE",
        DoesNotExistAnywhere = "DOES_NOT_EXIST_ANYWHERE",
        NotAcceptable = "NOT_ACCEPTABLE",
        Unwanted = "UNWANTED",
        NoIdentity = "NO_IDENTITY",
        BadIdentityInfo = "BAD_IDENTITY_INFO",
        UnsupportedCertificate = "UNSUPPORTED_CERTIFICATE",
        InvalidIdentity = "INVALID_IDENTITY",
        StaleDate = "STALE_DATE",
        RejectAll = "REJECT_ALL",
    }
    carrying {
        /// Text that is not one of the names above, kept as received.
        Other(String),
    }
}

impl HangupCause {
    /// The cause as FreeSWITCH writes it.
    ///
    /// ```
    /// use esl::proto::HangupCause;
    /// assert_eq!(HangupCause::NormalClearing.as_str(), "NORMAL_CLEARING");
    /// assert_eq!(HangupCause::Other("X".into()).as_str(), "X");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(text) => text,
            known => known.known_name().unwrap_or_default(),
        }
    }
}

impl FromStr for HangupCause {
    type Err = Infallible;

    fn from_str(text: &str) -> Result<Self, Infallible> {
        Ok(Self::from(text))
    }
}

impl From<&str> for HangupCause {
    /// Same as [`str::parse`]: the known cause, or [`HangupCause::Other`].
    fn from(text: &str) -> Self {
        Self::from_known_name(text).unwrap_or_else(|| Self::Other(text.to_owned()))
    }
}

impl fmt::Display for HangupCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_cause_round_trips_to_its_variant() {
        assert_eq!(HangupCause::KNOWN_NAMES.len(), 82);
        for name in HangupCause::KNOWN_NAMES {
            let cause = HangupCause::from(*name);
            assert!(!matches!(cause, HangupCause::Other(_)), "{name}");
            assert_eq!(cause.as_str(), *name);
            assert_eq!(cause.to_string(), *name);
        }
    }

    #[test]
    fn unknown_text_is_kept_exactly() {
        for text in ["", "normal_clearing", " NORMAL_CLEARING", "NEW_CAUSE", "é"] {
            let cause: HangupCause = text.parse().unwrap();
            assert_eq!(cause, HangupCause::Other(text.to_owned()));
            assert_eq!(cause.to_string(), text);
        }
    }

    #[test]
    fn the_causes_a_call_center_acts_on_are_known() {
        for (text, cause) in [
            ("NORMAL_CLEARING", HangupCause::NormalClearing),
            ("ORIGINATOR_CANCEL", HangupCause::OriginatorCancel),
            ("ALLOTTED_TIMEOUT", HangupCause::AllottedTimeout),
            ("OUTGOING_CALL_BARRED", HangupCause::OutgoingCallBarred),
            ("USER_NOT_REGISTERED", HangupCause::UserNotRegistered),
            ("NO_ROUTE_DESTINATION", HangupCause::NoRouteDestination),
            ("UNALLOCATED_NUMBER", HangupCause::UnallocatedNumber),
            ("REJECT_ALL", HangupCause::RejectAll),
        ] {
            assert_eq!(HangupCause::from(text), cause);
        }
    }
}
