//! What the staging area holds, and the spill: finished recordings the pipeline holds are
//! counted (each WAV, and its MP3 or, before it is encoded, room for one as large as the WAV),
//! and a job that would take the count past the high-water mark moves to a spill directory on
//! disk instead, so that the tmpfs keeps room for the recordings FreeSWITCH is writing.
//!
//! The count is of what the pipeline holds, not of the file system: what FreeSWITCH is still
//! recording is not the pipeline's to move, and needs the room left above the mark.

use crate::staging::{self, Job};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where finished recordings go when the staging area holds too much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpillConfig {
    /// A directory on disk (not the staging tmpfs).
    pub dir: PathBuf,
    /// Most bytes of finished recordings (WAVs and MP3s) held in the staging directory.
    pub high_water: u64,
}

/// The staging area and the spill as the pipeline sees them: what [`crate::Pipeline::status`]
/// answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagingStatus {
    /// Finished recordings held in the staging directory (not yet verified upstream).
    pub files: usize,
    /// Their bytes (each WAV, and its MP3 or the room kept for it).
    pub bytes: u64,
    /// How long the oldest of them (or of the spilled ones) has waited.
    pub oldest: Option<Duration>,
    /// Finished recordings in the spill directory.
    pub spilled_files: usize,
    /// Their bytes.
    pub spilled_bytes: u64,
    /// The high-water mark, when a spill is configured.
    pub high_water: Option<u64>,
    /// Recordings whose upload failed and that wait to be tried again.
    pub waiting_to_retry: usize,
    /// Since when every upload attempt has failed (the store is down or refusing), if so.
    pub store_failing_for: Option<Duration>,
    /// Recordings quarantined since the start.
    pub quarantined: u64,
    /// How long ago the last of them was.
    pub last_quarantined: Option<Duration>,
}

#[derive(Debug)]
struct Held {
    bytes: u64,
    since: Instant,
    spilled: bool,
}

/// The pipeline's count of what it holds, shared by its tasks.
#[derive(Debug, Default)]
pub(crate) struct Holdings {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    held: HashMap<PathBuf, Held>,
    waiting_to_retry: usize,
    store_failing_since: Option<Instant>,
    quarantined: u64,
    last_quarantined: Option<Instant>,
}

impl Holdings {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes `job` in: counts it where it is, or moves it to the spill first when counting it
    /// in the staging directory would pass the high-water mark. Returns the job as it now is,
    /// or `None` when it is held already (submitted twice: a scan beside its RECORD_STOP).
    pub(crate) fn admit(
        &self,
        job: Job,
        spill: Option<&SpillConfig>,
    ) -> std::io::Result<Option<Job>> {
        let wav_bytes = std::fs::metadata(&job.wav)?.len();
        let encoded = job.output_file().metadata().map(|m| m.len()).ok();
        // An MP3 is never larger than its WAV: room for one as large, until it exists.
        let bytes = wav_bytes + encoded.unwrap_or(wav_bytes);
        let in_spill = spill.is_some_and(|s| job.wav.parent() == Some(s.dir.as_path()));
        let since = Instant::now();
        let spill_to = {
            let mut inner = self.lock();
            if inner.held.contains_key(&job.wav) {
                return Ok(None);
            }
            let spill_to = spill
                .filter(|s| !in_spill && inner.staged_bytes() + bytes > s.high_water)
                .map(|s| s.dir.clone());
            // Held (as spilled, while it moves) before the lock goes: two submissions cannot
            // both take the last room, nor the same job twice.
            let spilled = in_spill || spill_to.is_some();
            inner.held.insert(
                job.wav.clone(),
                Held {
                    bytes,
                    since,
                    spilled,
                },
            );
            spill_to
        };
        let Some(dir) = spill_to else {
            return Ok(Some(job));
        };
        // The copy to disk runs without the lock: the upload loop, the encoders and /healthz
        // do not wait for it.
        let moved = move_job(&job, &dir);
        let mut inner = self.lock();
        match moved {
            Ok(moved) => {
                if let Some(held) = inner.held.remove(&job.wav) {
                    inner.held.insert(moved.wav.clone(), held);
                }
                Ok(Some(moved))
            }
            // The spill's disk is full or failing: the recording stays in staging (past the
            // mark, which /healthz then reports) rather than out of the pipeline.
            Err(error) => {
                tracing::warn!(wav = %job.wav.display(), %error, "could not spill; kept in staging");
                if let Some(held) = inner.held.get_mut(&job.wav) {
                    held.spilled = false;
                }
                Ok(Some(job))
            }
        }
    }

    /// The job's MP3 is written: count its real size.
    pub(crate) fn encoded(&self, job: &Job, mp3_bytes: u64) {
        let wav_bytes = std::fs::metadata(&job.wav).map_or(0, |m| m.len());
        if let Some(held) = self.lock().held.get_mut(&job.wav) {
            held.bytes = wav_bytes + mp3_bytes;
        }
    }

    /// The pipeline is done with the job (stored, quarantined, or left staged for a scan to
    /// submit again).
    pub(crate) fn released(&self, job: &Job) {
        self.lock().held.remove(&job.wav);
    }

    /// Whether the pipeline holds the WAV at `wav` (queued, encoding, uploading or waiting).
    pub(crate) fn holds(&self, wav: &Path) -> bool {
        self.lock().held.contains_key(wav)
    }

    /// Whether the job is held in the spill.
    pub(crate) fn is_spilled(&self, job: &Job) -> bool {
        self.lock().held.get(&job.wav).is_some_and(|h| h.spilled)
    }

    /// A quarantine.
    pub(crate) fn quarantined(&self) {
        let mut inner = self.lock();
        inner.quarantined += 1;
        inner.last_quarantined = Some(Instant::now());
    }

    /// How many jobs wait to be tried again, and whether the store fails every attempt.
    pub(crate) fn retrying(&self, waiting: usize, store_failing_since: Option<Instant>) {
        let mut inner = self.lock();
        inner.waiting_to_retry = waiting;
        inner.store_failing_since = store_failing_since;
    }

    /// What is held now.
    pub(crate) fn status(&self, spill: Option<&SpillConfig>) -> StagingStatus {
        let inner = self.lock();
        let mut status = StagingStatus {
            high_water: spill.map(|s| s.high_water),
            waiting_to_retry: inner.waiting_to_retry,
            store_failing_for: inner.store_failing_since.map(|since| since.elapsed()),
            quarantined: inner.quarantined,
            last_quarantined: inner.last_quarantined.map(|at| at.elapsed()),
            ..StagingStatus::default()
        };
        for held in inner.held.values() {
            if held.spilled {
                status.spilled_files += 1;
                status.spilled_bytes += held.bytes;
            } else {
                status.files += 1;
                status.bytes += held.bytes;
            }
            let age = held.since.elapsed();
            status.oldest = Some(status.oldest.map_or(age, |oldest| oldest.max(age)));
        }
        status
    }
}

impl Inner {
    fn staged_bytes(&self) -> u64 {
        self.held
            .values()
            .filter(|h| !h.spilled)
            .map(|h| h.bytes)
            .sum()
    }
}

/// Moves a job's files (its MP3 if encoded, then its job file, its WAV last) into `dir`, under
/// a name no file there has; returns the job at its new place. Each file is whole or absent
/// at its new name (copied under a temporary name first), and the WAV moves last with its job
/// file written before it: a crash leaves the WAV in one place or the other (or, between the
/// copy and the removal, both: stored twice under one key, never lost), each with its job
/// file; the leftovers of the other place are cleared by the next scan.
pub fn move_job(job: &Job, dir: &Path) -> std::io::Result<Job> {
    std::fs::create_dir_all(dir)?;
    let stem = job
        .wav
        .file_stem()
        .ok_or_else(|| std::io::Error::other("a job without a file name"))?
        .to_string_lossy()
        .into_owned();
    // A name of its own: another recording of the same name may wait there already (the
    // job's identity is its tags, not its file name).
    let wav = (0..1000)
        .map(|n| match n {
            0 => dir.join(format!("{stem}.wav")),
            n => dir.join(format!("{stem}-{n}.wav")),
        })
        .find(|wav| !wav.exists() && !Job::file_of(wav).exists())
        .ok_or_else(|| std::io::Error::other(format!("no free name for {stem} in the spill")))?;
    let moved = Job {
        wav,
        tags: job.tags.clone(),
    };
    if job.output_file().exists() {
        staging::move_file(&job.output_file(), &moved.output_file())?;
    }
    moved.write_job_file()?;
    staging::move_file(&job.wav, &moved.wav)?;
    staging::remove_if_present(&job.job_file())?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tags;
    use crate::staging::tests::scratch;

    fn staged(dir: &Path, name: &str, bytes: usize) -> Job {
        let job = Job {
            wav: dir.join(name),
            tags: Tags {
                call_uuid: name.into(),
                ..Tags::default()
            },
        };
        std::fs::write(&job.wav, vec![0u8; bytes]).unwrap();
        job.write_job_file().unwrap();
        job
    }

    #[test]
    fn jobs_past_the_high_water_mark_move_to_the_spill() {
        let dir = scratch("spill-mark");
        let staging = dir.join("staging");
        std::fs::create_dir_all(&staging).unwrap();
        let spill = SpillConfig {
            dir: dir.join("spill"),
            high_water: 5_000,
        };
        let holdings = Holdings::default();
        // Each counts 2,000 bytes (its WAV and room for its MP3): two fit under 5,000.
        let mut admitted = Vec::new();
        for n in 0..4 {
            let job = staged(&staging, &format!("{n}.wav"), 1_000);
            admitted.push(holdings.admit(job, Some(&spill)).unwrap().unwrap());
        }
        assert!(admitted[..2].iter().all(|j| j.wav.starts_with(&staging)));
        for job in &admitted[2..] {
            assert!(job.wav.starts_with(&spill.dir), "{job:?}");
            assert!(job.wav.exists() && job.job_file().exists());
            assert!(!staging.join(job.wav.file_name().unwrap()).exists());
        }
        let status = holdings.status(Some(&spill));
        assert_eq!((status.files, status.bytes), (2, 4_000));
        assert_eq!((status.spilled_files, status.spilled_bytes), (2, 4_000));
        // One is stored: room for the next.
        holdings.released(&admitted[0]);
        let next = staged(&staging, "4.wav", 1_000);
        let next = holdings.admit(next, Some(&spill)).unwrap().unwrap();
        assert!(next.wav.starts_with(&staging));
        // Submitted twice (a scan beside its RECORD_STOP): taken once.
        assert_eq!(holdings.admit(next, Some(&spill)).unwrap(), None);
        // A spilled job the pipeline let go (left staged) and a scan of the spill finds again
        // stays where it is.
        holdings.released(&admitted[3]);
        let again = holdings
            .admit(admitted[3].clone(), Some(&spill))
            .unwrap()
            .unwrap();
        assert_eq!(again.wav, admitted[3].wav);
        assert!(holdings.is_spilled(&again));
        // A recording of the same name as one waiting in the spill gets a name of its own.
        let namesake = staged(&staging, "2.wav", 1_000);
        let moved = move_job(&namesake, &spill.dir).unwrap();
        assert_eq!(moved.wav, spill.dir.join("2-1.wav"));
        assert!(admitted[2].wav.exists() && moved.wav.exists() && moved.job_file().exists());
    }
}
