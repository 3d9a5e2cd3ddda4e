//! Join tickets: short-lived, HMAC-SHA256-signed permissions to play or to watch, issued by an
//! operator or a matchmaker that shares the server's secret (`arena-server ticket`, the bots,
//! or any code using [`arena_shared::ticket`]), and checked when `auth = "ticket"`.
//!
//! The format (`v2.<claims>.<mac>`) is [`arena_shared::ticket`]'s; this module adds what only
//! the server knows: the time, the longest lifetime it accepts, and which tickets were used.
//! A ticket redeemed to join is accepted once: a replay is refused until the ticket has expired
//! anyway. A ticket merely checked (the read-only state endpoint) is not used up.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use arena_shared::ticket::{self as format, FormatError};
pub use arena_shared::ticket::{Claims, MAX_TICKET_LEN, MIN_SECRET_LEN, unix_now};

/// Why a ticket was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// `auth = "ticket"` and the `Hello` had none.
    #[error("this server requires a join ticket")]
    Missing,
    /// Not of the ticket format (a `v1` ticket included).
    #[error("malformed ticket")]
    Malformed,
    /// The signature does not match: forged or signed with another secret.
    #[error("ticket signature is invalid")]
    Forged,
    /// Past its expiry.
    #[error("ticket expired")]
    Expired,
    /// Already used.
    #[error("ticket already used")]
    Replayed,
    /// Valid for longer than the server accepts (`max_ticket_ttl_s`).
    #[error("ticket lifetime exceeds the server's maximum")]
    TooLong,
    /// Too many unexpired tickets are remembered to accept another now.
    #[error("too many tickets in use; try again later")]
    Busy,
    /// A spectator ticket presented to play.
    #[error("this ticket only grants spectating")]
    SpectateOnly,
    /// A player ticket presented to watch.
    #[error("this ticket does not grant spectating")]
    NotForSpectating,
    /// The ticket names a room other than the one asked for.
    #[error("this ticket is for another room")]
    WrongRoom,
    /// The ticket names another server, or (in a fleet) none: a matchmaker reserved the seat
    /// elsewhere.
    #[error("this ticket is for another server")]
    WrongServer,
}

impl From<FormatError> for TicketError {
    fn from(e: FormatError) -> Self {
        match e {
            FormatError::Malformed => Self::Malformed,
            FormatError::Forged => Self::Forged,
        }
    }
}

/// Signs and checks tickets with one secret, remembering used nonces until they expire.
pub struct TicketAuthority {
    secret: Vec<u8>,
    /// nonce -> expiry. Bounded by `max_remembered`; expired entries are purged as it fills.
    used: Mutex<HashMap<u64, u64>>,
    max_remembered: usize,
    /// Longest lifetime accepted, seconds: a used ticket is remembered at most this long.
    max_ttl: u64,
    /// This server's id: tickets naming another are refused.
    server: Option<String>,
    /// In a fleet: tickets naming no server are refused too.
    server_required: bool,
}

impl TicketAuthority {
    /// An authority for `secret`, remembering at most `max_remembered` used tickets and
    /// accepting lifetimes up to `max_ttl` seconds.
    pub fn new(secret: &[u8], max_remembered: usize, max_ttl: u64) -> Self {
        Self {
            secret: secret.to_vec(),
            used: Mutex::new(HashMap::new()),
            max_remembered,
            max_ttl,
            server: None,
            server_required: false,
        }
    }

    /// This authority as server `id`'s: it refuses tickets naming another server and, when
    /// `required` (the server is in a fleet), tickets naming none.
    pub fn for_server(self, id: impl Into<String>, required: bool) -> Self {
        Self {
            server: Some(id.into()),
            server_required: required,
            ..self
        }
    }

    /// A signed ticket for `claims`.
    pub fn issue(&self, claims: &Claims) -> String {
        format::sign(&self.secret, claims)
    }

    /// The credential fleet processes present to each other for `purpose`
    /// ([`format::derived_token`] of this secret).
    pub fn derived_token(&self, purpose: &str) -> String {
        format::derived_token(&self.secret, purpose)
    }

    /// The claims of a validly signed ticket that is unexpired and within the longest lifetime
    /// accepted, without using it up (it is neither looked up in nor added to the replay
    /// memory): for read-only access a client repeats, such as polling the state endpoint.
    /// Whether the claims fit the request (role, room) is the caller's to check.
    pub fn check(&self, ticket: &str, now: u64) -> Result<Claims, TicketError> {
        let claims = self.check_unbound(ticket, now)?;
        let server_ok = match &claims.server {
            Some(named) => self.server.as_ref() == Some(named),
            None => !self.server_required,
        };
        if !server_ok {
            return Err(TicketError::WrongServer);
        }
        Ok(claims)
    }

    /// [`TicketAuthority::check`] without the server binding: for a ticket that proves who a
    /// client is to a matchmaker, which then issues one for the server it picks.
    fn check_unbound(&self, ticket: &str, now: u64) -> Result<Claims, TicketError> {
        let claims = format::verify(&self.secret, ticket)?;
        if claims.expires <= now {
            return Err(TicketError::Expired);
        }
        if claims.expires > now.saturating_add(self.max_ttl) {
            return Err(TicketError::TooLong);
        }
        Ok(claims)
    }

    /// [`TicketAuthority::check`] for a spectator of `room`: the ticket must grant watching
    /// that room. A join ticket must not let a player open a second connection that sees the
    /// whole room.
    pub fn check_spectator(
        &self,
        ticket: &str,
        room: &str,
        now: u64,
    ) -> Result<Claims, TicketError> {
        let claims = self.check(ticket, now)?;
        if !claims.spectate {
            Err(TicketError::NotForSpectating)
        } else if claims.room.as_deref() != Some(room) {
            Err(TicketError::WrongRoom)
        } else {
            Ok(claims)
        }
    }

    /// Like [`TicketAuthority::check`], and the ticket must be unused; it is then used up.
    pub fn redeem(&self, ticket: &str, now: u64) -> Result<Claims, TicketError> {
        let claims = self.check(ticket, now)?;
        self.use_up(claims, now)
    }

    /// [`TicketAuthority::redeem`] of a ticket naming no server or any: what
    /// `POST /api/matchmake` takes under `auth = "ticket"` as proof of who the player is
    /// (used up here, so it buys one seat from this process).
    pub fn redeem_identity(&self, ticket: &str, now: u64) -> Result<Claims, TicketError> {
        let claims = self.check_unbound(ticket, now)?;
        self.use_up(claims, now)
    }

    fn use_up(&self, claims: Claims, now: u64) -> Result<Claims, TicketError> {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        if used.contains_key(&claims.nonce) {
            return Err(TicketError::Replayed);
        }
        if used.len() >= self.max_remembered {
            used.retain(|_, expires| *expires > now);
            if used.len() >= self.max_remembered {
                return Err(TicketError::Busy);
            }
        }
        used.insert(claims.nonce, claims.expires);
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires: u64) -> Claims {
        Claims::player("ann", Some("duel".into()), expires, 42)
    }

    #[test]
    fn a_ticket_is_accepted_once() {
        let auth = TicketAuthority::new(&[7; 32], 100, 10_000);
        let ticket = auth.issue(&claims(1_000));
        assert_eq!(auth.redeem(&ticket, 999), Ok(claims(1_000)));
        assert_eq!(auth.redeem(&ticket, 999), Err(TicketError::Replayed));
    }

    #[test]
    fn expired_forged_and_malformed_tickets_are_refused() {
        let auth = TicketAuthority::new(&[7; 32], 100, 10_000);
        assert_eq!(
            auth.redeem(&auth.issue(&claims(1_000)), 1_000),
            Err(TicketError::Expired)
        );
        let other = TicketAuthority::new(&[8; 32], 100, 10_000).issue(&claims(1_000));
        assert_eq!(auth.redeem(&other, 1), Err(TicketError::Forged));
        // A tampered claim with the original signature.
        let good = auth.issue(&claims(1_000));
        let (signed, mac) = good.rsplit_once('.').expect("dot");
        let tampered = auth.issue(&Claims {
            name: "mallory".into(),
            ..claims(1_000)
        });
        let (tampered_signed, _) = tampered.rsplit_once('.').expect("dot");
        assert_ne!(signed, tampered_signed);
        assert_eq!(
            auth.redeem(&format!("{tampered_signed}.{mac}"), 1),
            Err(TicketError::Forged)
        );
        for junk in ["", "v1.", "v1.a.b", "v2.x.y", &"v2.".repeat(300)] {
            assert!(
                matches!(
                    auth.redeem(junk, 1),
                    Err(TicketError::Malformed | TicketError::Forged)
                ),
                "{junk}"
            );
        }
    }

    #[test]
    fn a_v1_ticket_is_malformed() {
        // A v1 ticket (claims without `spectate`) signed with the server's own secret.
        let auth = TicketAuthority::new(&[7; 32], 100, 10_000);
        #[derive(serde::Serialize)]
        struct V1 {
            name: String,
            room: Option<String>,
            expires: u64,
            nonce: u64,
        }
        let v1 = V1 {
            name: "ann".into(),
            room: None,
            expires: 1_000,
            nonce: 1,
        };
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use hmac::Mac;
        let body = bincode::serde::encode_to_vec(&v1, bincode::config::standard()).expect("v1");
        let signed = format!("v1.{}", URL_SAFE_NO_PAD.encode(body));
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&[7; 32]).expect("any key length");
        mac.update(signed.as_bytes());
        let ticket = format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(auth.check(&ticket, 1), Err(TicketError::Malformed));
        assert_eq!(auth.redeem(&ticket, 1), Err(TicketError::Malformed));
    }

    #[test]
    fn the_spectate_flag_round_trips() {
        let auth = TicketAuthority::new(&[7; 32], 100, 10_000);
        let watch = Claims::spectator("duel", 1_000, 7);
        let watched = auth.check(&auth.issue(&watch), 1).expect("valid");
        assert!(watched.spectate);
        assert_eq!(watched.room.as_deref(), Some("duel"));
        assert_eq!(watched, watch);
        let play = auth.redeem(&auth.issue(&claims(1_000)), 1).expect("valid");
        assert!(!play.spectate);
    }

    #[test]
    fn check_does_not_use_a_ticket_up_and_redeem_does() {
        let auth = TicketAuthority::new(&[7; 32], 1, 10_000);
        let ticket = auth.issue(&Claims::spectator("duel", 1_000, 9));
        for _ in 0..3 {
            assert!(auth.check(&ticket, 5).is_ok());
        }
        // Checks took no room in the replay memory (it holds one ticket)...
        assert!(auth.redeem(&ticket, 5).is_ok());
        assert_eq!(auth.redeem(&ticket, 5), Err(TicketError::Replayed));
        // ...and do not consult it: a used ticket still reads until it expires.
        assert!(auth.check(&ticket, 5).is_ok());
        assert_eq!(auth.check(&ticket, 1_000), Err(TicketError::Expired));
    }

    #[test]
    fn check_refuses_forged_expired_and_too_long_tickets() {
        let auth = TicketAuthority::new(&[7; 32], 100, 100);
        let other = TicketAuthority::new(&[8; 32], 100, 100);
        assert_eq!(
            auth.check(&other.issue(&claims(50)), 1),
            Err(TicketError::Forged)
        );
        assert_eq!(
            auth.check(&auth.issue(&claims(50)), 50),
            Err(TicketError::Expired)
        );
        assert_eq!(
            auth.check(&auth.issue(&claims(500)), 1),
            Err(TicketError::TooLong)
        );
        assert_eq!(auth.check("v2.x.y", 1), Err(TicketError::Malformed));
    }

    #[test]
    fn a_ticket_naming_a_server_is_accepted_there_only() {
        let a = TicketAuthority::new(&[7; 32], 8, 3600).for_server("a", true);
        let b = TicketAuthority::new(&[7; 32], 8, 3600).for_server("b", false);
        let lone = TicketAuthority::new(&[7; 32], 8, 3600);
        let for_a = a.issue(&claims(1_000).on_server("a"));
        assert!(a.check(&for_a, 5).is_ok());
        assert_eq!(b.check(&for_a, 5), Err(TicketError::WrongServer));
        assert_eq!(lone.check(&for_a, 5), Err(TicketError::WrongServer));
        // A ticket naming no server: any server outside a fleet, none in one.
        let anywhere = a.issue(&claims(1_000));
        assert_eq!(a.check(&anywhere, 5), Err(TicketError::WrongServer));
        assert!(b.check(&anywhere, 5).is_ok());
        assert!(lone.check(&anywhere, 5).is_ok());
    }

    #[test]
    fn refusals_of_role_and_room_say_why() {
        assert_eq!(
            TicketError::SpectateOnly.to_string(),
            "this ticket only grants spectating"
        );
        assert_eq!(
            TicketError::NotForSpectating.to_string(),
            "this ticket does not grant spectating"
        );
        assert_eq!(
            TicketError::WrongRoom.to_string(),
            "this ticket is for another room"
        );
    }

    #[test]
    fn the_replay_memory_is_bounded_and_forgets_expired_tickets() {
        let auth = TicketAuthority::new(&[7; 32], 2, 10_000);
        let t = |nonce, expires| {
            auth.issue(&Claims {
                nonce,
                ..claims(expires)
            })
        };
        assert!(auth.redeem(&t(1, 10), 5).is_ok());
        assert!(auth.redeem(&t(2, 100), 5).is_ok());
        assert_eq!(auth.redeem(&t(3, 100), 5), Err(TicketError::Busy));
        // Once ticket 1 has expired its slot is reclaimed.
        assert!(auth.redeem(&t(3, 100), 11).is_ok());
        assert_eq!(auth.redeem(&t(4, 20_000), 11), Err(TicketError::TooLong));
    }
}
