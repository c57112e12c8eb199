//! The one pagination of every list: `limit` (1 to 1000, default 100) items after `after`,
//! the `next` of the previous page (a name, a UUID, an index or a row id: `A`).

use super::ApiError;
use serde::Deserialize;

/// A page asked for.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct Page<A = String> {
    /// The `next` of the previous page.
    #[param(value_type = Option<String>, nullable = false)]
    pub(super) after: Option<A>,
    /// Page size, 1 to 1000 (default 100).
    #[param(
        minimum = 1,
        maximum = 1000,
        default = 100,
        example = 1,
        nullable = false
    )]
    limit: Option<u32>,
}

impl<A> Page<A> {
    /// The page size asked for, checked.
    pub(super) fn limit(&self) -> Result<u32, ApiError> {
        checked_limit(self.limit)
    }
}

/// The page size rule, for lists whose query carries more than a page (`/api/cdrs`).
pub(super) fn checked_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest("limit is 1 to 1000".into()))
    }
}

/// The `next` cursor of a page of `items` asked `limit` long: the last item's key when the page
/// is full (more may follow), none otherwise.
pub(super) fn next<T, K>(items: &[T], limit: u32, key: impl FnOnce(&T) -> K) -> Option<K> {
    (items.len() == limit as usize)
        .then(|| items.last().map(key))
        .flatten()
}
