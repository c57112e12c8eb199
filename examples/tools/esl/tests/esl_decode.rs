//! `esl-decode` run as operators run it, on the real captures and on broken streams.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn capture(name: &str) -> Vec<u8> {
    std::fs::read(tests::fixture(&format!("esl/{name}"))).unwrap()
}

fn decode_stdin(input: &[u8], args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_esl-decode"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

#[test]
fn decodes_every_capture_with_nothing_left_over() {
    for (name, frames, events) in [
        ("esl-plain.raw", 78, 64),
        ("esl-json.raw", 78, 64),
        ("esl-xml.raw", 78, 64),
        ("esl-log.raw", 128, 0),
        ("esl-misc.raw", 30, 10),
        ("esl-outbound.raw", 23, 14),
        ("esl-auth-fail.raw", 3, 0),
        ("esl-preauth.raw", 4, 0),
    ] {
        let path = tests::fixture(&format!("esl/{name}"));
        let output = Command::new(env!("CARGO_BIN_EXE_esl-decode"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(json_lines(&output).len(), frames, "{name}");
        let events_only = decode_stdin(&capture(name), &["--events-only"]);
        assert!(events_only.status.success());
        let lines = json_lines(&events_only);
        assert_eq!(lines.len(), events, "{name}");
        assert!(lines.iter().all(|l| l["event_name"].is_string()));
    }
}

#[test]
fn prints_decoded_headers_and_event_bodies() {
    let output = decode_stdin(&capture("esl-plain.raw"), &["--events-only"]);
    let lines = json_lines(&output);
    let first = &lines[0];
    assert_eq!(first["content_type"], "text/event-plain");
    assert_eq!(first["event_name"], "API");
    assert_eq!(first["headers"]["Event-Date-Local"], "2026-11-21 11:36:55");
    let job = lines
        .iter()
        .find(|l| l["event_name"] == "BACKGROUND_JOB" && l["headers"]["Job-Command"] == "originate")
        .unwrap();
    assert_eq!(job["body"], "+OK ed22627b-4a74-4b96-b832-34a59357db96\n");
    assert_eq!(job["body_len"], 41);
}

#[test]
fn truncated_stream_prints_what_it_decoded_then_fails_with_the_offset() {
    let stream = capture("esl-plain.raw");
    // Cut inside the fourth frame (the `api status` response starts at byte 156).
    let output = decode_stdin(&stream[..200], &[]);
    assert!(!output.status.success());
    assert_eq!(json_lines(&output).len(), 3);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at byte 156"), "{stderr}");
}

#[test]
fn garbage_in_the_stream_fails_naming_its_offset() {
    let mut stream = capture("esl-auth-fail.raw")[..28].to_vec();
    stream.extend_from_slice(b"Content-Type: api/response\nContent-Length: lots\n\nxyz");
    let output = decode_stdin(&stream, &[]);
    assert!(!output.status.success());
    assert_eq!(json_lines(&output).len(), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid Content-Length \"lots\" at byte 71"),
        "{stderr}"
    );
}

#[test]
fn oversized_frame_is_refused_at_the_limit() {
    let stream = b"Content-Type: api/response\nContent-Length: 5000000\n\n";
    let output = decode_stdin(stream, &["--max-frame-size", "1048576"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("frame at byte 0 is larger than the 1048576-byte limit"),
        "{stderr}"
    );
}

#[test]
fn a_broken_event_is_shown_raw_and_fails_the_run() {
    let body = b"{\"Event-Name\": oops}";
    let mut stream = format!(
        "Content-Length: {}\nContent-Type: text/event-json\n\n",
        body.len()
    )
    .into_bytes();
    stream.extend_from_slice(body);
    stream.extend_from_slice(b"Content-Type: auth/request\n\n");
    let output = decode_stdin(&stream, &[]);
    assert!(!output.status.success());
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0]["event_error"]
            .as_str()
            .unwrap()
            .contains("malformed Json event")
    );
    assert_eq!(lines[0]["body"], "{\"Event-Name\": oops}");
}
