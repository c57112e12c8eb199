//! Writes made by other processes, seen at once: on PostgreSQL every write to what the roles
//! cache (tenants, extensions, DIDs, queues, menus, ring groups, schedules, trunks, API users)
//! fires a notification on [`CHANNEL`] naming the table (a trigger of migration 1011, so SQL by
//! hand counts too). [`follow`] listens for them and bumps the store's generation, which drops
//! what every [`crate::cache::Cache`] over the store holds; it also tells the store's
//! subscribers ([`PlatformStore::subscribe_changes`]) which table changed. The caches' TTL
//! stays as the safety net for a notification lost in a reconnection (a lost connection is
//! taken as "everything changed" too).
//!
//! SQLite is one process's database: there is nothing to follow.

use crate::store::PlatformStore;
use sqlx::postgres::PgListener;
use std::time::Duration;

/// The notification channel of the platform's writes.
pub const CHANNEL: &str = "callcenter_platform";

/// What a subscriber is told when notifications may have been missed: anything may have
/// changed.
pub const EVERYTHING: &str = "*";

/// The longest wait between two attempts to listen again.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Follows the platform's change notifications of the PostgreSQL database at `url`, forever
/// (reconnecting with a growing wait, each failure logged); spawn it.
///
/// ```no_run
/// # async fn demo(store: platform::store::PlatformStore) {
/// tokio::spawn(platform::changes::follow(store, "postgres://127.0.0.1/callcenter".into()));
/// # }
/// ```
pub async fn follow(store: PlatformStore, url: String) {
    let mut wait = Duration::from_millis(100);
    loop {
        match listen(&url).await {
            Ok(mut listener) => {
                wait = Duration::from_millis(100);
                // What was written while nobody listened is unknown.
                store.changed_elsewhere(EVERYTHING);
                if let Err(error) = receive(&store, &mut listener).await {
                    tracing::warn!(%error, "platform change notifications lost; listening again");
                }
            }
            Err(error) => {
                tracing::warn!(%error, ?wait, "cannot listen for platform changes");
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

async fn listen(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Applies notifications until the listener fails for good.
async fn receive(store: &PlatformStore, listener: &mut PgListener) -> Result<(), sqlx::Error> {
    loop {
        match listener.try_recv().await? {
            Some(notification) => store.changed_elsewhere(notification.payload()),
            // The connection was lost and is made again: what came meanwhile is lost.
            None => store.changed_elsewhere(EVERYTHING),
        }
    }
}
