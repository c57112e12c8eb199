//! Request ids: every API answer carries `X-Request-Id` (the caller's own, when it sends a
//! sane one, else a new one), and every error body repeats it, so a client's report and the
//! daemon's log meet on one id.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The header both ways.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being answered (empty outside one).
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// A caller's id is kept when it is 1 to 64 letters, digits, `-`, `_` or `.` (it reaches logs
/// and headers); anything else is replaced.
fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Middleware: runs the request under its id and sets the answer's header. The id is also
/// put on the request, so a second layer of this (a router that has its own) keeps it.
pub async fn scope(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| sane(id))
        .map_or_else(|| crate::http::ErrorId::new().to_string(), str::to_owned);
    let header = HeaderValue::from_str(&id).ok();
    if let Some(header) = &header {
        request.headers_mut().insert(HEADER, header.clone());
    }
    let span = tracing::debug_span!("request", request_id = %id);
    let mut response = REQUEST_ID
        .scope(id, tracing::Instrument::instrument(next.run(request), span))
        .await;
    if let Some(header) = header {
        response.headers_mut().insert(HEADER, header);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_ids_are_kept() {
        assert!(super::sane("3f2a-9c.01_x"));
        assert!(!super::sane(""));
        assert!(!super::sane("a b"));
        assert!(!super::sane("a\r\nSet-Cookie: x"));
        assert!(!super::sane(&"a".repeat(65)));
    }
}
