//! One typed [`Cdr`] from what FreeSWITCH sends: `mod_json_cdr` posts in any of their
//! encodings, or a plain key/value map such as a `CHANNEL_HANGUP_COMPLETE` event's headers.

mod body;
mod format;
mod links;
mod structural;
mod unique;
mod url;

pub use format::{Encode, JsonCdrFormat, JsonCdrSettings, Values};

use crate::stored::stored_text;
use esl::proto::HangupCause;
use serde_json::{Map, Value};

/// Longest call believed: 30 days. A CDR beyond it is refused as absurd.
pub const MAX_BILLSEC: u64 = 30 * 24 * 3600;

stored_text! {
    /// Which leg of a call a CDR describes: `a` or `b`, as the ledger stores it (`cdrs.leg`,
    /// and in the reference `uuid:leg` of a charge).
    ///
    /// ```
    /// use billing::Leg;
    /// assert_eq!(Leg::B.as_str(), "b");
    /// assert_eq!("a".parse(), Ok(Leg::A));
    /// assert_eq!(serde_json::to_string(&Leg::A).unwrap(), r#""a""#);
    /// assert!("A".parse::<Leg>().is_err());
    /// ```
    pub enum Leg("leg") {
        /// The inbound leg (the caller's side).
        A = "a",
        /// The outbound, originated leg.
        B = "b",
    }
}

/// How CDRs are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrOptions {
    /// The channel variable holding the tenant (default `tenant_id`).
    pub tenant_variable: String,
}

impl Default for CdrOptions {
    fn default() -> Self {
        Self {
            tenant_variable: "tenant_id".into(),
        }
    }
}

/// Why a CDR was refused. Nothing is stored for a refused CDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CdrError {
    /// The body is empty.
    #[error("empty CDR body")]
    Empty,
    /// The body is neither JSON, nor `cdr=` with URL-encoded or base64 JSON.
    #[error("CDR body is not JSON, URL-encoded JSON or base64 JSON: {0}")]
    NotJson(String),
    /// There is no call UUID.
    #[error("CDR has no uuid")]
    MissingUuid,
    /// The call UUID is not one: too long, or characters no channel UUID has (its first 64
    /// characters are kept).
    #[error("CDR uuid {0:?} is not a channel UUID")]
    BadUuid(String),
    /// A number field is not a number, or is negative.
    #[error("CDR field {field} has an invalid value {value:?}")]
    BadNumber {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// A duration beyond [`MAX_BILLSEC`].
    #[error("CDR field {field} = {value} is beyond belief")]
    Absurd {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// The body cannot be read one way only: a key appears twice, or no reading of an
    /// `encode=true` + `encode-values=true` body was found. Only a value crafted to look like
    /// the document's structure does this; the deploy file's encoding cannot.
    #[error("CDR body is ambiguous: {0}")]
    Ambiguous(String),
}

impl CdrError {
    /// A short name for the kind of refusal, for logs and metrics labels.
    ///
    /// ```
    /// assert_eq!(billing::CdrError::Empty.reason(), "empty");
    /// assert_eq!(billing::CdrError::MissingUuid.reason(), "missing_uuid");
    /// ```
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::NotJson(_) => "not_json",
            Self::MissingUuid => "missing_uuid",
            Self::BadUuid(_) => "bad_uuid",
            Self::BadNumber { .. } => "bad_number",
            Self::Absurd { .. } => "absurd",
            Self::Ambiguous(_) => "ambiguous",
        }
    }
}

/// A call detail record.
#[derive(Debug, Clone, PartialEq)]
pub struct Cdr {
    /// The channel's UUID.
    pub uuid: String,
    /// Which leg.
    pub leg: Leg,
    /// The FreeSWITCH process (`core-uuid`).
    pub core_uuid: Option<String>,
    /// The FreeSWITCH host (`switchname`).
    pub switchname: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    /// Channel creation, Unix microseconds.
    pub start_us: Option<i64>,
    /// Answer, Unix microseconds; `None` if never answered.
    pub answer_us: Option<i64>,
    /// Hangup, Unix microseconds.
    pub end_us: Option<i64>,
    /// Whole seconds from answer to hangup.
    pub billsec: u64,
    /// Milliseconds from answer to hangup, when FreeSWITCH gave them.
    pub billmsec: Option<u64>,
    /// Whole seconds from creation to hangup.
    pub duration: u64,
    /// The caller's number.
    pub caller_id_number: Option<String>,
    /// The number dialled (the current caller profile's destination).
    pub destination: Option<String>,
    /// `hangup_cause`, e.g. [`HangupCause::NormalClearing`] (stored as FreeSWITCH's text).
    pub hangup_cause: Option<HangupCause>,
    /// The tenant, from [`CdrOptions::tenant_variable`].
    pub tenant: Option<String>,
    /// `accountcode`.
    pub accountcode: Option<String>,
    /// The other legs of the call this leg names (`bridge_uuid`, `originator`,
    /// `other_loopback_leg_uuid`, `Other-Leg-Unique-ID`...), sorted, without itself.
    pub links: Vec<String>,
    /// The dialplan context of its caller profile (`Caller-Context` in events).
    pub context: Option<String>,
    /// Its SIP domain: `domain_name`, else the domain of `presence_id`.
    pub domain: Option<String>,
    /// The sofia gateway it went out through (`sip_gateway_name`).
    pub gateway: Option<String>,
    /// How the body was encoded; `None` for a CDR read from event headers.
    pub format: Option<JsonCdrFormat>,
    /// The document with every value as FreeSWITCH had it, as JSON text (for a key/value map,
    /// the map as a JSON object).
    pub raw: String,
}

impl Cdr {
    /// Parses a `mod_json_cdr` POST body, whatever its encoding: raw JSON (`encode=false`),
    /// `cdr=` + URL-encoded JSON (`encode=true`) or `cdr=` + base64 JSON (`encode=base64`). The
    /// Content-Type is not trusted (FreeSWITCH loses it with `disable-100-continue`). Variable
    /// values URL-encoded by `encode-values` are detected and decoded.
    ///
    /// ```
    /// let body = br#"{"core-uuid":"c","switchname":"fs1","channel_data":{"direction":"inbound"},
    ///   "variables":{"uuid":"u-1","answer_uepoch":"1795261109228372","billsec":"61","billmsec":"61200",
    ///   "duration":"63","hangup_cause":"NORMAL_CLEARING","tenant_id":"42"},
    ///   "callflow":[{"caller_profile":{"destination_number":"442079460000","caller_id_number":"1000"}}]}"#;
    /// let cdr = billing::Cdr::parse(body, &Default::default())?;
    /// assert_eq!(cdr.uuid, "u-1");
    /// assert_eq!(cdr.destination.as_deref(), Some("442079460000"));
    /// assert_eq!(cdr.duration_ms(), 61_200);
    /// # Ok::<(), billing::CdrError>(())
    /// ```
    pub fn parse(body: &[u8], options: &CdrOptions) -> Result<Self, CdrError> {
        let decoded = body::decode(body)?;
        let document = &decoded.document;
        let empty = Map::new();
        let variables = match document.get("variables") {
            Some(Value::Object(v)) => v,
            _ => &empty,
        };
        let var = |name: &str| -> Option<String> {
            variables
                .get(name)?
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        // The first profile is the current one (after transfers).
        let profile = document
            .get("callflow")
            .and_then(Value::as_array)
            .and_then(|flows| flows.first())
            .and_then(|flow| flow.get("caller_profile"));
        let from_profile = |name: &str| -> Option<String> {
            profile?
                .get(name)?
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let direction = document
            .get("channel_data")
            .and_then(|c| c.get("direction"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| var("direction"));
        let links = links::from_variables(var);
        let fields = Fields {
            uuid: var("uuid").or_else(|| from_profile("uuid")),
            direction,
            core_uuid: document
                .get("core-uuid")
                .and_then(Value::as_str)
                .map(str::to_owned),
            switchname: document
                .get("switchname")
                .and_then(Value::as_str)
                .map(str::to_owned),
            start: (var("start_uepoch"), var("start_epoch")),
            answer: (var("answer_uepoch"), var("answer_epoch")),
            end: (var("end_uepoch"), var("end_epoch")),
            billsec: var("billsec"),
            billmsec: var("billmsec"),
            duration: var("duration"),
            caller_id_number: var("caller_id_number").or_else(|| from_profile("caller_id_number")),
            destination: var("destination_number").or_else(|| from_profile("destination_number")),
            hangup_cause: var("hangup_cause"),
            tenant: var(&options.tenant_variable),
            accountcode: var("accountcode"),
            links,
            context: from_profile("context").or_else(|| var("context")),
            domain: var("domain_name").or_else(|| var("presence_id").and_then(domain_of)),
            gateway: var("sip_gateway_name"),
            format: Some(decoded.format),
        };
        fields.into_cdr(decoded.text.into_owned())
    }

    /// Builds a CDR from a key/value map, such as a `CHANNEL_HANGUP_COMPLETE` event's headers:
    /// channel variables as `variable_<name>` (or bare), plus the event's own `Unique-ID`,
    /// `Caller-Destination-Number`, `Caller-Caller-ID-Number`, `Hangup-Cause`, `Call-Direction`,
    /// `Core-UUID` and `FreeSWITCH-Switchname`. Values must already be decoded.
    ///
    /// ```
    /// let headers = [("Unique-ID", "u-2"), ("Call-Direction", "outbound"), ("variable_billsec", "5"),
    ///                ("variable_answer_epoch", "1795261109"), ("Caller-Destination-Number", "1000")];
    /// let cdr = billing::Cdr::from_pairs(headers, &Default::default())?;
    /// assert_eq!(cdr.leg, billing::Leg::B);
    /// assert_eq!(cdr.answered_at(), Some(1_795_261_109));
    /// # Ok::<(), billing::CdrError>(())
    /// ```
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        options: &CdrOptions,
    ) -> Result<Self, CdrError> {
        let mut map = Map::new();
        for (name, value) in pairs {
            map.insert(name.to_owned(), Value::String(value.to_owned()));
        }
        let get = |name: &str| {
            map.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let var = |name: &str| get(&format!("variable_{name}")).or_else(|| get(name));
        let mut links = links::from_variables(var);
        if let Some(other) = get("Other-Leg-Unique-ID") {
            links::collect("Other-Leg-Unique-ID", &other, &mut links);
        }
        let fields = Fields {
            uuid: var("uuid").or_else(|| get("Unique-ID")),
            direction: get("Call-Direction").or_else(|| var("direction")),
            core_uuid: get("Core-UUID"),
            switchname: get("FreeSWITCH-Switchname"),
            start: (var("start_uepoch"), var("start_epoch")),
            answer: (var("answer_uepoch"), var("answer_epoch")),
            end: (var("end_uepoch"), var("end_epoch")),
            billsec: var("billsec"),
            billmsec: var("billmsec"),
            duration: var("duration"),
            caller_id_number: var("caller_id_number").or_else(|| get("Caller-Caller-ID-Number")),
            destination: var("destination_number").or_else(|| get("Caller-Destination-Number")),
            hangup_cause: var("hangup_cause").or_else(|| get("Hangup-Cause")),
            tenant: var(&options.tenant_variable),
            accountcode: var("accountcode"),
            links,
            context: get("Caller-Context").or_else(|| var("context")),
            domain: var("domain_name").or_else(|| var("presence_id").and_then(domain_of)),
            gateway: var("sip_gateway_name"),
            format: None,
        };
        let raw = Value::Object(map).to_string();
        fields.into_cdr(raw)
    }

    /// When the call was answered, Unix seconds.
    pub fn answered_at(&self) -> Option<i64> {
        self.answer_us.map(|us| us.div_euclid(1_000_000))
    }

    /// Milliseconds from answer to hangup (`billmsec`, else `billsec` × 1000).
    pub fn duration_ms(&self) -> u64 {
        self.billmsec.unwrap_or(self.billsec * 1000)
    }

    /// Whether this leg reached the outside: an outbound leg through a sofia gateway (the
    /// trunk leg). A call is rated on it, and only on it, when it has one.
    ///
    /// ```
    /// let trunk = billing::Cdr::from_pairs(
    ///     [("Unique-ID", "u-3"), ("Call-Direction", "outbound"), ("variable_sip_gateway_name", "trunk")],
    ///     &Default::default(),
    /// )?;
    /// assert!(trunk.reaches_outside());
    /// # Ok::<(), billing::CdrError>(())
    /// ```
    pub fn reaches_outside(&self) -> bool {
        self.gateway.is_some() && self.direction.as_deref() == Some("outbound")
    }
}

/// The domain of `user@domain`.
fn domain_of(presence_id: String) -> Option<String> {
    presence_id
        .split_once('@')
        .map(|(_, domain)| domain.to_owned())
        .filter(|domain| !domain.is_empty())
}

/// The fields a CDR is made of, as found, before validation.
struct Fields {
    uuid: Option<String>,
    direction: Option<String>,
    core_uuid: Option<String>,
    switchname: Option<String>,
    start: (Option<String>, Option<String>),
    answer: (Option<String>, Option<String>),
    end: (Option<String>, Option<String>),
    billsec: Option<String>,
    billmsec: Option<String>,
    duration: Option<String>,
    caller_id_number: Option<String>,
    destination: Option<String>,
    hangup_cause: Option<String>,
    tenant: Option<String>,
    accountcode: Option<String>,
    links: Vec<String>,
    context: Option<String>,
    domain: Option<String>,
    gateway: Option<String>,
    format: Option<JsonCdrFormat>,
}

fn number(field: &'static str, value: Option<&str>) -> Result<Option<u64>, CdrError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    value
        .parse::<u64>()
        .map(Some)
        .map_err(|_| CdrError::BadNumber {
            field,
            value: value.to_owned(),
        })
}

/// A time from `*_uepoch` (microseconds) or `*_epoch` (seconds); `0` means never.
fn epoch_us(
    field: &'static str,
    (micros, seconds): &(Option<String>, Option<String>),
) -> Result<Option<i64>, CdrError> {
    let value = match number(field, micros.as_deref())? {
        Some(us) => Some(us),
        None => number(field, seconds.as_deref())?.map(|s| s.saturating_mul(1_000_000)),
    };
    Ok(value
        .filter(|&v| v > 0)
        .map(|v| i64::try_from(v).unwrap_or(i64::MAX)))
}

impl Fields {
    fn into_cdr(self, raw: String) -> Result<Cdr, CdrError> {
        let uuid = self
            .uuid
            .filter(|u| !u.trim().is_empty())
            .ok_or(CdrError::MissingUuid)?;
        if !links::is_uuid_like(&uuid) {
            return Err(CdrError::BadUuid(uuid.chars().take(64).collect()));
        }
        let mut links = self.links;
        links::tidy(&uuid, &mut links);
        let billsec = number("billsec", self.billsec.as_deref())?.unwrap_or(0);
        let billmsec = number("billmsec", self.billmsec.as_deref())?;
        let duration = number("duration", self.duration.as_deref())?.unwrap_or(billsec);
        for (field, value) in [
            ("billsec", billsec),
            ("duration", duration),
            ("billmsec", billmsec.unwrap_or(0) / 1000),
        ] {
            if value > MAX_BILLSEC {
                return Err(CdrError::Absurd { field, value });
            }
        }
        let leg = match self.direction.as_deref() {
            Some("outbound") => Leg::B,
            _ => Leg::A,
        };
        Ok(Cdr {
            uuid,
            leg,
            core_uuid: self.core_uuid,
            switchname: self.switchname,
            direction: self.direction,
            start_us: epoch_us("start_epoch", &self.start)?,
            answer_us: epoch_us("answer_epoch", &self.answer)?,
            end_us: epoch_us("end_epoch", &self.end)?,
            billsec,
            billmsec,
            duration,
            caller_id_number: self.caller_id_number,
            destination: self.destination,
            hangup_cause: self.hangup_cause.as_deref().map(HangupCause::from),
            tenant: self.tenant,
            accountcode: self.accountcode,
            links,
            context: self.context,
            domain: self.domain,
            gateway: self.gateway,
            format: self.format,
            raw,
        })
    }
}
