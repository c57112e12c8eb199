//! mod_json_cdr's encodings: the settings that choose one (`encode`, `encode-values` in
//! `json_cdr.conf.xml`), what was found in a body, and the encoder itself, which writes a
//! document exactly as FreeSWITCH 1.10 posts it or leaves it in its err-log-dir.

use super::url::freeswitch_encode;
use base64::Engine;
use serde_json::Value;

/// mod_json_cdr's `encode` setting: how the document is put in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encode {
    /// `encode=false`: the JSON itself.
    Json,
    /// `encode=true`: `cdr=` and the JSON URL-encoded.
    Url,
    /// `encode=base64`: `cdr=` and the JSON in base64.
    Base64,
}

impl Encode {
    /// The setting's value in `json_cdr.conf.xml`.
    ///
    /// ```
    /// assert_eq!(billing::Encode::Base64.as_str(), "base64");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Json => "false",
            Self::Url => "true",
            Self::Base64 => "base64",
        }
    }
}

/// Whether a body's variable values were URL-encoded (`encode-values`), as far as it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Values {
    /// As they are.
    Plain,
    /// URL-encoded.
    Encoded,
    /// The body reads the same either way (`encode=true` without a value that tells).
    Unknown,
}

impl Values {
    /// The `encode-values` setting it shows: `true`, `false`, or `unknown`.
    ///
    /// ```
    /// assert_eq!(billing::Values::Encoded.as_str(), "true");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "false",
            Self::Encoded => "true",
            Self::Unknown => "unknown",
        }
    }
}

/// How a body was found to be encoded ([`crate::Cdr::format`]).
///
/// ```
/// use billing::{Encode, JsonCdrFormat, Values};
/// let found = JsonCdrFormat { encode: Encode::Url, values: Values::Encoded };
/// assert!(found.is_ambiguous());
/// assert_eq!(found.to_string(), "encode=true encode-values=true");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JsonCdrFormat {
    /// The `encode` setting.
    pub encode: Encode,
    /// The `encode-values` setting, as far as the body shows it.
    pub values: Values,
}

impl JsonCdrFormat {
    /// `encode=true` with `encode-values=true`: a value's `"` is written like the document's
    /// own quotes, so the body is read by its structure and a value crafted to look like
    /// structure cannot always be told from it.
    pub fn is_ambiguous(&self) -> bool {
        self.encode == Encode::Url && self.values == Values::Encoded
    }
}

impl std::fmt::Display for JsonCdrFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "encode={} encode-values={}",
            self.encode.as_str(),
            self.values.as_str()
        )
    }
}

/// mod_json_cdr's settings, and what it writes with them: the encoder, for tests, replays and
/// load generators that must send what FreeSWITCH sends.
///
/// ```
/// use billing::{Cdr, Encode, JsonCdrSettings};
/// let document = serde_json::json!({
///     "channel_data": {"direction": "outbound"},
///     "variables": {"uuid": "u-1", "caller_id": "\"Outbound Call\" <1000>", "billsec": "5"},
/// });
/// let settings = JsonCdrSettings { encode: Encode::Url, encode_values: true };
/// let body = settings.post_body(&document);
/// assert!(body.starts_with(b"cdr=%7B%22channel_data%22"));
/// let cdr = Cdr::parse(&body, &Default::default())?;
/// assert_eq!(cdr.billsec, 5);
/// // The same text, without `cdr=`, is what its err-log-dir file holds.
/// assert_eq!(&settings.err_log_file(&document)[..], &[&body[4..], b"\n"].concat()[..]);
/// # Ok::<(), billing::CdrError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JsonCdrSettings {
    /// `encode`.
    pub encode: Encode,
    /// `encode-values` (FreeSWITCH's default is `true`).
    pub encode_values: bool,
}

impl JsonCdrSettings {
    /// What the deploy file ships: raw JSON, values as they are. Nothing in it is ambiguous
    /// and every value arrives exactly.
    pub const SHIPPED: Self = Self {
        encode: Encode::Json,
        encode_values: false,
    };

    /// The body FreeSWITCH posts for `document`.
    pub fn post_body(&self, document: &Value) -> Vec<u8> {
        let payload = self.payload(document);
        match self.encode {
            Encode::Json => payload,
            Encode::Url | Encode::Base64 => [&b"cdr="[..], &payload].concat(),
        }
    }

    /// What FreeSWITCH writes to its err-log-dir for `document` when the post fails: the
    /// body without `cdr=`, and a newline.
    pub fn err_log_file(&self, document: &Value) -> Vec<u8> {
        let mut file = self.payload(document);
        file.push(b'\n');
        file
    }

    /// The document in the body, without `cdr=`.
    fn payload(&self, document: &Value) -> Vec<u8> {
        let json = if self.encode_values {
            encode_values(document).to_string()
        } else {
            document.to_string()
        };
        match self.encode {
            Encode::Json => json.into_bytes(),
            Encode::Url => {
                let mut out = Vec::with_capacity(json.len() * 2);
                freeswitch_encode(json.as_bytes(), &mut out);
                out
            }
            Encode::Base64 => base64::engine::general_purpose::STANDARD
                .encode(json)
                .into_bytes(),
        }
    }
}

/// The document with each string in `variables` URL-encoded, as `encode-values` does.
fn encode_values(document: &Value) -> Value {
    let mut document = document.clone();
    if let Some(Value::Object(variables)) = document.get_mut("variables") {
        for value in variables.values_mut() {
            if let Value::String(text) = value {
                let mut out = Vec::with_capacity(text.len());
                freeswitch_encode(text.as_bytes(), &mut out);
                // The encoder writes ASCII only.
                *text = String::from_utf8(out).unwrap_or_default();
            }
        }
    }
    document
}
