//! Importing the CDRs FreeSWITCH could not post: mod_json_cdr writes them to its err-log-dir as
//! `<uuid>.cdr.json` (or `a_<uuid>.cdr.json` for A legs with `prefix-a-leg`): the body it would
//! have posted without `cdr=` (base64 text, raw JSON or URL-encoded text, by its settings), read
//! by the same reader as the gateway's posts, and recorded by the same ledger rule.

use billing::{Cdr, CdrOptions, Ledger};
use std::path::{Path, PathBuf};

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// CDRs recorded for the first time.
    pub recorded: usize,
    /// CDRs that were already recorded (posted after all, or imported before).
    pub duplicates: usize,
    /// Of those recorded, the ones stored unassigned (no tenant attributes them).
    pub unassigned: usize,
    /// Files not imported (unreadable, not a CDR, refused), each left in place.
    pub failed: usize,
    /// Why, per failed file.
    pub errors: Vec<(PathBuf, String)>,
}

/// Files recorded in one database transaction.
const FILES_PER_BATCH: usize = 500;

/// Records every `*.cdr.json` in `dir` and renames each recorded file `*.cdr.json.imported`;
/// files that fail stay as they are, with the reason in the summary.
/// `options` say how CDRs name their tenant.
pub async fn import_cdrs(
    ledger: &Ledger,
    dir: &Path,
    options: &CdrOptions,
) -> Result<ImportSummary, std::io::Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".cdr.json"))
        .collect();
    files.sort();
    let mut summary = ImportSummary::default();
    for chunk in files.chunks(FILES_PER_BATCH) {
        let mut cdrs = Vec::new();
        let mut paths = Vec::new();
        for path in chunk {
            let parsed = std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|body| Cdr::parse(&body, options).map_err(|e| e.to_string()));
            match parsed {
                Ok(cdr) => {
                    cdrs.push(cdr);
                    paths.push(path.clone());
                }
                Err(why) => {
                    summary.failed += 1;
                    summary.errors.push((path.clone(), why));
                }
            }
        }
        let results = ledger
            .record_batch(&cdrs)
            .await
            .map_err(std::io::Error::other)?;
        for (path, result) in paths.into_iter().zip(results) {
            match result {
                Ok(recorded) => {
                    if recorded.duplicate {
                        summary.duplicates += 1;
                    } else {
                        summary.recorded += 1;
                        if matches!(recorded.outcome, billing::Outcome::Unassigned(_)) {
                            summary.unassigned += 1;
                        }
                    }
                    let mut done = path.clone().into_os_string();
                    done.push(".imported");
                    std::fs::rename(&path, done)?;
                }
                Err(error) => {
                    summary.failed += 1;
                    summary.errors.push((path, error.to_string()));
                }
            }
        }
    }
    Ok(summary)
}
