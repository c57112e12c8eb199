//! Every real FreeSWITCH capture frames and parses whole, however the bytes are split.

mod common;

use common::{SplitMix, capture, decode_in_chunks, decode_whole};
use esl::proto::{ContentType, Disconnect, Event, EventFormat, EventName, Frame, HangupCause};
use std::collections::BTreeMap;

const CAPTURES: [&str; 8] = [
    "esl-plain.raw",
    "esl-json.raw",
    "esl-xml.raw",
    "esl-log.raw",
    "esl-misc.raw",
    "esl-outbound.raw",
    "esl-auth-fail.raw",
    "esl-preauth.raw",
];

fn counts_by_type(frames: &[Frame]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for frame in frames {
        *counts
            .entry(format!("{:?}", frame.content_type()))
            .or_default() += 1;
    }
    counts
}

fn events(frames: &[Frame]) -> Vec<Event> {
    frames
        .iter()
        .filter(|f| f.is_event())
        .map(|f| f.event().expect("every captured event parses"))
        .collect()
}

fn counts_by_event_name(events: &[Event]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in events {
        let name = event.name().expect("every event has a name").into_owned();
        *counts.entry(name).or_default() += 1;
    }
    counts
}

fn expect_counts(got: BTreeMap<String, usize>, want: &[(&str, usize)]) {
    let want: BTreeMap<String, usize> = want.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(got, want);
}

#[test]
fn every_capture_frames_identically_in_random_splits() {
    for name in CAPTURES {
        let stream = capture(name);
        let whole = decode_whole(&stream);
        for seed in 0..20 {
            let mut rng = SplitMix(seed);
            let max = if seed % 2 == 0 { 4096 } else { 16 };
            let split = decode_in_chunks(&stream, || rng.size(max));
            assert_eq!(split.len(), whole.len(), "{name} seed {seed}");
            for (a, b) in whole.iter().zip(&split) {
                assert_eq!(a.as_bytes(), b.as_bytes(), "{name} seed {seed}");
            }
        }
        let byte_by_byte = decode_in_chunks(&stream, || 1);
        assert_eq!(byte_by_byte.len(), whole.len(), "{name} byte by byte");
        let frame_bytes: usize = whole.iter().map(|f| f.as_bytes().len()).sum();
        assert!(frame_bytes <= stream.len());
    }
}

/// The event names of the call the plain, JSON and XML captures each recorded.
const CALL_EVENTS: [(&str, usize); 22] = [
    ("API", 8),
    ("BACKGROUND_JOB", 2),
    ("CALL_UPDATE", 1),
    ("CHANNEL_ANSWER", 2),
    ("CHANNEL_CALLSTATE", 5),
    ("CHANNEL_CREATE", 2),
    ("CHANNEL_DESTROY", 2),
    ("CHANNEL_EXECUTE", 5),
    ("CHANNEL_EXECUTE_COMPLETE", 5),
    ("CHANNEL_HANGUP", 2),
    ("CHANNEL_HANGUP_COMPLETE", 2),
    ("CHANNEL_ORIGINATE", 1),
    ("CHANNEL_OUTGOING", 1),
    ("CHANNEL_STATE", 13),
    ("CHANNEL_UUID", 1),
    ("CODEC", 4),
    ("MEDIA_BUG_START", 1),
    ("MEDIA_BUG_STOP", 1),
    ("PLAYBACK_START", 2),
    ("PLAYBACK_STOP", 2),
    ("RECORD_START", 1),
    ("RECORD_STOP", 1),
];

#[test]
fn event_captures_have_the_expected_frames_and_events() {
    for (name, event_type, format) in [
        ("esl-plain.raw", "EventPlain", EventFormat::Plain),
        ("esl-json.raw", "EventJson", EventFormat::Json),
        ("esl-xml.raw", "EventXml", EventFormat::Xml),
    ] {
        let frames = decode_whole(&capture(name));
        expect_counts(
            counts_by_type(&frames),
            &[
                ("AuthRequest", 1),
                ("CommandReply", 6),
                ("ApiResponse", 6),
                (event_type, 64),
                ("DisconnectNotice", 1),
            ],
        );
        let events = events(&frames);
        assert!(events.iter().all(|e| e.format() == format));
        expect_counts(counts_by_event_name(&events), &CALL_EVENTS);
        // Every event of the call names the FreeSWITCH that sent it, decoded identically.
        for event in &events {
            assert_eq!(
                event.core_uuid().as_deref(),
                Some("92cfd863-95cb-4f93-8b76-8f2ba2d08e4c")
            );
            assert_eq!(event.header("FreeSWITCH-IPv6").as_deref(), Some("fd00::2"));
            assert!(event.sequence().is_some(), "{name}: {event:?}");
        }
    }
}

#[test]
fn other_captures_have_the_expected_frames_and_events() {
    let log = decode_whole(&capture("esl-log.raw"));
    expect_counts(
        counts_by_type(&log),
        &[
            ("AuthRequest", 1),
            ("CommandReply", 5),
            ("ApiResponse", 1),
            ("LogData", 120),
            ("DisconnectNotice", 1),
        ],
    );
    let misc = decode_whole(&capture("esl-misc.raw"));
    expect_counts(
        counts_by_type(&misc),
        &[
            ("AuthRequest", 1),
            ("CommandReply", 15),
            ("ApiResponse", 3),
            ("EventPlain", 10),
            ("DisconnectNotice", 1),
        ],
    );
    expect_counts(
        counts_by_event_name(&events(&misc)),
        &[
            ("BACKGROUND_JOB", 1),
            ("CHANNEL_ANSWER", 1),
            ("CHANNEL_CREATE", 1),
            ("CHANNEL_DESTROY", 1),
            ("CHANNEL_EXECUTE", 2),
            ("CHANNEL_EXECUTE_COMPLETE", 2),
            ("CHANNEL_HANGUP_COMPLETE", 1),
            ("CUSTOM", 1),
        ],
    );
    let outbound = decode_whole(&capture("esl-outbound.raw"));
    expect_counts(
        counts_by_type(&outbound),
        &[
            ("CommandReply", 7),
            ("EventPlain", 14),
            ("DisconnectNotice", 2),
        ],
    );
    expect_counts(
        counts_by_event_name(&events(&outbound)),
        &[
            ("CHANNEL_ANSWER", 1),
            ("CHANNEL_EXECUTE", 3),
            ("CHANNEL_EXECUTE_COMPLETE", 4),
            ("CHANNEL_HANGUP", 1),
            ("CHANNEL_HANGUP_COMPLETE", 1),
            ("CHANNEL_PARK", 1),
            ("CHANNEL_STATE", 2),
            ("CHANNEL_UNPARK", 1),
        ],
    );
    let auth_fail = decode_whole(&capture("esl-auth-fail.raw"));
    assert_eq!(auth_fail.len(), 3);
    assert_eq!(auth_fail[1].reply_text().as_deref(), Some("-ERR invalid"));
    assert_eq!(auth_fail[2].disconnect(), Some(Disconnect::Close));
    let preauth = decode_whole(&capture("esl-preauth.raw"));
    assert_eq!(preauth.len(), 4);
    assert_eq!(
        preauth[1].reply_text().as_deref(),
        Some("-ERR command not found")
    );
}

/// The `Job-UUID` each `bgapi` reply announced, and the `BACKGROUND_JOB` bodies by Job-UUID.
fn bgapi_results(frames: &[Frame]) -> (Vec<String>, BTreeMap<String, Vec<u8>>) {
    let announced = frames
        .iter()
        .filter(|f| f.content_type() == ContentType::CommandReply)
        .filter_map(|f| f.header("Job-UUID").map(|u| u.into_owned()))
        .collect();
    let results = events(frames)
        .into_iter()
        .filter(|e| e.name().as_deref() == Some("BACKGROUND_JOB"))
        .map(|e| {
            (
                e.job_uuid().unwrap().into_owned(),
                e.body().unwrap().to_vec(),
            )
        })
        .collect();
    (announced, results)
}

#[test]
fn background_job_body_is_the_bgapi_result_in_every_format() {
    for (name, call_uuid) in [
        ("esl-plain.raw", "ed22627b-4a74-4b96-b832-34a59357db96"),
        ("esl-json.raw", "e9e0875f-a631-49d6-b13d-e8a163362d56"),
        ("esl-xml.raw", "60e75c04-80ba-42ef-8b30-2a51c2ad7f1a"),
    ] {
        let frames = decode_whole(&capture(name));
        let (announced, results) = bgapi_results(&frames);
        assert_eq!(announced.len(), 2, "{name}");
        let status = &results[&announced[0]];
        let status = std::str::from_utf8(status).unwrap();
        assert!(status.starts_with("UP 0 years"), "{name}: {status:?}");
        assert!(
            status.ends_with("Current Stack Size/Max 240K/8192K\n"),
            "{name}: {status:?}"
        );
        let originate = &results[&announced[1]];
        assert_eq!(originate, format!("+OK {call_uuid}\n").as_bytes(), "{name}");
    }
    let misc = decode_whole(&capture("esl-misc.raw"));
    let (announced, results) = bgapi_results(&misc);
    assert_eq!(announced, ["11111111-2222-3333-4444-555555555555"]);
    assert_eq!(
        results[&announced[0]],
        b"+OK 19168d90-ed14-4df7-90c4-d07dd1c9c147\n"
    );
}

#[test]
fn plain_event_values_are_url_decoded() {
    let frames = decode_whole(&capture("esl-plain.raw"));
    let first = frames
        .iter()
        .find(|f| f.is_event())
        .unwrap()
        .event()
        .unwrap();
    assert_eq!(first.name().as_deref(), Some("API"));
    assert_eq!(
        first.header_raw("Event-Date-Local"),
        Some(&b"2026-11-21%2011%3A36%3A55"[..])
    );
    assert_eq!(
        first.header("Event-Date-Local").as_deref(),
        Some("2026-11-21 11:36:55")
    );
    assert_eq!(
        first.header("Event-Date-GMT").as_deref(),
        Some("Sat, 21 Nov 2026 11:36:55 GMT")
    );
    assert_eq!(first.timestamp_micros(), Some(1_795_261_015_148_372));
    assert_eq!(first.header("API-Command").as_deref(), Some("status"));
}

#[test]
fn json_and_xml_events_read_like_plain_ones() {
    for name in ["esl-plain.raw", "esl-json.raw", "esl-xml.raw"] {
        let frames = decode_whole(&capture(name));
        let events = events(&frames);
        let create = events
            .iter()
            .find(|e| e.name().as_deref() == Some("CHANNEL_CREATE"))
            .unwrap();
        assert_eq!(create.header("Call-Direction").as_deref(), Some("outbound"));
        assert_eq!(create.caller_id_number().as_deref(), Some("1000"), "{name}");
        assert!(create.unique_id().is_some());
        let hangup = events
            .iter()
            .find(|e| e.name().as_deref() == Some("CHANNEL_HANGUP_COMPLETE"))
            .unwrap();
        assert_eq!(
            hangup.hangup_cause().as_deref(),
            Some("NORMAL_CLEARING"),
            "{name}"
        );
        assert!(hangup.variable("billsec").is_some(), "{name}");
        let record = events
            .iter()
            .find(|e| e.name().as_deref() == Some("RECORD_STOP"))
            .unwrap();
        let path = record.header("Record-File-Path").unwrap();
        assert!(path.ends_with(".wav"), "{name}: {path}");
        // Every header decodes without loss of the header count.
        assert_eq!(record.headers().count(), record.len());
    }
}

#[test]
fn outbound_connect_reply_exposes_the_channel_data() {
    let frames = decode_whole(&capture("esl-outbound.raw"));
    let connect = &frames[0];
    // Content-Type comes after hundreds of channel headers, and still decides the type.
    assert_eq!(connect.content_type(), ContentType::CommandReply);
    assert!(connect.header_count() > 100);
    assert_eq!(connect.reply_text().as_deref(), Some("+OK\n"));
    assert_eq!(connect.header("Socket-Mode").as_deref(), Some("async"));
    assert_eq!(connect.header("Control").as_deref(), Some("full"));
    let channel = connect.channel_data();
    assert_eq!(channel.name().as_deref(), Some("CHANNEL_DATA"));
    assert_eq!(
        channel.header("Channel-Unique-ID").as_deref(),
        Some("77c22683-8c3f-4aa4-9acb-b8b871622dfd")
    );
    assert_eq!(
        channel.header("Channel-Destination-Number").as_deref(),
        Some("8084")
    );
    assert_eq!(
        channel.variable("current_application_data").as_deref(),
        Some("127.0.0.1:8084 async full")
    );
    let notices: Vec<_> = frames.iter().filter_map(Frame::disconnect).collect();
    assert_eq!(
        notices,
        [Disconnect::Linger { seconds: Some(-1) }, Disconnect::Close]
    );
}

#[test]
fn log_frames_carry_their_metadata_and_line() {
    let frames = decode_whole(&capture("esl-log.raw"));
    let logs: Vec<_> = frames
        .iter()
        .filter(|f| f.content_type() == ContentType::LogData)
        .collect();
    for log in &logs {
        let level: u8 = log.header("Log-Level").unwrap().parse().unwrap();
        assert!(level <= 7);
        assert!(log.header("Log-File").is_some());
        assert!(log.header("User-Data").is_some());
        assert!(!log.body().is_empty());
    }
    let first = std::str::from_utf8(logs[0].body()).unwrap();
    assert!(first.ends_with("[INFO] switch_time.c:1436 Timezone reloaded 597 definitions\n"));
}

#[test]
fn custom_event_carries_its_subclass_headers_and_body() {
    let frames = decode_whole(&capture("esl-misc.raw"));
    let custom = events(&frames)
        .into_iter()
        .find(|e| e.name().as_deref() == Some("CUSTOM"))
        .unwrap();
    assert_eq!(custom.subclass().as_deref(), Some("esltest::custom"));
    assert_eq!(
        custom.header("X-Test-Header").as_deref(),
        Some("hello world")
    );
    assert_eq!(custom.body(), Some(&b"hello body!"[..]));
    // The sendmsg's `event-uuid` comes back as `Application-UUID` on its completion.
    let completed = events(&frames)
        .into_iter()
        .find(|e| {
            e.name().as_deref() == Some("CHANNEL_EXECUTE_COMPLETE")
                && e.header("Application").as_deref() == Some("playback")
        })
        .unwrap();
    assert_eq!(
        completed.header("Application-UUID").as_deref(),
        Some("aaaaaaaa-0000-0000-0000-000000000001")
    );
}

#[test]
fn every_captured_event_name_and_hangup_cause_is_known() {
    for name in CAPTURES {
        for event in events(&decode_whole(&capture(name))) {
            let typed = event.event_name().expect("every event has a name");
            assert!(!matches!(typed, EventName::Other(_)), "{name}: {typed:?}");
            if let EventName::Custom(subclass) = &typed {
                assert_eq!(Some(subclass.as_str()), event.subclass().as_deref());
            } else {
                assert_eq!(Some(typed.as_str()), event.name().as_deref());
            }
            if let Some(cause) = event.hangup_cause_typed() {
                assert!(!matches!(cause, HangupCause::Other(_)), "{name}: {cause:?}");
                assert_eq!(Some(cause.as_str()), event.hangup_cause().as_deref());
            }
        }
    }
}
