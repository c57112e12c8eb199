//! The `recording-worker` daemon killed with SIGKILL while recordings are in flight, then
//! started again: every recording ends in S3 (Garage on 127.0.0.1) exactly once, with exactly one
//! metadata row, and nothing stays staged.

use billing::Ledger;
use object_store::ObjectStoreExt;
use recording::{Job, Tags};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WORKER: &str = env!("CARGO_BIN_EXE_recording-worker");

fn start(config: &Path, s3: &recording::S3Config) -> Child {
    Command::new(WORKER)
        .arg("--config")
        .arg(config)
        .env(
            "CALLCENTER_LISTEN",
            format!("127.0.0.1:{}", tests::free_port()),
        )
        .env(
            "CALLCENTER_RECORDINGS_S3_SECRET_ACCESS_KEY",
            &s3.secret_access_key,
        )
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn staged_wavs(staging: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(staging)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect()
}

#[test]
fn a_worker_killed_with_jobs_in_flight_stores_each_recording_once() {
    let s3 = tests::recordings::require_s3();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("worker-kill-{stamp}"));
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let tenant = format!("worker-kill-{stamp}");
    // 30 one-minute recordings whose RECORD_STOP came: long enough that the kill lands while
    // some are being encoded or uploaded.
    let (samples, _) = tests::recordings::fixture_samples("mono_");
    let wav = tests::recordings::looped_wav(&samples, 8000, 1, 60);
    let jobs: Vec<Job> = (0..30)
        .map(|i| {
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
            job
        })
        .collect();
    let database = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    let config = dir.join("worker.toml");
    std::fs::write(
        &config,
        format!(
            "database = {database:?}\nrecordings_dir = {:?}\nrecordings_scan_ms = 200\n\
             [recordings_s3]\nendpoint = {:?}\nbucket = {:?}\nregion = {:?}\naccess_key_id = {:?}\n",
            staging.display().to_string(),
            s3.endpoint.as_deref().unwrap(),
            s3.bucket,
            s3.region,
            s3.access_key_id,
        ),
    )
    .unwrap();
    let store = recording::Destination::s3(&s3).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let prefix = object_store::path::Path::from(format!("{tenant}/2023/11/14"));
    let count_objects = || {
        runtime.block_on(async {
            store
                .store()
                .list_with_delimiter(Some(&prefix))
                .await
                .map(|l| l.objects.len())
                .unwrap_or(0)
        })
    };

    let mut first = start(&config, &s3);
    let started = Instant::now();
    while count_objects() < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no uploads from the worker"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let remaining = staged_wavs(&staging).len();
    assert!(remaining > 0, "the kill came after the worker had finished");

    let mut second = start(&config, &s3);
    let started = Instant::now();
    while !staged_wavs(&staging).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "still staged: {:?}",
            staged_wavs(&staging)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // SIGTERM: a graceful stop.
    Command::new("kill")
        .arg(second.id().to_string())
        .status()
        .unwrap();
    second.wait().unwrap();

    assert_eq!(count_objects(), jobs.len(), "one object per recording");
    runtime.block_on(async {
        let ledger = Ledger::connect(&database).await.unwrap();
        for job in &jobs {
            let rows = ledger.recordings(&job.tags.call_uuid).await.unwrap();
            assert_eq!(rows.len(), 1, "{}", job.tags.call_uuid);
            let key = format!("{tenant}/2023/11/14/{}.mp3", job.tags.call_uuid);
            assert_eq!(rows[0].object_key, key);
            let head = store
                .store()
                .head(&object_store::path::Path::from(key.as_str()))
                .await
                .unwrap();
            assert_eq!(head.size, rows[0].size_bytes as u64);
        }
    });
    let left: Vec<PathBuf> = std::fs::read_dir(&staging)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert!(left.is_empty(), "left in staging: {left:?}");
}
