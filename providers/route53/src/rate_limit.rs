//! A client-side token bucket shared by every Route53 call of one provider, so zonesync stays
//! inside the account's request bucket instead of finding its edge through `Throttling` errors.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::RateLimit;

/// Reservation-style token bucket: each caller takes a token at once, possibly going into debt,
/// and sleeps until its token would have been refilled. Callers are served in arrival order.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    per_second: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(limit: RateLimit) -> Self {
        let burst = f64::from(limit.burst.max(1));
        Self {
            per_second: limit.requests_per_second.max(f64::MIN_POSITIVE),
            burst,
            state: Mutex::new(BucketState {
                tokens: burst,
                updated: Instant::now(),
            }),
        }
    }

    /// Takes one token at `now` and returns how long the caller must wait before using it.
    fn reserve(&self, now: Instant) -> Duration {
        // A poisoned lock only means another caller panicked mid-update; the numbers are still usable.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(state.updated).as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.per_second).min(self.burst);
        state.updated = now.max(state.updated);
        state.tokens -= 1.0;
        if state.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-state.tokens / self.per_second)
        }
    }

    /// Waits for a token.
    pub(crate) async fn acquire(&self) {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "waiting for the Route53 rate limit"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_free_then_requests_are_spaced_by_the_rate() {
        let bucket = TokenBucket::new(RateLimit {
            requests_per_second: 10.0,
            burst: 3,
        });
        let start = Instant::now();
        let waits: Vec<Duration> = (0..6).map(|_| bucket.reserve(start)).collect();
        assert_eq!(&waits[..3], &[Duration::ZERO; 3]);
        let millis: Vec<u128> = waits[3..].iter().map(|w| w.as_millis()).collect();
        assert_eq!(millis, [100, 200, 300]);
    }

    #[test]
    fn tokens_refill_over_time_up_to_the_burst() {
        let bucket = TokenBucket::new(RateLimit {
            requests_per_second: 10.0,
            burst: 2,
        });
        let start = Instant::now();
        assert!(bucket.reserve(start).is_zero());
        assert!(bucket.reserve(start).is_zero());
        // An hour later the bucket holds only `burst` tokens again, not 36,000.
        let later = start + Duration::from_secs(3600);
        assert!(bucket.reserve(later).is_zero());
        assert!(bucket.reserve(later).is_zero());
        assert_eq!(bucket.reserve(later).as_millis(), 100);
    }
}
