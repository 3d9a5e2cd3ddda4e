//! A simulated network between a bot and the server (`--latency-ms`, `--jitter-ms`): every
//! message the bot sends, and every one it receives, waits `latency ± jitter` before it goes
//! out or is looked at, so a soak run on loopback sees the round trip of a real network.
//!
//! Delays keep the order of messages, as TCP does: a message never overtakes the one before
//! it, so jitter stretches gaps instead of reordering. Received bytes are read off the socket
//! at once (the server sees a client that keeps up) and held here, like packets in flight.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

/// The longest one-way delay a run may ask for: long enough for any real network, short
/// enough that what waits here stays small (the server's message rate times this).
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// One direction's delay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delay {
    /// Added to every message.
    pub latency: Duration,
    /// Each message gets up to this much more or less, uniformly (never below zero).
    pub jitter: Duration,
}

impl Delay {
    /// No delay: messages pass straight through.
    pub fn is_none(&self) -> bool {
        self.latency.is_zero() && self.jitter.is_zero()
    }
}

/// Messages in flight in one direction, in order.
#[derive(Debug)]
pub struct InFlight<T> {
    delay: Delay,
    queue: VecDeque<(Instant, T)>,
    /// When the newest message is due: the next is due no earlier.
    last_due: Option<Instant>,
    rng: StdRng,
}

impl<T> InFlight<T> {
    /// An empty line with `delay`; `seed` makes its jitter reproducible.
    pub fn new(delay: Delay, seed: u64) -> Self {
        Self {
            delay,
            queue: VecDeque::new(),
            last_due: None,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Whether messages pass straight through (no delay configured).
    pub fn is_direct(&self) -> bool {
        self.delay.is_none()
    }

    /// Puts `item` on the line at `now`.
    pub fn push(&mut self, now: Instant, item: T) {
        let jitter = self.delay.jitter.as_secs_f64();
        let spread = if jitter > 0.0 {
            self.rng.random_range(-jitter..=jitter)
        } else {
            0.0
        };
        let delay = (self.delay.latency.as_secs_f64() + spread).max(0.0);
        let due = (now + Duration::from_secs_f64(delay)).max(self.last_due.unwrap_or(now));
        self.last_due = Some(due);
        self.queue.push_back((due, item));
    }

    /// When the next message arrives, if one is in flight.
    pub fn due(&self) -> Option<Instant> {
        self.queue.front().map(|(due, _)| *due)
    }

    /// The next message, if it has arrived by `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.due()? <= now {
            self.queue.pop_front().map(|(_, item)| item)
        } else {
            None
        }
    }

    /// Messages in flight.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_wait_the_latency_and_keep_their_order_under_jitter() {
        let delay = Delay {
            latency: Duration::from_millis(75),
            jitter: Duration::from_millis(40),
        };
        let mut line = InFlight::new(delay, 7);
        let t0 = Instant::now();
        for i in 0..200u32 {
            line.push(t0 + Duration::from_millis(u64::from(i)), i);
        }
        let mut previous = None;
        let mut shortest = Duration::MAX;
        let mut longest = Duration::ZERO;
        for i in 0..200u32 {
            let due = line.due().expect("in flight");
            let sent = t0 + Duration::from_millis(u64::from(i));
            assert!(previous.is_none_or(|p| due >= p), "message {i} overtook");
            previous = Some(due);
            shortest = shortest.min(due - sent);
            longest = longest.max(due - sent);
            assert_eq!(line.pop_due(due - Duration::from_millis(1)), None);
            assert_eq!(line.pop_due(due), Some(i));
        }
        assert!(line.is_empty());
        assert!(shortest >= Duration::from_millis(35), "{shortest:?}");
        assert!(
            longest <= Duration::from_millis(115) + Duration::from_millis(40),
            "{longest:?}"
        );
        assert!(
            longest - shortest >= Duration::from_millis(40),
            "jitter spreads the delays"
        );
    }

    #[test]
    fn no_delay_is_direct() {
        assert!(InFlight::<u8>::new(Delay::default(), 1).is_direct());
        let some = Delay {
            latency: Duration::from_millis(1),
            jitter: Duration::ZERO,
        };
        assert!(!InFlight::<u8>::new(some, 1).is_direct());
    }
}
