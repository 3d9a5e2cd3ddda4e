//! The join-ticket format: short-lived permissions to play or to watch, signed with a secret
//! the server shares with whoever mints them (the server's `ticket` command, a matchmaker, the
//! bots). This module only signs, verifies and decodes; expiry, lifetime limits and single use
//! are the server's (`arena_server::ticket::TicketAuthority`).
//!
//! Format `v3`: `v3.<claims>.<mac>`, both parts base64url without padding, so a ticket needs no
//! escaping in a URL query or an HTTP header. `claims` is the bincode (serde, standard
//! configuration) of [`Claims`]; `mac` is HMAC-SHA256(secret, `v3.<claims>`). Older formats
//! (`v1`: claims without `spectate`; `v2`: without `server`) are refused as
//! [`FormatError::Malformed`].

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What every ticket of this format starts with: the format version and its separator.
pub const PREFIX: &str = "v3.";
/// Longest ticket accepted, in bytes: claims are a name, a room, a server id, a flag and two
/// integers.
pub const MAX_TICKET_LEN: usize = 512;
/// Shortest secret accepted, in bytes (HMAC-SHA256's block of security).
pub const MIN_SECRET_LEN: usize = 32;
/// The name [`Claims::spectator`] gives: spectators have no player, so no name of their own.
pub const SPECTATOR_NAME: &str = "spectator";

/// What a ticket grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The player's name; it replaces the name in `Hello`.
    pub name: String,
    /// The room the holder must join (or watch); `None` = the player chooses.
    pub room: Option<String>,
    /// `true`: the ticket grants watching `room` (then always `Some`), not playing.
    pub spectate: bool,
    /// Expiry, seconds since the Unix epoch.
    pub expires: u64,
    /// Random; makes each ticket single-use where the server remembers it, and names the seat
    /// a matchmaker reserved for it.
    pub nonce: u64,
    /// The one server (fleet id) that accepts it; `None` = any server sharing the secret that
    /// is not in a fleet. Matchmakers always name the server they reserved a seat on.
    pub server: Option<String>,
}

impl Claims {
    /// A ticket to play as `name`, in `room` or (when `None`) wherever the player asks.
    pub fn player(name: impl Into<String>, room: Option<String>, expires: u64, nonce: u64) -> Self {
        Self {
            name: name.into(),
            room,
            spectate: false,
            expires,
            nonce,
            server: None,
        }
    }

    /// A ticket to watch `room`, named [`SPECTATOR_NAME`].
    pub fn spectator(room: impl Into<String>, expires: u64, nonce: u64) -> Self {
        Self {
            name: SPECTATOR_NAME.into(),
            room: Some(room.into()),
            spectate: true,
            expires,
            nonce,
            server: None,
        }
    }

    /// These claims, accepted only by server `id`.
    pub fn on_server(self, id: impl Into<String>) -> Self {
        Self {
            server: Some(id.into()),
            ..self
        }
    }
}

/// Why a string is not a ticket signed with the secret at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not of the ticket format (another version, too long, not base64, undecodable claims,
    /// or a spectator ticket without a room).
    #[error("malformed ticket")]
    Malformed,
    /// The signature does not match: forged or signed with another secret.
    #[error("ticket signature is invalid")]
    Forged,
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(secret).expect("HMAC takes any key length")
}

/// A credential for `purpose` derived from `secret` (base64url of HMAC-SHA256(secret,
/// `purpose`)): what processes sharing the ticket secret show each other, so the secret itself
/// never travels and a leaked credential cannot sign tickets.
pub fn derived_token(secret: &[u8], purpose: &str) -> String {
    let mut mac = mac(secret);
    mac.update(purpose.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A ticket for `claims`, signed with `secret`. It is not checked here: a spectator ticket
/// without a room, or one longer than [`MAX_TICKET_LEN`], will not verify.
pub fn sign(secret: &[u8], claims: &Claims) -> String {
    // A struct of strings and integers always encodes; an empty body would not verify anyway.
    let bytes =
        bincode::serde::encode_to_vec(claims, bincode::config::standard()).unwrap_or_default();
    let signed = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let mut mac = mac(secret);
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// The claims of `ticket` if it is of this format and signed with `secret`. Expiry is not
/// checked here (the caller knows what "now" is and how long a lifetime it accepts).
pub fn verify(secret: &[u8], ticket: &str) -> Result<Claims, FormatError> {
    if ticket.len() > MAX_TICKET_LEN || !ticket.starts_with(PREFIX) {
        return Err(FormatError::Malformed);
    }
    let (signed, mac_b64) = ticket.rsplit_once('.').ok_or(FormatError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(mac_b64)
        .map_err(|_| FormatError::Malformed)?;
    let mut mac = mac(secret);
    mac.update(signed.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&tag).map_err(|_| FormatError::Forged)?;
    // Only signed bytes are decoded past this point. `get`: `signed` is shorter than PREFIX
    // when the ticket's only '.' after the version is the prefix's own.
    let body = signed
        .get(PREFIX.len()..)
        .ok_or(FormatError::Malformed)
        .and_then(|b64| {
            URL_SAFE_NO_PAD
                .decode(b64)
                .map_err(|_| FormatError::Malformed)
        })?;
    let config = bincode::config::standard().with_limit::<MAX_TICKET_LEN>();
    let (claims, used): (Claims, usize) =
        bincode::serde::decode_from_slice(&body, config).map_err(|_| FormatError::Malformed)?;
    if used != body.len() || (claims.spectate && claims.room.is_none()) {
        return Err(FormatError::Malformed);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SECRET: &[u8] = &[7; 32];

    fn claims() -> Claims {
        Claims::player("ann", Some("duel".into()), 1_000, 42)
    }

    /// The claims of format v2, which had no `server`.
    #[derive(Serialize)]
    struct V2Claims {
        name: String,
        room: Option<String>,
        spectate: bool,
        expires: u64,
        nonce: u64,
    }

    /// The claims of format v1, which had no `spectate`.
    #[derive(Serialize)]
    struct V1Claims {
        name: String,
        room: Option<String>,
        expires: u64,
        nonce: u64,
    }

    /// A correctly signed ticket of `prefix` over the bincode of `claims`.
    fn signed_with_prefix(prefix: &str, claims: &impl Serialize) -> String {
        let bytes = bincode::serde::encode_to_vec(claims, bincode::config::standard())
            .expect("claims encode");
        let signed = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
        let mut mac = mac(SECRET);
        mac.update(signed.as_bytes());
        format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    fn v1_claims() -> V1Claims {
        V1Claims {
            name: "ann".into(),
            room: Some("duel".into()),
            expires: 1_000,
            nonce: 42,
        }
    }

    #[test]
    fn player_and_spectator_tickets_round_trip() {
        let ticket = sign(SECRET, &claims());
        assert!(ticket.starts_with("v3."));
        assert_eq!(verify(SECRET, &ticket), Ok(claims()));
        let watch = Claims::spectator("duel", 1_000, 43);
        let verified = verify(SECRET, &sign(SECRET, &watch)).expect("a valid spectator ticket");
        assert!(verified.spectate);
        assert_eq!(verified.room.as_deref(), Some("duel"));
        assert_eq!(verified.name, SPECTATOR_NAME);
        assert_eq!(verified, watch);
    }

    #[test]
    fn a_ticket_needs_no_escaping_in_a_url_or_header() {
        let ticket = sign(SECRET, &Claims::spectator("a room", u64::MAX, u64::MAX));
        assert!(
            ticket
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{ticket}"
        );
    }

    #[test]
    fn older_tickets_are_malformed_even_when_correctly_signed() {
        let v1 = signed_with_prefix("v1.", &v1_claims());
        assert_eq!(verify(SECRET, &v1), Err(FormatError::Malformed));
        let v2_claims = V2Claims {
            name: "ann".into(),
            room: Some("duel".into()),
            spectate: false,
            expires: 1_000,
            nonce: 42,
        };
        let v2 = signed_with_prefix("v2.", &v2_claims);
        assert_eq!(verify(SECRET, &v2), Err(FormatError::Malformed));
        let relabelled = signed_with_prefix(PREFIX, &v2_claims);
        assert_eq!(verify(SECRET, &relabelled), Err(FormatError::Malformed));
        // v1 claims relabelled v2 and signed again do not decode as v2 claims.
        let relabelled = signed_with_prefix(PREFIX, &v1_claims());
        assert_eq!(verify(SECRET, &relabelled), Err(FormatError::Malformed));
    }

    #[test]
    fn a_spectator_ticket_without_a_room_is_malformed() {
        let roomless = Claims {
            spectate: true,
            room: None,
            ..claims()
        };
        assert_eq!(
            verify(SECRET, &sign(SECRET, &roomless)),
            Err(FormatError::Malformed)
        );
    }

    #[test]
    fn forged_and_tampered_tickets_are_refused() {
        let other = sign(&[8; 32], &claims());
        assert_eq!(verify(SECRET, &other), Err(FormatError::Forged));
        // A player ticket's signature on claims turned into a spectator's.
        let good = sign(SECRET, &claims());
        let (_, mac) = good.rsplit_once('.').expect("dot");
        let promoted = sign(
            SECRET,
            &Claims {
                spectate: true,
                ..claims()
            },
        );
        let (promoted_signed, _) = promoted.rsplit_once('.').expect("dot");
        assert_eq!(
            verify(SECRET, &format!("{promoted_signed}.{mac}")),
            Err(FormatError::Forged)
        );
    }

    #[test]
    fn junk_is_refused() {
        let long = format!("{PREFIX}{}", "A".repeat(MAX_TICKET_LEN));
        for junk in ["", "v3", "v3.", "v3..", "v3.a.b", "v3.x.y", "v4.x.y", &long] {
            assert!(
                matches!(
                    verify(SECRET, junk),
                    Err(FormatError::Malformed | FormatError::Forged)
                ),
                "{junk}"
            );
        }
        assert_eq!(verify(SECRET, &long), Err(FormatError::Malformed));
    }

    proptest! {
        #[test]
        fn any_claims_round_trip(
            name in "[a-z]{0,20}",
            room in proptest::option::of("[a-z ]{1,20}"),
            spectate: bool,
            expires: u64,
            nonce: u64,
            server in proptest::option::of("[a-z0-9-]{1,40}"),
        ) {
            let claims = Claims { name, room: room.clone(), spectate, expires, nonce, server };
            let verified = verify(SECRET, &sign(SECRET, &claims));
            if spectate && room.is_none() {
                prop_assert_eq!(verified, Err(FormatError::Malformed));
            } else {
                prop_assert_eq!(verified, Ok(claims));
            }
        }

        #[test]
        fn any_changed_character_is_refused(at in any::<prop::sample::Index>(), to in "[A-Za-z0-9_.-]") {
            let ticket = sign(SECRET, &claims());
            let at = at.index(ticket.len());
            let mut changed = ticket.clone();
            changed.replace_range(at..=at, &to);
            prop_assume!(changed != ticket);
            // Canonical base64 only: even the unused low bits of a last character count.
            prop_assert!(verify(SECRET, &changed).is_err(), "{}", changed);
        }
    }
}
