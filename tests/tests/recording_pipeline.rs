//! The whole pipeline against the real S3 server: staged WAVs in, verified objects out, bad files
//! quarantined, the store going down and coming back, shutdown and recovery.

// The recording crate's own WAV and MP3 helpers, shared rather than copied.
#[path = "../../recording/tests/common/mod.rs"]
mod common;

use object_store::ObjectStoreExt;
use recording::staging::recover;
use recording::{Destination, Job, Outcome, Pipeline, PipelineConfig, Report, Tags};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn run_id() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// Copies the real recordings into `staging`, `copies` times each, as jobs of tenant `tenant`.
fn stage_real(staging: &Path, tenant: &str, copies: usize) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (i, source) in common::fixture_recordings().iter().enumerate() {
        for copy in 0..copies {
            let uuid = format!("{}-{copy}", source.file_stem().unwrap().to_string_lossy());
            let wav = staging.join(format!("{uuid}.wav"));
            std::fs::copy(source, &wav).unwrap();
            jobs.push(Job {
                wav,
                tags: Tags {
                    call_uuid: uuid,
                    tenant: tenant.into(),
                    caller: format!("100{i}"),
                    callee: "442079460000".into(),
                    start_epoch: Some(1_700_000_000),
                },
            });
        }
    }
    jobs
}

fn config(dir: &Path) -> PipelineConfig {
    let mut config = PipelineConfig::new(dir.join("quarantine"));
    config.retry_first = Duration::from_millis(100);
    config.retry_max = Duration::from_millis(400);
    config
}

async fn collect(reports: &mut tokio::sync::mpsc::Receiver<Report>, count: usize) -> Vec<Report> {
    let mut all = Vec::new();
    while all.len() < count {
        let report = tokio::time::timeout(Duration::from_secs(120), reports.recv())
            .await
            .expect("a report within two minutes")
            .expect("the pipeline is running");
        all.push(report);
    }
    all
}

fn staged_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_recordings_become_verified_objects_and_bad_ones_are_quarantined() {
    let s3 = tests::recordings::require_s3();
    let dir = common::scratch("pipeline");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let tenant = format!("t-{}", run_id());
    let mut jobs = stage_real(&staging, &tenant, 3);
    let bad = Job {
        wav: staging.join("mulaw.wav"),
        tags: Tags {
            call_uuid: "mulaw".into(),
            tenant: tenant.clone(),
            ..Tags::default()
        },
    };
    std::fs::write(
        &bad.wav,
        [common::header(7, 1, 8000, 8, 800), vec![0xff; 800]].concat(),
    )
    .unwrap();
    jobs.push(bad.clone());

    let destination = Destination::s3(&s3).unwrap();
    let (pipeline, mut reports) = Pipeline::start(config(&dir), destination.clone());
    for job in &jobs {
        pipeline.submit(job.clone()).await.unwrap();
    }
    let reports = collect(&mut reports, jobs.len()).await;
    pipeline.finish().await;

    let mut stored = 0;
    for report in &reports {
        match &report.outcome {
            Outcome::Stored(object) => {
                stored += 1;
                assert_eq!(
                    object.key,
                    format!("{tenant}/2023/11/14/{}.mp3", report.job.tags.call_uuid)
                );
                let key = object_store::path::Path::from(object.key.as_str());
                let meta = destination.store().head(&key).await.unwrap();
                assert_eq!(meta.size, object.size);
                assert!((object.duration.as_secs_f64() - 2.26).abs() < 0.01);
                assert_eq!(object.bitrate_kbps, 32);
            }
            Outcome::Quarantined { moved_to, reason } => {
                assert_eq!(report.job, bad);
                assert!(reason.contains("unsupported WAV encoding"), "{reason}");
                assert!(moved_to.exists());
                let reason_file = dir.join("quarantine/mulaw.wav.reason.txt");
                assert!(
                    std::fs::read_to_string(reason_file)
                        .unwrap()
                        .contains("0x0007")
                );
            }
            Outcome::LeftStaged { reason } => panic!("{:?} left staged: {reason}", report.job.wav),
        }
    }
    assert_eq!(stored, jobs.len() - 1);
    assert_eq!(
        staged_files(&staging),
        Vec::<PathBuf>::new(),
        "staging is empty"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_wait_for_a_store_that_is_down_and_finish_when_it_returns() {
    let s3 = tests::recordings::require_s3();
    let dir = common::scratch("outage");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let tenant = format!("t-{}", run_id());
    let jobs = stage_real(&staging, &tenant, 2);

    let (mut relay, through_relay) = through(
        &s3,
        tests::relay::Relay::start(&tests::recordings::s3_address(&s3)),
    )
    .await;
    relay.down();
    let (pipeline, mut reports) =
        Pipeline::start(config(&dir), Destination::s3(&through_relay).unwrap());
    for job in &jobs {
        pipeline.submit(job.clone()).await.unwrap();
    }
    // Encoded and waiting: every WAV and its MP3 are still staged while the store is away.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for job in &jobs {
        assert!(job.wav.exists() && job.output_file().exists());
    }
    relay.up().await;
    let reports = collect(&mut reports, jobs.len()).await;
    pipeline.finish().await;
    for report in &reports {
        assert!(matches!(report.outcome, Outcome::Stored(_)), "{report:?}");
        assert!(report.upload_retries >= 1, "{report:?}");
    }
    assert_eq!(staged_files(&staging), Vec::<PathBuf>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_jobs_staged_and_recovery_finishes_them() {
    let s3 = tests::recordings::require_s3();
    let dir = common::scratch("shutdown");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let tenant = format!("t-{}", run_id());
    let jobs = stage_real(&staging, &tenant, 2);

    let (mut relay, through_relay) = through(
        &s3,
        tests::relay::Relay::start(&tests::recordings::s3_address(&s3)),
    )
    .await;
    relay.down();
    let (pipeline, mut reports) =
        Pipeline::start(config(&dir), Destination::s3(&through_relay).unwrap());
    for job in &jobs {
        pipeline.submit(job.clone()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    pipeline.shutdown(Duration::from_secs(5)).await;
    let reports = collect(&mut reports, jobs.len()).await;
    for report in &reports {
        assert!(
            matches!(report.outcome, Outcome::LeftStaged { .. }),
            "{report:?}"
        );
        assert!(report.job.wav.exists() && report.job.job_file().exists());
    }

    // A restart: recovery finds every job with its metadata, and the store is back.
    let found = recover(&staging, Duration::from_secs(3600), "default").unwrap();
    assert_eq!(found.jobs.len(), jobs.len());
    for job in &found.jobs {
        assert_eq!(job.tags.tenant, tenant);
    }
    relay.up().await;
    let (pipeline, mut reports) =
        Pipeline::start(config(&dir), Destination::s3(&through_relay).unwrap());
    for job in found.jobs {
        pipeline.submit(job).await.unwrap();
    }
    let reports = collect(&mut reports, jobs.len()).await;
    pipeline.finish().await;
    assert!(
        reports
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Stored(_)))
    );
    assert_eq!(staged_files(&staging), Vec::<PathBuf>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_files_stay_until_the_stored_hook_succeeds() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let dir = common::scratch("hook");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let jobs = stage_real(&staging, "acme", 1);
    let calls = Arc::new(AtomicU32::new(0));
    let mut config = config(&dir);
    let (counter, watched) = (calls.clone(), jobs[0].wav.clone());
    config.on_stored = Some(recording::StoredHook(Arc::new(move |job, _stored| {
        // The first two attempts for the first job fail, with its WAV still staged.
        let attempt = if job.wav == watched {
            counter.fetch_add(1, Ordering::SeqCst)
        } else {
            2
        };
        let staged = job.wav.exists();
        Box::pin(async move {
            assert!(staged, "the WAV went before its record");
            if attempt < 2 {
                Err("the database is away".to_owned())
            } else {
                Ok(())
            }
        })
    })));
    let (pipeline, mut reports) =
        Pipeline::start(config, Destination::local(&dir.join("store")).unwrap());
    for job in &jobs {
        pipeline.submit(job.clone()).await.unwrap();
    }
    let reports = collect(&mut reports, jobs.len()).await;
    pipeline.finish().await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    for report in &reports {
        assert!(matches!(report.outcome, Outcome::Stored(_)), "{report:?}");
        if report.job.wav == jobs[0].wav {
            assert_eq!(report.upload_retries, 2);
        }
    }
    assert_eq!(staged_files(&staging), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn a_job_whose_wav_is_gone_is_refused_without_a_job_file() {
    let dir = common::scratch("gone");
    let destination = Destination::local(&dir.join("store")).unwrap();
    let (pipeline, _reports) = Pipeline::start(PipelineConfig::new(dir.join("q")), destination);
    let wav = dir.join("stored-already.wav");
    let job = Job {
        wav: wav.clone(),
        tags: Tags::default(),
    };
    let refused = pipeline.submit(job).await;
    assert!(
        matches!(&refused, Err(recording::SubmitError::NoWav { wav: w }) if *w == wav),
        "{refused:?}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|name| name.to_string_lossy().ends_with(".json"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    pipeline.finish().await;
}

/// A relay to the S3 server (`rewrite` its answers or not), and the configuration through it.
async fn through(
    s3: &recording::S3Config,
    relay: impl std::future::Future<Output = tests::relay::Relay>,
) -> (tests::relay::Relay, recording::S3Config) {
    let relay = relay.await;
    let config = tests::recordings::through(s3, &relay);
    (relay, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_never_verifies_is_quarantined_after_its_attempts() {
    let s3 = tests::recordings::require_s3();
    let dir = common::scratch("never-verified");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let jobs = stage_real(&staging, &format!("t-{}", run_id()), 1);
    // The store says every object is larger or smaller than what was sent.
    let (_relay, lying) = through(
        &s3,
        tests::relay::Relay::misreporting_sizes(&tests::recordings::s3_address(&s3)),
    )
    .await;
    let mut config = config(&dir);
    config.verify_attempts = 3;
    let (pipeline, mut reports) = Pipeline::start(config, Destination::s3(&lying).unwrap());
    for job in &jobs {
        pipeline.submit(job.clone()).await.unwrap();
    }
    let reports = collect(&mut reports, jobs.len()).await;
    assert_eq!(pipeline.status().quarantined, jobs.len() as u64);
    pipeline.finish().await;
    for report in &reports {
        let Outcome::Quarantined { moved_to, reason } = &report.outcome else {
            panic!("{report:?}");
        };
        assert!(
            reason.starts_with("upload not verified after 3 attempts"),
            "{reason}"
        );
        assert_eq!(report.upload_retries, 3);
        assert!(moved_to.is_file());
        let mut reason_file = moved_to.clone().into_os_string();
        reason_file.push(".reason.txt");
        assert!(
            std::fs::read_to_string(reason_file)
                .unwrap()
                .contains("bytes stored")
        );
    }
    assert_eq!(staged_files(&staging), Vec::<PathBuf>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_high_water_mark_jobs_spill_and_the_spill_drains_first() {
    let s3 = tests::recordings::require_s3();
    let dir = common::scratch("spill");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let jobs = stage_real(&staging, &format!("t-{}", run_id()), 3);
    let largest = jobs
        .iter()
        .map(|j| std::fs::metadata(&j.wav).unwrap().len())
        .max()
        .unwrap();
    let (mut relay, through_relay) = through(
        &s3,
        tests::relay::Relay::start(&tests::recordings::s3_address(&s3)),
    )
    .await;
    relay.down();
    let mut config = config(&dir);
    // Room for two of the largest jobs (each counted as its WAV and an MP3 as large until it
    // is encoded); one upload at a time, so the order they are stored in is the order they
    // are tried in.
    config.spill = Some(recording::SpillConfig {
        dir: dir.join("spill"),
        high_water: 4 * largest + 1,
    });
    config.uploads = 1;
    let (pipeline, mut reports) = Pipeline::start(config, Destination::s3(&through_relay).unwrap());
    for job in &jobs {
        pipeline.submit(job.clone()).await.unwrap();
        assert!(pipeline.status().bytes <= 4 * largest + 1);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = pipeline.status();
    assert!(during.files >= 2 && during.spilled_files >= 2, "{during:?}");
    assert!(during.bytes <= 4 * largest + 1, "{during:?}");
    assert_eq!(
        during.files + during.spilled_files,
        jobs.len(),
        "{during:?}"
    );
    assert!(during.store_failing_for.is_some(), "{during:?}");
    // All of them, but the one a probe of the store may be trying right now.
    assert!(during.waiting_to_retry + 1 >= jobs.len(), "{during:?}");

    relay.up().await;
    let reports = collect(&mut reports, jobs.len()).await;
    pipeline.finish().await;
    let spilled: Vec<bool> = reports
        .iter()
        .map(|r| {
            assert!(matches!(r.outcome, Outcome::Stored(_)), "{r:?}");
            r.job.wav.starts_with(dir.join("spill"))
        })
        .collect();
    // Every spilled job was stored before any job still in staging.
    let first_staged = spilled.iter().position(|s| !s).unwrap_or(spilled.len());
    assert!(spilled[first_staged..].iter().all(|s| !s), "{spilled:?}");
    assert_eq!(first_staged, during.spilled_files, "{spilled:?}");
    assert_eq!(staged_files(&staging), Vec::<PathBuf>::new());
    assert_eq!(staged_files(&dir.join("spill")), Vec::<PathBuf>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoding_that_fails_on_i_o_is_retried_by_the_pipeline() {
    let dir = common::scratch("encode-retry");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let job = stage_real(&staging, "acme", 1).remove(0);
    // The MP3 cannot be written while a directory stands where its `.part` goes: an I/O
    // error, as a full staging disk gives.
    std::fs::create_dir_all(job.part_file()).unwrap();
    let (pipeline, mut reports) = Pipeline::start(
        config(&dir),
        Destination::local(&dir.join("store")).unwrap(),
    );
    pipeline.submit(job.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Not left staged for a scan: still the pipeline's, waiting to be encoded again.
    assert!(reports.try_recv().is_err());
    assert_eq!(pipeline.status().files, 1);
    std::fs::remove_dir(job.part_file()).unwrap();
    let report = collect(&mut reports, 1).await.remove(0);
    pipeline.finish().await;
    assert!(matches!(report.outcome, Outcome::Stored(_)), "{report:?}");
    assert!(report.latency >= Duration::from_millis(400), "{report:?}");
    for file in [
        job.wav.clone(),
        job.job_file(),
        job.output_file(),
        job.part_file(),
    ] {
        assert!(!file.exists(), "{file:?} left staged");
    }
}

/// More recordings submitted at once than the runtime has blocking threads, while the encoders'
/// queue is full: a submission waiting for room holds no thread, so the uploads (whose file
/// work needs one) go on, make room, and every recording is stored. (Waiting on a thread, the
/// submissions took every blocking thread and the pipeline stopped, telling no one.)
#[test]
fn submissions_waiting_for_the_encoders_leave_the_blocking_threads_to_the_uploads() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = common::scratch("crowded");
        let staging = dir.join("staging");
        std::fs::create_dir_all(&staging).unwrap();
        let jobs = stage_real(&staging, "crowd", 4);
        let mut config = config(&dir);
        config.queue = 1;
        config.workers = 1;
        config.uploads = 1;
        let (pipeline, mut reports) =
            Pipeline::start(config, Destination::local(&dir.join("store")).unwrap());
        let pipeline = std::sync::Arc::new(pipeline);
        let submitted: Vec<_> = jobs
            .iter()
            .map(|job| {
                let (pipeline, job) = (pipeline.clone(), job.clone());
                tokio::spawn(async move { pipeline.submit(job).await })
            })
            .collect();
        let mut stored = 0;
        while stored < jobs.len() {
            let report = tokio::time::timeout(Duration::from_secs(30), reports.recv())
                .await
                .unwrap_or_else(|_| panic!("stuck after {stored} of {} recordings", jobs.len()))
                .expect("the pipeline is running");
            assert!(matches!(report.outcome, Outcome::Stored(_)), "{report:?}");
            stored += 1;
        }
        for submission in submitted {
            submission.await.unwrap().unwrap();
        }
        let Ok(pipeline) = std::sync::Arc::try_unwrap(pipeline) else {
            panic!("a submission still holds the pipeline");
        };
        pipeline.finish().await;
        assert_eq!(staged_files(&staging), Vec::<PathBuf>::new());
    });
}
