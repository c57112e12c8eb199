//! What a tenant and an extension may be called and present, and how a SIP credential is kept:
//! the one rule every writer of the `tenants` and `extensions` tables goes through
//! ([`PlatformStore::put_extension`](crate::store::PlatformStore::put_extension)).
//!
//! - Names follow the esl crate's rule for a name (they reach dial strings) and are at most 32
//!   characters; names that shadow an emergency or service number (`112`, `911`, ... a
//!   configurable list) are refused, so an extension cannot capture such calls.
//! - A caller ID name is at most 64 letters, digits, spaces and `. , ' - _ & ( ) # + /`:
//!   no control character (a CR/LF would split a SIP header), no `$` or braces (FreeSWITCH
//!   would expand them).
//! - A caller ID number is a dialled number the tenant owns: one of its extensions or DIDs
//!   (checked by the store), never another tenant's number or an emergency number.
//! - The SIP password is kept only as its digest HA1 (`a1-hash`, MD5 of
//!   `user:domain:password`), computed with the tenant's domain when the password is set.

use esl::api::{is_dialed_number, is_name};
use md5::{Digest, Md5};

/// Extension names refused by default: emergency and service numbers of many countries.
pub const DEFAULT_RESERVED: [&str; 21] = [
    "000", "08", "100", "101", "102", "103", "108", "110", "111", "112", "113", "118", "119",
    "122", "15", "17", "18", "190", "911", "995", "999",
];

/// Longest extension name made only of digits: longer numbers are DIDs, which only the operator
/// gives a tenant (an extension named like another tenant's DID would present it).
pub const NUMERIC_EXTENSION_MAX: usize = 6;

/// Longest extension name.
pub const EXTENSION_MAX: usize = 32;

/// Longest caller ID name, in characters.
pub const CALLER_ID_NAME_MAX: usize = 64;

/// Why a tenant, an extension or a DID cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidValue {
    /// A tenant's id, context or gateway is not a name, or its domain not a domain (each
    /// reaches dial strings and directory lookups).
    #[error("a tenant's {0} breaks the rule for {0}s")]
    Tenant(&'static str),
    /// The name breaks the rule for names.
    #[error(
        "an extension is 1 to 32 letters, digits, '_', '-' or '.', starting with a letter, digit or '_', and at most 6 digits when it is a number"
    )]
    Name,
    /// The name shadows an emergency or service number.
    #[error("{0:?} is an emergency or service number and cannot be an extension")]
    Reserved(String),
    /// The caller ID name has a character or length the rule refuses.
    #[error("a caller ID name is 1 to 64 letters, digits, spaces and . , ' - _ & ( ) # + /")]
    CallerIdName,
    /// The caller ID number is not a dialled number.
    #[error("a caller ID number is digits, optionally after one leading +")]
    CallerIdNumber,
    /// The caller ID number is not one of the tenant's extensions or DIDs.
    #[error("{0:?} is not a number of this tenant (one of its extensions or DIDs)")]
    NotOwned(String),
    /// A new extension without a password.
    #[error("a new extension needs a password")]
    NoCredential,
    /// A password too short to resist guessing over SIP.
    #[error("a SIP password has at least 8 characters")]
    WeakPassword,
    /// The tenant does not exist.
    #[error("no tenant {0:?}")]
    UnknownTenant(String),
    /// A DID that is not a dialled number longer than an extension's.
    #[error("a DID is 7 or more digits, optionally after one leading +")]
    Did,
    /// A stored credential that is not an a1-hash.
    #[error("an a1-hash is 32 lowercase hex digits")]
    A1Hash,
    /// The DID belongs to another tenant.
    #[error("DID {0:?} belongs to another tenant")]
    DidTaken(String),
    /// The name is dialled for something else of the tenant already (an extension, a queue
    /// or an IVR menu).
    #[error("{0:?} is dialled for another extension, queue or IVR menu of this tenant")]
    NameTaken(String),
    /// A DID's outside number is not a dialled number, or is an emergency or service number
    /// or one of the platform's own DIDs (a call that would come straight back).
    #[error(
        "a DID's outside number is digits, optionally after one leading +, and neither an emergency or service number nor one of the platform's DIDs"
    )]
    Route,
    /// A tenant id that differs from another's only in case (FreeSWITCH finds queues and
    /// menus by name ignoring case: one tenant's would answer for the other's).
    #[error("tenant {0:?} differs from an existing tenant only in case")]
    TenantCase(String),
    /// A queue, agent or IVR menu name that breaks the rule for names.
    #[error(
        "a queue, agent or menu name is 1 to 64 letters, digits, '_', '-' or '.', starting with a letter, digit or '_'"
    )]
    CallCenterName,
    /// A DID's route names nothing of its tenant that a call can reach.
    #[error("no {0} of this tenant that a call can reach (a queue or menu needs a dial name)")]
    NoTarget(String),
    /// A menu entry's digits are not 1 to 4 of `0-9`, `*`, `#`.
    #[error("a menu entry's digits are 1 to 4 of 0-9, * and #")]
    Digits,
    /// A sound that is not a file under the sound directories, a tone or silence.
    #[error(
        "a sound is a relative file path (letters, digits, '_', '-', '.'), tone_stream://..., silence_stream://..., local_stream://NAME or prompt:NAME"
    )]
    Sound,
    /// A menu with more entries than allowed, or one digit sequence twice.
    #[error("a menu has at most 32 entries, each with its own digits")]
    Entries,
    /// Something else of the tenant still uses what was to be removed (routes calls to it, is
    /// bound to it).
    #[error("{0} still uses it; change that first")]
    InUse(String),
    /// A queue strategy mod_callcenter does not know.
    #[error(
        "a queue's strategy is one of mod_callcenter's (ring-all, longest-idle-agent, round-robin, top-down, agent-with-least-talk-time, agent-with-fewest-calls, sequentially-by-agent-order, random, ring-progressively)"
    )]
    Strategy,
    /// A ring group strategy that is neither `simultaneous` nor `sequential`.
    #[error("a ring group's strategy is simultaneous or sequential")]
    RingStrategy,
    /// A ring group without members, with too many, or with one twice.
    #[error("a ring group has 1 to 32 members, each once")]
    Members,
    /// A schedule with too many rules, a span not inside one day, or a route to a schedule.
    #[error(
        "a schedule has at most 32 rules, each from HH:MM to a later HH:MM of a day, and routes to anything but a schedule"
    )]
    Rules,
    /// A tenant with as many of these as it may have.
    #[error(
        "a tenant has at most 500 of each of queues, menus, ring groups and schedules ({0} full)"
    )]
    TooMany(&'static str),
    /// A time zone that is not an IANA name.
    #[error("{0:?} is not a time zone (an IANA name such as Europe/London)")]
    TimeZone(String),
    /// Another tenant has this SIP domain or dialplan context.
    #[error("tenant {0:?} has this domain or context already")]
    TenantTaken(String),
    /// A trunk's field breaks its rule (see [`crate::trunks::check_trunk`]).
    #[error(
        "a trunk's {0} breaks its rule: names and profiles are 1 to 64 letters, digits, '_', '-', '.'; the proxy is a host or host:port; realm and from_domain are domains; a user name is 1 to 64 letters, digits, '_', '-', '.', '+'; a password 1 to 128 printable characters without spaces; registering needs both; expiry 60 to 86400 s and retry 5 to 3600 s"
    )]
    Trunk(&'static str),
    /// No trunk of that name.
    #[error("no trunk {0:?}")]
    UnknownTrunk(String),
    /// A number outside the allowed range.
    #[error("{0} is out of range")]
    Range(&'static str),
}

/// Checks a time zone: an IANA name of the time zone database (`Europe/London`, `UTC`).
///
/// ```
/// use platform::identity::check_time_zone;
/// assert!(check_time_zone("Europe/London").is_ok());
/// assert!(check_time_zone("Mars/Olympus").is_err());
/// ```
pub fn check_time_zone(zone: &str) -> Result<chrono_tz::Tz, InvalidValue> {
    zone.parse()
        .map_err(|_| InvalidValue::TimeZone(zone.chars().take(64).collect()))
}

/// Checks a tenant's id, context and gateway (names) and SIP domain. A tenant's id is never
/// empty: the empty tenant is [`UNASSIGNED`], no tenant's.
///
/// ```
/// use platform::identity::check_tenant;
///
/// assert!(check_tenant("acme", "acme.example", "acme", Some("trunk")).is_ok());
/// assert!(check_tenant("", "acme.example", "acme", None).is_err());
/// assert!(check_tenant("acme", "acme.example", "acme", Some("x/1,loopback")).is_err());
/// // Trunk calls arrive there: a tenant owning it would take every DID's calls.
/// assert!(check_tenant("acme", "acme.example", "public", None).is_err());
/// ```
pub fn check_tenant(
    tenant: &str,
    domain: &str,
    context: &str,
    gateway: Option<&str>,
) -> Result<(), InvalidValue> {
    // Not `_`-led either: `_` is the unassigned data's segment of a recording's key.
    if !is_name(tenant) || tenant.starts_with('_') {
        return Err(InvalidValue::Tenant("id"));
    }
    if !esl::api::is_domain(domain) {
        return Err(InvalidValue::Tenant("domain"));
    }
    if !is_name(context) || context == crate::inbound::PUBLIC_CONTEXT {
        return Err(InvalidValue::Tenant("context"));
    }
    if gateway.is_some_and(|g| !is_name(g)) {
        return Err(InvalidValue::Tenant("gateway"));
    }
    Ok(())
}

/// The tenant of what nothing attributes (a recording, a live call): no tenant's, since a
/// tenant's id is never empty. Only the operator sees such data; a configured default tenant
/// applies to CDRs only (an explicit billing choice), never to recordings or live calls.
pub const UNASSIGNED: &str = "";

/// Checks an extension's name against the rule and the reserved list.
///
/// ```
/// use platform::identity::{DEFAULT_RESERVED, check_name};
///
/// assert!(check_name("1000", &DEFAULT_RESERVED).is_ok());
/// assert!(check_name("112", &DEFAULT_RESERVED).is_err());
/// assert!(check_name("1000@other", &DEFAULT_RESERVED).is_err());
/// ```
pub fn check_name<S: AsRef<str>>(name: &str, reserved: &[S]) -> Result<(), InvalidValue> {
    let numeric = name.bytes().all(|b| b.is_ascii_digit());
    if !is_name(name)
        || name.len() > EXTENSION_MAX
        || (numeric && name.len() > NUMERIC_EXTENSION_MAX)
    {
        return Err(InvalidValue::Name);
    }
    if reserved.iter().any(|r| r.as_ref() == name) {
        return Err(InvalidValue::Reserved(name.to_owned()));
    }
    Ok(())
}

/// Checks a caller ID name.
///
/// ```
/// use platform::identity::check_caller_id_name;
///
/// assert!(check_caller_id_name("Sales, UK (O'Brien)").is_ok());
/// assert!(check_caller_id_name("Bob\r\nX-Evil: 1").is_err());
/// assert!(check_caller_id_name("${system(id)}").is_err());
/// ```
pub fn check_caller_id_name(name: &str) -> Result<(), InvalidValue> {
    let allowed = |c: char| c.is_alphanumeric() || " .,'-_&()#+/".contains(c);
    let length = name.chars().count();
    if length == 0
        || length > CALLER_ID_NAME_MAX
        || name.trim() != name
        || !name.chars().all(allowed)
    {
        return Err(InvalidValue::CallerIdName);
    }
    Ok(())
}

/// Checks that a caller ID number is a dialled number (ownership is the store's question).
pub fn check_caller_id_number(number: &str) -> Result<(), InvalidValue> {
    if !is_dialed_number(number) || number.starts_with(['*', '#']) {
        return Err(InvalidValue::CallerIdNumber);
    }
    Ok(())
}

/// Whether `hash` is an `a1-hash` as [`a1_hash`] writes it: 32 lowercase hex digits (an empty
/// one would let anyone register: FreeSWITCH skips the check without password nor hash).
pub fn is_a1_hash(hash: &str) -> bool {
    hash.len() == 32
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The digest FreeSWITCH's directory takes as `a1-hash`: MD5 of `user:domain:password`, hex.
///
/// ```
/// // RFC 2617's example user.
/// assert_eq!(
///     platform::identity::a1_hash("Mufasa", "testrealm@host.com", "Circle Of Life"),
///     "939e7578ed9e3c518a452acee763bce9"
/// );
/// ```
pub fn a1_hash(user: &str, domain: &str, password: &str) -> String {
    let digest = Md5::digest(format!("{user}:{domain}:{password}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_id_names_refuse_what_breaks_sip_or_expands() {
        for hostile in [
            "a\nb",
            "a\r\nVia: x",
            "\u{0}",
            "${x}",
            "{x}",
            "a\"b",
            "<sip:x>",
            " padded",
            "",
        ] {
            assert!(check_caller_id_name(hostile).is_err(), "{hostile:?}");
        }
        assert!(check_caller_id_name(&"x".repeat(65)).is_err());
        assert!(check_caller_id_name("Zoë Müller").is_ok());
    }

    #[test]
    fn caller_id_numbers_are_plain_numbers() {
        for number in ["+442079460000", "1000"] {
            assert!(check_caller_id_number(number).is_ok(), "{number}");
        }
        for number in ["*98", "#31", "0800,loopback/9995", "anonymous", ""] {
            assert!(check_caller_id_number(number).is_err(), "{number}");
        }
    }
}
