//! Cross-crate integration tests (in `tests/tests/`) and the test peers they share. Nothing here
//! is part of a crate's public API.
//!
//! - [`replay`]: a stand-in for FreeSWITCH that plays real captures back to a client.
//! - [`http`]: a minimal HTTP client that replays captured requests byte for byte.
//! - [`relay`]: a TCP relay a test can take down and bring back.
//! - [`recordings`]: the S3 server of the tests, and WAVs made from the real recordings.

pub mod browser;
pub mod http;
pub mod node;
pub mod recordings;
pub mod relay;
pub mod replay;

/// The path of a file under `fixtures/freeswitch/`.
pub fn fixture(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/freeswitch")
        .join(path)
}

/// A port free on 127.0.0.1 now, for a daemon process to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind loopback")
        .local_addr()
        .expect("local address")
        .port()
}

/// A new, empty directory `<label>-<pid>-<nanos>` under `base` (a test's `CARGO_TARGET_TMPDIR`).
pub fn fresh_dir(base: &std::path::Path, label: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // Two tests of one process may start within the clock's resolution: a counter keeps
    // their directories apart.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = base.join(format!("{label}-{}-{nanos}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}
