//! What bounds the API's cost to a hostile caller: login attempts per user and per address,
//! password hashes at once (used by [`Users`](super::Users)), top-up size, sockets per token.

use super::ApiError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The API's limits. `Default` is what the daemon uses unless configured.
#[derive(Clone)]
pub struct Limits {
    login: Arc<LoginThrottle>,
    sockets: Arc<SocketCounts>,
    /// The largest top-up an operator may make at once (in the account's currency).
    pub top_up_max: billing::Decimal,
    /// Most `/ws` sockets open at once per user (the setting keeps its first name).
    pub sockets_per_token: usize,
    /// How often an open socket checks its token is still valid.
    pub revalidate_every: Duration,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("top_up_max", &self.top_up_max)
            .field("sockets_per_token", &self.sockets_per_token)
            .finish_non_exhaustive()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            login: Arc::new(LoginThrottle::new(5, 30, 100)),
            sockets: Arc::new(SocketCounts::default()),
            top_up_max: billing::Decimal::new(10_000, 0),
            sockets_per_token: 8,
            // As long as a user's state is trusted: a socket sees a revocation when a request
            // would.
            revalidate_every: super::REVOCATION_DELAY,
        }
    }
}

impl Limits {
    /// Counts a login attempt for `user` (tenant and name) from `address`: a 429 once either
    /// has tried too often, with the seconds until the next attempt may be made.
    pub fn login_attempt(&self, user: &str, address: Option<IpAddr>) -> Result<(), ApiError> {
        self.login.attempt(user, address)
    }

    /// Opens a socket for a user (whatever token they logged in with, so that logging in again
    /// does not multiply the limit): refused (429) beyond [`Limits::sockets_per_token`]; the
    /// slot is freed when the returned guard is dropped.
    pub fn open_socket(&self, user: &str) -> Result<SocketSlot, ApiError> {
        self.sockets.open(user, self.sockets_per_token)
    }
}

/// Login attempts as token buckets (GCRA, the `governor` crate): a burst, then one more per
/// refill interval, for three keys. Per user and address (5 a minute): guessing one user's
/// password from one place; per address (30 a minute; IPv6 by /64, which one host holds):
/// trying many users from one place; per user from everywhere (100 a minute): a distributed
/// guess. A stranger's wrong attempts from elsewhere lock a user out only past the last.
struct LoginThrottle {
    user_at_address: DefaultKeyedRateLimiter<(String, IpAddr)>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    users: DefaultKeyedRateLimiter<String>,
    checks: AtomicUsize,
}

/// The address a limit is kept for: IPv4 as is (also when a dual-stack listener shows it as
/// `::ffff:a.b.c.d`), IPv6 by its /64.
fn network_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
    }
}

/// Keys kept before stale ones are dropped (every attempt's key stays until its bucket is full
/// again).
const THROTTLE_KEYS: usize = 100_000;

impl LoginThrottle {
    /// Attempts a minute: `per_user_at_address`, `per_address`, `per_user` (see above).
    fn new(per_user_at_address: u32, per_address: u32, per_user: u32) -> Self {
        let quota = |n: u32| {
            let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
            Quota::per_minute(n)
        };
        LoginThrottle {
            user_at_address: DefaultKeyedRateLimiter::keyed(quota(per_user_at_address)),
            addresses: DefaultKeyedRateLimiter::keyed(quota(per_address)),
            users: DefaultKeyedRateLimiter::keyed(quota(per_user)),
            checks: AtomicUsize::new(0),
        }
    }

    fn attempt(&self, user: &str, address: Option<IpAddr>) -> Result<(), ApiError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 0
            && self.users.len() + self.addresses.len() + self.user_at_address.len() > THROTTLE_KEYS
        {
            self.users.retain_recent();
            self.addresses.retain_recent();
            self.user_at_address.retain_recent();
        }
        let now = DefaultClock::default().now();
        let retry = |not_until: governor::NotUntil<_>| ApiError::TooManyRequests {
            retry_after: not_until.wait_time_from(now).as_secs().max(1),
            message: "too many login attempts".into(),
        };
        if let Some(address) = address.map(network_of) {
            self.addresses.check_key(&address).map_err(retry)?;
            self.user_at_address
                .check_key(&(user.to_owned(), address))
                .map_err(retry)?;
        }
        self.users.check_key(&user.to_owned()).map_err(retry)?;
        Ok(())
    }
}

/// Password hashing on a few threads of its own (as many as cores), fed through a short
/// queue; beyond it the caller gets a 429 instead of memory. Each Argon2 hash takes 19 MiB,
/// which the allocator keeps per thread: a fixed set of threads bounds what is kept, where
/// tokio's blocking pool would spread hashes over hundreds.
pub(super) struct Hashing {
    jobs: crossbeam_channel::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl Hashing {
    pub(super) fn new(threads: usize, max_queued: usize) -> Self {
        let (jobs, queue) = crossbeam_channel::bounded::<Job>(max_queued);
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            // The threads end when the last sender (this Hashing) is dropped.
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    for job in queue {
                        job();
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password-hashing thread");
            }
        }
        Hashing { jobs }
    }

    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.jobs
            .try_send(job)
            .map_err(|_| ApiError::TooManyRequests {
                retry_after: 1,
                message: "too many logins at once".into(),
            })?;
        result
            .await
            .map_err(|e| ApiError::internal("password hashing", &e))
    }
}

/// Open sockets per token.
#[derive(Default)]
struct SocketCounts {
    open: Mutex<std::collections::HashMap<String, usize>>,
}

impl SocketCounts {
    fn open(self: &Arc<Self>, token: &str, max: usize) -> Result<SocketSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(token.to_owned()).or_default();
        if *count >= max {
            return Err(ApiError::TooManyRequests {
                retry_after: 5,
                message: format!("at most {max} sockets per token"),
            });
        }
        *count += 1;
        Ok(SocketSlot {
            counts: self.clone(),
            token: token.to_owned(),
        })
    }
}

/// One open socket's place in its token's count.
pub struct SocketSlot {
    counts: Arc<SocketCounts>,
    token: String,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self
            .counts
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.token) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_and_an_address_get_their_burst_then_429() {
        let throttle = LoginThrottle::new(3, 5, 6);
        let address = Some(IpAddr::from([192, 0, 2, 1]));
        for _ in 0..3 {
            throttle.attempt("acme/alice", address).unwrap();
        }
        let refused = throttle.attempt("acme/alice", address).unwrap_err();
        assert!(
            matches!(refused, ApiError::TooManyRequests { retry_after, .. } if retry_after >= 1)
        );
        // Other users from the same address, until the address's burst is spent.
        throttle.attempt("acme/bob", address).unwrap();
        assert!(throttle.attempt("acme/carol", address).is_err());
        // From elsewhere alice is not locked out by the first address's guesses, until the
        // user's own burst from everywhere is spent.
        let elsewhere = |last: u8| Some(IpAddr::from([198, 51, 100, last]));
        throttle.attempt("acme/alice", elsewhere(1)).unwrap();
        throttle.attempt("acme/alice", elsewhere(2)).unwrap();
        throttle.attempt("acme/alice", elsewhere(3)).unwrap();
        assert!(throttle.attempt("acme/alice", elsewhere(4)).is_err());
    }

    #[test]
    fn an_ipv6_host_is_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network_of(a), network_of(b));
        assert_ne!(network_of(a), network_of(c));
        // IPv4 clients of a dual-stack listener keep their own address.
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let other: IpAddr = "::ffff:192.0.2.8".parse().unwrap();
        assert_eq!(network_of(mapped), IpAddr::from([192, 0, 2, 7]));
        assert_ne!(network_of(mapped), network_of(other));
    }

    #[tokio::test]
    async fn hashing_beyond_the_queue_is_refused() {
        let hashing = Arc::new(Hashing::new(1, 2));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let mut running = Vec::new();
        for _ in 0..3 {
            let hashing = hashing.clone();
            let wait = wait.clone();
            running.push(tokio::spawn(async move {
                hashing
                    .run(move || {
                        let _ = wait.lock().unwrap().recv();
                    })
                    .await
            }));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // One hashing, two queued: the fourth is refused at once.
        assert!(matches!(
            hashing.run(|| ()).await,
            Err(ApiError::TooManyRequests { .. })
        ));
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        for task in running {
            task.await.unwrap().unwrap();
        }
    }

    #[test]
    fn sockets_per_token_are_counted_and_freed() {
        let counts = Arc::new(SocketCounts::default());
        let first = counts.open("t", 2).unwrap();
        let _second = counts.open("t", 2).unwrap();
        assert!(counts.open("t", 2).is_err());
        drop(first);
        let _third = counts.open("t", 2).unwrap();
    }
}
