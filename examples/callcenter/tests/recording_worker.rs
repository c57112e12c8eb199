//! The recording worker: the real recordings, completed by job files (the staging scan) or by
//! RECORD_STOP, end as objects in the store with their metadata in the ledger, and staging empty.

use billing::Ledger;
use callcenter::roles::recording_worker::{RecordingWorker, RecordingWorkerConfig};
use recording::Target;
use recording::{Job, Tags};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn recordings() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(tests::fixture("recordings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    files.sort();
    files
}

fn job(staging: &Path, source: &Path) -> Job {
    let uuid = source.file_stem().unwrap().to_string_lossy().into_owned();
    let wav = staging.join(format!("{uuid}.wav"));
    std::fs::copy(source, &wav).unwrap();
    Job {
        wav,
        tags: Tags {
            call_uuid: uuid,
            tenant: "acme".into(),
            caller: "1000".into(),
            callee: "2000".into(),
            start_epoch: Some(1_700_000_000),
        },
    }
}

async fn wait_for_recording(ledger: &Ledger, uuid: &str) -> billing::RecordingRecord {
    for _ in 0..300 {
        if let Some(found) = ledger.recordings(uuid).await.unwrap().into_iter().next() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no recording stored for {uuid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanned_and_stopped_recordings_are_stored_with_their_metadata() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "recording-worker-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let (staging, store) = (dir.join("staging"), dir.join("store"));
    std::fs::create_dir_all(&staging).unwrap();
    let ledger = Ledger::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("ledger.sqlite").display()
    ))
    .await
    .unwrap();
    let sources = recordings();
    // Two finished before the worker starts (job files written), one WAV whose RECORD_STOP was
    // missed (no job file), one completed while it runs.
    let early: Vec<Job> = sources[..2].iter().map(|s| job(&staging, s)).collect();
    for job in &early {
        job.write_job_file().unwrap();
    }
    let orphan = job(&staging, &sources[2]);
    // Written two hours ago and never finished: the scan takes it as abandoned. A WAV still being
    // written (the late one below, until its RECORD_STOP) is younger than the threshold.
    std::fs::File::options()
        .write(true)
        .open(&orphan.wav)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    let mut config = RecordingWorkerConfig::new(staging.clone(), Target::Directory(store.clone()));
    config.scan_every = Duration::from_millis(100);
    config.stale_after = Duration::from_secs(3600);
    config.default_tenant = "unassigned".into();
    let worker = RecordingWorker::start(config, ledger.clone()).unwrap();
    let late = job(&staging, &sources[3]);
    worker.record_stopped(late.clone()).await.unwrap();

    for job in early.iter().chain([&late]) {
        let record = wait_for_recording(&ledger, &job.tags.call_uuid).await;
        assert_eq!(record.tenant, "acme");
        assert_eq!(
            record.object_key,
            format!("acme/2023/11/14/{}.mp3", job.tags.call_uuid)
        );
        let object = std::fs::metadata(store.join(&record.object_key)).unwrap();
        assert_eq!(object.len() as i64, record.size_bytes);
        assert!((2250..2270).contains(&record.duration_ms), "{record:?}");
        assert_eq!(record.bitrate_kbps, 32);
    }
    let record = wait_for_recording(&ledger, &orphan.tags.call_uuid).await;
    assert_eq!(record.tenant, "unassigned");
    // Let the last report arrive, then nothing is left staged.
    for _ in 0..50 {
        let left = std::fs::read_dir(&staging)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_file())
            .count();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left: Vec<PathBuf> = std::fs::read_dir(&staging)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert!(left.is_empty(), "left in staging: {left:?}");
    worker.shutdown(Duration::from_secs(5)).await;
}
