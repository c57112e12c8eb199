//! Properties over arbitrary input: values survive encoding and parsing unchanged, commands
//! cannot be broken out of, and no byte sequence makes the parser panic.

mod common;

use bytes::{Bytes, BytesMut};
use common::{SplitMix, decode_in_chunks};
use esl::proto::{Command, Event, EventFormat, FrameDecoder, Limits, SendMsg, write_plain_event};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,24}"
}

fn headers() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(header_name(), any::<String>(), 0..24)
}

fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn xml_escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Case-insensitive duplicates would make "the first header with this name" ambiguous.
fn distinct_ignoring_case(headers: &BTreeMap<String, String>) -> bool {
    let lower: std::collections::BTreeSet<_> =
        headers.keys().map(|k| k.to_ascii_lowercase()).collect();
    lower.len() == headers.len() && !lower.contains("content-length")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn plain_events_round_trip(
        headers in headers().prop_filter("distinct", distinct_ignoring_case),
        body in prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
        seed in any::<u64>(),
    ) {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut wire = BytesMut::new();
        write_plain_event(&pairs, body.as_deref(), &mut wire).unwrap();
        let mut rng = SplitMix(seed);
        let frames = decode_in_chunks(&wire, || rng.size(64));
        prop_assert_eq!(frames.len(), 1);
        let event = frames[0].event().unwrap();
        prop_assert_eq!(event.len(), headers.len() + usize::from(body.is_some()));
        for (name, value) in &headers {
            let got = event.header(name);
            prop_assert_eq!(got.as_deref(), Some(value.as_str()));
        }
        prop_assert_eq!(event.body(), body.as_deref());
    }

    #[test]
    fn json_events_round_trip(headers in headers().prop_filter("distinct", distinct_ignoring_case)) {
        let object: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let body = Bytes::from(serde_json::to_vec(&object).unwrap());
        let event = Event::parse(body, EventFormat::Json, 1024).unwrap();
        for (name, value) in &headers {
            let got = event.header(name);
            prop_assert_eq!(got.as_deref(), Some(value.as_str()));
        }
    }

    #[test]
    fn xml_events_round_trip(headers in headers().prop_filter("distinct", distinct_ignoring_case)) {
        let mut doc = String::from("<event>\n  <headers>\n");
        for (name, value) in &headers {
            doc.push_str(&format!("    <{name}>{}</{name}>\n", xml_escape(&url_encode(value))));
        }
        doc.push_str("  </headers>\n</event>\n");
        let event = Event::parse(Bytes::from(doc), EventFormat::Xml, 1024).unwrap();
        for (name, value) in &headers {
            let got = event.header(name);
            prop_assert_eq!(got.as_deref(), Some(value.as_str()));
        }
    }

    #[test]
    fn commands_are_one_line_or_refused(value in any::<String>()) {
        let commands = [
            Command::Api { command: &value },
            Command::BgApi { command: &value, job_uuid: None },
            Command::Filter { header: "Unique-ID", value: &value },
            Command::Auth { password: &value },
        ];
        for command in commands {
            match command.to_bytes() {
                Ok(bytes) => {
                    prop_assert!(!value.contains(['\n', '\r']));
                    // The only line break is the blank line that ends the command.
                    let first_break = bytes.iter().position(|&b| b == b'\n').unwrap();
                    prop_assert_eq!(first_break, bytes.len() - 2);
                    prop_assert!(bytes.ends_with(value.as_bytes().iter().chain(b"\n\n").copied().collect::<Vec<u8>>().as_slice()));
                }
                Err(_) => prop_assert!(value.contains(['\n', '\r']) || value.trim().is_empty()),
            }
        }
    }

    #[test]
    fn sendmsg_headers_cannot_be_injected(arg in any::<String>(), extra in any::<String>()) {
        let command = Command::SendMsg(
            SendMsg::execute("playback", Some(&arg)).header("X-Extra", &extra),
        );
        match command.to_bytes() {
            Ok(bytes) => {
                let text = std::str::from_utf8(&bytes).unwrap();
                // sendmsg line, three headers, blank line.
                prop_assert_eq!(text.matches('\n').count(), 6);
                prop_assert!(text.ends_with("\n\n"));
            }
            Err(_) => prop_assert!((arg.clone() + &extra).contains(['\n', '\r'])),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&input);
    }

    #[test]
    fn arbitrary_event_bodies_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..1024),
        kind in 0usize..3,
    ) {
        let content_type = ["text/event-plain", "text/event-json", "text/event-xml"][kind];
        let mut input = format!("Content-Length: {}\nContent-Type: {content_type}\n\n", body.len()).into_bytes();
        input.extend_from_slice(&body);
        exercise(&input);
    }

    #[test]
    fn mangled_captures_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)) {
        let mut input = common::capture("esl-misc.raw");
        for (index, byte) in flips {
            let i = index.index(input.len());
            input[i] = byte;
        }
        exercise(&input);
    }
}

/// Decodes everything decodable and touches every accessor.
fn exercise(input: &[u8]) {
    let mut decoder = FrameDecoder::with_limits(Limits::default().max_frame_size(64 * 1024));
    let mut buf = BytesMut::from(input);
    while let Ok(Some(frame)) = decoder.decode(&mut buf) {
        let _ = frame.headers().count();
        let _ = frame.disconnect();
        let channel = frame.channel_data();
        let _ = channel.headers().count();
        if let Ok(event) = frame.event() {
            let _ = event.headers().count();
            let _ = event.variables().count();
            let names: Vec<String> = event.headers().map(|(n, _)| n.into_owned()).collect();
            for name in names {
                let _ = event.header_array(&name);
            }
            let _ = (event.sequence(), event.channel_state(), event.body_text());
        }
    }
}
