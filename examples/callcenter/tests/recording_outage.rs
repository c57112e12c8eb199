//! The recordings store down while 500 recordings arrive on a small tmpfs (mounted by the
//! test): what the pipeline holds in staging never passes the high-water mark, the rest
//! spills to disk, `/healthz` says degraded and `/metrics` says why, and once the store is
//! back every recording is in S3 (Garage on 127.0.0.1), recorded once, and nothing is left
//! staged or spilled.

use callcenter::daemon::{DaemonConfig, Roles, build_roles, serve};
use object_store::ObjectStoreExt;
use recording::{Job, KeyLayout, Tags};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs of `size` mounted at `dir` for the test's life (the staging area FreeSWITCH
/// records into); unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount(8)");
        assert!(
            status.success(),
            "mounting a tmpfs at {} failed: this test needs root (CAP_SYS_ADMIN)",
            dir.display()
        );
        Tmpfs(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Every file left in `dir` (WAVs, MP3s, job files, temporaries).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

fn wavs_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "wav"))
                .collect()
        })
        .unwrap_or_default()
}

async fn get(address: SocketAddr, path: &str) -> String {
    let answer = tests::http::send(address, &tests::http::request("GET", path, &[], b""))
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{path}");
    String::from_utf8(answer.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_with_500_recordings_on_a_small_tmpfs_loses_nothing() {
    const RECORDINGS: usize = 500;
    const HIGH_WATER: u64 = 2 << 20;
    let s3 = tests::recordings::require_s3();
    let dir = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "outage");
    let staging = dir.join("staging");
    let _tmpfs = Tmpfs::mount(&staging, "6m");
    let spill = dir.join("spill");
    let mut relay = tests::relay::Relay::start(&tests::recordings::s3_address(&s3)).await;
    relay.down();

    let config = DaemonConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], tests::free_port())),
        database: format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        recordings_dir: staging.clone(),
        recordings_s3: Some(tests::recordings::through(&s3, &relay)),
        recordings_spill_dir: Some(spill.clone()),
        recordings_high_water_mb: HIGH_WATER >> 20,
        recordings_degraded_after_s: 1,
        ..DaemonConfig::default()
    };
    let roles = Roles {
        xml_curl: false,
        cdr: false,
        recordings: true,
        esl: false,
        api: false,
    };
    let daemon = build_roles(&config, roles).await.unwrap();
    let ledger = daemon.ledger.clone();
    let worker = daemon.recording_worker.as_ref().unwrap();
    let (recordings, status) = (worker.handle(), worker.status());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = {
        let config = config.clone();
        tokio::spawn(async move {
            serve(&config, daemon, async {
                let _ = stopped.await;
            })
            .await
        })
    };
    tests::http::wait_healthy(config.listen).await;

    // 500 two-second recordings (32 KB each, 16 MB in all on a 6 MB tmpfs), each written
    // where record_session writes, then its RECORD_STOP.
    let tenant = format!("outage-{}", std::process::id());
    let (samples, _) = tests::recordings::fixture_samples("mono_");
    let wav = tests::recordings::looped_wav(&samples, 8000, 1, 2);
    let mut jobs = Vec::new();
    let mut most_held = 0;
    for n in 0..RECORDINGS {
        let job = Job {
            wav: staging.join(format!("call-{n:03}.wav")),
            tags: Tags {
                call_uuid: format!("{tenant}-{n:03}"),
                tenant: tenant.clone(),
                start_epoch: Some(1_700_000_000),
                ..Tags::default()
            },
        };
        // Writing into a full tmpfs would fail here: FreeSWITCH could not record.
        std::fs::write(&job.wav, &wav).unwrap();
        recordings.record_stopped(job.clone()).await.unwrap();
        let now = status.now().unwrap();
        assert!(now.bytes <= HIGH_WATER, "{now:?}");
        most_held = most_held.max(now.bytes);
        jobs.push(job);
    }
    let during = status.now().unwrap();
    assert_eq!(
        during.files + during.spilled_files,
        RECORDINGS,
        "{during:?}"
    );
    assert!(during.spilled_files > RECORDINGS / 2, "{during:?}");
    assert!(most_held > HIGH_WATER / 2, "{during:?}");
    assert_eq!(wavs_in(&spill).len(), during.spilled_files);

    // The store has been failing past the threshold: degraded, and the metrics say why.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let health = get(config.listen, "/healthz").await;
    assert!(health.starts_with("degraded: "), "{health}");
    assert!(health.contains("spilled to disk"), "{health}");
    assert!(
        health.contains("the recordings store has failed every upload"),
        "{health}"
    );
    let metrics = get(config.listen, "/metrics").await;
    for series in [
        "callcenter_recordings_spilled_files",
        "callcenter_recordings_staged_bytes",
        "callcenter_recordings_store_failing_seconds",
        "callcenter_recordings_oldest_staged_seconds",
    ] {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(series))
            .unwrap_or_else(|| panic!("{series} missing"));
        let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(value > 0.0, "{line}");
    }

    // The store returns: everything goes up, the spill first.
    relay.up().await;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let now = status.now().unwrap();
        if now.files + now.spilled_files == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "not drained: {now:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let destination = recording::Target::S3(s3.clone()).destination().unwrap();
    for job in &jobs {
        let records = ledger.recordings(&job.tags.call_uuid).await.unwrap();
        assert_eq!(records.len(), 1, "{}", job.tags.call_uuid);
        let record = &records[0];
        let key = KeyLayout::default().key(&job.tags).unwrap();
        assert_eq!(record.object_key, key.to_string());
        let head = destination.store().head(&key).await.unwrap();
        assert_eq!(head.size as i64, record.size_bytes);
    }
    assert_eq!(files_in(&staging), Vec::<PathBuf>::new());
    assert_eq!(files_in(&spill), Vec::<PathBuf>::new());
    let after = status.now().unwrap();
    assert_eq!((after.quarantined, after.waiting_to_retry), (0, 0));
    assert_eq!(get(config.listen, "/healthz").await, "ok\n");
    let _ = stop.send(());
    served.await.unwrap().unwrap();
}
