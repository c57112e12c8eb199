//! The live balance on the event hub: every committed change to a tenant's money (the
//! ledger's [`BalanceListener`]) publishes [`CallEvent::BalanceChanged`] to the tenant's
//! subscribers.
//!
//! The listener only queues the tenant (once, however many changes arrive before it is
//! read); one task reads each queued tenant's balance and publishes it. A burst of charges
//! therefore costs one read per tenant, and a tenant nobody watches costs none.
//!
//! ```no_run
//! # async fn demo(ledger: billing::Ledger) {
//! use platform::balance::BalanceFeed;
//! use platform::events::Hub;
//!
//! let hub = Hub::new(1024);
//! // The feed reads through a ledger without the listener; every role gets the one with it.
//! let feed = BalanceFeed::start(ledger.clone(), hub.clone());
//! let ledger = ledger.with_balance_listener(feed);
//! # let _ = ledger;
//! # }
//! ```

use crate::calls::CallEvent;
use crate::events::Hub;
use billing::{Balance, BalanceListener, Decimal, Ledger};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Queues the tenants whose money changed for the publishing task.
#[derive(Debug)]
pub struct BalanceFeed {
    /// Tenants queued and not read yet: each is queued once (the queue stays as small as the
    /// number of tenants).
    pending: Arc<Mutex<HashSet<String>>>,
    queue: mpsc::UnboundedSender<String>,
}

impl BalanceFeed {
    /// Starts the publishing task, reading balances through `ledger` (one without this
    /// listener: the task ends when the last ledger holding the feed is dropped).
    pub fn start(ledger: Ledger, hub: Hub) -> Arc<BalanceFeed> {
        let (queue, mut queued) = mpsc::unbounded_channel::<String>();
        let pending: Arc<Mutex<HashSet<String>>> = Arc::default();
        let taken = pending.clone();
        tokio::spawn(async move {
            while let Some(tenant) = queued.recv().await {
                // Taken off first: a change committed while the balance is read queues it again.
                taken
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&tenant);
                if hub.subscribers(&tenant) == 0 {
                    continue;
                }
                match ledger.balance(&tenant).await {
                    Ok(balance) => {
                        hub.publish(&balance_changed(&tenant, &balance));
                    }
                    Err(error) => {
                        tracing::warn!(%tenant, %error, "balance change not published: cannot read the balance");
                    }
                }
            }
        });
        Arc::new(BalanceFeed { pending, queue })
    }
}

impl BalanceListener for BalanceFeed {
    fn balance_changed(&self, tenant: &str) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if !pending.contains(tenant) && self.queue.send(tenant.to_owned()).is_ok() {
            pending.insert(tenant.to_owned());
        }
    }
}

/// The event telling a tenant's subscribers its account as it is.
///
/// ```
/// use billing::{Balance, Decimal};
/// use platform::calls::CallEvent;
///
/// let balance = Balance { balance: Decimal::TEN, credit_limit: Decimal::ZERO, held: Decimal::new(305, 2) };
/// let CallEvent::BalanceChanged { live_balance, .. } = platform::balance::balance_changed("demo", &balance)
/// else { unreachable!() };
/// assert_eq!(live_balance, "6.95");
/// ```
pub fn balance_changed(tenant: &str, balance: &Balance) -> CallEvent {
    CallEvent::BalanceChanged {
        tenant: tenant.to_owned(),
        balance: money_text(balance.balance),
        credit_limit: money_text(balance.credit_limit),
        held: money_text(balance.held),
        live_balance: money_text(balance.live()),
        available: money_text(balance.available()),
    }
}

/// An amount as text, with at least two decimals (`0.30`, not `0.3`).
///
/// ```
/// use billing::Decimal;
///
/// assert_eq!(platform::balance::money_text(Decimal::new(3, 1)), "0.30");
/// assert_eq!(platform::balance::money_text(Decimal::new(12345, 4)), "1.2345");
/// ```
pub fn money_text(amount: Decimal) -> String {
    let mut amount = amount.normalize();
    if amount.scale() < 2 {
        amount.rescale(2);
    }
    amount.to_string()
}
