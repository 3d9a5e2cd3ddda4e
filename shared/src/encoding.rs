//! The two encodings of Arena's messages, negotiated with `Sec-WebSocket-Protocol`.
//!
//! | subprotocol | frames | for |
//! | --- | --- | --- |
//! | `arena.bincode.v1` (also: none offered) | binary, bincode 2 | bots, native clients |
//! | `arena.json.v1` | text, JSON | browsers, debugging |
//!
//! Both carry the same [`ClientMsg`] and [`ServerMsg`] values. JSON uses serde's externally
//! tagged form (`{"Input":{"seq":1,...}}`, `"Leave"`); quantised fields are plain numbers
//! already at wire precision, and an entity delta ([`crate::replicate!`]) is an array
//! `[id, mask, fields...]`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::game::Replicate;
use crate::protocol::{self, ClientMsg, DecodeError, EncodeError, ServerMsg, SnapshotParts};

/// How one connection's messages travel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    /// bincode 2, one message per binary frame (`arena.bincode.v1`).
    #[default]
    Bincode,
    /// JSON, one message per text frame (`arena.json.v1`).
    Json,
}

/// Why a client's `Sec-WebSocket-Protocol` offer was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "none of the offered subprotocols ({offered}) is spoken here; offer arena.bincode.v1 or arena.json.v1"
)]
pub struct UnknownSubprotocols {
    /// What the client offered, as sent (truncated).
    pub offered: String,
}

impl Encoding {
    /// Every encoding, in the server's order of preference.
    pub const ALL: [Encoding; 2] = [Encoding::Bincode, Encoding::Json];

    /// The subprotocol name that selects this encoding.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Self::Bincode => "arena.bincode.v1",
            Self::Json => "arena.json.v1",
        }
    }

    /// Picks the encoding for a `Sec-WebSocket-Protocol` header: the first offered name this
    /// server speaks (the client lists them in its order of preference). `Ok(None)`: nothing
    /// offered, so bincode with no subprotocol in the answer.
    pub fn negotiate(offer: Option<&str>) -> Result<Option<Self>, UnknownSubprotocols> {
        let Some(offer) = offer.filter(|o| !o.trim().is_empty()) else {
            return Ok(None);
        };
        offer
            .split(',')
            .map(str::trim)
            .find_map(|name| Self::ALL.into_iter().find(|e| e.subprotocol() == name))
            .map(Some)
            .ok_or_else(|| UnknownSubprotocols {
                offered: offer.chars().take(80).collect(),
            })
    }

    /// Appends the encoding of `msg` to `out`.
    pub fn encode_into<M: Serialize>(self, msg: &M, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Self::Bincode => protocol::encode_into(msg, out),
            Self::Json => serde_json::to_writer(out, msg).map_err(json_encode_error),
        }
    }

    /// Appends the encoding of `ServerMsg::Snapshot` with these parts to `out`; the same as
    /// encoding the owned message.
    pub fn encode_snapshot_into<E: Replicate, V: Serialize>(
        self,
        parts: SnapshotParts<'_, E, V>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        match self {
            Self::Bincode => protocol::encode_snapshot_into(parts, out),
            Self::Json => {
                out.extend_from_slice(br#"{"Snapshot":"#);
                serde_json::to_writer(&mut *out, &parts.as_serializable())
                    .map_err(json_encode_error)?;
                out.push(b'}');
                Ok(())
            }
        }
    }

    /// Decodes one client message from a frame of at most `max_len` bytes.
    pub fn decode_client<I: DeserializeOwned>(
        self,
        bytes: &[u8],
        max_len: usize,
    ) -> Result<ClientMsg<I>, DecodeError> {
        match self {
            Self::Bincode => protocol::decode_client(bytes, max_len),
            Self::Json => decode_json(bytes, max_len),
        }
    }

    /// Decodes one server message (clients' side).
    pub fn decode_server<S: DeserializeOwned, E: Replicate, V: DeserializeOwned>(
        self,
        bytes: &[u8],
        max_len: usize,
    ) -> Result<ServerMsg<S, E, V>, DecodeError> {
        match self {
            Self::Bincode => protocol::decode_server(bytes, max_len),
            Self::Json => decode_json(bytes, max_len),
        }
    }

    /// The protocol version of a `Hello` from any protocol version, read without decoding the
    /// rest; `None` when the frame is not a `Hello`.
    pub fn peek_hello_version(self, bytes: &[u8]) -> Option<u16> {
        match self {
            Self::Bincode => protocol::peek_hello_version(bytes),
            Self::Json => {
                #[derive(serde::Deserialize)]
                struct Version {
                    protocol_version: u16,
                }
                #[derive(serde::Deserialize)]
                enum Peek {
                    Hello(Version),
                }
                // Unknown fields are ignored, so a Hello of any version yields its version.
                match serde_json::from_slice::<Peek>(bytes).ok()? {
                    Peek::Hello(v) => Some(v.protocol_version),
                }
            }
        }
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    max_len: usize,
) -> Result<T, DecodeError> {
    protocol::check_frame_len(bytes, max_len)?;
    // serde_json bounds nesting (128 levels) and allocates no more than the input describes,
    // which the length check above bounds.
    serde_json::from_slice(bytes).map_err(|e| DecodeError::Json(e.to_string()))
}

fn json_encode_error(e: serde_json::Error) -> EncodeError {
    EncodeError::OtherString(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shooter::{ClientMsg, Input, PlayerInput, ServerMsg, Snapshot};
    use glam::Vec2;

    #[test]
    fn negotiation_takes_the_first_known_offer() {
        assert_eq!(Encoding::negotiate(None), Ok(None));
        assert_eq!(Encoding::negotiate(Some("  ")), Ok(None));
        assert_eq!(
            Encoding::negotiate(Some("chat, arena.json.v1, arena.bincode.v1")),
            Ok(Some(Encoding::Json))
        );
        assert_eq!(
            Encoding::negotiate(Some("arena.bincode.v1")),
            Ok(Some(Encoding::Bincode))
        );
        let refused = Encoding::negotiate(Some("mqtt, arena.json.v9")).expect_err("unknown");
        assert!(refused.to_string().contains("mqtt, arena.json.v9"));
    }

    #[test]
    fn json_messages_round_trip_and_read_as_documented() {
        let input = ClientMsg::Input(Input {
            seq: 3,
            ack: 2,
            behind: 64,
            controls: PlayerInput {
                move_dir: Vec2::new(1.0, 0.0),
                aim: Vec2::new(0.0, -1.0),
                fire: true,
            },
        });
        let mut out = Vec::new();
        Encoding::Json
            .encode_into(&input, &mut out)
            .expect("encodes");
        let text = String::from_utf8(out.clone()).expect("utf-8");
        assert_eq!(
            text,
            r#"{"Input":{"seq":3,"ack":2,"behind":64,"controls":{"move_dir":[1.0,0.0],"aim":[0.0,-1.0],"fire":true}}}"#
        );
        let back: ClientMsg = Encoding::Json.decode_client(&out, 1024).expect("decodes");
        assert_eq!(back, input);
        assert_eq!(
            Encoding::Json
                .decode_client(br#""Leave""#, 1024)
                .expect("unit variant"),
            ClientMsg::Leave
        );
        assert_eq!(
            Encoding::Json.peek_hello_version(br#"{"Hello":{"protocol_version":9,"x":[1]}}"#),
            Some(9)
        );
        assert!(matches!(
            Encoding::Json.decode_client::<PlayerInput>(b"{\"Input\":", 1024),
            Err(DecodeError::Json(_))
        ));
        assert!(matches!(
            Encoding::Json.decode_client::<PlayerInput>(&[b' '; 2000], 1024),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_borrowed_json_snapshot_matches_the_owned_message() {
        let snap: Snapshot = Snapshot {
            tick: 5,
            baseline: 0,
            ..Snapshot::default()
        };
        let parts: SnapshotParts<'_, crate::shooter::Entity, crate::shooter::GameEvent> =
            SnapshotParts {
                tick: 5,
                baseline: 0,
                last_input_seq: 0,
                queued_inputs: 0,
                created: &[],
                changed: &[],
                removed: &[],
                events: &[],
            };
        let mut borrowed = Vec::new();
        Encoding::Json
            .encode_snapshot_into(parts, &mut borrowed)
            .expect("encodes");
        let mut owned = Vec::new();
        Encoding::Json
            .encode_into(&ServerMsg::Snapshot(snap) as &ServerMsg, &mut owned)
            .expect("encodes");
        assert_eq!(
            String::from_utf8(borrowed).expect("utf-8"),
            String::from_utf8(owned).expect("utf-8")
        );
    }
}
