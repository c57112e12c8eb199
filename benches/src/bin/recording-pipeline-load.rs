//! The whole recording pipeline under load: N two-minute WAVs (the real 8 kHz mono recording,
//! looped) staged on tmpfs, submitted as FreeSWITCH would on RECORD_STOP, and transcoded and
//! uploaded to the S3 server until every one is verified. Prints one JSON object: recordings/s,
//! the time from "complete" (submit) to "verified in S3" (p50, p99, max), and peak RSS.
//!
//! `--rate R` submits R recordings per second (arrivals spread in time, as calls end); without
//! it all are submitted at once (throughput, with queueing in the latencies). S3 settings come
//! from `RECORDING_TEST_S3_*` (defaults: the Garage of `.ci/garage`).

use recording::{Destination, Job, Outcome, Pipeline, PipelineConfig, Tags};
use std::time::{Duration, Instant};

struct Args {
    count: usize,
    rate: Option<f64>,
    staging: std::path::PathBuf,
}

fn args() -> Args {
    let mut args = Args {
        count: 1000,
        rate: None,
        staging: std::path::PathBuf::from("/dev/shm/recording-pipeline-load"),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--count" => args.count = value.parse().expect("--count N"),
            "--rate" => args.rate = Some(value.parse().expect("--rate R")),
            "--staging" => args.staging = value.into(),
            _ => panic!("unknown flag {flag}; flags: --count N --rate R --staging DIR"),
        }
    }
    args
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args = args();
    let _ = std::fs::remove_dir_all(&args.staging);
    std::fs::create_dir_all(&args.staging).unwrap();
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tenant = format!("load-{run}");
    let (samples, _) = tests::recordings::fixture_samples("mono_");
    let wav = tests::recordings::looped_wav(&samples, 8000, 1, 120);
    let jobs: Vec<Job> = (0..args.count)
        .map(|i| {
            let job = Job {
                wav: args.staging.join(format!("call-{i}.wav")),
                tags: Tags {
                    call_uuid: format!("call-{run}-{i}"),
                    tenant: tenant.clone(),
                    caller: "1000".into(),
                    callee: "442079460000".into(),
                    start_epoch: Some(run as i64),
                },
            };
            std::fs::write(&job.wav, &wav).unwrap();
            job
        })
        .collect();
    let config = PipelineConfig::new(args.staging.join("quarantine"));
    let workers = config.workers;
    let (pipeline, mut reports) = Pipeline::start(
        config,
        Destination::s3(&tests::recordings::s3_config()).unwrap(),
    );
    let started = Instant::now();
    let count = jobs.len();
    let rate = args.rate;
    let submitter = tokio::spawn(async move {
        for (i, job) in jobs.into_iter().enumerate() {
            if let Some(rate) = rate {
                let due = started + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
            }
            pipeline.submit(job).await.unwrap();
        }
        pipeline
    });
    let mut latencies = Vec::with_capacity(count);
    let mut failed = 0;
    while latencies.len() + failed < count {
        let report = reports.recv().await.expect("a report per job");
        match report.outcome {
            Outcome::Stored(_) => latencies.push(report.latency),
            other => {
                failed += 1;
                eprintln!("{:?}: {other:?}", report.job.wav);
            }
        }
    }
    let elapsed = started.elapsed();
    submitter.await.unwrap().finish().await;
    latencies.sort();
    let audio_seconds = 120.0 * latencies.len() as f64;
    println!(
        "{}",
        serde_json::json!({
            "recordings": count,
            "verified": latencies.len(),
            "failed": failed,
            "encoder_threads": workers,
            "arrival_rate_per_s": rate,
            "elapsed_s": elapsed.as_secs_f64(),
            "recordings_per_s": latencies.len() as f64 / elapsed.as_secs_f64(),
            "audio_seconds_per_s": audio_seconds / elapsed.as_secs_f64(),
            "complete_to_verified_ms": {
                "p50": percentile(&latencies, 0.50),
                "p99": percentile(&latencies, 0.99),
                "max": percentile(&latencies, 1.0),
            },
            "peak_rss_kib": peak_rss_kib(),
        })
    );
    let _ = std::fs::remove_dir_all(&args.staging);
    if failed > 0 {
        std::process::exit(1);
    }
}
