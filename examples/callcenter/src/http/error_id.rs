//! Error ids: what a failed request is told instead of the failure's text. The text (a
//! database's message names tables, hosts and sometimes values) is logged once with the id;
//! the answer carries only the id, so an operator can find the log line and nobody else
//! learns anything.

/// A short random id for one failure.
///
/// ```
/// use callcenter::http::ErrorId;
///
/// let id = ErrorId::log("database", &"connection refused (127.0.0.1:5432)");
/// assert_eq!(id.to_string().len(), 16);
/// assert_ne!(id, ErrorId::new());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorId(u64);

impl ErrorId {
    /// A new id.
    pub fn new() -> Self {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        ErrorId(OsRng.next_u64())
    }

    /// A new id, with `error` logged under it (at warn: the dependency is failing).
    pub fn log(what: &str, error: &dyn std::fmt::Display) -> Self {
        let id = ErrorId::new();
        tracing::warn!(error_id = %id, %error, "{what} failed");
        id
    }
}

impl Default for ErrorId {
    fn default() -> Self {
        ErrorId::new()
    }
}

impl std::fmt::Display for ErrorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}
