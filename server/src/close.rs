//! Every way a session can end, and the close code, reason and `Error` message each one gets.
//! Chosen here, in one place, so that the same fault always looks the same to a client.

use arena_shared::ErrorCode;
use arena_shared::protocol::MAX_ERROR_TEXT;

/// RFC 6455 §7.4.1 close codes Arena sends.
pub mod code {
    /// The purpose of the connection has been fulfilled.
    pub const NORMAL: u16 = 1000;
    /// The server is going away (shutdown) or the peer vanished.
    pub const GOING_AWAY: u16 = 1001;
    /// A protocol error.
    pub const PROTOCOL: u16 = 1002;
    /// A kind of data the endpoint cannot accept (text on the binary protocol).
    pub const UNSUPPORTED: u16 = 1003;
    /// Data inconsistent with the message type (undecodable payload, bad UTF-8).
    pub const INVALID: u16 = 1007;
    /// A policy violation.
    pub const POLICY: u16 = 1008;
    /// A message too big to process.
    pub const TOO_BIG: u16 = 1009;
    /// An unexpected condition inside the server.
    pub const INTERNAL: u16 = 1011;
    /// The service is restarting (the room went away): reconnect.
    pub const RESTART: u16 = 1012;
    /// Try again later (full).
    pub const TRY_AGAIN: u16 = 1013;
}

/// RFC 6455 §5.5: a control frame's payload is at most 125 bytes, two of them the code.
const MAX_CLOSE_REASON: usize = 123;

/// Why a session is ending.
#[derive(Clone, Debug, PartialEq)]
pub enum Farewell {
    /// The client sent `Leave` or closed the connection itself.
    ClientLeft,
    /// `Hello` carried another protocol version.
    VersionMismatch {
        /// The client's version.
        client: u16,
    },
    /// A binary frame did not decode.
    Malformed(String),
    /// A text frame on the binary protocol.
    TextFrame,
    /// A binary frame on the JSON protocol.
    BinaryFrame,
    /// A spectator sent something other than `Ping` or `Leave`.
    ReadOnly,
    /// The room to spectate does not exist.
    NoSuchRoom(String),
    /// The room has as many spectators as it admits.
    SpectatorsFull(String),
    /// A message arrived that the session's state does not allow.
    Unexpected(&'static str),
    /// `Hello` carried an unusable name.
    BadName(String),
    /// `Hello` carried an unusable room name.
    BadRoomName(String),
    /// The requested room is full.
    RoomFull(String),
    /// No room could be opened.
    ServerFull,
    /// This address already holds as many named rooms as it may create.
    RoomQuota(usize),
    /// This address already holds as many matchmade seats as it may (`max_held_seats_per_ip`).
    HeldSeats(usize),
    /// The room options of a `Hello` are outside the server's limits or name no map.
    BadOptions(String),
    /// The named room plays another game than this connection's.
    WrongGame(String),
    /// No `Hello` in time.
    HelloTimeout,
    /// The client kept sending faster than the message rate.
    Flood,
    /// A message was split into more frames than allowed.
    TooManyFragments(usize),
    /// Nothing heard from the client within the timeout.
    HeartbeatTimeout,
    /// The transport failed under the session (reset, EOF inside a frame).
    ConnectionLost(String),
    /// The room dropped this player: it stopped accepting snapshots.
    TooSlow,
    /// The room was closed under the player.
    RoomClosed,
    /// The room's game code failed (panicked); the room is gone.
    RoomFailed,
    /// The join ticket was refused.
    Ticket(crate::operations::ticket::TicketError),
    /// The resume token was refused.
    ResumeFailed(String),
    /// Another connection resumed this player.
    ResumedElsewhere,
    /// The server is shutting down.
    ShuttingDown,
    /// The server is draining: it takes no new rooms or seats.
    Draining,
    /// A replay to watch could not be read (damaged, or of another format).
    BadReplay(String),
    /// A `Playback` message out of range, or sent by a connection that watches no replay.
    BadPlayback(String),
    /// A WebSocket protocol violation reported by the frame decoder.
    Protocol {
        /// The code that violation maps to (1002, 1007, 1009).
        code: u16,
        /// What it was.
        detail: String,
    },
}

impl Farewell {
    /// The RFC 6455 §7.4 close code.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::ClientLeft => code::NORMAL,
            Self::VersionMismatch { .. } | Self::Unexpected(_) => code::PROTOCOL,
            Self::Malformed(_) => code::INVALID,
            Self::TextFrame | Self::BinaryFrame => code::UNSUPPORTED,
            Self::ReadOnly | Self::NoSuchRoom(_) => code::POLICY,
            Self::SpectatorsFull(_) => code::TRY_AGAIN,
            Self::BadName(_)
            | Self::BadRoomName(_)
            | Self::HelloTimeout
            | Self::Flood
            | Self::TooManyFragments(_)
            | Self::TooSlow
            | Self::BadOptions(_)
            | Self::WrongGame(_) => code::POLICY,
            Self::RoomFull(_)
            | Self::ServerFull
            | Self::RoomQuota(_)
            | Self::HeldSeats(_)
            | Self::Draining => code::TRY_AGAIN,
            Self::HeartbeatTimeout | Self::ConnectionLost(_) | Self::ShuttingDown => {
                code::GOING_AWAY
            }
            Self::RoomClosed => code::RESTART,
            Self::RoomFailed | Self::BadReplay(_) => code::INTERNAL,
            Self::BadPlayback(_) => code::POLICY,
            Self::Ticket(crate::operations::ticket::TicketError::Busy) => code::TRY_AGAIN,
            Self::Ticket(_) | Self::ResumeFailed(_) | Self::ResumedElsewhere => code::POLICY,
            Self::Protocol { code, .. } => *code,
        }
    }

    /// The human-readable reason, also used in logs.
    pub fn reason(&self) -> String {
        match self {
            Self::ClientLeft => "bye".into(),
            Self::VersionMismatch { client } => format!(
                "protocol version mismatch: server speaks {}, client sent {client}",
                arena_shared::PROTOCOL_VERSION
            ),
            Self::Malformed(detail) => format!("undecodable message: {detail}"),
            Self::TextFrame => {
                "text frames are not part of the arena.bincode.v1 protocol; send binary".into()
            }
            Self::BinaryFrame => {
                "binary frames are not part of the arena.json.v1 protocol; send text".into()
            }
            Self::ReadOnly => "spectators only watch: send nothing but Ping and Leave".into(),
            Self::NoSuchRoom(room) => format!("there is no room {room} to spectate"),
            Self::SpectatorsFull(room) => format!("room {room} has all the spectators it admits"),
            Self::Unexpected(what) => format!("unexpected message: {what}"),
            Self::BadName(why) => format!("bad player name: {why}"),
            Self::BadRoomName(why) => format!("bad room name: {why}"),
            Self::RoomFull(room) => format!("room {room} is full"),
            Self::ServerFull => "server has no room for another room".into(),
            Self::HeldSeats(max) => {
                format!("your address already holds {max} matchmade seats not yet taken")
            }
            Self::RoomQuota(max) => {
                format!("your address already holds {max} named rooms, the most it may create")
            }
            Self::BadOptions(why) => format!("bad room options: {why}"),
            Self::WrongGame(why) => format!("wrong game: {why}"),
            Self::HelloTimeout => "no Hello within the hello timeout".into(),
            Self::Flood => "message flood: sustained sending above the rate limit".into(),
            Self::TooManyFragments(max) => {
                format!("a message was split into more than {max} frames")
            }
            Self::HeartbeatTimeout => "no traffic within the client timeout".into(),
            Self::ConnectionLost(why) => format!("connection lost: {why}"),
            Self::TooSlow => {
                "client stopped reading snapshots; resume with the token to play on".into()
            }
            Self::RoomClosed => "room closed".into(),
            Self::RoomFailed => "room failed with an internal error; rejoin to play on".into(),
            Self::Ticket(e) => format!("join ticket refused: {e}"),
            Self::ResumeFailed(why) => format!("cannot resume: {why}"),
            Self::ResumedElsewhere => "this player was resumed on another connection".into(),
            Self::ShuttingDown => "server shutting down".into(),
            Self::Draining => {
                "server draining: it takes no new players; matchmake again to play elsewhere".into()
            }
            Self::BadReplay(why) => format!("cannot play this replay: {why}"),
            Self::BadPlayback(why) => format!("bad playback control: {why}"),
            Self::Protocol { detail, .. } => detail.clone(),
        }
    }

    /// The `Error` message to send before closing, when the client should get one.
    pub fn error(&self) -> Option<(ErrorCode, String)> {
        let code = match self {
            Self::ClientLeft
            | Self::TextFrame
            | Self::BinaryFrame
            | Self::HeartbeatTimeout
            | Self::ConnectionLost(_)
            | Self::TooSlow
            | Self::TooManyFragments(_)
            | Self::Protocol { .. } => {
                return None;
            }
            Self::VersionMismatch { .. } => ErrorCode::VersionMismatch,
            Self::Malformed(_) => ErrorCode::BadMessage,
            Self::Unexpected(_) | Self::ReadOnly => ErrorCode::UnexpectedMessage,
            Self::NoSuchRoom(_) => ErrorCode::NoSuchRoom,
            Self::SpectatorsFull(_) => ErrorCode::RoomFull,
            Self::BadName(_) => ErrorCode::BadName,
            Self::BadRoomName(_) => ErrorCode::BadRoomName,
            Self::RoomFull(_) => ErrorCode::RoomFull,
            Self::ServerFull | Self::RoomQuota(_) | Self::HeldSeats(_) => ErrorCode::ServerFull,
            Self::BadOptions(_) => ErrorCode::BadOptions,
            Self::WrongGame(_) => ErrorCode::WrongGame,
            Self::HelloTimeout => ErrorCode::HelloTimeout,
            Self::Flood => ErrorCode::RateLimited,
            Self::RoomClosed | Self::RoomFailed => ErrorCode::Internal,
            Self::Ticket(_) => ErrorCode::BadTicket,
            Self::ResumeFailed(_) | Self::ResumedElsewhere => ErrorCode::ResumeFailed,
            Self::ShuttingDown | Self::Draining => ErrorCode::ShuttingDown,
            Self::BadReplay(_) => ErrorCode::Internal,
            Self::BadPlayback(_) => ErrorCode::BadMessage,
        };
        Some((code, truncate(self.reason(), MAX_ERROR_TEXT)))
    }

    /// The close frame's reason text, cut to fit a control frame.
    pub fn close_text(&self) -> String {
        truncate(self.reason(), MAX_CLOSE_REASON)
    }

    /// A short fixed name for the reason, used as a metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ClientLeft => "client_left",
            Self::VersionMismatch { .. } => "version_mismatch",
            Self::Malformed(_) => "malformed",
            Self::TextFrame => "text_frame",
            Self::BinaryFrame => "binary_frame",
            Self::ReadOnly => "read_only",
            Self::NoSuchRoom(_) => "no_such_room",
            Self::SpectatorsFull(_) => "spectators_full",
            Self::Unexpected(_) => "unexpected_message",
            Self::BadName(_) => "bad_name",
            Self::BadRoomName(_) => "bad_room_name",
            Self::RoomFull(_) => "room_full",
            Self::ServerFull => "server_full",
            Self::RoomQuota(_) => "room_quota",
            Self::HeldSeats(_) => "held_seats",
            Self::BadOptions(_) => "bad_options",
            Self::WrongGame(_) => "wrong_game",
            Self::HelloTimeout => "hello_timeout",
            Self::Flood => "flood",
            Self::TooManyFragments(_) => "too_many_fragments",
            Self::HeartbeatTimeout => "heartbeat_timeout",
            Self::ConnectionLost(_) => "connection_lost",
            Self::TooSlow => "too_slow",
            Self::RoomClosed => "room_closed",
            Self::RoomFailed => "room_failed",
            Self::Ticket(_) => "bad_ticket",
            Self::ResumeFailed(_) => "resume_failed",
            Self::ResumedElsewhere => "resumed_elsewhere",
            Self::ShuttingDown => "shutting_down",
            Self::Draining => "draining",
            Self::BadReplay(_) => "bad_replay",
            Self::BadPlayback(_) => "bad_playback",
            Self::Protocol { .. } => "protocol_error",
        }
    }

    /// Whether this is an ordinary end rather than a fault worth a warning.
    pub fn is_normal(&self) -> bool {
        matches!(
            self,
            Self::ClientLeft | Self::ShuttingDown | Self::ConnectionLost(_)
        )
    }

    /// Whether the player may come back with its resume token: the connection was lost, not
    /// ended by the client or refused by the server.
    pub fn keeps_seat(&self) -> bool {
        matches!(self, Self::HeartbeatTimeout | Self::ConnectionLost(_))
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_control_frame_even_with_multibyte_text() {
        let f = Farewell::Malformed("é".repeat(200));
        let reason = f.close_text();
        assert!(reason.len() <= MAX_CLOSE_REASON);
        assert!(reason.starts_with("undecodable"));
    }

    #[test]
    fn codes_follow_rfc_6455() {
        assert_eq!((Farewell::TextFrame.close_code()), 1003);
        assert_eq!((Farewell::Malformed(String::new()).close_code()), 1007);
        assert_eq!((Farewell::VersionMismatch { client: 9 }.close_code()), 1002);
        assert_eq!((Farewell::ShuttingDown.close_code()), 1001);
        assert_eq!((Farewell::RoomFull("r".into()).close_code()), 1013);
        assert_eq!(
            Farewell::RoomFull("r".into()).error().map(|e| e.0),
            Some(ErrorCode::RoomFull)
        );
    }
}
