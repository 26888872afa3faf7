//! Politeness per host: at most `per_host` requests in flight to one host,
//! and at least `host_delay` between the starts of two requests to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

struct HostSlot {
    permits: Arc<Semaphore>,
    next_start: Instant,
}

/// Per-host limits shared by every fetch of a sweep.
pub struct HostLimiter {
    per_host: usize,
    delay: Duration,
    hosts: Mutex<HashMap<String, HostSlot>>,
}

impl HostLimiter {
    pub fn new(per_host: usize, delay: Duration) -> Self {
        HostLimiter {
            per_host: per_host.max(1),
            delay,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot on `host`; the request may start when this returns
    /// and holds the slot until the permit is dropped.
    pub async fn acquire(&self, host: &str) -> OwnedSemaphorePermit {
        let permits = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            let slot = hosts.entry(host.to_string()).or_insert_with(|| HostSlot {
                permits: Arc::new(Semaphore::new(self.per_host)),
                next_start: Instant::now(),
            });
            Arc::clone(&slot.permits)
        };
        let permit = permits
            .acquire_owned()
            .await
            .expect("host semaphores are never closed");
        let start_at = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            let slot = hosts
                .get_mut(host)
                .expect("the slot was created above and is never removed");
            let start_at = slot.next_start.max(Instant::now());
            slot.next_start = start_at + self.delay;
            start_at
        };
        crate::clock::sleep_until_due(start_at).await;
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_to_one_host() {
        let limiter = HostLimiter::new(2, Duration::from_millis(100));
        let t0 = Instant::now();
        let a = limiter.acquire("h").await;
        let b = limiter.acquire("h").await;
        assert!(Instant::now() - t0 >= Duration::from_millis(100));
        drop((a, b));
        let _other = limiter.acquire("other").await;
        assert!(Instant::now() - t0 < Duration::from_millis(150));
    }
}
