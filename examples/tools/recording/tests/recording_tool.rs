//! The `recording` tool as operators run it, and the crash test: a worker process killed with
//! SIGKILL in the middle of its jobs, then restarted, leaves every WAV as exactly one verified
//! object in the real S3 server (Garage on 127.0.0.1, started by `.ci/garage`).

use object_store::ObjectStoreExt;
use recording::{Job, Tags};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOOL: &str = env!("CARGO_BIN_EXE_recording");

fn scratch(label: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("recording-tool-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(prefix: &str) -> PathBuf {
    let dir = tests::fixture("recordings");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap()
}

fn batch_command(staging: &Path, s3: &recording::S3Config) -> Command {
    let mut command = Command::new(TOOL);
    command
        .args(["batch", "--no-progress", "--workers", "2"])
        .arg(staging)
        .env("RECORDING_S3_BUCKET", &s3.bucket)
        .env("RECORDING_S3_ENDPOINT", s3.endpoint.as_deref().unwrap())
        .env("RECORDING_S3_REGION", &s3.region)
        .env("RECORDING_S3_ACCESS_KEY_ID", &s3.access_key_id)
        .env("RECORDING_S3_SECRET_ACCESS_KEY", &s3.secret_access_key);
    command
}

#[test]
fn transcode_prints_what_it_wrote_and_refuses_bad_input_clearly() {
    let dir = scratch("transcode");
    let output = dir.join("call.mp3");
    let run = Command::new(TOOL)
        .arg("transcode")
        .arg(fixture("stereo_"))
        .arg(&output)
        .args(["--bitrate", "48", "--uuid", "4c42a0ff", "--tenant", "acme"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(printed["channels"], 2);
    assert_eq!(printed["bitrate_kbps"], 48);
    assert_eq!(
        printed["bytes"].as_u64().unwrap(),
        std::fs::metadata(&output).unwrap().len()
    );
    assert!(!dir.join("call.mp3.part").exists());

    let junk = dir.join("junk.wav");
    std::fs::write(&junk, b"this is not audio at all").unwrap();
    let run = Command::new(TOOL)
        .arg("transcode")
        .arg(&junk)
        .arg(dir.join("junk.mp3"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("not a RIFF/WAVE file"), "{stderr}");
    assert!(!dir.join("junk.mp3").exists() && !dir.join("junk.mp3.part").exists());
}

#[test]
fn a_worker_killed_mid_batch_and_restarted_loses_nothing_and_duplicates_nothing() {
    let s3 = tests::recordings::require_s3();
    let dir = scratch("kill");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let tenant = format!(
        "kill-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    // 40 one-minute WAVs: long enough that the kill lands while jobs are in flight.
    let (samples, _) = tests::recordings::fixture_samples("mono_");
    let wav = tests::recordings::looped_wav(&samples, 8000, 1, 60);
    let mut jobs = Vec::new();
    for i in 0..40 {
        let job = Job {
            wav: staging.join(format!("call-{i}.wav")),
            tags: Tags {
                call_uuid: format!("call-{i}"),
                tenant: tenant.clone(),
                start_epoch: Some(1_700_000_000),
                ..Tags::default()
            },
        };
        std::fs::write(&job.wav, &wav).unwrap();
        job.write_job_file().unwrap();
        jobs.push(job);
    }

    let mut first = batch_command(&staging, &s3)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    for _ in 0..5 {
        let line = lines.next().expect("a report line").unwrap();
        assert!(line.contains("\"stored\""), "{line}");
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let remaining = jobs.iter().filter(|j| j.wav.exists()).count();
    assert!(remaining > 0, "the kill came after the batch had finished");

    let started = Instant::now();
    let second = batch_command(&staging, &s3).output().unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(300));

    // Every WAV is gone from staging, and each is one object: its key, its full size, an MP3
    // that decodes to one minute.
    let left: Vec<PathBuf> = std::fs::read_dir(&staging)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert!(left.is_empty(), "left in staging: {left:?}");
    let store = recording::Destination::s3(&s3).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let prefix = object_store::path::Path::from(format!("{tenant}/2023/11/14"));
        let listed = store
            .store()
            .list_with_delimiter(Some(&prefix))
            .await
            .unwrap();
        assert_eq!(listed.objects.len(), jobs.len(), "one object per WAV");
        for job in &jobs {
            let key = object_store::path::Path::from(format!(
                "{tenant}/2023/11/14/{}.mp3",
                job.tags.call_uuid
            ));
            let bytes = store
                .store()
                .get(&key)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            // 60 s at 32 kbit/s: 240 kB and a little.
            assert!(
                (235_000..250_000).contains(&bytes.len()),
                "{key}: {} bytes",
                bytes.len()
            );
            assert_eq!(&bytes[..3], b"ID3");
        }
    });
}
