//! Times in queries: Unix seconds (`1733500800`) or ISO 8601 / RFC 3339 with an offset
//! (`2026-12-06T18:00:00Z`, `2026-12-06T19:00:00+01:00`).

use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

/// A time in a query, as microseconds since the Unix epoch.
///
/// ```ignore
/// // (private to the API; see the tests below)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct QueryTime(pub(super) i64);

impl QueryTime {
    /// Reads `text` as Unix seconds or an RFC 3339 time.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        if let Ok(seconds) = text.parse::<i64>() {
            return Ok(QueryTime(seconds.saturating_mul(1_000_000)));
        }
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|time| QueryTime(time.timestamp_micros()))
            .map_err(|_| {
                format!(
                    "{text:?} is not a time: Unix seconds or ISO 8601 with an offset, such as 2026-12-06T18:00:00Z"
                )
            })
    }
}

impl<'de> Deserialize<'de> for QueryTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        QueryTime::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Described as what it reads: an integer of Unix seconds or an RFC 3339 text.
impl utoipa::PartialSchema for QueryTime {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .description(Some("Unix seconds")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                    .description(Some(
                        "RFC 3339 with an offset (2026-12-06T18:00:00Z, 2026-12-06T19:00:00+01:00)",
                    )),
            )
            .into()
    }
}

impl utoipa::ToSchema for QueryTime {}

#[cfg(test)]
mod tests {
    use super::QueryTime;

    #[test]
    fn unix_seconds_and_iso_8601_name_the_same_instant() {
        let unix = QueryTime::parse("1765044000").unwrap();
        assert_eq!(QueryTime::parse("2025-12-06T18:00:00Z").unwrap(), unix);
        assert_eq!(QueryTime::parse("2025-12-06T19:00:00+01:00").unwrap(), unix);
        assert_eq!(
            QueryTime::parse("2025-12-06T18:00:00.5Z").unwrap().0,
            unix.0 + 500_000
        );
        assert!(QueryTime::parse("2025-12-06").is_err());
        assert!(QueryTime::parse("yesterday").is_err());
    }
}
