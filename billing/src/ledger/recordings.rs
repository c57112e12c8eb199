//! Recording metadata: where a call's recordings are in the object store.

use super::micros::now_us;
use super::{Ledger, LedgerError};
use sqlx::Row;

/// A recording stored in the object store, linked to its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRecord {
    /// The call's UUID (links to its CDRs).
    pub call_uuid: String,
    /// The tenant.
    pub tenant: String,
    /// Where it is in the object store.
    pub object_key: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Duration in milliseconds.
    pub duration_ms: i64,
    /// SHA-256 of the object, hex.
    pub sha256: String,
    /// MP3 bitrate.
    pub bitrate_kbps: i32,
}

impl Ledger {
    /// Stores a recording's metadata, once per object key (a retried job changes nothing);
    /// returns `true` when it was new.
    pub async fn save_recording(&self, recording: &RecordingRecord) -> Result<bool, LedgerError> {
        let done = sqlx::query(
            "INSERT INTO recordings (call_uuid, tenant, object_key, size_bytes, duration_ms, sha256, bitrate_kbps, created_at_us)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (object_key) DO NOTHING",
        )
        .bind(&recording.call_uuid)
        .bind(&recording.tenant)
        .bind(&recording.object_key)
        .bind(recording.size_bytes)
        .bind(recording.duration_ms)
        .bind(&recording.sha256)
        .bind(recording.bitrate_kbps)
        .bind(now_us())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The recordings of a call.
    pub async fn recordings(&self, call_uuid: &str) -> Result<Vec<RecordingRecord>, LedgerError> {
        let rows = sqlx::query(
            "SELECT call_uuid, tenant, object_key, size_bytes, duration_ms, sha256, bitrate_kbps, id
             FROM recordings WHERE call_uuid = $1 ORDER BY id",
        )
        .bind(call_uuid)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok(recording_from(row)?.1)).collect()
    }

    /// A tenant's recordings, oldest first, after the row `after`, at most `limit`, each with
    /// its row id (the cursor of the next page). The empty tenant's are those nothing
    /// attributed: the operator's to see.
    pub async fn tenant_recordings(
        &self,
        tenant: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, RecordingRecord)>, LedgerError> {
        let rows = sqlx::query(
            "SELECT call_uuid, tenant, object_key, size_bytes, duration_ms, sha256, bitrate_kbps, id
             FROM recordings WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(tenant)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(recording_from).collect()
    }
}

fn recording_from(row: &sqlx::any::AnyRow) -> Result<(i64, RecordingRecord), LedgerError> {
    Ok((
        row.try_get(7)?,
        RecordingRecord {
            call_uuid: row.try_get(0)?,
            tenant: row.try_get(1)?,
            object_key: row.try_get(2)?,
            size_bytes: row.try_get(3)?,
            duration_ms: row.try_get(4)?,
            sha256: row.try_get(5)?,
            bitrate_kbps: row.try_get(6)?,
        },
    ))
}
