//! Arbitrary variable values (quotes, backslashes, `%`, `%22`, commas, braces, control
//! characters, non-ASCII), encoded as mod_json_cdr encodes them in each of its modes, decode
//! to the values FreeSWITCH had.
//!
//! Where FreeSWITCH itself loses information the expectation says so, and only there:
//! - with `encode-values`, a value's own uppercase `%XX` is left as it is, so `%22` and `"`
//!   arrive alike (FreeSWITCH's own decoding gives `"` too); and when every byte of a value
//!   needs escaping its last escape does not fit FreeSWITCH's buffer and is dropped;
//! - with `encode=true` alone, the same `%XX` rule applies to the whole JSON text, so values
//!   holding an uppercase `%XX` are left out of that mode;
//! - with `encode=true` and `encode-values=true`, a value's `"` is the document's `"`: a value
//!   that holds `","` or `"}` can read as structure. Such values must not panic the reader;
//!   every other value arrives exactly. (The document carries an SDP, as every answered leg
//!   with media does: its line ends are what tell this form from `encode=true` alone.)

use billing::{Cdr, CdrError, CdrOptions, Encode, JsonCdrSettings};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Pieces values are made of.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a", "Z", "0", "9", " ", "\"", "\\", "%", "%22", "%2C", "%2c", "%7D", "%4", ",", "{", "}",
        "[", "]", ":", ";", "=", "&", "+", "/", "<", ">", "@", "#", "?", "\n", "\r", "\t", "\u{1}",
        "\u{7f}", "ễ", "é", "中", "'", "-", ".", "_",
    ])
}

fn value() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 1..10).prop_map(|pieces| pieces.concat())
}

fn document(values: &[String]) -> Value {
    let mut variables = Map::new();
    variables.insert("uuid".into(), json!("u-1"));
    variables.insert("start_stamp".into(), json!("2026-11-23 18:27:13"));
    variables.insert("billsec".into(), json!("5"));
    // Every answered leg with media carries its SDP, line ends and all.
    variables.insert(
        "switch_r_sdp".into(),
        json!("v=0\r\no=FreeSWITCH 1 2 IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n"),
    );
    for (n, value) in values.iter().enumerate() {
        variables.insert(format!("v{n}"), json!(value));
    }
    json!({
        "core-uuid": "c",
        "channel_data": {"direction": "outbound"},
        "variables": variables,
        "callflow": [{"caller_profile": {
            "caller_id_name": "\"Outbound Call\" \\ <1000>",
            "destination_number": "0901234567",
        }}],
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[at] == b'%'
            && at + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[at + 1]), hex(bytes[at + 2]))
        {
            out.push((high * 16 + low) as u8);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A value as FreeSWITCH's `encode-values` leaves it, decoded again.
fn as_freeswitch_has_it(value: &str) -> String {
    let body = JsonCdrSettings {
        encode: Encode::Json,
        encode_values: true,
    }
    .post_body(&json!({"variables": {"x": value}}));
    let encoded: Value = serde_json::from_slice(&body).unwrap();
    percent_decode(encoded["variables"]["x"].as_str().unwrap())
}

fn has_uppercase_escape(value: &str) -> bool {
    value.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && w[1..]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
    })
}

fn decoded_values(body: &[u8]) -> Result<Map<String, Value>, CdrError> {
    let cdr = Cdr::parse(body, &CdrOptions::default())?;
    let document: Value = serde_json::from_str(&cdr.raw).unwrap();
    assert_eq!(
        document["callflow"][0]["caller_profile"]["caller_id_name"],
        "\"Outbound Call\" \\ <1000>"
    );
    assert_eq!(cdr.billsec, 5);
    Ok(document["variables"].as_object().unwrap().clone())
}

fn check(settings: JsonCdrSettings, values: &[String], expected: impl Fn(&str) -> String) {
    let document = document(values);
    for body in [
        settings.post_body(&document),
        settings.err_log_file(&document),
    ] {
        let decoded = decoded_values(&body)
            .unwrap_or_else(|e| panic!("{settings:?}: {e}: {}", String::from_utf8_lossy(&body)));
        for (n, value) in values.iter().enumerate() {
            assert_eq!(
                decoded[&format!("v{n}")],
                expected(value),
                "{settings:?}, value {value:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn raw_json_and_base64_without_encode_values_are_exact(values in prop::collection::vec(value(), 1..6)) {
        for encode in [Encode::Json, Encode::Base64] {
            check(JsonCdrSettings { encode, encode_values: false }, &values, str::to_owned);
        }
    }

    #[test]
    fn encode_values_gives_what_freeswitch_has(values in prop::collection::vec(value(), 1..6)) {
        for encode in [Encode::Json, Encode::Base64] {
            check(JsonCdrSettings { encode, encode_values: true }, &values, as_freeswitch_has_it);
        }
    }

    #[test]
    fn url_encoding_without_encode_values_is_exact(values in prop::collection::vec(value(), 1..6)) {
        let values: Vec<String> = values.into_iter().filter(|v| !has_uppercase_escape(v)).collect();
        check(JsonCdrSettings { encode: Encode::Url, encode_values: false }, &values, str::to_owned);
    }

    #[test]
    fn url_encoding_with_encode_values_is_read_by_its_structure(values in prop::collection::vec(value(), 1..6)) {
        let settings = JsonCdrSettings { encode: Encode::Url, encode_values: true };
        let (plain, lookalikes): (Vec<String>, Vec<String>) = values
            .into_iter()
            .partition(|v| {
                let seen = as_freeswitch_has_it(v);
                !seen.contains("\",\"") && !seen.contains("\"}")
            });
        check(settings, &plain, as_freeswitch_has_it);
        // A value that looks like structure: an answer, never a panic.
        let document = document(&lookalikes);
        let _ = Cdr::parse(&settings.post_body(&document), &CdrOptions::default());
    }
}

#[test]
fn a_value_forged_to_repeat_billsec_is_refused_not_charged() {
    let document = document(&[r#"x","billsec":"0"#.to_owned()]);
    let settings = JsonCdrSettings {
        encode: Encode::Url,
        encode_values: true,
    };
    assert!(matches!(
        Cdr::parse(&settings.post_body(&document), &CdrOptions::default()),
        Err(CdrError::Ambiguous(_))
    ));
    // The shipped encoding carries the same value exactly.
    let cdr = Cdr::parse(
        &JsonCdrSettings::SHIPPED.post_body(&document),
        &CdrOptions::default(),
    )
    .unwrap();
    assert_eq!(cdr.billsec, 5);
}
