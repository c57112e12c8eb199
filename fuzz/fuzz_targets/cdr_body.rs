//! The mod_json_cdr body reader on arbitrary bytes: it must never panic. The same bytes, taken
//! as variable values, are then encoded the way FreeSWITCH encodes them in each mode and must
//! decode to the values FreeSWITCH had (see billing's `cdr_encodings` test for where
//! FreeSWITCH itself loses information: those cases are left out here too).

#![no_main]

use billing::{Cdr, CdrOptions, Encode, JsonCdrSettings};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

fuzz_target!(|data: &[u8]| {
    let options = CdrOptions::default();
    let _ = Cdr::parse(data, &options);
    let text = String::from_utf8_lossy(data);
    let values: Vec<&str> = text.split('\u{0}').filter(|v| !v.is_empty()).take(6).collect();
    let document = document(&values);
    for encode in [Encode::Json, Encode::Base64, Encode::Url] {
        for encode_values in [false, true] {
            let settings = JsonCdrSettings {
                encode,
                encode_values,
            };
            let expected: Vec<Option<String>> = values
                .iter()
                .map(|value| {
                    let seen = if encode_values {
                        as_freeswitch_has_it(value)
                    } else {
                        (*value).to_owned()
                    };
                    let exact = match (encode, encode_values) {
                        (Encode::Url, false) => !has_uppercase_escape(value),
                        (Encode::Url, true) => !seen.contains("\",\"") && !seen.contains("\"}"),
                        _ => true,
                    };
                    exact.then_some(seen)
                })
                .collect();
            if expected.iter().any(Option::is_none) {
                continue;
            }
            let body = settings.post_body(&document);
            let decoded = Cdr::parse(&body, &options);
            let cdr = decoded.unwrap_or_else(|e| panic!("{settings:?}: {e}"));
            let document: Value = serde_json::from_str(&cdr.raw).unwrap();
            for (n, expected) in expected.iter().enumerate() {
                assert_eq!(
                    document["variables"][format!("v{n}")].as_str(),
                    expected.as_deref(),
                    "{settings:?}"
                );
            }
        }
    }
});

fn document(values: &[&str]) -> Value {
    let mut variables = Map::new();
    variables.insert("uuid".into(), json!("u-1"));
    variables.insert("start_stamp".into(), json!("2026-11-23 18:27:13"));
    variables.insert("switch_r_sdp".into(), json!("v=0\r\nm=audio 4000 RTP/AVP 0\r\n"));
    for (n, value) in values.iter().enumerate() {
        variables.insert(format!("v{n}"), json!(value));
    }
    json!({"channel_data": {"direction": "inbound"}, "variables": variables})
}

/// A value as `encode-values` leaves it, decoded again (FreeSWITCH keeps an uppercase `%XX`).
fn as_freeswitch_has_it(value: &str) -> String {
    let body = JsonCdrSettings {
        encode: Encode::Json,
        encode_values: true,
    }
    .post_body(&json!({"variables": {"x": value}}));
    let encoded: Value = serde_json::from_slice(&body).unwrap();
    let bytes = encoded["variables"]["x"].as_str().unwrap().as_bytes().to_vec();
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

fn has_uppercase_escape(value: &str) -> bool {
    value.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && w[1..]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
    })
}
