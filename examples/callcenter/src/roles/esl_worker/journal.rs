//! The CDR journal: where CDRs taken from hangup events wait while the ledger cannot take them,
//! so the event loop never waits on the database.
//!
//! An append-only file of one JSON object per line (the event's headers, as [`Cdr::raw`] holds
//! them), each append written and fsync'd before it returns. Replaying reads the lines, records
//! them (the ledger is idempotent per call UUID and leg, so a line replayed twice, after a crash
//! between the commit and the truncation, charges nothing twice) and only then removes what it
//! replayed, keeping whatever was appended meanwhile. A line torn by a crash mid-append is cut
//! off when the journal is opened (it was never acknowledged); a line that is not a CDR is moved
//! to `<journal>.bad` and logged, never dropped silently.

use billing::{Cdr, CdrOptions};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The journal file. Its methods do blocking file I/O: call them from `spawn_blocking`.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// Appends and truncations one at a time.
    lock: Mutex<()>,
}

/// CDRs read back from the journal, and where the read stopped.
#[derive(Debug)]
pub struct Replay {
    /// The CDRs, in the order they were appended.
    pub cdrs: Vec<Cdr>,
    /// The length of the journal read: [`Journal::consume`] removes up to it.
    pub end: u64,
    /// Lines that are not CDRs: [`Journal::consume`] moves them to `<journal>.bad`.
    pub bad: Vec<u8>,
}

impl Journal {
    /// Opens (creating) the journal at `path`, cutting off a line torn by a crash.
    pub fn open(path: impl Into<PathBuf>) -> io::Result<Self> {
        let path = path.into();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            let keep = bytes
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |at| at + 1);
            tracing::warn!(path = %path.display(), torn_bytes = bytes.len() - keep, "CDR journal: cutting off a line torn by a crash (it was never acknowledged)");
            file.set_len(keep as u64)?;
            file.sync_all()?;
        }
        Ok(Journal {
            path,
            lock: Mutex::new(()),
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `cdrs`, durably: written and fsync'd when it returns.
    pub fn append(&self, cdrs: &[Cdr]) -> io::Result<()> {
        let mut lines = Vec::new();
        for cdr in cdrs {
            // `raw` is one JSON object; JSON text has no raw newline.
            lines.extend_from_slice(cdr.raw.as_bytes());
            lines.push(b'\n');
        }
        let _one = self.guard();
        let mut file = OpenOptions::new().append(true).open(&self.path)?;
        let before = file.metadata()?.len();
        let written = file.write_all(&lines).and_then(|()| file.sync_data());
        if let Err(error) = written {
            // A part written (the disk full, say) would glue itself to the next append.
            let _ = file.set_len(before);
            return Err(error);
        }
        Ok(())
    }

    /// Whether nothing waits in it.
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(std::fs::metadata(&self.path)?.len() == 0)
    }

    /// Reads every CDR waiting (lines that are not CDRs are set apart in [`Replay::bad`]).
    pub fn read(&self, options: &CdrOptions) -> io::Result<Replay> {
        let _one = self.guard();
        let mut file = File::open(&self.path)?;
        let end = file.seek(SeekFrom::End(0))?;
        file.seek(SeekFrom::Start(0))?;
        let mut cdrs = Vec::new();
        let mut bad = Vec::new();
        for line in BufReader::new(file.take(end)).split(b'\n') {
            let line = line?;
            if line.is_empty() {
                continue;
            }
            match parse_line(&line, options) {
                Ok(cdr) => cdrs.push(cdr),
                Err(why) => {
                    tracing::error!(path = %self.path.display(), why, "CDR journal: a line that is not a CDR, to be kept in the .bad file");
                    bad.extend_from_slice(&line);
                    bad.push(b'\n');
                }
            }
        }
        Ok(Replay { cdrs, end, bad })
    }

    /// Removes what `replay` read (its CDRs recorded by the ledger), keeping anything appended
    /// since: its bad lines go to `<journal>.bad` first, then the rest of the journal is written
    /// to a new file, fsync'd, and renamed over.
    pub fn consume(&self, replay: &Replay) -> io::Result<()> {
        let end = replay.end;
        let _one = self.guard();
        if !replay.bad.is_empty() {
            let mut bad_path = self.path.clone().into_os_string();
            bad_path.push(".bad");
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(bad_path)?;
            file.write_all(&replay.bad)?;
            file.sync_data()?;
        }
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(end))?;
        let mut rest = Vec::new();
        file.read_to_end(&mut rest)?;
        let mut next = self.path.clone().into_os_string();
        next.push(".next");
        let next = PathBuf::from(next);
        let mut out = File::create(&next)?;
        out.write_all(&rest)?;
        out.sync_all()?;
        std::fs::rename(&next, &self.path)?;
        if let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename itself is durable once the directory is.
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

/// A journal line back into its CDR.
fn parse_line(line: &[u8], options: &CdrOptions) -> Result<Cdr, String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let pairs: Vec<(&str, &str)> = map
        .iter()
        .filter_map(|(name, value)| value.as_str().map(|value| (name.as_str(), value)))
        .collect();
    Cdr::from_pairs(pairs, options).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cdr(uuid: &str) -> Cdr {
        Cdr::from_pairs(
            [
                ("Unique-ID", uuid),
                ("variable_billsec", "5"),
                ("Caller-Caller-ID-Name", "a \"quoted\"\nname"),
            ],
            &CdrOptions::default(),
        )
        .unwrap()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("cdr-journal.jsonl")
    }

    #[test]
    fn appended_cdrs_read_back_and_what_came_after_a_read_survives_it() {
        let journal = Journal::open(scratch("roundtrip")).unwrap();
        assert!(journal.is_empty().unwrap());
        journal.append(&[cdr("u-1"), cdr("u-2")]).unwrap();
        let replay = journal.read(&CdrOptions::default()).unwrap();
        assert_eq!(replay.cdrs.len(), 2);
        assert_eq!(replay.cdrs[0], cdr("u-1"));
        journal.append(&[cdr("u-3")]).unwrap();
        journal.consume(&replay).unwrap();
        let rest = journal.read(&CdrOptions::default()).unwrap();
        assert_eq!(rest.cdrs, [cdr("u-3")]);
    }

    #[test]
    fn a_torn_line_is_cut_and_a_bad_line_kept_apart() {
        let path = scratch("torn");
        let journal = Journal::open(&path).unwrap();
        journal.append(&[cdr("u-1")]).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"not json\n{\"Unique-ID\":\"u-2\",\"var")
            .unwrap();
        let journal = Journal::open(&path).unwrap();
        let replay = journal.read(&CdrOptions::default()).unwrap();
        assert_eq!(replay.cdrs, [cdr("u-1")]);
        journal.consume(&replay).unwrap();
        assert!(journal.is_empty().unwrap());
        let bad = std::fs::read_to_string(format!("{}.bad", path.display())).unwrap();
        assert_eq!(bad, "not json\n");
    }
}
