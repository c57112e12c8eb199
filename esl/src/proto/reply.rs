//! How FreeSWITCH says a command failed: its reply text (`Reply-Text`, or an `api` body, or a
//! `bgapi` result) starts with `-ERR` or `-USAGE`.

/// Whether a reply text, `api` body or `bgapi` result reports failure (`-ERR ...`,
/// `-USAGE ...`).
///
/// ```
/// use esl::proto::reports_failure;
///
/// assert!(reports_failure("-ERR invalid session id [abc]"));
/// assert!(reports_failure("-USAGE: <uuid>"));
/// assert!(!reports_failure("+OK Job-UUID: 7f4b-11"));
/// ```
pub fn reports_failure(text: &str) -> bool {
    text.starts_with("-ERR") || text.starts_with("-USAGE")
}
