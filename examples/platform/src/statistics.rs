//! The contact center's daily statistics, per queue: callers offered, answered and abandoned,
//! the average speed of answer and the service level (the share of callers who reached an
//! outcome, answered or abandoned, that an agent answered within the queue's threshold).
//!
//! Each caller is one row (`cc_members`, by mod_callcenter's member UUID), written by an
//! upsert from any of its events: an event seen twice (a re-sync, two workers) changes
//! nothing, and a caller answered is never also abandoned. The day is the tenant's, in its
//! time zone, when the caller joined.
//!
//! ```
//! // 18:30 UTC on 23 November 2026 is already the 24th in Tokyo.
//! assert_eq!(platform::statistics::day_of(Some("Asia/Tokyo"), 1_795_458_643), "2026-11-24");
//! assert_eq!(platform::statistics::day_of(None, 1_795_458_643), "2026-11-23");
//! ```

use crate::contact_center::{MemberOutcome, MemberStep};
use crate::store::{PlatformError, PlatformStore};
use chrono::TimeZone;
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// One queue's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDay {
    /// The queue's name (without its tenant).
    pub queue: String,
    /// Callers who joined.
    pub offered: u64,
    /// Callers an agent answered.
    pub answered: u64,
    /// Callers who left before an agent answered.
    pub abandoned: u64,
    /// Seconds the answered callers waited, in all.
    pub answer_wait_seconds: u64,
    /// Average seconds an answered caller waited, rounded to the nearest second (`None`
    /// before the first answer).
    pub average_answer_seconds: Option<u64>,
    /// Answered callers who waited at most the threshold.
    pub answered_within_threshold: u64,
    /// The queue's threshold, seconds.
    pub threshold_seconds: u32,
    /// `answered_within_threshold / (answered + abandoned)` in whole percent, rounded down
    /// (`None` before any outcome; the counts give it exactly).
    pub service_level_percent: Option<u64>,
}

/// The day (`YYYY-MM-DD`) it is at `unix` seconds in `time_zone` (an IANA name; `None` or one
/// not known: UTC).
pub fn day_of(time_zone: Option<&str>, unix: i64) -> String {
    let zone: chrono_tz::Tz = time_zone
        .and_then(|zone| zone.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    match zone.timestamp_opt(unix, 0).single() {
        Some(time) => time.format("%Y-%m-%d").to_string(),
        None => "1970-01-01".to_owned(),
    }
}

/// Whether `day` is a day as [`day_of`] writes it (what a query may ask for).
///
/// ```
/// assert!(platform::statistics::is_day("2026-12-06"));
/// assert!(!platform::statistics::is_day("2026-13-06") && !platform::statistics::is_day("06/12/2026"));
/// ```
pub fn is_day(day: &str) -> bool {
    day.len() == 10 && chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok()
}

impl PlatformStore {
    /// Stores one step of a caller of `tenant`'s queue (`outcome.queue` is `name@tenant`),
    /// once: the row is made by whichever of its events comes first, and an answer or an
    /// abandonment is kept only if neither is there yet.
    pub async fn record_member(
        &self,
        tenant: &str,
        time_zone: Option<&str>,
        outcome: &MemberOutcome,
    ) -> Result<(), PlatformError> {
        let queue = outcome
            .queue
            .strip_suffix(&format!("@{tenant}"))
            .unwrap_or(&outcome.queue);
        let (answered, abandoned) = match outcome.step {
            MemberStep::Joined => (None, None),
            MemberStep::Answered(at) => (Some(at), None),
            MemberStep::Abandoned(at) => (None, Some(at)),
        };
        sqlx::query(
            "INSERT INTO cc_members (member, tenant, queue, day, joined_at, answered_at, abandoned_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (member) DO UPDATE SET
                 answered_at = COALESCE(cc_members.answered_at,
                     CASE WHEN cc_members.abandoned_at IS NULL THEN excluded.answered_at END),
                 abandoned_at = COALESCE(cc_members.abandoned_at,
                     CASE WHEN cc_members.answered_at IS NULL THEN excluded.abandoned_at END)
             WHERE cc_members.tenant = excluded.tenant",
        )
        .bind(&outcome.member)
        .bind(tenant)
        .bind(queue)
        .bind(day_of(time_zone, outcome.joined_at))
        .bind(outcome.joined_at)
        .bind(answered)
        .bind(abandoned)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// `tenant`'s queues' statistics for `day` (`YYYY-MM-DD`, the tenant's), by queue; only
    /// queues with callers that day.
    pub async fn daily_statistics(
        &self,
        tenant: &str,
        day: &str,
    ) -> Result<Vec<QueueDay>, PlatformError> {
        self.statistics_where(tenant, day, None).await
    }

    /// One queue's statistics for `day` (`None` before its first caller that day).
    pub async fn queue_day(
        &self,
        tenant: &str,
        day: &str,
        queue: &str,
    ) -> Result<Option<QueueDay>, PlatformError> {
        let mut days = self.statistics_where(tenant, day, Some(queue)).await?;
        Ok(days.pop())
    }

    async fn statistics_where(
        &self,
        tenant: &str,
        day: &str,
        queue: Option<&str>,
    ) -> Result<Vec<QueueDay>, PlatformError> {
        let one_queue = if queue.is_some() {
            "AND m.queue = $3"
        } else {
            ""
        };
        let sql = format!(
            "SELECT m.queue, COUNT(*), COUNT(m.answered_at), COUNT(m.abandoned_at),
                 CAST(COALESCE(SUM(m.answered_at - m.joined_at), 0) AS BIGINT),
                 CAST(COALESCE(SUM(CASE WHEN m.answered_at - m.joined_at <= COALESCE(q.service_level_seconds, 20)
                     THEN 1 ELSE 0 END), 0) AS BIGINT),
                 MAX(COALESCE(q.service_level_seconds, 20))
             FROM cc_members m
             LEFT JOIN cc_queues q ON q.tenant = m.tenant AND q.name = m.queue
             WHERE m.tenant = $1 AND m.day = $2 {one_queue}
             GROUP BY m.queue ORDER BY m.queue"
        );
        let mut query = sqlx::query(&sql).bind(tenant).bind(day);
        if let Some(queue) = queue {
            query = query.bind(queue);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                let count = |i: usize| -> Result<u64, sqlx::Error> {
                    Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or(0))
                };
                let (answered, abandoned) = (count(2)?, count(3)?);
                let within = count(5)?;
                let waited = u64::try_from(row.try_get::<i64, _>(4)?).unwrap_or(0);
                let ended = answered + abandoned;
                Ok(QueueDay {
                    queue: row.try_get(0)?,
                    offered: count(1)?,
                    answered,
                    abandoned,
                    answer_wait_seconds: waited,
                    average_answer_seconds: (answered > 0)
                        .then(|| (waited + answered / 2) / answered),
                    answered_within_threshold: within,
                    threshold_seconds: u32::try_from(row.try_get::<i32, _>(6)?).unwrap_or(0),
                    service_level_percent: (ended > 0).then(|| within * 100 / ended),
                })
            })
            .collect()
    }
}
