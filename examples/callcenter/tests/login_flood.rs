//! A 600-request login flood against the API, alone in its test process so that the memory it
//! measures is the flood's: before the limits, each wrong login ran Argon2 (19 MiB) on its own
//! blocking thread, and 600 at once took about 10 GiB and every core.

mod common;

use common::*;
use serde_json::json;
use tests::http::{request, send};

/// The resident memory of this process (the API runs in it), bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_is_answered_429_with_memory_bounded() {
    let p = platform().await;
    let a = p.address;
    let before = resident_bytes();
    let mut statuses = Vec::new();
    // 600 wrong logins, 100 at a time (each Argon2 verification takes 19 MiB: unbounded, 600
    // at once took about 10 GiB).
    for wave in 0..6 {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..100 {
            tasks.spawn(async move {
                let body = json!({"tenant": "acme", "username": format!("user{}", (wave * 100 + i) % 40), "password": "guess"});
                call(a, "POST", "/api/login", None, Some(body)).await.0
            });
        }
        statuses.extend(tasks.join_all().await);
    }
    let grown = resident_bytes().saturating_sub(before);
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let tried = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(refused + tried, 600, "{statuses:?}");
    // The address's burst is 30 attempts a minute; the rest never reach a hash.
    assert!(tried <= 40, "{tried} logins were hashed");
    // Unbounded it took about 10 GiB. The bound leaves room for what the allocator keeps of
    // the hashes' threads' memory (268 MiB was seen once on a loaded 2-core machine).
    assert!(
        grown < 512 << 20,
        "the flood grew memory by {} MiB",
        grown >> 20
    );
    // A 429 says when to come back.
    let body = json!({"tenant": "acme", "username": "admin", "password": "guess"}).to_string();
    let response = send(
        a,
        &request(
            "POST",
            "/api/login",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(response.status, 429);
    let retry: u64 = response.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}
