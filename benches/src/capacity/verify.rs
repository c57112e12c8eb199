//! The end-of-run checks: every call has its two legs' CDRs and exactly one charge in the
//! ledger, every recorded call its recording row and its MP3 object in S3 (of the size
//! recorded), and no staged file is left behind.

use super::call::Uuids;
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use std::collections::HashMap;

/// What the checks found missing or doubled.
#[derive(Debug, Clone, Default)]
pub struct Ledgered {
    /// Calls without exactly their two legs' CDRs.
    pub missing_cdrs: usize,
    /// Recording rows of calls that were not recorded.
    pub unexpected_recordings: usize,
    /// Calls whose charges are not exactly one.
    pub charges_not_one: usize,
    /// Calls charged twice or more (part of the above).
    pub charged_twice: usize,
    /// Recorded calls without a recording row.
    pub missing_recordings: usize,
    /// Recording rows whose object is missing in S3 or of another size.
    pub missing_objects: usize,
    /// Calls with more than one recording row.
    pub doubled_recordings: usize,
    /// Holds (prepaid reservations) by state.
    pub holds: Vec<(String, i64)>,
}

impl Ledgered {
    /// Whether nothing is missing or doubled.
    pub fn complete(&self) -> bool {
        self.missing_cdrs == 0
            && self.unexpected_recordings == 0
            && self.holds.iter().all(|(state, _)| state == "settled")
            && self.charges_not_one == 0
            && self.missing_recordings == 0
            && self.missing_objects == 0
            && self.doubled_recordings == 0
    }
}

/// Checks the ledger and the bucket for `calls` calls (`recorded[k]`: whether call `k` was).
pub async fn ledger_and_bucket(database: &str, uuids: &Uuids, recorded: &[bool]) -> Ledgered {
    let ledger = billing::Ledger::connect(database)
        .await
        .expect("the run's database");
    let pattern = format!("%{}", uuids.tail());
    let per_call = |rows: Vec<(String,)>| {
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for (uuid,) in rows {
            if let Some((k, _)) = uuids.parse(&uuid) {
                *counts.entry(k).or_default() += 1;
            }
        }
        counts
    };
    let mut cdr_legs: HashMap<usize, Vec<usize>> = HashMap::new();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT uuid FROM cdrs WHERE uuid LIKE $1")
        .bind(&pattern)
        .fetch_all(ledger.pool())
        .await
        .expect("read the CDRs");
    for (uuid,) in rows {
        if let Some((k, leg)) = uuids.parse(&uuid) {
            cdr_legs.entry(k).or_default().push(leg);
        }
    }
    let charges = per_call(
        sqlx::query_as(
            "SELECT c.uuid FROM charges ch JOIN cdrs c ON c.id = ch.cdr_id WHERE c.uuid LIKE $1",
        )
        .bind(&pattern)
        .fetch_all(ledger.pool())
        .await
        .expect("read the charges"),
    );
    let recordings: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT call_uuid, object_key, size_bytes FROM recordings WHERE call_uuid LIKE $1",
    )
    .bind(&pattern)
    .fetch_all(ledger.pool())
    .await
    .expect("read the recordings");
    let holds: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM holds GROUP BY state ORDER BY state")
            .fetch_all(ledger.pool())
            .await
            .unwrap_or_default();

    let mut found = Ledgered {
        holds,
        ..Ledgered::default()
    };
    for k in 0..recorded.len() {
        let mut legs = cdr_legs.remove(&k).unwrap_or_default();
        legs.sort_unstable();
        if legs != [0, 1] {
            found.missing_cdrs += 1;
        }
        let charged = charges.get(&k).copied().unwrap_or(0);
        if charged != 1 {
            found.charges_not_one += 1;
        }
        if charged > 1 {
            found.charged_twice += 1;
        }
    }
    let mut rows_per_call: HashMap<usize, usize> = HashMap::new();
    for (uuid, _, _) in &recordings {
        if let Some((k, _)) = uuids.parse(uuid) {
            *rows_per_call.entry(k).or_default() += 1;
        }
    }
    for (k, &was_recorded) in recorded.iter().enumerate() {
        match rows_per_call.get(&k).copied().unwrap_or(0) {
            0 if was_recorded => found.missing_recordings += 1,
            0 => {}
            1 if !was_recorded => found.unexpected_recordings += 1,
            1 => {}
            _ => found.doubled_recordings += 1,
        }
    }
    let store = recording::Destination::s3(&tests::recordings::s3_config())
        .expect("the S3 configuration")
        .store()
        .clone();
    // HEAD each object, 32 at a time.
    let heads = futures_util::stream::iter(recordings.iter().map(|(_, key, size)| {
        let store = store.clone();
        async move {
            let meta = store.head(&ObjectPath::from(key.as_str())).await;
            matches!(meta, Ok(meta) if meta.size as i64 == *size)
        }
    }))
    .buffer_unordered(32)
    .collect::<Vec<bool>>()
    .await;
    found.missing_objects += heads.iter().filter(|ok| !**ok).count();
    found
}
