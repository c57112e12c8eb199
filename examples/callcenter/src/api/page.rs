//! The one pagination of every list: `limit` (1 to 1000, default 100) items after `after`,
//! the `next` of the previous page.

use super::ApiError;
use serde::Deserialize;

/// A page asked for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Page {
    /// The `next` of the previous page.
    pub(super) after: Option<String>,
    /// Page size, 1 to 1000. Default 100.
    limit: Option<u32>,
}

impl Page {
    /// The page size asked for, checked.
    pub(super) fn limit(&self) -> Result<u32, ApiError> {
        let limit = self.limit.unwrap_or(100);
        if (1..=1000).contains(&limit) {
            Ok(limit)
        } else {
            Err(ApiError::BadRequest("limit is 1 to 1000".into()))
        }
    }
}
