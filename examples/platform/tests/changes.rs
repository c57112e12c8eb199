//! Two processes over one PostgreSQL: what one writes (through its store, or by hand in SQL) is
//! seen by the other's cache at once, not after the cache's TTL; a lost listening connection
//! drops everything the cache holds.

use billing::Ledger;
use platform::cache::Cache;
use platform::changes::EVERYTHING;
use platform::store::{ExtensionRow, PlatformStore, Tenant};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh schema of the test database: its URL.
async fn schema(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("{label}_{}_{nanos}", std::process::id());
    let public = Ledger::connect(POSTGRES)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(public.pool())
        .await
        .unwrap();
    format!("{POSTGRES}?options=-c%20search_path%3D{schema}")
}

async fn store(url: &str) -> (Ledger, PlatformStore) {
    let ledger = Ledger::connect(url).await.unwrap();
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    (ledger, store)
}

/// The next table a subscriber is told of (10 s at most).
async fn told(changes: &mut Receiver<Arc<str>>) -> String {
    let table = tokio::time::timeout(Duration::from_secs(10), changes.recv())
        .await
        .expect("a change notification within 10 s")
        .unwrap();
    table.to_string()
}

fn acme() -> Tenant {
    Tenant {
        tenant: "acme".into(),
        domain: "acme.example".into(),
        context: "acme".into(),
        gateway: None,
        prepaid: false,
        record_calls: false,
        prepaid_slice_seconds: None,
        time_zone: None,
        disabled: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_in_another_process_is_seen_at_once() {
    let application = format!("changes-test-{}", std::process::id());
    let url = schema("changes").await;
    // Process 1 writes; process 2 caches for an hour and follows the notifications.
    let (written_by_hand, one) = store(&url).await;
    let (_, two) = store(&url).await;
    let cache = Cache::new(two.clone(), Duration::from_secs(3600));
    let mut changes = two.subscribe_changes();
    // The listening connection names itself, for the test to cut it.
    let listening = format!("{url}&application_name={application}");
    tokio::spawn(platform::changes::follow(two.clone(), listening));
    // Listening: whatever came before is taken as changed.
    assert_eq!(told(&mut changes).await, EVERYTHING);

    assert_eq!(cache.tenant("acme").await.unwrap(), None);
    one.put_tenant(&acme()).await.unwrap();
    assert_eq!(told(&mut changes).await, "tenants");
    assert_eq!(cache.tenant("acme").await.unwrap(), Some(acme()));

    // An unknown extension is cached as such, until another process adds it.
    assert_eq!(cache.extension("acme", "1000").await.unwrap(), None);
    let extension = ExtensionRow {
        tenant: "acme".into(),
        extension: "1000".into(),
        password: Some("phone-1000-password".into()),
        a1_hash: None,
        caller_id_name: None,
        caller_id_number: None,
        record_calls: false,
    };
    one.put_extension(&extension).await.unwrap();
    assert_eq!(told(&mut changes).await, "extensions");
    let served = cache.extension("acme", "1000").await.unwrap().unwrap();
    assert!(served.a1_hash.is_some());

    // SQL by hand is a write like any other.
    sqlx::query("UPDATE tenants SET prepaid = 1 WHERE tenant = 'acme'")
        .execute(written_by_hand.pool())
        .await
        .unwrap();
    assert_eq!(told(&mut changes).await, "tenants");
    assert!(cache.tenant("acme").await.unwrap().unwrap().prepaid);

    // The listening connection dies: once listening again, everything is taken as changed
    // (what was written meanwhile was never told).
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&application)
    .execute(written_by_hand.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE tenants SET record_calls = 1 WHERE tenant = 'acme'")
        .execute(written_by_hand.pool())
        .await
        .unwrap();
    loop {
        let table = told(&mut changes).await;
        if table == EVERYTHING {
            break;
        }
    }
    assert!(cache.tenant("acme").await.unwrap().unwrap().record_calls);
}
