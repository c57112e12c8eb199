//! The bodies mod_json_cdr writes, read into one JSON document whatever their form: posted
//! (`cdr=` + text) or left in its err-log-dir (the same text without `cdr=`), raw JSON,
//! URL-encoded or base64, with or without `encode-values`. The Content-Type is not trusted
//! (FreeSWITCH sends `application/x-www-form-urlencoded` for raw JSON too).

use super::CdrError;
use super::format::{Encode, JsonCdrFormat, Values};
use super::structural;
use super::unique::{self, ParseError};
use super::url::{is_freeswitch_encoded, percent_decode};
use base64::Engine;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// A body read: the document, its values as FreeSWITCH had them, and the JSON text to keep.
pub(super) struct Decoded<'a> {
    pub(super) document: Map<String, Value>,
    /// How the body was encoded.
    pub(super) format: JsonCdrFormat,
    /// The document as JSON text: the body itself when it was plain JSON, else the decoded
    /// document written out.
    pub(super) text: Cow<'a, str>,
}

/// Reads a body in any of mod_json_cdr's forms.
pub(super) fn decode(body: &[u8]) -> Result<Decoded<'_>, CdrError> {
    let body = body.trim_ascii();
    if body.is_empty() {
        return Err(CdrError::Empty);
    }
    let payload = match body.strip_prefix(b"cdr=") {
        // A form: FreeSWITCH sends the one field, and neither encoding leaves a bare `&`.
        Some(form) => form.split(|&b| b == b'&').next().unwrap_or_default(),
        None => body,
    };
    let payload = payload.trim_ascii();
    if payload.is_empty() {
        return Err(CdrError::Empty);
    }
    if payload.starts_with(b"{") {
        json(payload, Encode::Json)
    } else if payload.len() >= 3 && payload[..3].eq_ignore_ascii_case(b"%7B") {
        url_encoded(payload)
    } else {
        base64(payload)
    }
}

/// `encode=false`: JSON, its variable values URL-encoded or not (`encode-values`).
fn json(payload: &[u8], encode: Encode) -> Result<Decoded<'_>, CdrError> {
    // Invalid UTF-8 (a raw SIP display name, say) cannot be in a JSON string: replaced.
    let text = String::from_utf8_lossy(payload);
    let mut document = object(parse(&text)?)?;
    let values = if values_are_encoded(&document) {
        decode_values(&mut document);
        Values::Encoded
    } else {
        Values::Plain
    };
    let text = match values {
        Values::Plain => text,
        _ => Cow::Owned(Value::Object(document.clone()).to_string()),
    };
    Ok(Decoded {
        document,
        format: JsonCdrFormat { encode, values },
        text,
    })
}

/// `encode=base64`: base64 of the JSON (FreeSWITCH does not URL-encode it: `+` stays `+`).
fn base64(payload: &[u8]) -> Result<Decoded<'static>, CdrError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|e| {
            CdrError::NotJson(format!("neither JSON, URL-encoded JSON nor base64: {e}"))
        })?;
    let decoded = json(&bytes, Encode::Base64)?;
    Ok(Decoded {
        document: decoded.document,
        format: decoded.format,
        text: Cow::Owned(decoded.text.into_owned()),
    })
}

/// `encode=true`: one URL-decoding gives the JSON unless values were URL-encoded too and one
/// holds a `"`, a `\` or a control character; that form is read by its structure.
///
/// The two forms differ only in such values. A control character tells them apart for sure:
/// JSON escapes it (`%5Cn`), only `encode-values` writes it as `%0A`, and every answered leg
/// with media has one (its SDP's line ends). Without one, the text is taken as JSON when it
/// parses as JSON; only a value holding a backslash before `"` or an escape letter, in a CDR
/// without any control character, can then read differently from what FreeSWITCH had.
fn url_encoded(payload: &[u8]) -> Result<Decoded<'static>, CdrError> {
    if has_control_escape(payload) {
        return structural_read(payload);
    }
    let once = percent_decode(payload, true);
    let once = String::from_utf8_lossy(&once);
    let (document, values) = match unique::parse(&once) {
        // With or without encode-values, the values are now as FreeSWITCH had them.
        Ok(document) => (object(document)?, Values::Unknown),
        Err(ParseError::Repeated(key)) => return Err(repeated(&key)),
        Err(ParseError::Syntax(_)) => return structural_read(payload),
    };
    Ok(url_decoded(document, values))
}

fn structural_read(payload: &[u8]) -> Result<Decoded<'static>, CdrError> {
    let document = object(structural::read(payload)?)?;
    Ok(url_decoded(document, Values::Encoded))
}

fn url_decoded(document: Map<String, Value>, values: Values) -> Decoded<'static> {
    let text = Value::Object(document.clone()).to_string();
    Decoded {
        document,
        format: JsonCdrFormat {
            encode: Encode::Url,
            values,
        },
        text: Cow::Owned(text),
    }
}

/// Whether the text holds `%00` to `%1F`.
fn has_control_escape(text: &[u8]) -> bool {
    text.windows(3)
        .any(|w| w[0] == b'%' && (w[1] == b'0' || w[1] == b'1') && w[2].is_ascii_hexdigit())
}

fn parse(text: &str) -> Result<Value, CdrError> {
    unique::parse(text).map_err(|error| match error {
        ParseError::Syntax(error) => CdrError::NotJson(error.to_string()),
        ParseError::Repeated(key) => repeated(&key),
    })
}

fn repeated(key: &str) -> CdrError {
    CdrError::Ambiguous(format!("the key {key:?} appears twice"))
}

fn object(document: Value) -> Result<Map<String, Value>, CdrError> {
    match document {
        Value::Object(document) => Ok(document),
        _ => Err(CdrError::NotJson("not a JSON object".into())),
    }
}

/// Whether `encode-values` was on: every variable value is something FreeSWITCH's encoder
/// could have written, and one at least holds an escape. Without it, values such as
/// `start_stamp` (`2026-11-23 18:27:13`) hold characters the encoder would have escaped.
fn values_are_encoded(document: &Map<String, Value>) -> bool {
    let Some(Value::Object(variables)) = document.get("variables") else {
        return false;
    };
    let mut escapes = false;
    for value in variables.values() {
        let Value::String(value) = value else {
            continue;
        };
        if !is_freeswitch_encoded(value.as_bytes()) {
            return false;
        }
        escapes |= value.contains('%');
    }
    escapes
}

fn decode_values(document: &mut Map<String, Value>) {
    if let Some(Value::Object(variables)) = document.get_mut("variables") {
        for value in variables.values_mut() {
            if let Value::String(text) = value {
                let decoded = percent_decode(text.as_bytes(), false);
                *text = String::from_utf8_lossy(&decoded).into_owned();
            }
        }
    }
}
