//! Tickets the bots mint for themselves, for servers with `auth = "ticket"`: each player bot a
//! single-use join ticket for its own name and room, each observer a spectator ticket for the
//! room it watches. They are signed with the server's secret in the [`arena_shared::ticket`]
//! format, as a matchmaker would sign them.

use std::fmt;
use std::sync::Arc;

use arena_shared::ticket::{self, Claims, unix_now};

/// The environment variable `arena-bot` reads the ticket secret from unless told another
/// (`--ticket-secret-env`): the one the server reads too.
pub const DEFAULT_SECRET_ENV: &str = "ARENA_TICKET_SECRET";
/// Lifetime of a minted ticket, seconds: long enough for a slow handshake, short enough that
/// the server forgets the used ones soon.
pub const DEFAULT_TTL_S: u64 = 60;

/// Mints tickets with the server's secret. Cheap to clone (the secret is shared).
#[derive(Clone)]
pub struct Minter {
    /// The HMAC key; never printed (see the `Debug` impl).
    secret: Arc<[u8]>,
    /// Lifetime of each ticket, seconds; at most the server's `max_ticket_ttl_s`, or the
    /// server refuses the ticket as too long-lived.
    ttl_s: u64,
}

impl fmt::Debug for Minter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minter")
            .field("secret", &"<redacted>")
            .field("ttl_s", &self.ttl_s)
            .finish()
    }
}

impl Minter {
    /// A minter for `secret` whose tickets live `ttl_s` seconds (at least 1). The server
    /// refuses secrets shorter than [`ticket::MIN_SECRET_LEN`]; check before, as `arena-bot`
    /// does, to fail with a clear message instead of on every join.
    pub fn new(secret: &[u8], ttl_s: u64) -> Self {
        Self {
            secret: secret.into(),
            ttl_s: ttl_s.max(1),
        }
    }

    /// Lifetime of each ticket, seconds.
    pub fn ttl_s(&self) -> u64 {
        self.ttl_s
    }

    fn sign(&self, mut claims: Claims) -> String {
        claims.expires = unix_now().saturating_add(self.ttl_s);
        claims.nonce = rand::random();
        ticket::sign(&self.secret, &claims)
    }

    /// A fresh single-use ticket to play as `name`, in `room` (`None` = quick-play).
    pub fn player(&self, name: &str, room: Option<&str>) -> String {
        self.sign(Claims::player(name, room.map(str::to_owned), 0, 0))
    }

    /// A fresh ticket to watch `room`.
    pub fn spectator(&self, room: &str) -> String {
        self.sign(Claims::spectator(room, 0, 0))
    }
}

/// A spectator ticket for one room, reused for every request of a polling observer (the
/// server's state endpoint only checks it, it does not use it up) and minted again once half
/// its lifetime has passed, so a poll never carries a ticket about to expire.
#[derive(Debug)]
pub struct SpectatorPass {
    minter: Minter,
    room: String,
    ticket: String,
    /// When to mint again, seconds since the Unix epoch.
    renew_at: u64,
}

impl SpectatorPass {
    /// A pass for `room`; its first ticket is minted when first asked for.
    pub fn new(minter: Minter, room: &str) -> Self {
        Self {
            minter,
            room: room.to_owned(),
            ticket: String::new(),
            renew_at: 0,
        }
    }

    /// The ticket to send at `now` (seconds since the Unix epoch, [`unix_now`]).
    pub fn ticket(&mut self, now: u64) -> &str {
        if now >= self.renew_at {
            self.ticket = self.minter.spectator(&self.room);
            self.renew_at = now.saturating_add((self.minter.ttl_s / 2).max(1));
        }
        &self.ticket
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arena_shared::ticket::SPECTATOR_NAME;

    const SECRET: &[u8] = b"an-arena-test-secret-of-32-bytes!!";

    #[test]
    fn minted_tickets_verify_with_the_servers_secret() {
        let minter = Minter::new(SECRET, 60);
        let now = unix_now();
        let play = ticket::verify(SECRET, &minter.player("bot-3", Some("duel"))).expect("valid");
        assert_eq!(
            (play.name.as_str(), play.room.as_deref(), play.spectate),
            ("bot-3", Some("duel"), false)
        );
        assert!((now + 59..=now + 61).contains(&play.expires));
        let quick = ticket::verify(SECRET, &minter.player("bot-4", None)).expect("valid");
        assert_eq!(quick.room, None);
        let watch = ticket::verify(SECRET, &minter.spectator("duel")).expect("valid");
        assert_eq!(
            (watch.name.as_str(), watch.room.as_deref(), watch.spectate),
            (SPECTATOR_NAME, Some("duel"), true)
        );
        assert_eq!(
            ticket::verify(
                b"another-secret-of-at-least-32-bytes",
                &minter.spectator("duel")
            ),
            Err(ticket::FormatError::Forged)
        );
    }

    #[test]
    fn each_ticket_has_its_own_nonce() {
        let minter = Minter::new(SECRET, 60);
        let nonce = |t: String| ticket::verify(SECRET, &t).expect("valid").nonce;
        assert_ne!(
            nonce(minter.player("bot-1", None)),
            nonce(minter.player("bot-1", None))
        );
    }

    #[test]
    fn a_pass_is_reused_until_half_its_life_has_passed() {
        let mut pass = SpectatorPass::new(Minter::new(SECRET, 60), "duel");
        let now = 1_000;
        let first = pass.ticket(now).to_owned();
        assert_eq!(pass.ticket(now + 29), first);
        let renewed = pass.ticket(now + 30).to_owned();
        assert_ne!(renewed, first);
        assert_eq!(pass.ticket(now + 31), renewed);
    }

    #[test]
    fn the_secret_is_not_printed() {
        let shown = format!("{:?}", Minter::new(SECRET, 60));
        assert!(!shown.contains("arena-test"), "{shown}");
    }
}
