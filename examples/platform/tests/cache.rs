//! The tenant and extension cache over a real (SQLite) store: what a write in this process
//! changes is seen at once, unknown extensions are cached without hiding a later write, and the
//! background reload never makes its caller wait.

use billing::Ledger;
use platform::cache::Cache;
use platform::calls::TenantHints;
use platform::store::{ExtensionRow, PlatformStore, Tenant};
use std::time::Duration;

async fn store() -> PlatformStore {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cache-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    let ledger = Ledger::connect(&url).await.unwrap();
    PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap()
}

fn tenant(id: &str, domain: &str, prepaid: bool) -> Tenant {
    Tenant {
        tenant: id.into(),
        domain: domain.into(),
        context: format!("{id}-context"),
        gateway: None,
        prepaid,
        record_calls: false,
        prepaid_slice_seconds: None,
        time_zone: None,
        disabled: false,
    }
}

fn extension(tenant: &str, number: &str, name: &str) -> ExtensionRow {
    ExtensionRow {
        tenant: tenant.into(),
        extension: number.into(),
        password: Some("secret-123".into()),
        a1_hash: None,
        caller_id_name: Some(name.into()),
        caller_id_number: None,
        record_calls: false,
    }
}

#[tokio::test]
async fn writes_in_this_process_are_seen_at_once() {
    let store = store().await;
    let cache = Cache::new(store.clone(), Duration::from_secs(3600));
    store
        .put_tenant(&tenant("acme", "acme.example", false))
        .await
        .unwrap();
    assert_eq!(
        cache
            .tenant_by_domain("acme.example")
            .await
            .unwrap()
            .unwrap()
            .tenant,
        "acme"
    );
    assert!(cache.extension("acme", "1000").await.unwrap().is_none());
    // The unknown extension was cached; the write must still be seen.
    store
        .put_extension(&extension("acme", "1000", "First"))
        .await
        .unwrap();
    let row = cache.extension("acme", "1000").await.unwrap().unwrap();
    assert_eq!(row.caller_id_name.as_deref(), Some("First"));
    store
        .put_extension(&extension("acme", "1000", "Second"))
        .await
        .unwrap();
    let row = cache.extension("acme", "1000").await.unwrap().unwrap();
    assert_eq!(row.caller_id_name.as_deref(), Some("Second"));
    // A domain moved to another tenant follows it.
    store
        .put_tenant(&tenant("acme", "acme.test", true))
        .await
        .unwrap();
    assert!(
        cache
            .tenant_by_domain("acme.example")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        cache
            .tenant_by_domain("acme.test")
            .await
            .unwrap()
            .unwrap()
            .prepaid
    );
    assert!(store.delete_extension("acme", "1000").await.unwrap());
    assert!(cache.extension("acme", "1000").await.unwrap().is_none());
}

#[tokio::test]
async fn tenants_of_the_same_extension_number_never_mix() {
    let store = store().await;
    let cache = Cache::new(store.clone(), Duration::from_secs(3600));
    store
        .put_tenant(&tenant("a", "a.example", false))
        .await
        .unwrap();
    store
        .put_tenant(&tenant("b", "b.example", false))
        .await
        .unwrap();
    store
        .put_extension(&extension("a", "1000", "of a"))
        .await
        .unwrap();
    store
        .put_extension(&extension("b", "1000", "of b"))
        .await
        .unwrap();
    for (id, name) in [("a", "of a"), ("b", "of b"), ("a", "of a")] {
        let row = cache.extension(id, "1000").await.unwrap().unwrap();
        assert_eq!(
            (row.tenant.as_str(), row.caller_id_name.as_deref()),
            (id, Some(name))
        );
    }
    assert!(cache.extension("c", "1000").await.unwrap().is_none());
}

#[tokio::test]
async fn channels_resolve_by_variable_then_domain_then_context() {
    let store = store().await;
    let cache = Cache::new(store.clone(), Duration::from_secs(3600));
    store
        .put_tenant(&tenant("acme", "acme.example", true))
        .await
        .unwrap();
    cache.refresh_tenants().await.unwrap();
    let resolve = |variable, domain, context| {
        cache.resolve(
            TenantHints {
                variable,
                domain,
                context,
            },
            "nobody",
        )
    };
    assert_eq!(resolve(Some("given"), Some("acme.example"), None), "given");
    assert_eq!(resolve(None, Some("acme.example"), None), "acme");
    assert_eq!(resolve(None, Some("other"), Some("acme-context")), "acme");
    assert_eq!(resolve(None, Some("other"), Some("other")), "nobody");
    assert!(cache.is_prepaid("acme") && !cache.is_prepaid("nobody"));
}

#[tokio::test]
async fn a_background_reload_returns_at_once_and_lands() {
    let store = store().await;
    let cache = Cache::new(store.clone(), Duration::from_secs(3600));
    assert!(cache.tenants_reload_is_urgent(), "never loaded");
    store
        .put_tenant(&tenant("acme", "acme.example", false))
        .await
        .unwrap();
    cache.refresh_tenants_in_background();
    let mut waited = Duration::ZERO;
    while cache.resolve(
        TenantHints {
            variable: None,
            domain: Some("acme.example"),
            context: None,
        },
        "nobody",
    ) != "acme"
    {
        assert!(waited < Duration::from_secs(10), "the reload never landed");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += Duration::from_millis(10);
    }
    assert!(!cache.tenants_reload_is_urgent(), "loaded");
}

#[tokio::test]
async fn a_write_here_makes_the_reload_urgent_and_the_ttl_does_not() {
    let store = store().await;
    let cache = Cache::new(store.clone(), Duration::from_millis(50));
    assert!(cache.tenants_reload_is_urgent(), "never loaded");
    cache.refresh_tenants().await.unwrap();
    assert!(!cache.tenants_reload_is_urgent());
    store
        .put_tenant(&tenant("acme", "acme.example", false))
        .await
        .unwrap();
    assert!(
        cache.tenants_reload_is_urgent(),
        "a tenant was written here"
    );
    cache.refresh_tenants().await.unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(
        !cache.tenants_reload_is_urgent(),
        "the TTL alone is for the background"
    );
}
