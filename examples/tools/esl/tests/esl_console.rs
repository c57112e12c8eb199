//! `esl-console` run as an operator would, against the replay server.

use bytes::BytesMut;
use esl::proto::FrameDecoder;
use std::process::Command;
use tests::replay::{Capture, Flood, Plan, ReplayServer};

/// The plain capture's frames, as bytes.
fn plain_frames() -> Vec<Vec<u8>> {
    let raw = std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap();
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(&raw[..]);
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).unwrap() {
        frames.push(frame.as_bytes().to_vec());
    }
    frames
}

/// Runs the console against a local port (off the async runtime, which serves the replay).
async fn console(port: u16, args: &[&str], password_env: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_esl-console"));
    command
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(args);
    if let Some(password) = password_env {
        command.env("ESL_PASSWORD", password);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn execute_prints_the_api_result() {
    // auth/request, +OK accepted, the `api status` response, +OK bye, the disconnect notice.
    let frames = plain_frames();
    let n = frames.len();
    let raw: Vec<u8> = [0, 1, 3, n - 2, n - 1]
        .iter()
        .flat_map(|&i| frames[i].clone())
        .collect();
    let server = ReplayServer::start(
        Capture::from_bytes(&raw, b"auth ClueCon\n\napi status\n\nexit\n\n"),
        Plan::default(),
    )
    .await;
    let output = console(server.addr().port(), &["-x", "status"], Some("ClueCon")).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("UP 0 years"), "{stdout}");
    assert!(stdout.contains("FreeSWITCH (Version 1.10.12-release  64bit) is ready"));
    assert!(server.log().errors.is_empty(), "{:?}", server.log().errors);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_stream_as_json_lines() {
    let server = ReplayServer::start(
        Capture::load("esl-json.raw"),
        Plan {
            flood: Some(Flood {
                after_commands: 2,
                events: 100,
                max_frame_len: None,
            }),
            ..Plan::default()
        },
    )
    .await;
    let output = console(
        server.addr().port(),
        &["--format", "json", "--count", "25"],
        Some("ClueCon"),
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 25);
    assert!(lines.iter().all(|l| l["event_name"].is_string()));
    assert_eq!(lines[0]["headers"]["FreeSWITCH-IPv6"], "fd00::2");
    assert_eq!(
        server.log().commands[..2],
        ["auth ClueCon\n\n", "event json ALL\n\n"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_fails_with_freeswitchs_words() {
    let server = ReplayServer::start(Capture::load("esl-auth-fail.raw"), Plan::default()).await;
    let output = console(
        server.addr().port(),
        &["--password", "WrongPassword", "-x", "status"],
        None,
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("authentication refused: -ERR invalid"),
        "{stderr}"
    );
}
