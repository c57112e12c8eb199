//! The platform's call policy, decided the same way wherever a call is seen: by the dialplan
//! (mod_xml_curl, before the call is placed) and by the ESL worker (on answer, for calls that
//! did not pass our dialplan).
//!
//! - Prepaid: [`prepaid_limit`] holds the first slice of the call's cost against what the
//!   tenant may spend; the dialplan carries the limit into FreeSWITCH on the trunk leg and
//!   marks the call ([`limit_marker`]); the worker extends the hold slice by slice and limits
//!   the trunk legs of calls the dialplan did not ([`limited_by_dialplan`]).
//! - Recording: [`records`] says whether a call is recorded, [`recording_path`] where
//!   FreeSWITCH writes it, and [`staged_path`] maps the file a `RECORD_STOP` names back into
//!   our staging directory.

use crate::store::{ExtensionRow, Tenant};
use crate::variables::{ChannelVariables, HoldReference};
use billing::{Ledger, LedgerError, Reservation};
use esl::proto::{Event, HangupCause};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// How much of a prepaid call's credit is held at a time unless its tenant says otherwise.
pub const DEFAULT_SLICE: Duration = Duration::from_secs(300);

/// The slice a tenant's prepaid calls are held by: its own (10 s to 1 hour), else
/// [`DEFAULT_SLICE`].
///
/// ```
/// # use platform::store::Tenant;
/// # let mut tenant = Tenant { tenant: "t".into(), domain: "d".into(), context: "c".into(), gateway: None,
/// #     prepaid: true, record_calls: false, prepaid_slice_seconds: None, time_zone: None,
/// #     disabled: false };
/// use platform::policy::{DEFAULT_SLICE, slice_of};
/// use std::time::Duration;
///
/// assert_eq!(slice_of(&tenant), DEFAULT_SLICE);
/// tenant.prepaid_slice_seconds = Some(1);
/// assert_eq!(slice_of(&tenant), Duration::from_secs(10));
/// ```
pub fn slice_of(tenant: &Tenant) -> Duration {
    tenant.prepaid_slice_seconds.map_or(DEFAULT_SLICE, |s| {
        Duration::from_secs(u64::from(s.clamp(10, 3600)))
    })
}

/// What a prepaid tenant's call to a destination may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrepaidLimit {
    /// No limit: the destination is free, or the plan does not limit it.
    Unlimited,
    /// Credit held (hold `hold`): hang up this many seconds after answer, with
    /// [`PrepaidLimit::EXPIRED`], unless the hold is extended.
    Held {
        /// Seconds after answer.
        seconds: u64,
        /// The hold in the ledger.
        hold: HoldReference,
    },
    /// No credit left: refuse the call, with [`PrepaidLimit::BARRED`].
    Barred,
    /// The plan has no rate for the destination: refuse the call, with
    /// [`PrepaidLimit::NO_ROUTE`].
    NoRoute,
}

impl PrepaidLimit {
    /// The hangup cause of a call whose credit ran out.
    pub const EXPIRED: HangupCause = HangupCause::AllottedTimeout;
    /// The hangup cause of a call refused for lack of credit.
    pub const BARRED: HangupCause = HangupCause::OutgoingCallBarred;
    /// The hangup cause of a call to a destination the plan does not rate.
    pub const NO_ROUTE: HangupCause = HangupCause::NoRouteDestination;
    /// The hangup cause of a prepaid call refused because the ledger could not authorise it
    /// (prepaid fails closed: never unlimited, never sent to a static dialplan).
    pub const UNAVAILABLE: HangupCause = HangupCause::ServiceUnavailable;
}

/// Holds the first slice of a prepaid tenant's call `call_uuid` to `destination` at `now`
/// (Unix seconds): the call's limit. Repeated for the same call, the same hold.
///
/// ```no_run
/// # async fn demo(ledger: billing::Ledger, tenant: platform::store::Tenant) -> Result<(), billing::LedgerError> {
/// use platform::policy::{PrepaidLimit, prepaid_limit};
///
/// match prepaid_limit(&ledger, &tenant, "6f1d...", "442079460000", platform::clock::unix_seconds()).await? {
///     PrepaidLimit::Held { seconds, .. } => println!("hang up {seconds} s after answer"),
///     PrepaidLimit::Barred | PrepaidLimit::NoRoute => println!("refuse"),
///     PrepaidLimit::Unlimited => {}
/// }
/// # Ok(()) }
/// ```
pub async fn prepaid_limit(
    ledger: &Ledger,
    tenant: &Tenant,
    call_uuid: &str,
    destination: &str,
    now: i64,
) -> Result<PrepaidLimit, LedgerError> {
    let reserved = ledger
        .reserve(
            &tenant.tenant,
            call_uuid,
            destination,
            now,
            slice_of(tenant),
        )
        .await?;
    Ok(match reserved {
        Reservation::Held(hold) => PrepaidLimit::Held {
            seconds: hold.seconds,
            hold: HoldReference {
                id: hold.id,
                created_us: Some(hold.created_us),
            },
        },
        Reservation::NoCredit => PrepaidLimit::Barred,
        Reservation::NoRoute => PrepaidLimit::NoRoute,
        Reservation::Unlimited => PrepaidLimit::Unlimited,
    })
}

/// The variable our dialplan exports on a call it limited to `seconds` (on both legs).
///
/// ```
/// assert_eq!(platform::policy::limit_marker(600), ("callcenter_limit", "600".to_owned()));
/// ```
pub fn limit_marker(seconds: u64) -> (&'static str, String) {
    (ChannelVariables::LIMIT, seconds.to_string())
}

/// Whether our dialplan limited the call an event is about already.
///
/// ```
/// use bytes::Bytes;
/// use esl::proto::{Event, EventFormat};
///
/// let event = Event::parse(Bytes::from_static(
///     b"Event-Name: CHANNEL_ANSWER\nvariable_callcenter_limit: 600\n\n"), EventFormat::Plain, 64)?;
/// assert!(platform::policy::limited_by_dialplan(&event));
/// # Ok::<(), esl::proto::EventError>(())
/// ```
pub fn limited_by_dialplan(event: &Event) -> bool {
    event.variable(ChannelVariables::LIMIT).is_some()
}

/// Whether a call is recorded: its tenant records every call, or the calling or the called
/// extension records its own.
pub fn records(
    tenant: &Tenant,
    caller: Option<&ExtensionRow>,
    callee: Option<&ExtensionRow>,
) -> bool {
    tenant.record_calls
        || caller.is_some_and(|e| e.record_calls)
        || callee.is_some_and(|e| e.record_calls)
}

/// Where FreeSWITCH records the call `uuid`: `<dir>/<uuid>.wav`, the UUID reduced to letters,
/// digits and `-` (it comes from the request, and must not leave the directory).
///
/// ```
/// use std::path::Path;
///
/// let path = platform::policy::recording_path(Path::new("/dev/shm/rec"), "a1-b2/../x");
/// assert_eq!(path, Path::new("/dev/shm/rec/a1-b2____x.wav"));
/// ```
pub fn recording_path(dir: &Path, uuid: &str) -> PathBuf {
    let safe: String = uuid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.wav"))
}

/// Where a file FreeSWITCH wrote under `fs_dir` is in our `staging`; `None` outside it.
///
/// ```
/// use std::path::Path;
/// use platform::policy::staged_path;
///
/// let (fs, ours) = (Path::new("/srv/rec"), Path::new("/dev/shm/rec"));
/// assert_eq!(staged_path(Path::new("/srv/rec/t/a.wav"), fs, ours), Some(ours.join("t/a.wav")));
/// assert_eq!(staged_path(Path::new("/srv/rec/../etc/x.wav"), fs, ours), None);
/// ```
pub fn staged_path(path: &Path, fs_dir: &Path, staging: &Path) -> Option<PathBuf> {
    let relative = path.strip_prefix(fs_dir).ok()?;
    let safe = relative.components().count() > 0
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    safe.then(|| staging.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_taken_from_the_staging_directory_only() {
        let (fs, ours) = (Path::new("/srv/rec"), Path::new("/dev/shm/rec"));
        assert_eq!(
            staged_path(Path::new("/srv/rec/t/a.wav"), fs, ours),
            Some(PathBuf::from("/dev/shm/rec/t/a.wav"))
        );
        assert_eq!(
            staged_path(Path::new("/srv/rec/../etc/x.wav"), fs, ours),
            None
        );
        assert_eq!(staged_path(Path::new("/tmp/a.wav"), fs, ours), None);
        assert_eq!(staged_path(Path::new("/srv/rec"), fs, ours), None);
    }

    #[test]
    fn a_call_is_recorded_when_its_tenant_or_either_extension_records() {
        let tenant = |record_calls| Tenant {
            tenant: "t".into(),
            domain: "d".into(),
            context: "c".into(),
            gateway: None,
            prepaid: false,
            record_calls,
            prepaid_slice_seconds: None,
            time_zone: None,
            disabled: false,
        };
        let extension = |record_calls| ExtensionRow {
            tenant: "t".into(),
            extension: "1000".into(),
            password: None,
            a1_hash: None,
            caller_id_name: None,
            caller_id_number: None,
            record_calls,
        };
        assert!(!records(&tenant(false), None, Some(&extension(false))));
        assert!(records(&tenant(true), None, None));
        assert!(records(&tenant(false), Some(&extension(true)), None));
        assert!(records(&tenant(false), None, Some(&extension(true))));
    }
}
