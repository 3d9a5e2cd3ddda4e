//! A bot that joins and then stops reading: the slow client the server must cut off without
//! growing its memory or slowing anyone else (`arena-bot --stall N`).
//!
//! It connects with a small receive buffer so the server's writes back up within seconds,
//! joins, and then neither reads nor sends until the fleet's end. Then it reads whatever the
//! kernel still holds: a connection the server has shut down ends within moments; one the
//! server still feeds never does, and counts as not cut off.

use std::time::Duration;

use arena_shared::RoomOptions;
use arena_shared::game::Game;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use crate::bot::JOIN_TIMEOUT;
use crate::connection::{ClientError, Connection, JoinOptions, Received};
use crate::ticket::Minter;

/// Receive buffer of a stalled bot's socket: small, so the server sees the stall at once.
const STALLED_RECV_BUFFER: u32 = 4096;
/// How long the end-of-run check reads before deciding the server never let go.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// What one stalled bot saw.
#[derive(Debug, Default)]
pub struct StallOutcome {
    /// It joined (and then stopped reading).
    pub joined: bool,
    /// The server ended the connection while the bot was not reading.
    pub cut_off: bool,
    /// Why it never joined, or what went wrong.
    pub failure: Option<String>,
}

/// Joins a room of game `G` as `name` (into `room`, or quick-play; with a ticket from
/// `tickets` and `room_options` when given) at `start_at`, stops reading until `end_at`, then
/// reports whether the server cut the connection off.
pub async fn run_stalled_bot<G: Game>(
    url: &str,
    name: &str,
    room: Option<&str>,
    room_options: Option<RoomOptions>,
    tickets: Option<&Minter>,
    start_at: Instant,
    end_at: Instant,
) -> StallOutcome {
    tokio::time::sleep_until(start_at).await;
    let mut conn = match connect_small::<G>(url).await {
        Ok(c) => c,
        Err(e) => {
            return StallOutcome {
                failure: Some(format!("{name}: {e}")),
                ..StallOutcome::default()
            };
        }
    };
    let options = JoinOptions {
        room: room.map(str::to_owned),
        ticket: tickets.map(|m| m.player(name, room)),
        options: room_options,
        ..JoinOptions::default()
    };
    if let Err(e) = conn.join_with(name, options, JOIN_TIMEOUT).await {
        return StallOutcome {
            failure: Some(format!("{name}: {e}")),
            ..StallOutcome::default()
        };
    }
    tokio::time::sleep_until(end_at).await;
    let deadline = Instant::now() + DRAIN_LIMIT;
    let cut_off = loop {
        match tokio::time::timeout_at(deadline, conn.recv()).await {
            Ok(Ok(Received::Msg(_))) => {}
            Ok(Ok(Received::Closed(_)) | Err(_)) => break true,
            Err(_) => break false,
        }
    };
    StallOutcome {
        joined: true,
        cut_off,
        failure: (!cut_off).then(|| format!("{name}: still being fed after it stopped reading")),
    }
}

/// A WebSocket over a TCP connection with a small receive buffer.
async fn connect_small<G: Game>(url: &str) -> Result<Connection<G>, ClientError> {
    let io = |e: std::io::Error| ClientError::Connect(e.into());
    let authority = crate::connection::authority(url)
        .ok_or_else(|| ClientError::Unexpected(format!("not a ws:// URL: {url}")))?;
    let addr = tokio::net::lookup_host(authority)
        .await
        .map_err(io)?
        .next()
        .ok_or_else(|| ClientError::Unexpected(format!("{authority} has no address")))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(io)?;
    socket
        .set_recv_buffer_size(STALLED_RECV_BUFFER)
        .map_err(io)?;
    let stream: TcpStream = tokio::time::timeout(JOIN_TIMEOUT, socket.connect(addr))
        .await
        .map_err(|_| ClientError::Timeout(JOIN_TIMEOUT))?
        .map_err(io)?;
    Connection::connect_stream(url, stream).await
}
