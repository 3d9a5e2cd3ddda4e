//! Join tickets: short-lived, HMAC-SHA256-signed permissions to join, issued by an operator or a
//! matchmaker that shares the server's secret (`arena-server ticket`, or its own code following
//! this format), and checked when `auth = "ticket"`.
//!
//! Format: `v1.<claims>.<mac>`, both parts base64url without padding; `claims` is the bincode of
//! [`Claims`]; `mac` is HMAC-SHA256(secret, `v1.<claims>`). Each ticket carries a random nonce and
//! is accepted once: a replay is refused until the ticket has expired anyway.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "v1.";
/// Longest ticket accepted, in bytes: claims are a name, a room and two integers.
pub const MAX_TICKET_LEN: usize = 512;
/// Shortest secret accepted, in bytes (HMAC-SHA256's block of security).
pub const MIN_SECRET_LEN: usize = 32;

/// What a ticket grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The player's name; it replaces the name in `Hello`.
    pub name: String,
    /// The room the player must join; `None` = the player chooses.
    pub room: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub expires: u64,
    /// Random; makes each ticket single-use.
    pub nonce: u64,
}

/// Why a ticket was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// `auth = "ticket"` and the `Hello` had none.
    #[error("this server requires a join ticket")]
    Missing,
    /// Not of the ticket format.
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
}

/// Signs and checks tickets with one secret, remembering used nonces until they expire.
pub struct TicketAuthority {
    secret: Vec<u8>,
    /// nonce -> expiry. Bounded by `max_remembered`; expired entries are purged as it fills.
    used: Mutex<HashMap<u64, u64>>,
    max_remembered: usize,
    /// Longest lifetime accepted, seconds: a used ticket is remembered at most this long.
    max_ttl: u64,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length")
    }

    /// A signed ticket for `claims`.
    pub fn issue(&self, claims: &Claims) -> String {
        let bytes =
            bincode::serde::encode_to_vec(claims, bincode::config::standard()).unwrap_or_default();
        let signed = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// The claims of a valid, unexpired, unused ticket; the ticket is then used up.
    pub fn redeem(&self, ticket: &str, now: u64) -> Result<Claims, TicketError> {
        if ticket.len() > MAX_TICKET_LEN || !ticket.starts_with(PREFIX) {
            return Err(TicketError::Malformed);
        }
        let (signed, mac_b64) = ticket.rsplit_once('.').ok_or(TicketError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(mac_b64)
            .map_err(|_| TicketError::Malformed)?;
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        mac.verify_slice(&tag).map_err(|_| TicketError::Forged)?;
        // Only signed bytes are decoded past this point.
        let body = URL_SAFE_NO_PAD
            .decode(&signed[PREFIX.len()..])
            .map_err(|_| TicketError::Malformed)?;
        let config = bincode::config::standard().with_limit::<MAX_TICKET_LEN>();
        let (claims, _): (Claims, usize) =
            bincode::serde::decode_from_slice(&body, config).map_err(|_| TicketError::Malformed)?;
        if claims.expires <= now {
            return Err(TicketError::Expired);
        }
        if claims.expires > now.saturating_add(self.max_ttl) {
            return Err(TicketError::TooLong);
        }
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
        Claims {
            name: "ann".into(),
            room: Some("duel".into()),
            expires,
            nonce: 42,
        }
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
        for junk in ["", "v1.", "v1.a.b", "v2.x.y", &"v1.".repeat(300)] {
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
