//! The encoder writes byte for byte what the real client sent in each capture.

mod common;

use common::capture;
use esl::proto::{Body, Command, EventFormat, LogLevel, SendMsg};

fn encode_all(commands: &[Command<'_>]) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    for command in commands {
        command.encode(&mut out).expect("valid command");
    }
    out.to_vec()
}

fn assert_same(name: &str, commands: &[Command<'_>]) {
    let sent = capture(name);
    let encoded = encode_all(commands);
    assert_eq!(
        String::from_utf8_lossy(&encoded),
        String::from_utf8_lossy(&sent),
        "{name}"
    );
}

fn call_session(format: EventFormat, uuid: &str, extension: &str) -> Vec<u8> {
    let originate = format!(
        "originate {{origination_uuid={uuid},origination_caller_id_number=1000}}loopback/{extension}/default &playback(tone_stream://%(1000,0,440);loops=5)"
    );
    let dump = format!("uuid_dump {uuid} json");
    encode_all(&[
        Command::Auth {
            password: "ClueCon",
        },
        Command::Event {
            format,
            events: &["ALL"],
        },
        Command::Api { command: "status" },
        Command::BgApi {
            command: "status",
            job_uuid: None,
        },
        Command::Api {
            command: "show channels as json",
        },
        Command::BgApi {
            command: &originate,
            job_uuid: None,
        },
        Command::Api {
            command: "show channels as json",
        },
        Command::Api { command: &dump },
        Command::Api {
            command: "show api",
        },
        Command::Api {
            command: "nosuchcommand foo",
        },
    ])
}

#[test]
fn event_sessions_match_their_captures() {
    for (name, format, uuid, extension) in [
        (
            "esl-plain.raw.sent",
            EventFormat::Plain,
            "ed22627b-4a74-4b96-b832-34a59357db96",
            "9999",
        ),
        (
            "esl-json.raw.sent",
            EventFormat::Json,
            "e9e0875f-a631-49d6-b13d-e8a163362d56",
            "9998",
        ),
        (
            "esl-xml.raw.sent",
            EventFormat::Xml,
            "60e75c04-80ba-42ef-8b30-2a51c2ad7f1a",
            "9999",
        ),
    ] {
        let mut encoded = call_session(format, uuid, extension);
        // The capturing client then sent a line that is not ESL at all, to record FreeSWITCH's
        // answer to it; the encoder offers no such command, so those bytes are added as sent.
        encoded.extend_from_slice(b"nosuchcommand\n\n");
        encoded.extend_from_slice(&Command::Exit.to_bytes().unwrap());
        let encoded = String::from_utf8(encoded).unwrap();
        let sent = String::from_utf8(capture(name)).unwrap();
        assert_eq!(encoded, sent, "{name}");
    }
}

#[test]
fn log_session_matches_its_capture() {
    assert_same(
        "esl-log.raw.sent",
        &[
            Command::Auth {
                password: "ClueCon",
            },
            Command::Log(LogLevel::Debug),
            Command::Api {
                command: "reloadxml",
            },
            Command::BgApi {
                command: "originate loopback/9999/default &playback(tone_stream://%(1000,0,440);loops=4)",
                job_uuid: None,
            },
            Command::NoLog,
            Command::Exit,
        ],
    );
}

#[test]
fn auth_sessions_match_their_captures() {
    assert_same(
        "esl-auth-fail.raw.sent",
        &[Command::Auth {
            password: "WrongPassword",
        }],
    );
    assert_same(
        "esl-preauth.raw.sent",
        &[Command::Api { command: "status" }, Command::Exit],
    );
}

#[test]
fn misc_session_matches_its_capture() {
    let uuid = "19168d90-ed14-4df7-90c4-d07dd1c9c147";
    let originate = format!("originate {{origination_uuid={uuid}}}loopback/9997/default &park");
    let getvar = format!("uuid_getvar {uuid} loopback_leg");
    let kill = format!("uuid_kill {uuid}");
    assert_same(
        "esl-misc.raw.sent",
        &[
            Command::Auth {
                password: "ClueCon",
            },
            Command::Event {
                format: EventFormat::Plain,
                events: &[
                    "CHANNEL_CREATE",
                    "CHANNEL_ANSWER",
                    "CHANNEL_EXECUTE",
                    "CHANNEL_EXECUTE_COMPLETE",
                    "CHANNEL_HANGUP_COMPLETE",
                    "CHANNEL_DESTROY",
                    "BACKGROUND_JOB",
                    "CUSTOM",
                    "esltest::custom",
                ],
            },
            Command::Filter {
                header: "Unique-ID",
                value: uuid,
            },
            Command::Filter {
                header: "Event-Name",
                value: "BACKGROUND_JOB",
            },
            Command::Filter {
                header: "Event-Name",
                value: "CUSTOM",
            },
            Command::BgApi {
                command: &originate,
                job_uuid: Some("11111111-2222-3333-4444-555555555555"),
            },
            Command::SendMsg(
                SendMsg::execute("playback", Some("tone_stream://%(500,0,440);loops=1"))
                    .uuid(uuid)
                    .event_uuid("aaaaaaaa-0000-0000-0000-000000000001"),
            ),
            Command::SendEvent {
                name: "CUSTOM",
                headers: &[
                    ("Event-Subclass", "esltest::custom"),
                    ("X-Test-Header", "hello world"),
                ],
                body: Some(Body {
                    content_type: "text/plain",
                    content: b"hello body!",
                }),
            },
            Command::FilterDelete {
                header: "Event-Name",
                value: Some("CUSTOM"),
            },
            Command::Api { command: &getvar },
            Command::Api { command: &kill },
            Command::FilterDelete {
                header: "Unique-ID",
                value: Some(uuid),
            },
            Command::FilterDeleteAll,
            Command::NixEvent {
                events: &["CHANNEL_CREATE"],
            },
            Command::NoEvents,
            Command::Api {
                command: "uuid_kill 00000000-0000-0000-0000-000000000000",
            },
            Command::Event {
                format: EventFormat::Plain,
                events: &[],
            },
            Command::Exit,
        ],
    );
}

#[test]
fn outbound_session_matches_its_capture() {
    assert_same(
        "esl-outbound.raw.sent",
        &[
            Command::Connect,
            Command::MyEvents {
                format: None,
                uuid: None,
            },
            Command::Linger(None),
            Command::SendMsg(SendMsg::execute("answer", None).event_lock(true)),
            Command::SendMsg(
                SendMsg::execute("playback", Some("tone_stream://%(1000,0,440);loops=3"))
                    .event_lock(true),
            ),
            Command::SendMsg(SendMsg::execute("hangup", Some("NORMAL_CLEARING"))),
            Command::Exit,
        ],
    );
}

#[test]
fn line_breaks_never_reach_the_wire() {
    let bad = [
        Command::Auth { password: "a\nb" },
        Command::Api {
            command: "status\n\nexit",
        },
        Command::Api { command: "" },
        Command::BgApi {
            command: "status",
            job_uuid: Some("x\ny"),
        },
        Command::Filter {
            header: "Unique-ID",
            value: "a\r\n",
        },
        Command::Filter {
            header: "Unique ID",
            value: "a",
        },
        Command::Event {
            format: EventFormat::Plain,
            events: &["ALL\nexit"],
        },
        Command::SendMsg(SendMsg::execute(
            "playback",
            Some("a\ncall-command: hangup"),
        )),
        Command::SendMsg(SendMsg::execute("playback", None).header("X", "1\n2")),
        Command::SendMsg(SendMsg::execute("playback", None).header("content-length", "5")),
        Command::SendEvent {
            name: "CUSTOM",
            headers: &[("Bad: name", "v")],
            body: None,
        },
        Command::UserAuth {
            user: "1000",
            domain: "example.com\n",
            password: "x",
        },
    ];
    for command in bad {
        let mut out = bytes::BytesMut::from(&b"kept"[..]);
        assert!(command.encode(&mut out).is_err(), "{command:?}");
        assert_eq!(&out[..], b"kept", "nothing is written on error");
    }
}

#[test]
fn remaining_commands_encode_as_freeswitch_expects() {
    let cases: Vec<(Command<'_>, &str)> = vec![
        (
            Command::UserAuth {
                user: "1000",
                domain: "example.com",
                password: "s3cret",
            },
            "userauth 1000@example.com:s3cret\n\n",
        ),
        (Command::DivertEvents(true), "divert_events on\n\n"),
        (Command::DivertEvents(false), "divert_events off\n\n"),
        (Command::Linger(Some(10)), "linger 10\n\n"),
        (Command::NoLinger, "nolinger\n\n"),
        (Command::Resume, "resume\n\n"),
        (
            Command::MyEvents {
                format: Some(EventFormat::Json),
                uuid: Some("abc"),
            },
            "myevents json abc\n\n",
        ),
        (
            Command::FilterDelete {
                header: "Event-Name",
                value: None,
            },
            "filter delete Event-Name\n\n",
        ),
        (
            Command::SendMsg(SendMsg::hangup("USER_BUSY").uuid("abc")),
            "sendmsg abc\ncall-command: hangup\nhangup-cause: USER_BUSY\n\n",
        ),
        (
            Command::SendMsg(SendMsg::execute("playback", None).loops(3).body(Body {
                content_type: "text/plain",
                content: b"multi\nline",
            })),
            "sendmsg\ncall-command: execute\nexecute-app-name: playback\nloops: 3\ncontent-type: text/plain\ncontent-length: 10\n\nmulti\nline",
        ),
    ];
    for (command, want) in cases {
        assert_eq!(
            String::from_utf8(command.to_bytes().unwrap().to_vec()).unwrap(),
            want
        );
    }
}
