//! The staging directory: FreeSWITCH's WAVs (tmpfs in production), each finished one marked by a
//! job file beside it, outputs written as `*.part` and renamed when complete, and a quarantine
//! for files that can never succeed.
//!
//! Files of a job `call.wav`: `call.wav.job.json` (written when the recording is complete),
//! `call.wav.mp3.part` (while encoding), `call.wav.mp3` (encoded, not yet verified upstream).

use crate::Tags;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A finished recording to transcode and upload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Job {
    /// The WAV, in the staging directory.
    pub wav: PathBuf,
    /// Who and what the call was: the object key and the ID3 tags come from it.
    pub tags: Tags,
}

const JOB_SUFFIX: &str = ".job.json";
const PART_SUFFIX: &str = ".mp3.part";
const OUTPUT_SUFFIX: &str = ".mp3";

fn with_suffix(wav: &Path, suffix: &str) -> PathBuf {
    let mut name = wav.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl Job {
    /// The job file that marks the WAV complete.
    pub fn job_file(&self) -> PathBuf {
        Self::file_of(&self.wav)
    }

    /// The job file of the WAV at `wav`.
    pub(crate) fn file_of(wav: &Path) -> PathBuf {
        with_suffix(wav, JOB_SUFFIX)
    }

    /// Where the MP3 is written while encoding.
    pub fn part_file(&self) -> PathBuf {
        with_suffix(&self.wav, PART_SUFFIX)
    }

    /// The finished MP3, kept until the upload is verified.
    pub fn output_file(&self) -> PathBuf {
        with_suffix(&self.wav, OUTPUT_SUFFIX)
    }

    /// Marks the recording complete: writes the job file atomically (a temporary file renamed
    /// over it), so a crash leaves either no job file or a whole one.
    pub fn write_job_file(&self) -> io::Result<()> {
        let target = self.job_file();
        let temporary = with_suffix(&self.wav, ".job.json.tmp");
        let json = serde_json::to_vec(self).map_err(io::Error::other)?;
        std::fs::write(&temporary, json)?;
        std::fs::File::open(&temporary)?.sync_all()?;
        std::fs::rename(&temporary, &target)
    }

    /// Removes what the job left in staging once its object is verified: the MP3 first and the
    /// WAV after it, so a crash in between leaves a WAV to do again, never an MP3 alone.
    pub fn remove_staged(&self) -> io::Result<()> {
        remove_if_present(&self.output_file())?;
        remove_if_present(&self.wav)?;
        remove_if_present(&self.job_file())
    }
}

pub(crate) fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// What a recovery scan found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Jobs to run: WAVs with a job file, and WAVs without one older than the threshold (their
    /// writer is gone; the call UUID is the file's stem and the tenant the default one).
    pub jobs: Vec<Job>,
    /// Unfinished outputs and leftovers of finished jobs that were removed.
    pub removed: Vec<PathBuf>,
    /// Job files that could not be read, with why (their WAVs are still picked up).
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Scans `dir` after a restart. `stale_after`: how old a WAV without a job file must be to be
/// taken as finished (a live recording is written to continuously). Every unfinished output
/// and job file being written is a leftover of the previous run, removed.
pub fn recover(dir: &Path, stale_after: Duration, default_tenant: &str) -> io::Result<Recovered> {
    scan_with(dir, stale_after, Duration::ZERO, default_tenant)
}

/// Scans `dir` while this process works in it: as [`recover`], but an unfinished output or a
/// job file being written is removed only once it is `stale_after` old too (an encoder or
/// `RECORD_STOP` at work keeps its file young; removing it would break that job).
pub fn scan(dir: &Path, stale_after: Duration, default_tenant: &str) -> io::Result<Recovered> {
    scan_with(dir, stale_after, stale_after, default_tenant)
}

/// How old a file is, by its modification time (zero when unknown or in the future).
fn age(path: &Path, now: SystemTime) -> io::Result<Duration> {
    Ok(std::fs::metadata(path)?
        .modified()
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .unwrap_or_default())
}

fn scan_with(
    dir: &Path,
    stale_after: Duration,
    temporaries_after: Duration,
    default_tenant: &str,
) -> io::Result<Recovered> {
    let mut found = Recovered::default();
    let now = SystemTime::now();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    for path in names {
        let name = path.to_string_lossy().into_owned();
        if name.ends_with(PART_SUFFIX)
            || name.ends_with(".job.json.tmp")
            || name.ends_with(MOVING_SUFFIX)
        {
            // Gone meanwhile (its writer finished): nothing to remove.
            if age(&path, now).is_ok_and(|age| age >= temporaries_after) {
                remove_if_present(&path)?;
                found.removed.push(path);
            }
            continue;
        }
        // Leftovers of a job whose WAV is gone (its upload was verified before the crash), once
        // as old as a temporary: a job moving to the spill writes its job file there before
        // its WAV arrives.
        for suffix in [OUTPUT_SUFFIX, JOB_SUFFIX] {
            if let Some(wav) = name.strip_suffix(suffix)
                && wav.ends_with(".wav")
                && !Path::new(wav).exists()
                && age(&path, now).is_ok_and(|age| age >= temporaries_after)
            {
                remove_if_present(&path)?;
                found.removed.push(path.clone());
            }
        }
        if !name.ends_with(".wav") || !path.is_file() {
            continue;
        }
        let job_file = with_suffix(&path, JOB_SUFFIX);
        if job_file.exists() {
            match std::fs::read(&job_file)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Job>(&b).map_err(|e| e.to_string()))
            {
                Ok(mut job) => {
                    job.wav = path.clone();
                    found.jobs.push(job);
                    continue;
                }
                Err(why) => found.unreadable.push((job_file.clone(), why)),
            }
        }
        if age(&path, now)? >= stale_after || found.unreadable.iter().any(|(f, _)| *f == job_file) {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            found.jobs.push(Job {
                wav: path.clone(),
                tags: Tags {
                    call_uuid: stem,
                    tenant: default_tenant.to_owned(),
                    ..Tags::default()
                },
            });
        }
    }
    Ok(found)
}

/// Moves a job's WAV (and job file) into `quarantine` with `<wav>.reason.txt` beside it, and
/// removes its partial outputs. Returns the WAV's new path.
pub fn quarantine(job: &Job, quarantine: &Path, reason: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(quarantine)?;
    let name = job
        .wav
        .file_name()
        .ok_or_else(|| io::Error::other("a job without a file name"))?;
    let target = quarantine.join(name);
    let reason_file = with_suffix(&target, ".reason.txt");
    std::fs::write(&reason_file, format!("{reason}\n"))?;
    move_file(&job.wav, &target)?;
    if job.job_file().exists() {
        move_file(&job.job_file(), &with_suffix(&target, JOB_SUFFIX))?;
    }
    remove_if_present(&job.part_file())?;
    remove_if_present(&job.output_file())?;
    Ok(target)
}

/// The name a file has while it is copied across file systems: ignored by the scans (and
/// removed by them once stale), so a half-copied file is never taken for a whole one.
const MOVING_SUFFIX: &str = ".moving";

/// Rename, or across file systems (staging on tmpfs, quarantine and spill on disk) copy under a
/// temporary name, flush, rename and remove the original: `to` is whole or absent.
pub(crate) fn move_file(from: &Path, to: &Path) -> io::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    let temporary = with_suffix(to, MOVING_SUFFIX);
    let copied = std::fs::copy(from, &temporary)
        .and_then(|_| std::fs::File::open(&temporary)?.sync_all())
        .and_then(|()| std::fs::rename(&temporary, to));
    if let Err(error) = copied {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    std::fs::remove_file(from)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An empty directory of this process for the test `label` (the crate's unit tests share it).
    pub(crate) fn scratch(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("staging-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn recovery_finds_jobs_and_clears_leftovers() {
        let dir = scratch("recover");
        let marked = Job {
            wav: dir.join("a.wav"),
            tags: Tags {
                call_uuid: "a-uuid".into(),
                tenant: "acme".into(),
                ..Tags::default()
            },
        };
        std::fs::write(&marked.wav, b"RIFF").unwrap();
        marked.write_job_file().unwrap();
        std::fs::write(marked.part_file(), b"half").unwrap();
        std::fs::write(dir.join("live.wav"), b"RIFF").unwrap();
        std::fs::write(dir.join("gone.wav.mp3"), b"done").unwrap();
        std::fs::write(dir.join("gone.wav.job.json"), b"{}").unwrap();

        let found = recover(&dir, Duration::from_secs(3600), "default").unwrap();
        assert_eq!(found.jobs, vec![marked.clone()]);
        assert_eq!(found.removed.len(), 3);
        assert!(!marked.part_file().exists());

        // With no threshold the live recording counts as abandoned.
        let found = recover(&dir, Duration::ZERO, "default").unwrap();
        assert_eq!(found.jobs.len(), 2);
        assert_eq!(found.jobs[1].tags.call_uuid, "live");
        assert_eq!(found.jobs[1].tags.tenant, "default");
    }

    #[test]
    fn a_scan_while_working_leaves_files_being_written() {
        let dir = scratch("scan");
        let job = Job {
            wav: dir.join("b.wav"),
            tags: Tags::default(),
        };
        std::fs::write(&job.wav, b"RIFF").unwrap();
        std::fs::write(job.part_file(), b"half").unwrap();
        let temporary = dir.join("b.wav.job.json.tmp");
        std::fs::write(&temporary, b"{").unwrap();

        let found = scan(&dir, Duration::from_secs(3600), "default").unwrap();
        assert!(found.removed.is_empty());
        assert!(job.part_file().exists() && temporary.exists());
        // After a restart they are leftovers.
        let found = recover(&dir, Duration::from_secs(3600), "default").unwrap();
        assert_eq!(found.removed.len(), 2);
        assert!(!job.part_file().exists() && !temporary.exists());
    }

    #[test]
    fn quarantine_keeps_the_file_and_says_why() {
        let dir = scratch("quarantine");
        let job = Job {
            wav: dir.join("bad.wav"),
            tags: Tags::default(),
        };
        std::fs::write(&job.wav, b"junk").unwrap();
        job.write_job_file().unwrap();
        let moved = quarantine(&job, &dir.join("q"), "not a RIFF/WAVE file").unwrap();
        assert_eq!(std::fs::read(&moved).unwrap(), b"junk");
        assert!(!job.wav.exists() && !job.job_file().exists());
        let reason = std::fs::read_to_string(dir.join("q/bad.wav.reason.txt")).unwrap();
        assert_eq!(reason, "not a RIFF/WAVE file\n");
    }
}
