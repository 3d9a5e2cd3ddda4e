//! Token buckets: how a session limits a client's message rate and a player's chat.

use std::time::Instant;

/// A token bucket: holds up to `burst` tokens, refilled at `rate` per second; each allowed
/// event takes one.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Whether it would be full at `now`: it then says nothing a new bucket would not.
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.rate >= self.burst
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the flood guard says about one incoming message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the rate: handle it.
    Allow,
    /// Over the rate: drop it (and count it).
    Drop,
    /// Over the rate for too long: close the connection.
    Close,
}

/// Rate limit plus tolerance: messages beyond the rate are dropped, and each drop spends one
/// unit of a second bucket that refills slowly. A brief burst costs a few drops; a client that
/// keeps sending faster than the rate runs the tolerance dry and is disconnected.
#[derive(Clone, Debug)]
pub struct FloodGuard {
    messages: TokenBucket,
    tolerance: TokenBucket,
}

/// How fast the tolerance refills, as a fraction of the message rate: a client may exceed the
/// rate by up to this fraction indefinitely without being closed (its excess is still dropped).
const TOLERANCE_REFILL: f64 = 0.1;

impl FloodGuard {
    /// `rate` messages/s sustained, `burst` at once, `tolerance` drops before closing.
    pub fn new(rate: f64, burst: f64, tolerance: f64, now: Instant) -> Self {
        Self {
            messages: TokenBucket::new(rate, burst, now),
            tolerance: TokenBucket::new(rate * TOLERANCE_REFILL, tolerance, now),
        }
    }

    /// The verdict for a message arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.messages.take(now) {
            Verdict::Allow
        } else if self.tolerance.take(now) {
            Verdict::Drop
        } else {
            Verdict::Close
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 3.0, t0);
        assert!((0..3).all(|_| b.take(t0)));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(100)));
        assert!(!b.take(t0 + Duration::from_millis(150)));
    }

    #[test]
    fn a_steady_client_is_never_dropped() {
        let t0 = Instant::now();
        let mut g = FloodGuard::new(60.0, 10.0, 20.0, t0);
        for i in 0..6000 {
            assert_eq!(
                g.check(t0 + Duration::from_micros(i * 16_667)),
                Verdict::Allow,
                "message {i}"
            );
        }
    }

    #[test]
    fn a_burst_is_dropped_but_tolerated_and_a_flood_is_closed() {
        let t0 = Instant::now();
        let mut g = FloodGuard::new(60.0, 10.0, 20.0, t0);
        let verdicts: Vec<Verdict> = (0..25).map(|_| g.check(t0)).collect();
        assert!(verdicts[..10].iter().all(|v| *v == Verdict::Allow));
        assert!(verdicts[10..25].iter().all(|v| *v == Verdict::Drop));
        // Sustained double rate: the tolerance runs dry within seconds.
        let mut closed_at = None;
        for i in 0..1200u64 {
            if g.check(t0 + Duration::from_micros(i * 8_333)) == Verdict::Close {
                closed_at = Some(i);
                break;
            }
        }
        assert!(closed_at.is_some_and(|i| i < 600), "{closed_at:?}");
    }
}
