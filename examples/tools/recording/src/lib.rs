//! The `recording` tool: transcode one WAV, or run the pipeline over a staging directory.

#![warn(missing_docs)]

use recording::staging::recover;
use recording::{
    Channels, EncodeOptions, KeyLayout, Outcome, Pipeline, PipelineConfig, Rate, Report, Target,
    Transcoded,
};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// Encoder settings from the command line.
#[derive(Debug, Clone)]
pub struct EncoderArgs {
    /// CBR kbit/s, unless `vbr` is set.
    pub bitrate: u16,
    /// VBR quality 0..=9.
    pub vbr: Option<u8>,
    /// LAME algorithm quality 0..=9.
    pub quality: u8,
    /// Mix stereo down to mono.
    pub mono: bool,
}

impl EncoderArgs {
    /// The encoder options these stand for.
    pub fn options(&self) -> EncodeOptions {
        EncodeOptions {
            rate: match self.vbr {
                Some(quality) => Rate::Vbr(quality),
                None => Rate::Cbr(self.bitrate),
            },
            quality: self.quality,
            channels: if self.mono {
                Channels::Mono
            } else {
                Channels::Keep
            },
            tags: None,
        }
    }
}

/// What one transcode printed, as JSON.
pub fn transcoded_json(done: &Transcoded) -> serde_json::Value {
    json!({
        "duration_s": done.duration.as_secs_f64(),
        "bytes": done.bytes,
        "sha256": done.sha256,
        "bitrate_kbps": done.bitrate_kbps,
        "sample_rate": done.input.sample_rate,
        "channels": done.input.channels,
        "repaired_header": done.input.repaired,
    })
}

/// A batch over a staging directory.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The staging directory.
    pub staging: PathBuf,
    /// Where objects go.
    pub target: Target,
    /// Quarantine directory.
    pub quarantine: PathBuf,
    /// Encoder threads.
    pub workers: usize,
    /// Age after which a WAV without a job file counts as finished.
    pub stale_after: Duration,
    /// Tenant of WAVs without a job file.
    pub default_tenant: String,
    /// Object key template.
    pub key_template: String,
    /// Encoder settings.
    pub encoder: EncoderArgs,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// Counts of a finished batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Verified in the store.
    pub stored: usize,
    /// Moved to quarantine.
    pub quarantined: usize,
    /// Still staged.
    pub left_staged: usize,
}

/// One JSON line per report.
pub fn report_json(report: &Report) -> serde_json::Value {
    let wav = report.job.wav.display().to_string();
    let latency_ms = report.latency.as_secs_f64() * 1000.0;
    match &report.outcome {
        Outcome::Stored(stored) => json!({
            "wav": wav, "outcome": "stored", "key": stored.key, "bytes": stored.size,
            "duration_s": stored.duration.as_secs_f64(), "sha256": stored.sha256,
            "bitrate_kbps": stored.bitrate_kbps, "latency_ms": latency_ms,
            "upload_retries": report.upload_retries,
        }),
        Outcome::Quarantined { moved_to, reason } => json!({
            "wav": wav, "outcome": "quarantined", "moved_to": moved_to.display().to_string(),
            "reason": reason,
        }),
        Outcome::LeftStaged { reason } => json!({
            "wav": wav, "outcome": "left_staged", "reason": reason,
        }),
    }
}

/// Runs the pipeline over every finished WAV in the staging directory (job files, and WAVs
/// without one older than `stale_after`), printing a JSON line per job to `out`.
pub async fn run_batch(
    batch: &Batch,
    out: &mut (dyn std::io::Write + Send),
) -> Result<Summary, Box<dyn std::error::Error + Send + Sync>> {
    let found = recover(&batch.staging, batch.stale_after, &batch.default_tenant)?;
    for (file, why) in &found.unreadable {
        tracing::warn!(file = %file.display(), %why, "unreadable job file; WAV taken with defaults");
    }
    let destination = batch.target.destination()?;
    let mut config = PipelineConfig::new(batch.quarantine.clone());
    config.workers = batch.workers.max(1);
    config.encode = batch.encoder.options();
    config.layout = KeyLayout::new(&batch.key_template)?;
    let total = found.jobs.len();
    let bar = if batch.progress {
        indicatif::ProgressBar::new(total as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} recordings, {per_sec}, eta {eta}",
        )
        .expect("a valid template"),
    );
    let (pipeline, mut reports) = Pipeline::start(config, destination);
    let submitter = {
        let jobs = found.jobs;
        async move {
            for job in jobs {
                pipeline.submit(job).await?;
            }
            Ok::<_, recording::SubmitError>(pipeline)
        }
    };
    let collector = async {
        let mut summary = Summary::default();
        let mut written = Ok(());
        for _ in 0..total {
            let Some(report) = reports.recv().await else {
                break;
            };
            match report.outcome {
                Outcome::Stored(_) => summary.stored += 1,
                Outcome::Quarantined { .. } => summary.quarantined += 1,
                Outcome::LeftStaged { .. } => summary.left_staged += 1,
            }
            if written.is_ok() {
                written = writeln!(out, "{}", report_json(&report)).and_then(|_| out.flush());
            }
            bar.inc(1);
        }
        (summary, written)
    };
    let (submitted, (summary, written)) = tokio::join!(submitter, collector);
    submitted?.finish().await;
    bar.finish_and_clear();
    written?;
    Ok(summary)
}
